"""docs/errors.md cannot drift: every row is triggered and its type and message checked."""
import io
import json
import pathlib
import re
import zipfile

import numpy as np
import pytest

import graphc as gc
from graphc import keras
from tests.reliability.saved_files import patch_headers

DOC = pathlib.Path(__file__).resolve().parents[2] / "docs" / "errors.md"


def documented() -> dict:
    """id -> (error type name, message pattern) from the doc's table."""
    rows = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if not line.startswith("| ") or line.startswith("| id ") or line.startswith("|--"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        assert len(cells) == 5, line
        ident, _, error, message, fix = cells
        assert fix, f"{ident}: no fix given"
        message = re.sub(r"^`+ ?|`+$", "", message).strip()
        rows[ident] = (error, message)
    return rows


def pattern(message: str) -> str:
    """The documented message as a regex: ``<...>`` stands for any text."""
    parts = re.split(r"<[^<>]*>", message)
    return ".+?".join(re.escape(p) for p in parts)


def _two_outputs(compiled=False):
    inputs = keras.Input((3,))
    model = keras.Model(inputs, [keras.layers.Dense(1, name="a")(inputs), keras.layers.Dense(1, name="b")(inputs)])
    if compiled:
        model.compile("sgd", "mse")
    return model


def _custom_saved(tmp):
    class Custom(keras.layers.Layer):
        def call(self, x):
            return x * 2.0

    path = tmp / "custom.keras"
    keras.Sequential([keras.Input((3,)), Custom()]).save(path)
    return path


def _model(classes=2, compiled=True, loss="sparse_categorical_crossentropy"):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(classes, activation="softmax")])
    if compiled:
        model.compile(optimizer="sgd", loss=loss)
    return model


X = np.zeros((4, 3), np.float32)


def _saved(tmp_path, edit=None):
    model = _model()
    path = tmp_path / "m.keras"
    model.save(path)
    if edit is not None:
        with zipfile.ZipFile(path) as z:
            members = {n: z.read(n) for n in z.namelist()}
        edit(members)
        path = tmp_path / "edited.keras"
        with zipfile.ZipFile(path, "w") as z:
            for n, d in members.items():
                z.writestr(n, d)
    return path


def _npy(array):
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def _unsafe(members):
    config = json.loads(members["config.json"])
    config["model"]["config"]["layers"][-1]["class_name"] = "os.system"
    members["config.json"] = json.dumps(config).encode()


def _setitem():
    c = gc.constant([1.0, 2.0])
    c[0] = 5.0


def _if():
    x = gc.placeholder((2,), name="x")
    if x > 0:
        pass


a = gc.placeholder((None, 3), name="a")
b = gc.placeholder((None, 4), name="b")

TRIGGERS = {
    "shape-broadcast": lambda tmp: a + b,
    "shape-matmul": lambda tmp: a @ gc.constant(np.zeros((4, 2), np.float32)),
    "shape-reshape": lambda tmp: gc.reshape(gc.constant(np.zeros(6)), (4,)),
    "shape-too-large": lambda tmp: gc.placeholder((2 ** 40, 1), name="n") + gc.placeholder((1, 2 ** 40), name="m"),
    "axis-range": lambda tmp: gc.reduce_sum(a, axis=2),
    "reduce-empty": lambda tmp: gc.reduce_max(gc.placeholder((3, 0)), axis=1),
    "dtype-unsupported": lambda tmp: gc.placeholder((2,), dtype="complex64"),
    "item-assignment": lambda tmp: _setitem(),
    "truth-value": lambda tmp: _if(),
    "grad-int": lambda tmp: gc.grad(gc.constant([1, 2]), gc.constant([1.0])),
    "grad-concat-dynamic": lambda tmp: gc.grad(gc.reduce_sum(gc.concat([a, a], 0)), a),
    "feed-shape": lambda tmp: gc.function([a], a * 2)(np.zeros((2, 4), np.float32)),
    "feed-dtype": lambda tmp: gc.function([a], a * 2)(np.zeros((2, 3), complex)),
    "feed-count": lambda tmp: gc.function([a], a * 2)(),
    "unfed-eval": lambda tmp: (a * 2).eval(),
    "unfed-function": lambda tmp: gc.function([], a * 2),
    "unknown-pass": lambda tmp: gc.function([a], a, passes={"fuse": False}),
    "bad-level": lambda tmp: gc.function([a], a, optimize=3),
    "updates-pairs": lambda tmp: gc.function([a], a, updates=[gc.Variable(np.zeros(3))]),
    "assign-shape": lambda tmp: gc.Variable(np.zeros(3), name="v").assign(np.zeros(4)),
    "assign-not-variable": lambda tmp: gc.constant([1.0, 2.0])[0].assign(3.0),
    "format-symbolic": lambda tmp: f"{gc.reduce_sum(a):.4f}",
    "function-signature": lambda tmp: gc.function(lambda x: x * 2, input_signature=[gc.TensorSpec((None, 3))])(
        np.zeros((2, 4), np.float32)),
    "optimizer-no-gradients": lambda tmp: keras.optimizers.SGD().apply_gradients(
        [(None, gc.Variable(np.zeros(2), name="w"))]),
    "numerics": lambda tmp: gc.function([a], gc.log(a), check_numerics=True)(-np.ones((1, 3), np.float32)),
    "keras-fit-before-compile": lambda tmp: _model(compiled=False).fit(X, np.zeros(4, int), verbose=0),
    "keras-unknown-optimizer": lambda tmp: _model(compiled=False).compile(optimizer="sgdd", loss="mse"),
    "keras-unknown-loss": lambda tmp: _model(compiled=False).compile(optimizer="sgd", loss="msee"),
    "keras-unknown-metric": lambda tmp: _model(compiled=False).compile(optimizer="sgd", loss="mse",
                                                                       metrics=["acc_uracy"]),
    "keras-xy-length": lambda tmp: _model().fit(X, np.zeros(3, int), verbose=0),
    "keras-feature-size": lambda tmp: _model().fit(np.zeros((4, 5), np.float32), np.zeros(4, int), verbose=0),
    "keras-label-range": lambda tmp: _model().fit(X, np.array([0, 1, 2, 5]), verbose=0),
    "keras-float-labels": lambda tmp: _model().fit(X, np.array([0.5, 1, 0, 1]), verbose=0),
    "keras-batch-size": lambda tmp: _model().fit(X, np.zeros(4, int), batch_size=0, verbose=0),
    "keras-empty-x": lambda tmp: _model().fit(np.zeros((0, 3), np.float32), np.zeros(0, int), verbose=0),
    "keras-not-built": lambda tmp: keras.Sequential([keras.layers.Dense(2)]).summary(),
    "keras-layer-name": lambda tmp: keras.layers.Dense(2, name="a/b"),
    "keras-output-key": lambda tmp: _two_outputs().compile("sgd", loss={"regression": "mse"}),
    "keras-metrics-per-output": lambda tmp: _two_outputs().compile("sgd", "mse", metrics=["mae"]),
    "keras-input-key": lambda tmp: _model().fit({"features": X}, np.zeros(4, int), verbose=0),
    "keras-targets-per-output": lambda tmp: _two_outputs(compiled=True).fit(X, np.zeros((4, 1)), verbose=0),
    "keras-merge-shapes": lambda tmp: keras.layers.Add()([np.zeros((2, 3)), np.zeros((2, 4))]),
    "keras-custom-class": lambda tmp: keras.load_model(_custom_saved(tmp)),
    "keras-damaged-file": lambda tmp: (tmp / "bad.keras").write_bytes(b"garbage")
    and keras.load_model(tmp / "bad.keras"),
    "keras-damaged-entry": lambda tmp: (tmp / "e.keras").write_bytes(
        patch_headers(_saved(tmp, lambda m: None).read_bytes(), "config.json", flags=1))
    and keras.load_model(tmp / "e.keras"),
    "keras-edited-file": lambda tmp: keras.load_model(
        _saved(tmp, lambda m: m.update({"weights/0.npy": _npy(np.zeros((3, 3), np.float32))}))),
    "keras-unsafe-file": lambda tmp: keras.load_model(_saved(tmp, _unsafe)),
}


def test_every_documented_error_has_a_trigger_and_every_trigger_is_documented():
    assert set(documented()) == set(TRIGGERS)


@pytest.mark.parametrize("ident", sorted(TRIGGERS))
def test_documented_message_matches_the_real_error(ident, tmp_path):
    error, message = documented()[ident]
    with pytest.raises(Exception) as info:
        TRIGGERS[ident](tmp_path)
    real = info.value
    assert type(real).__name__ == error, f"{ident}: raised {type(real).__name__}: {real}"
    assert re.fullmatch(pattern(message), str(real), flags=re.S), \
        f"{ident}: documented\n  {message}\nreal\n  {real}"


def test_the_doc_says_how_it_is_kept_true():
    text = DOC.read_text(encoding="utf-8")
    assert text.startswith("# Errors") and "test_errors_doc.py" in text
