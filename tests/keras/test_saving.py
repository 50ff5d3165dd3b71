"""Saving: round trips, resumed training, atomic writes, and damaged or hostile files."""
import json
import zipfile

import numpy as np
import pytest

from graphc import keras
from graphc.keras import saving


def classifier():
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dropout(0.1), keras.layers.Dense(4, activation="softmax")])
    model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def data(n=96):
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, 6)).astype("float32"), rng.integers(0, 4, n)


def test_save_load_predicts_identically(tmp_path):
    x, y = data()
    model = classifier()
    model.fit(x, y, epochs=2, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert [l.name for l in loaded.layers] == [l.name for l in model.layers]
    assert type(loaded.optimizer) is keras.optimizers.RMSprop
    assert loaded.optimizer.iterations == int(model.optimizer.iterations) == 6
    assert loaded.evaluate(x, y, verbose=0) == pytest.approx(model.evaluate(x, y, verbose=0))
    archive = np.load(path, allow_pickle=False)  # also a plain .npz
    assert "weights/0" in archive.files and archive["weights/0"].shape == (6, 16)


def test_functional_round_trip(tmp_path):
    inputs = keras.Input((3,))
    outputs = keras.layers.Dense(2, activation="tanh")(keras.layers.Dense(5)(inputs))
    model = keras.Model(inputs, outputs)
    model.compile("adam", "mse", ["mae"])
    x = np.random.default_rng(1).normal(size=(10, 3)).astype("float32")
    model.fit(x, np.zeros((10, 2)), verbose=0)
    model.save(tmp_path / "f.npz")
    loaded = keras.models.load_model(tmp_path / "f.npz")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_resumed_training_matches_uninterrupted_training(tmp_path):
    x, y = data()
    keras.utils.set_random_seed(7)
    straight = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8, activation="tanh"),
                                 keras.layers.Dense(4, activation="softmax")])
    straight.compile(keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy", ["accuracy"])
    initial = straight.get_weights()
    resumed = keras.models.clone_model(straight)
    resumed.set_weights(initial)
    resumed.compile(keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy", ["accuracy"])

    straight.fit(x, y, epochs=4, batch_size=16, shuffle=False, verbose=0)
    resumed.fit(x, y, epochs=2, batch_size=16, shuffle=False, verbose=0)
    resumed.save(tmp_path / "half.keras")
    reloaded = keras.models.load_model(tmp_path / "half.keras")
    reloaded.fit(x, y, epochs=4, initial_epoch=2, batch_size=16, shuffle=False, verbose=0)
    for a, b in zip(straight.get_weights(), reloaded.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert reloaded.optimizer.iterations == 24


def test_failed_save_leaves_the_earlier_file_intact(tmp_path, monkeypatch):
    x, y = data()
    model = classifier()
    path = tmp_path / "model.keras"
    model.save(path)
    original = path.read_bytes()
    model.fit(x, y, verbose=0)
    calls = {"n": 0}
    real = saving._write_array

    def failing(archive, name, array):
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError("disk full")
        real(archive, name, array)

    monkeypatch.setattr(saving, "_write_array", failing)
    with pytest.raises(OSError, match="disk full"):
        model.save(path)
    assert path.read_bytes() == original
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.keras"]  # no temporary left behind
    keras.models.load_model(path)


def test_unsaveable_model_fails_before_touching_the_file(tmp_path):
    import graphc as gc
    inputs = keras.Input((2,))
    model = keras.Model(inputs, gc.relu(keras.layers.Dense(2)(inputs)))
    with pytest.raises(ValueError, match="outside a layer"):
        model.save(tmp_path / "m.keras")
    assert not (tmp_path / "m.keras").exists()


def _saved(tmp_path):
    model = classifier()
    model.fit(*data(), verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    return path


def _rewrite(path, edit_config=None, extra=None, drop=None):
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    if edit_config:
        config = json.loads(members["config.json"])
        edit_config(config)
        members["config.json"] = json.dumps(config).encode()
    members.update(extra or {})
    for name in drop or ():
        members.pop(name)
    with zipfile.ZipFile(path, "w") as zf:
        for name, data_ in members.items():
            zf.writestr(name, data_)


def test_truncated_file(tmp_path):
    path = _saved(tmp_path)
    blob = path.read_bytes()
    path.write_bytes(blob[: len(blob) // 2])
    with pytest.raises(ValueError, match="model.keras"):
        keras.models.load_model(path)
    path.write_bytes(b"")
    with pytest.raises(ValueError, match="not a graphc.keras model file"):
        keras.models.load_model(path)


def test_corrupted_bytes(tmp_path):
    path = _saved(tmp_path)
    blob = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("weights/0.npy")
    blob[info.header_offset + 30 + len(info.filename) + 200] ^= 0xFF   # inside the array data
    path.write_bytes(bytes(blob))
    with pytest.raises(ValueError, match="damaged"):
        keras.models.load_model(path)


def test_hand_edited_architecture_does_not_match_weights(tmp_path):
    path = _saved(tmp_path)
    _rewrite(path, lambda c: c["model"]["config"]["layers"][1]["config"].update(units=17))
    with pytest.raises(ValueError, match="does the architecture match"):
        keras.models.load_model(path)


def test_bad_json_and_bad_values(tmp_path):
    path = _saved(tmp_path)
    _rewrite(path, extra={"config.json": b"{not json"})
    with pytest.raises(ValueError, match="not valid JSON"):
        keras.models.load_model(path)
    path = _saved(tmp_path)
    _rewrite(path, lambda c: c["model"]["config"]["layers"][1]["config"].update(activation="os.system"))
    with pytest.raises(ValueError, match="activation"):
        keras.models.load_model(path)
    path = _saved(tmp_path)
    _rewrite(path, lambda c: c["model"]["config"]["layers"][1]["config"].update(__reduce__="x"))
    with pytest.raises(ValueError, match="Unrecognized keyword"):
        keras.models.load_model(path)
    path = _saved(tmp_path)
    _rewrite(path, drop=["weights/1.npy"])
    with pytest.raises(ValueError, match="weights arrays"):
        keras.models.load_model(path)


def test_class_not_in_the_allow_list_is_refused(tmp_path):
    path = _saved(tmp_path)
    _rewrite(path, lambda c: c["model"]["config"]["layers"][1].update(class_name="subprocess.Popen"))
    with pytest.raises(ValueError, match="not allowed"):
        keras.models.load_model(path)
    path = _saved(tmp_path)
    _rewrite(path, lambda c: c["model"].update(class_name="Lambda"))
    with pytest.raises(ValueError, match="not allowed"):
        keras.models.load_model(path)
    path = _saved(tmp_path)
    _rewrite(path, lambda c: c["compile"]["optimizer"].update(class_name="builtins.eval"))
    with pytest.raises(ValueError, match="optimizer"):
        keras.models.load_model(path)


def test_pickled_arrays_are_refused(tmp_path):
    import io
    path = _saved(tmp_path)
    buf = io.BytesIO()
    np.save(buf, np.array([object()], dtype=object), allow_pickle=True)
    _rewrite(path, extra={"weights/0.npy": buf.getvalue()})
    with pytest.raises(ValueError, match="weights/0.npy"):
        keras.models.load_model(path)


def test_unexpected_members_are_refused(tmp_path):
    path = _saved(tmp_path)
    _rewrite(path, extra={"../evil.py": b"print('hi')"})
    with pytest.raises(ValueError, match="unexpected entries"):
        keras.models.load_model(path)


def test_save_and_load_weights(tmp_path):
    x, _ = data()
    model = classifier()
    model.save_weights(tmp_path / "w.weights.npz")
    other = classifier()
    other.load_weights(tmp_path / "w.weights.npz")
    np.testing.assert_array_equal(other.predict(x, verbose=0), model.predict(x, verbose=0))
    small = keras.Sequential([keras.Input((6,)), keras.layers.Dense(3)])
    with pytest.raises(ValueError, match="w.weights.npz"):
        small.load_weights(tmp_path / "w.weights.npz")
