"""Layers: lazy weights in name scopes, unique names, Dropout, Flatten, functional models."""
import numpy as np
import pytest

import graphc as gc
from graphc import keras


def test_unique_names_and_weights_in_layer_scopes():
    a, b = keras.layers.Dense(3), keras.layers.Dense(3)
    assert (a.name, b.name) == ("dense", "dense_1")
    assert not a.built and a.weights == []
    x = keras.Input((4,))
    y = b(a(x))
    assert [w.name for w in a.weights] == ["dense/kernel", "dense/bias"]
    assert y.name.startswith("dense_1/")
    assert a.kernel.shape == (4, 3) and x.shape == (None, 4)
    with pytest.raises(ValueError, match="/"):
        keras.layers.Dense(2, name="a/b")


def test_dense_defaults_and_incompatible_input():
    layer = keras.layers.Dense(5)
    assert layer.use_bias and type(layer.kernel_initializer).__name__ == "GlorotUniform"
    layer(keras.Input((7,)))
    np.testing.assert_array_equal(layer.bias.numpy(), np.zeros(5))
    limit = np.sqrt(6 / 12)
    assert np.abs(layer.kernel.numpy()).max() <= limit
    with pytest.raises(ValueError, match="expected axis -1 .* value 7"):
        layer(keras.Input((6,)))
    with pytest.raises(ValueError, match="units"):
        keras.layers.Dense(0)


@pytest.mark.parametrize("name", ["relu", "sigmoid", "tanh", "softmax", "linear", "softplus", "elu", "silu"])
def test_activations_by_name(name):
    x = np.linspace(-3, 3, 12, dtype="float32").reshape(2, 6)
    got = keras.layers.Activation(name)(x).numpy()
    ref = {"relu": np.maximum(x, 0), "sigmoid": 1 / (1 + np.exp(-x)), "tanh": np.tanh(x),
           "softmax": np.exp(x) / np.exp(x).sum(-1, keepdims=True), "linear": x,
           "softplus": np.log1p(np.exp(x)), "elu": np.where(x > 0, x, np.exp(x) - 1),
           "silu": x / (1 + np.exp(-x))}[name]
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-6)


def test_dropout_only_in_training():
    rate = 0.25
    model = keras.Sequential([keras.Input((1000,)), keras.layers.Dropout(rate, seed=3)])
    x = np.ones((4, 1000), dtype="float32")
    np.testing.assert_array_equal(model.predict(x, verbose=0), x)           # identity at inference
    np.testing.assert_array_equal(model(gc.constant(x)).numpy(), x)         # training=None
    trained = model._run(gc.placeholder((None, 1000)), training=True)
    step = gc.function([_placeholder_of(trained)], trained)
    out = step(x)
    kept = out != 0
    assert set(np.unique(out)) <= {0.0, np.float32(1 / (1 - rate))}
    assert abs(kept.mean() - (1 - rate)) < 0.03
    again = step(x)
    assert not np.array_equal(kept, again != 0)  # a new mask at every run
    with pytest.raises(ValueError, match="rate"):
        keras.layers.Dropout(1.0)


def test_dropout_noise_shape_shares_one_draw_along_size_one_axes():
    rate = 0.5
    layer = keras.layers.Dropout(rate, noise_shape=(None, 1, 64), seed=5)
    x = gc.placeholder((None, 6, 64))
    step = gc.function([x], layer(x, training=True))
    out = step(np.ones((8, 6, 64), dtype="float32"))
    kept = out != 0
    # one mask per (example, feature), the same at every one of the 6 positions
    assert (kept == kept[:, :1, :]).all()
    assert 0.3 < kept[:, 0, :].mean() < 0.7
    np.testing.assert_array_equal(out[kept], np.float32(1 / (1 - rate)))
    with pytest.raises(ValueError, match="noise_shape"):
        keras.layers.Dropout(0.5, noise_shape=(None, 3, 64))(x, training=True)


def _placeholder_of(t):
    from graphc.graph import topological_order
    from graphc.ops.leaves import PlaceholderOp
    return next(n for n in topological_order([t]) if isinstance(n.op, PlaceholderOp))


def test_dropout_in_the_train_step_but_not_in_evaluate():
    model = keras.Sequential([keras.Input((20,)), keras.layers.Dropout(0.5), keras.layers.Dense(1, use_bias=False,
                                                                                                kernel_initializer="ones")])
    model.compile(keras.optimizers.SGD(learning_rate=0.0), "mse")
    x = np.ones((64, 20), dtype="float32")
    y = np.full((64, 1), 20.0, dtype="float32")
    assert model.evaluate(x, y, verbose=0) == 0.0               # no dropout: output exactly 20
    assert model.train_on_batch(x, y) > 1.0                     # dropout: outputs vary around 20
    assert "rng.random" in model.train_function.source and "rng" not in model.test_function.source


def test_flatten_and_reshape():
    x = keras.Input((2, 3, 4))
    y = keras.layers.Flatten()(x)
    assert y.shape == (None, 24)
    z = keras.layers.Reshape((4, 6))(y)
    assert z.shape == (None, 4, 6)
    model = keras.Model(x, keras.layers.Dense(2)(keras.layers.Flatten()(z)))
    assert model.predict(np.ones((3, 2, 3, 4)), verbose=0).shape == (3, 2)


def test_functional_model_replays_layers_and_plain_ops():
    inputs = keras.Input((4,), name="features")
    h = keras.layers.Dense(8, activation="relu")(inputs)
    h = gc.tanh(h) * 2.0                       # a plain graphc op between layers
    outputs = keras.layers.Dense(3, activation="softmax")(h)
    model = keras.Model(inputs=inputs, outputs=outputs, name="mlp")
    assert isinstance(model, keras.Model) and type(model).__name__ == "Functional"
    assert [l.name for l in model.layers] == ["features", "dense", "dense_1"]
    x = np.random.default_rng(0).normal(size=(5, 4)).astype("float32")
    direct = outputs.eval({inputs: x})
    np.testing.assert_allclose(model.predict(x, verbose=0), direct, rtol=1e-6)
    model.compile("adam", "sparse_categorical_crossentropy", ["accuracy"])
    model.fit(x, np.array([0, 1, 2, 0, 1]), epochs=2, verbose=0)
    with pytest.raises(ValueError, match="outside a layer"):
        model.get_config()


def test_subclassed_model():
    class MLP(keras.Model):
        def __init__(self):
            super().__init__()
            self.hidden = keras.layers.Dense(6, activation="relu")
            self.out = keras.layers.Dense(1)

        def call(self, x, training=None):
            return self.out(self.hidden(x))

    model = MLP()
    model.compile("sgd", "mse")
    model.fit(np.ones((10, 3)), np.ones((10, 1)), verbose=0)
    assert len(model.weights) == 4 and model.output_shape == (None, 1)


def test_set_weights_checks_everything_first():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    before = model.get_weights()
    with pytest.raises(ValueError, match="shape"):
        model.set_weights([np.ones((3, 2)), np.ones(3)])
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_sequential_add_pop_and_input_shape_kwarg():
    model = keras.Sequential()
    model.add(keras.layers.Dense(4, input_shape=(3,)))
    assert model.built and model.input_shape == (None, 3)
    model.add(keras.layers.Dense(2))
    assert model.output_shape == (None, 2)
    model.pop()
    assert model.output_shape == (None, 4)
    with pytest.raises(TypeError, match="Layer"):
        model.add("dense")
