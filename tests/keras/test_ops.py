"""keras.ops (graphc/keras/ops.py) against numpy, and a custom layer written with it."""
import numpy as np
import pytest

import graphc as gc
from graphc import keras

ops = keras.ops
RNG = np.random.default_rng(2)
X = RNG.normal(size=(3, 4)).astype("float32")
Y = RNG.normal(size=(3, 4)).astype("float32")


def value(t):
    return t.numpy() if isinstance(t, gc.Tensor) else np.asarray(t)


@pytest.mark.parametrize("name, got, expected", [
    ("add", lambda: ops.add(X, Y), X + Y),
    ("divide", lambda: ops.divide(X, Y), X / Y),
    ("absolute", lambda: ops.absolute(X), np.abs(X)),
    ("square", lambda: ops.square(X), X ** 2),
    ("where", lambda: ops.where(X > 0, X, Y), np.where(X > 0, X, Y)),
    ("clip", lambda: ops.clip(X, -0.5, 0.5), np.clip(X, -0.5, 0.5)),
    ("sum axis", lambda: ops.sum(X, axis=1), X.sum(1)),
    ("sum all", lambda: ops.sum(X), X.sum()),
    ("mean keepdims", lambda: ops.mean(X, axis=0, keepdims=True), X.mean(0, keepdims=True)),
    ("max list axis", lambda: ops.max(X, axis=[0, 1]), X.max()),
    ("var", lambda: ops.var(X, axis=1), X.var(1)),
    ("std", lambda: ops.std(X), X.std()),
    ("argmax flat", lambda: ops.argmax(X), X.argmax()),
    ("argmax axis", lambda: ops.argmax(X, axis=1), X.argmax(1)),
    ("norm", lambda: ops.norm(X, axis=1), np.linalg.norm(X, axis=1)),
    ("normalize", lambda: ops.normalize(X), X / np.linalg.norm(X, axis=-1, keepdims=True)),
    ("logsumexp", lambda: ops.logsumexp(X * 1000, axis=1), 1000 * X.max(1) + np.log(
        np.exp(1000 * (X - X.max(1, keepdims=True))).sum(1))),
    ("softmax", lambda: ops.softmax(X), np.exp(X) / np.exp(X).sum(-1, keepdims=True)),
    ("matmul", lambda: ops.matmul(X, Y.T), X @ Y.T),
    ("dot vectors", lambda: ops.dot(X[0], Y[0]), X[0] @ Y[0]),
    ("transpose", lambda: ops.transpose(X), X.T),
    ("reshape", lambda: ops.reshape(X, (2, 6)), X.reshape(2, 6)),
    ("concatenate", lambda: ops.concatenate([X, Y], axis=1), np.concatenate([X, Y], 1)),
    ("stack", lambda: ops.stack([X, Y], axis=0), np.stack([X, Y])),
    ("expand_dims", lambda: ops.expand_dims(X, 1), X[:, None]),
    ("one_hot", lambda: ops.one_hot(np.array([0, 2]), 3), np.eye(3)[[0, 2]]),
    ("full", lambda: ops.full((2, 2), 7.0), np.full((2, 2), 7.0)),
    ("zeros_like", lambda: ops.zeros_like(X), np.zeros_like(X)),
    ("cast", lambda: ops.cast(X > 0, "float32"), (X > 0).astype("float32")),
    ("relu", lambda: ops.relu(X), np.maximum(X, 0)),
    ("leaky_relu", lambda: ops.leaky_relu(X), np.where(X > 0, X, 0.2 * X)),
    ("categorical_crossentropy", lambda: ops.categorical_crossentropy(np.eye(4, dtype="float32")[[0, 1, 3]],
                                                                       ops.softmax(X)),
     -np.log(np.exp(X) / np.exp(X).sum(1, keepdims=True))[[0, 1, 2], [0, 1, 3]]),
    ("binary_crossentropy logits", lambda: ops.binary_crossentropy((Y > 0).astype("float32"), X, from_logits=True),
     np.log1p(np.exp(-np.abs(X))) + np.maximum(X, 0) - X * (Y > 0)),
])
def test_ops_give_numpys_values(name, got, expected):
    np.testing.assert_allclose(value(got()), expected, rtol=1e-5, atol=1e-5, err_msg=name)


def test_shape_has_run_time_sizes_for_unknown_dimensions():
    x = keras.Input((4,))
    batch, features = ops.shape(x)
    assert features == 4 and isinstance(batch, gc.Tensor)
    flat = ops.reshape(x, (batch, 2, 2))
    assert flat.shape == (None, 2, 2)
    f = gc.function([x], [batch, flat])
    n, out = f(np.ones((5, 4), "float32"))
    assert int(n) == 5 and out.shape == (5, 2, 2)
    assert ops.shape(np.ones((2, 3))) == (2, 3) and ops.ndim(X) == 2


def test_a_layer_written_with_keras_ops_trains():
    class Linear(keras.layers.Layer):
        def __init__(self, units=1):
            super().__init__()
            self.units = units

        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1], self.units), initializer="zeros")
            self.b = self.add_weight(shape=(self.units,), initializer="zeros")

        def call(self, inputs):
            return ops.matmul(inputs, self.w) + self.b

    x = RNG.normal(size=(64, 2)).astype("float32")
    y = x @ np.array([[2.0], [-1.0]], "float32") + 0.5
    model = keras.Sequential([keras.Input((2,)), Linear()])
    model.compile(keras.optimizers.SGD(0.1), "mse")
    model.fit(x, y, epochs=60, batch_size=16, verbose=0)
    np.testing.assert_allclose(model.get_weights()[0], [[2.0], [-1.0]], atol=1e-2)
    np.testing.assert_allclose(model.get_weights()[1], [0.5], atol=1e-2)


@pytest.mark.parametrize("ord", [None, 2, 1, 3, 0.5, np.inf, -np.inf, 0])
def test_vector_norms_are_numpys(ord):
    np.testing.assert_allclose(ops.norm(X, ord=ord, axis=1).numpy(), np.linalg.norm(X, ord=ord, axis=1), rtol=1e-5)
    np.testing.assert_allclose(ops.norm(X[0], ord=ord, keepdims=True).numpy(),
                               np.linalg.norm(X[0], ord=ord, keepdims=True), rtol=1e-5)


@pytest.mark.parametrize("ord", [None, "fro", 1, -1, np.inf, -np.inf])
@pytest.mark.parametrize("axis", [None, (0, 1), (1, 0)])
def test_matrix_norms_are_numpys(ord, axis):
    np.testing.assert_allclose(ops.norm(X, ord=ord, axis=axis).numpy(), np.linalg.norm(X, ord=ord, axis=axis),
                               rtol=1e-5)


def test_normalize_and_one_hot_along_any_axis():
    np.testing.assert_allclose(ops.normalize(X, axis=0, order=1).numpy(), X / np.abs(X).sum(0), rtol=1e-6)
    labels = np.array([[0, 2], [1, 1]])
    np.testing.assert_array_equal(ops.one_hot(labels, 3, axis=0).numpy(), np.moveaxis(np.eye(3)[labels], -1, 0))


def test_ops_that_graphc_does_not_have_say_so():
    with pytest.raises(NotImplementedError, match="singular values, and graphc has no SVD op"):
        ops.norm(X, ord="nuc", axis=(0, 1))
    with pytest.raises(ValueError, match="computed tensor"):
        ops.reshape(X, (ops.sum(X), 2))
