"""Losses and metrics against numpy formulas (Keras 3 conventions)."""
import numpy as np
import pytest

import graphc as gc
from graphc import keras

rng = np.random.default_rng(0)
LOGITS = rng.normal(size=(6, 4)).astype("float32") * 3
LABELS = rng.integers(0, 4, 6)
PROBS = np.exp(LOGITS) / np.exp(LOGITS).sum(-1, keepdims=True)


def value(loss, y_true, y_pred):
    return float(keras.losses.get(loss)(gc.constant(y_true), y_pred).numpy())


def test_regression_losses():
    a, b = rng.normal(size=(5, 3)).astype("float32"), rng.normal(size=(5, 3)).astype("float32")
    assert value("mse", a, gc.constant(b)) == pytest.approx(np.mean((a - b) ** 2), rel=1e-6)
    assert value("mae", a, gc.constant(b)) == pytest.approx(np.mean(np.abs(a - b)), rel=1e-6)


def test_crossentropy_from_softmax_uses_the_logits():
    y_pred = gc.softmax(gc.constant(LOGITS))
    expected = np.mean(-(LOGITS[np.arange(6), LABELS] - np.log(np.exp(LOGITS).sum(-1))))
    assert value("sparse_categorical_crossentropy", LABELS, y_pred) == pytest.approx(expected, rel=1e-5)
    one_hot = keras.utils.to_categorical(LABELS, 4)
    assert value("categorical_crossentropy", one_hot, y_pred) == pytest.approx(expected, rel=1e-5)
    # exact even where probabilities underflow: no clipping at 1e-7 on this path
    huge = np.array([[0.0, 60.0]], dtype="float32")
    assert value("sparse_categorical_crossentropy", np.array([0]), gc.softmax(gc.constant(huge))) == \
        pytest.approx(60.0, rel=1e-5)


def test_crossentropy_from_probabilities_clips_like_keras():
    probs = np.array([[0.0, 1.0], [0.3, 0.7]], dtype="float32")
    eps = 1e-7
    clipped = np.clip(probs, eps, 1 - eps)
    expected = np.mean(-np.log(clipped[np.arange(2), [0, 1]]))
    assert value("sparse_categorical_crossentropy", np.array([0, 1]), gc.constant(probs)) == \
        pytest.approx(expected, rel=1e-5)
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    got = float(loss(gc.constant(LABELS), gc.constant(LOGITS)).numpy())
    assert got == pytest.approx(value("sparse_categorical_crossentropy", LABELS, gc.softmax(gc.constant(LOGITS))),
                                rel=1e-5)


def test_binary_crossentropy():
    y = np.array([[1.0], [0.0], [1.0]], dtype="float32")
    z = np.array([[2.0], [-1.0], [-30.0]], dtype="float32")
    exact = np.mean(y * np.logaddexp(0, -z) + (1 - y) * np.logaddexp(0, z))
    assert value("binary_crossentropy", y, gc.sigmoid(gc.constant(z))) == pytest.approx(exact, rel=1e-5)
    p = np.clip(1 / (1 + np.exp(-z)), 1e-7, 1 - 1e-7)
    clipped = np.mean(-(y * np.log(p) + (1 - y) * np.log(1 - p)))
    assert value("binary_crossentropy", y, gc.constant(1 / (1 + np.exp(-z)))) == pytest.approx(clipped, rel=1e-4)


def test_softmax_crossentropy_gradient_is_probabilities_minus_one_hot():
    logits = gc.Variable(LOGITS, name="logits")
    loss = keras.losses.get("sparse_categorical_crossentropy")(gc.constant(LABELS), gc.softmax(logits))
    grad = gc.grad(loss, logits).numpy()
    np.testing.assert_allclose(grad, (PROBS - np.eye(4)[LABELS]) / 6, rtol=1e-5, atol=1e-7)


def test_custom_loss_function():
    def half_squared(y_true, y_pred):
        return 0.5 * gc.reduce_sum(gc.square(y_pred - y_true), axis=-1)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile("sgd", half_squared)
    model.fit(np.ones((4, 2)), np.ones((4, 1)), verbose=0)
    assert model.evaluate(np.ones((4, 2)), np.ones((4, 1)), verbose=0) >= 0
