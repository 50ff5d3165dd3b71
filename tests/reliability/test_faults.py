"""Faults lose nothing: failed steps leave all state as it was; saves are atomic; bad files fail clearly."""
import io
import os
import stat
import zipfile

import numpy as np
import pytest

import graphc as gc
from graphc import keras
from graphc.debugging import NumericsChecker, NumericsError
from graphc.keras import saving
from tests.reliability.saved_files import config_edit, patch_headers, rewrite_zip


def _data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 5)).astype("float32")
    y = rng.integers(0, 3, size=n).astype("int64")
    return x, y


def _model(optimizer="adam"):
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(7, activation="tanh"),
                              keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def _state_variables(function):
    """Every Variable the compiled step reads or writes."""
    return [n for n in function.written_graph.nodes() if isinstance(n, gc.Variable)]


def _snapshot(variables):
    return [v.numpy() for v in variables]


def _assert_same(variables, before):
    for v, b in zip(variables, before):
        assert v.numpy().dtype == b.dtype
        np.testing.assert_array_equal(v.numpy(), b, err_msg=v.name)


# ----------------------------------------------------------- failed steps

def test_bad_feed_to_a_keras_train_step_changes_nothing():
    model = _model()
    x, y = _data()
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    step = model.train_function
    variables = _state_variables(step)
    assert len(variables) >= 4 + 2  # weights, iterations, learning rate, slots, metric totals
    before = _snapshot(variables)
    with pytest.raises((ValueError, TypeError)):
        step(x[:8, :4], y[:8])          # wrong feature size
    with pytest.raises((ValueError, TypeError)):
        step(x[:8].astype(complex), y[:8])  # unsafe dtype
    with pytest.raises(ValueError):
        model.fit(x, y[:10], epochs=1, verbose=0)  # length mismatch
    _assert_same(variables, before)


def test_an_exception_midway_through_the_generated_code_changes_nothing(monkeypatch):
    """Interrupt the step after its k-th checked node, for several k: nothing is written."""
    w = gc.Variable(np.array([[0.5, -0.25], [1.0, 2.0]]), name="w")
    m = gc.Variable(np.zeros((2, 2)), name="m")
    count = gc.Variable(np.int64(0), name="count")
    x = gc.placeholder((None, 2), dtype="float64", name="x")
    loss = gc.reduce_mean(gc.square(gc.tanh(x @ w)))
    g = gc.grad(loss, w)
    updates = [(m, 0.9 * m + g), (w, w - 0.1 * (0.9 * m + g)), (count, count + 1)]
    f = gc.function([x], loss, updates=updates, optimize=0, check_numerics=True)
    batch = np.array([[1.0, 2.0], [3.0, -1.0]])
    calls = {"n": 0}
    real_call = NumericsChecker.__call__

    def interrupting(self, value, index):
        calls["n"] += 1
        if calls["n"] == calls["stop"]:
            raise KeyboardInterrupt
        return real_call(self, value, index)
    monkeypatch.setattr(NumericsChecker, "__call__", interrupting)
    variables = [w, m, count]
    for stop in (1, 3, 6, 10):
        calls.update(n=0, stop=stop)
        before = _snapshot(variables)
        with pytest.raises(KeyboardInterrupt):
            f(batch)
        _assert_same(variables, before)
    # an uninterrupted step afterwards does exactly one update (numpy reference)
    calls.update(n=0, stop=-1)
    w0 = w.numpy()
    f(batch)
    t = np.tanh(batch @ w0)
    grad = batch.T @ (2 * t * (1 - t ** 2)) / t.size
    np.testing.assert_allclose(w.numpy(), w0 - 0.1 * grad, rtol=1e-12)
    assert int(count.numpy()) == 1


def test_numerics_error_in_a_keras_step_changes_nothing():
    gc.debugging.enable_check_numerics()
    try:
        model = _model("rmsprop")
        x, y = _data()
        model.fit(x, y, epochs=1, batch_size=32, verbose=0)
        step = model.train_function
    finally:
        gc.debugging.disable_check_numerics()
    variables = _state_variables(step)
    before = _snapshot(variables)
    bad = x[:8].copy()
    bad[3, 2] = np.nan
    with pytest.raises(NumericsError):
        step(bad, y[:8])
    _assert_same(variables, before)


class _Interrupt(keras.callbacks.Callback):
    """Ctrl-C at the start of batch ``at`` (counted over the whole fit)."""

    def __init__(self, at):
        super().__init__()
        self.at, self.seen, self.snapshot = at, 0, None

    def on_train_batch_end(self, batch, logs=None):
        self.snapshot = [v.numpy() for v in self.model.weights + self.model.optimizer.variables]

    def on_train_batch_begin(self, batch, logs=None):
        self.seen += 1
        if self.seen == self.at:
            raise KeyboardInterrupt


@pytest.mark.parametrize("at", [2, 5])
def test_keyboard_interrupt_from_a_callback_keeps_the_last_completed_step(at):
    model = _model()
    x, y = _data()
    callback = _Interrupt(at)
    with pytest.raises(KeyboardInterrupt):
        model.fit(x, y, epochs=3, batch_size=16, verbose=0, callbacks=[callback])
    assert int(model.optimizer.iterations.numpy()) == at - 1
    _assert_same(model.weights + model.optimizer.variables, callback.snapshot)
    # training resumes from there and the model still works
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    assert int(model.optimizer.iterations.numpy()) == at - 1 + 4
    assert np.all(np.isfinite(model.predict(x, verbose=0)))


# ------------------------------------------------------------------ saving

def _saved_model(tmp_path):
    model = _model()
    x, y = _data()
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    return model, path, x


@pytest.mark.parametrize("fail_at", ["config", "first_array", "last_array", "fsync", "replace"])
def test_an_interrupted_save_leaves_the_previous_file_and_no_temp_file(tmp_path, monkeypatch, fail_at):
    model, path, x = _saved_model(tmp_path)
    original = path.read_bytes()
    model.fit(x, np.zeros(len(x), np.int64), epochs=1, verbose=0)  # new weights to save
    n_arrays = len(model.weights) + len(model.optimizer.variables)
    written = {"n": 0}
    real_write, real_writestr = saving._write_array, zipfile.ZipFile.writestr

    def write_array(archive, name, array):
        written["n"] += 1
        if (fail_at == "first_array" and written["n"] == 1) or (fail_at == "last_array" and written["n"] == n_arrays):
            real_write(archive, name, array[..., :0] if array.ndim else array)  # half-written, then fail
            raise OSError("disk full")
        real_write(archive, name, array)

    def writestr(self, name, data, *a, **k):
        if fail_at == "config":
            raise KeyboardInterrupt
        return real_writestr(self, name, data, *a, **k)
    monkeypatch.setattr(saving, "_write_array", write_array)
    monkeypatch.setattr(zipfile.ZipFile, "writestr", writestr)
    if fail_at == "fsync":
        monkeypatch.setattr(os, "fsync", lambda fd: (_ for _ in ()).throw(OSError("I/O error")))
    if fail_at == "replace":
        monkeypatch.setattr(os, "replace", lambda a, b: (_ for _ in ()).throw(PermissionError("busy")))
    with pytest.raises((OSError, KeyboardInterrupt)):
        model.save(path)
    assert path.read_bytes() == original
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.keras"]
    monkeypatch.undo()
    loaded = keras.load_model(path)  # still loads
    assert isinstance(loaded, keras.Sequential)


def test_a_save_to_a_new_path_that_fails_leaves_nothing(tmp_path, monkeypatch):
    model, _, _ = _saved_model(tmp_path)
    monkeypatch.setattr(saving, "_write_array", lambda *a: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(OSError):
        model.save(tmp_path / "other.keras")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.keras"]


def _expect_clear_error(path, *words):
    with pytest.raises(ValueError) as info:
        keras.load_model(path)
    message = str(info.value)
    assert "cannot load" in message and str(path) in message
    for w in words:
        assert w in message, message
    return message


def test_truncated_files_at_every_tenth_give_a_clear_error(tmp_path):
    _, path, _ = _saved_model(tmp_path)
    data = path.read_bytes()
    for fraction in np.linspace(0.0, 0.95, 11):
        cut = tmp_path / f"cut{fraction:.2f}.keras"
        cut.write_bytes(data[:int(len(data) * fraction)])
        _expect_clear_error(cut)


def test_corrupted_bytes_give_a_clear_error_or_the_model(tmp_path):
    """Flipping bytes anywhere: either a ValueError naming the file, or (a byte of
    padding or a weight value) a model that loads with the right architecture."""
    model, path, x = _saved_model(tmp_path)
    data = bytearray(path.read_bytes())
    rng = np.random.default_rng(0)
    errors = 0
    for k, position in enumerate(rng.choice(len(data), 40, replace=False)):
        bad = bytearray(data)
        bad[position] ^= 0xFF
        p = tmp_path / f"bad{k}.keras"
        p.write_bytes(bytes(bad))
        try:
            loaded = keras.load_model(p)
        except ValueError as exc:
            assert "cannot load" in str(exc) and str(p) in str(exc)
            errors += 1
            continue
        assert [w.shape for w in loaded.weights] == [w.shape for w in model.weights]
    assert errors >= 20  # zip CRCs catch flipped array bytes


def test_hand_edited_files_give_a_clear_error(tmp_path):
    _, path, _ = _saved_model(tmp_path)
    cases = {
        "units": config_edit(lambda c: c["model"]["config"]["layers"][-1]["config"].update(units=4)),
        "format": config_edit(lambda c: c.update(format="something else")),
        "version": config_edit(lambda c: c.update(format_version=99)),
        "weights": config_edit(lambda c: c.update(weights="nope")),
        "optimizer": config_edit(lambda c: c["compile"].update(optimizer={"class_name": "Nadam", "config": {}})),
        "json": lambda m: m.update({"config.json": b"{not json"}),
        "missing": lambda m: m.pop("weights/1.npy"),
        "dtype": lambda m: m.update({"weights/0.npy": _npy(np.zeros((5, 7), np.int32))}),
        "shape": lambda m: m.update({"weights/0.npy": _npy(np.zeros((7, 5), np.float32))}),
    }
    for name, edit in cases.items():
        out = tmp_path / f"{name}.keras"
        rewrite_zip(path, out, edit)
        _expect_clear_error(out)


def _npy(array):
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


@pytest.mark.parametrize("entry, fields, words", [
    ("config.json", {"flags": 0x1}, ["entry config.json is encrypted"]),
    ("weights/0.npy", {"flags": 0x41}, ["encrypted"]),  # strong encryption
    ("weights/0.npy", {"flags": 0x20}, ["flag bits 0x20"]),  # compressed patched data
    ("config.json", {"method": 99}, ["compressed with method 99", "stored or deflated"]),
    ("weights/0.npy", {"method": 12}, ["method 12"]),  # bzip2
    ("weights/0.npy", {"method": 14}, ["method 14"]),  # lzma
    ("weights/0.npy", {"method": 8}, ["weights/0.npy is damaged"]),  # stored bytes read as deflate
    ("weights/0.npy", {"crc": 12345}, ["damaged", "CRC"]),
    ("config.json", {"size": 10}, ["config.json is damaged"]),  # a header that says less than there is
    ("config.json", {"size": 2 ** 31}, ["would inflate to 2147483648 bytes"]),
    ("weights/0.npy", {"size": 2 ** 31}, ["larger than variable"]),
])
def test_damaged_zip_headers_give_one_clear_error(tmp_path, entry, fields, words):
    _, path, _ = _saved_model(tmp_path)
    plain = rewrite_zip(path, tmp_path / "plain.keras", lambda members: None)  # no zip64 fields
    bad = tmp_path / "bad.keras"
    bad.write_bytes(patch_headers(plain.read_bytes(), entry, **fields))
    _expect_clear_error(bad, *words)


def test_nested_and_duplicate_entries_give_a_clear_error(tmp_path):
    _, path, _ = _saved_model(tmp_path)
    nested = rewrite_zip(path, tmp_path / "nested.keras", lambda m: m.update({"weights/a/0.npy": m["weights/0.npy"]}))
    _expect_clear_error(nested, "unexpected entries", "weights/a/0.npy")
    twice = tmp_path / "twice.keras"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(twice, "w") as out:
        for name in source.namelist():
            out.writestr(name, source.read(name))
        with pytest.warns(UserWarning, match="Duplicate name"):
            out.writestr("weights/0.npy", source.read("weights/0.npy"))
    _expect_clear_error(twice, "entries appear twice", "weights/0.npy")


def _deflated_copy(path, out, entry, data):
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in source.namelist():
            archive.writestr(name, data if name == entry else source.read(name))
    return out


@pytest.mark.parametrize("entry, lie", [("weights/0.npy", False), ("config.json", False), ("config.json", True)])
def test_a_zip_bomb_is_refused_without_inflating_it(tmp_path, entry, lie):
    """64 MiB of zeros deflate to 64 KiB: refused by its declared size before any
    inflating, and, where the header lies about the size, read no further than it."""
    import tracemalloc
    _, path, _ = _saved_model(tmp_path)
    bomb = _deflated_copy(path, tmp_path / "bomb.keras", entry, bytes(64 << 20))
    if lie:
        bomb.write_bytes(patch_headers(bomb.read_bytes(), entry, size=100))
    assert bomb.stat().st_size < 1 << 20
    tracemalloc.start()
    try:
        _expect_clear_error(bomb, "damaged" if lie else "larger than variable" if entry != "config.json"
                            else "would inflate")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20


# ------------------------------------------------------- temporaries, modes

KILLED_SAVE = """
import os, signal, sys
import numpy as np
from graphc import keras
from graphc.keras import saving
model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
model.compile(optimizer="sgd", loss="mse")
real_write = saving._write_array
def write_then_die(archive, name, array):
    real_write(archive, name, array)
    os.kill(os.getpid(), signal.SIGKILL)  # killed mid-save, after the first array
saving._write_array = write_then_die
model.save(sys.argv[1])
"""


def _temporaries(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def _age(path, seconds=60.0):
    t = path.stat().st_mtime - seconds
    os.utime(path, (t, t))


@pytest.mark.skipif(not hasattr(os, "fork") or saving.fcntl is None, reason="POSIX locks and signals")
def test_a_save_killed_mid_write_leaves_a_temporary_that_the_next_save_removes(tmp_path):
    import signal
    import subprocess
    import sys
    model, path, x = _saved_model(tmp_path)
    script = tmp_path / "die.py"
    script.write_text(KILLED_SAVE)
    run = subprocess.run([sys.executable, str(script), str(path)], cwd=os.getcwd(), capture_output=True,
                         timeout=120)
    assert run.returncode == -signal.SIGKILL, run.stderr.decode()
    (left,) = _temporaries(tmp_path)
    assert left.startswith(".model.keras.")
    keras.load_model(path)  # the earlier file is intact
    _age(tmp_path / left)  # a while later
    model.save(path)
    assert _temporaries(tmp_path) == []
    np.testing.assert_allclose(keras.load_model(path).predict(x, verbose=0), model.predict(x, verbose=0))


@pytest.mark.skipif(saving.fcntl is None, reason="POSIX advisory locks")
def test_a_save_removes_only_dead_temporaries_of_its_own_path(tmp_path):
    model, path, _ = _saved_model(tmp_path)
    names = {"dead": ".model.keras.0123abcd.tmp", "live": ".model.keras.89abcdef.tmp",
             "young": ".model.keras.fedcba98.tmp", "other path": ".other.keras.0123abcd.tmp",
             "not a token": ".model.keras.0123abcdx.tmp", "no dot": "model.keras.0123abcd.tmp"}
    for name in names.values():
        (tmp_path / name).write_bytes(b"partial")
        if name != names["young"]:
            _age(tmp_path / name)
    live = open(tmp_path / names["live"], "rb")  # a save still writing holds this lock
    try:
        saving.fcntl.flock(live.fileno(), saving.fcntl.LOCK_EX)
        model.save(path)
    finally:
        live.close()
    assert _temporaries(tmp_path) == sorted(n for k, n in names.items() if k != "dead")


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_saved_files_get_the_permissions_open_would_give(tmp_path, umask):
    model, _, _ = _saved_model(tmp_path)
    previous = os.umask(umask)
    try:
        new = tmp_path / f"new{umask:o}.keras"
        model.save(new)
        with open(tmp_path / "plain", "wb"):
            pass
        assert stat.S_IMODE(new.stat().st_mode) == stat.S_IMODE((tmp_path / "plain").stat().st_mode) \
            == 0o666 & ~umask
        os.chmod(new, 0o640)  # an existing file keeps its mode, as open(path, "wb") keeps it
        model.save(new)
        assert stat.S_IMODE(new.stat().st_mode) == 0o640
    finally:
        os.umask(previous)
