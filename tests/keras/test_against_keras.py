"""Cross-check against real Keras 3 (optional: skipped unless keras and its JAX backend are installed).

The same small model, with the same initial weights, is trained in graphc and in
Keras on the same fixed batches; the per-step losses and the final weights must
agree to float32 tolerance. The reference is Keras itself, never graphc's output.
"""
import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")
pytest.importorskip("jax")
keras_ref = pytest.importorskip("keras")
if int(keras_ref.__version__.split(".")[0]) < 3:  # pragma: no cover
    pytest.skip("needs Keras 3", allow_module_level=True)

from graphc import keras  # noqa: E402

IN, HIDDEN, OUT, BATCH, STEPS = 20, 16, 5, 8, 5
RTOL, ATOL = 1e-4, 1e-6

OPTIMIZERS = {
    "sgd": lambda m: m.optimizers.SGD(learning_rate=0.01),
    "sgd_nesterov": lambda m: m.optimizers.SGD(learning_rate=0.01, momentum=0.9, nesterov=True),
    "rmsprop": lambda m: m.optimizers.RMSprop(learning_rate=0.001),
    "adam": lambda m: m.optimizers.Adam(learning_rate=0.001),
}
LOSSES = ["sparse_categorical_crossentropy", "mse"]


def initial_weights():
    rng = np.random.default_rng(7)
    return [rng.normal(0, 0.3, size=(IN, HIDDEN)).astype("float32"),
            rng.normal(0, 0.1, size=HIDDEN).astype("float32"),
            rng.normal(0, 0.3, size=(HIDDEN, OUT)).astype("float32"),
            rng.normal(0, 0.1, size=OUT).astype("float32")]


def batches(loss, n=BATCH * STEPS):
    rng = np.random.default_rng(11)
    x = rng.normal(size=(n, IN)).astype("float32")
    if loss == "sparse_categorical_crossentropy":
        y = rng.integers(0, OUT, size=n).astype("int32")
    else:
        y = rng.uniform(size=(n, OUT)).astype("float32")
    return x, y


def build(lib, optimizer, loss):
    model = lib.Sequential([lib.Input((IN,)),
                            lib.layers.Dense(HIDDEN, activation="relu"),
                            lib.layers.Dense(OUT, activation="softmax")])
    model.set_weights(initial_weights())
    model.compile(optimizer=OPTIMIZERS[optimizer](lib), loss=loss)
    return model


def train_on_batches(model, x, y):
    losses = []
    for step in range(STEPS):
        part = slice(step * BATCH, (step + 1) * BATCH)
        losses.append(float(np.asarray(model.train_on_batch(x[part], y[part]))))
    return np.array(losses), [np.asarray(w) for w in model.get_weights()]


def assert_weights_close(ours, theirs):
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
def test_train_on_batch_matches_keras(optimizer, loss):
    x, y = batches(loss)
    ours_losses, ours_weights = train_on_batches(build(keras, optimizer, loss), x, y)
    theirs_losses, theirs_weights = train_on_batches(build(keras_ref, optimizer, loss), x, y)
    # the weights really moved, so the comparison is not vacuous
    assert max(np.abs(w - w0).max() for w, w0 in zip(theirs_weights, initial_weights())) > 1e-4
    np.testing.assert_allclose(ours_losses, theirs_losses, rtol=RTOL, atol=ATOL)
    assert_weights_close(ours_weights, theirs_weights)


@pytest.mark.parametrize("loss", LOSSES)
def test_fit_matches_keras(loss):
    """fit over two epochs, unshuffled, with a short last batch (36 = 4 * 8 + 4)."""
    x, y = batches(loss, n=36)
    histories, weights = [], []
    for lib in (keras, keras_ref):
        model = build(lib, "adam", loss)
        history = model.fit(x, y, batch_size=BATCH, epochs=2, shuffle=False, verbose=0)
        histories.append(np.array(history.history["loss"], dtype=np.float64))
        weights.append([np.asarray(w) for w in model.get_weights()])
    np.testing.assert_allclose(histories[0], histories[1], rtol=RTOL, atol=ATOL)
    assert_weights_close(*weights)


# ---------------------------------------------- several inputs and outputs

HEAD_LAYERS = {"hidden": (10, 8), "skip": (4, 8), "reg": (8, 2), "cls": (8, 3)}


def two_headed(lib):
    """Inputs a, b (dict); a Concatenate and an Add; outputs reg (linear) and cls (softmax)."""
    a, b = lib.Input((6,), name="a"), lib.Input((4,), name="b")
    hidden = lib.layers.Dense(8, activation="relu", name="hidden")(lib.layers.Concatenate(name="join")([a, b]))
    merged = lib.layers.Add(name="merge")([hidden, lib.layers.Dense(8, name="skip")(b)])
    outputs = [lib.layers.Dense(2, name="reg")(merged), lib.layers.Dense(3, activation="softmax", name="cls")(merged)]
    model = lib.Model({"a": a, "b": b}, outputs)
    rng = np.random.default_rng(3)
    for name, (n_in, n_out) in HEAD_LAYERS.items():
        model.get_layer(name).set_weights([rng.normal(0, 0.4, (n_in, n_out)).astype("float32"),
                                           rng.normal(0, 0.1, n_out).astype("float32")])
    model.compile(optimizer=lib.optimizers.Adam(0.01),
                  loss={"reg": "mse", "cls": "sparse_categorical_crossentropy"},
                  loss_weights={"reg": 0.5, "cls": 2.0},
                  metrics={"reg": ["mae"], "cls": ["accuracy"]})
    return model


def test_two_inputs_two_outputs_weighted_losses_and_sample_weights_match_keras():
    rng = np.random.default_rng(9)
    n = 24
    x = {"a": rng.normal(size=(n, 6)).astype("float32"), "b": rng.normal(size=(n, 4)).astype("float32")}
    y = [rng.normal(size=(n, 2)).astype("float32"), rng.integers(0, 3, n).astype("int32")]
    weight = rng.uniform(0.2, 2.0, n).astype("float32")
    logs = []
    for lib in (keras, keras_ref):
        model = two_headed(lib)
        steps = [model.train_on_batch({k: v[i:i + 8] for k, v in x.items()}, [t[i:i + 8] for t in y],
                                      sample_weight=weight[i:i + 8], return_dict=True) for i in range(0, n, 8)]
        evaluated = model.evaluate(x, y, batch_size=n, return_dict=True, verbose=0)
        logs.append((steps, evaluated, {name: [np.asarray(w) for w in model.get_layer(name).get_weights()]
                                        for name in HEAD_LAYERS}))
    (ours_steps, ours_eval, ours_w), (their_steps, their_eval, their_w) = logs
    assert set(ours_eval) == set(their_eval) == {"loss", "reg_loss", "cls_loss", "reg_mae", "cls_accuracy"}
    for ours, theirs in zip(ours_steps, their_steps):
        assert set(ours) == set(theirs)
        for key in theirs:
            np.testing.assert_allclose(float(ours[key]), float(theirs[key]), rtol=RTOL, atol=ATOL, err_msg=key)
    for key in their_eval:
        np.testing.assert_allclose(ours_eval[key], float(their_eval[key]), rtol=RTOL, atol=ATOL, err_msg=key)
    for name in HEAD_LAYERS:
        assert_weights_close(ours_w[name], their_w[name])
