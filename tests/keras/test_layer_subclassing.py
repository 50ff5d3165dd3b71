"""Layer subclassing as Keras 3's guide teaches it ("Making new layers and models
via subclassing"): weights in __init__ or build, non-trainable weights, nested
layers, the training argument, several inputs and outputs, get_config."""
import numpy as np
import pytest

import graphc as gc
from graphc import keras

RNG = np.random.default_rng(3)


class Linear(keras.layers.Layer):
    """The guide's first layer: weights made in __init__ from a known input size."""

    def __init__(self, units=32, input_dim=32):
        super().__init__()
        self.w = self.add_weight(shape=(input_dim, units), initializer="random_normal", trainable=True)
        self.b = self.add_weight(shape=(units,), initializer="zeros", trainable=True)

    def call(self, inputs):
        return gc.matmul(inputs, self.w) + self.b


class LazyLinear(keras.layers.Layer):
    """Weights made in build, once the input shape is known."""

    def __init__(self, units=32, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units), initializer="random_normal", name="w")
        self.b = self.add_weight(shape=(self.units,), initializer="zeros", name="b")

    def call(self, inputs):
        return gc.matmul(inputs, self.w) + self.b


class ComputeSum(keras.layers.Layer):
    """A non-trainable weight updated by the call."""

    def __init__(self, input_dim):
        super().__init__()
        self.total = self.add_weight(initializer="zeros", shape=(input_dim,), trainable=False)

    def call(self, inputs):
        self.total.assign_add(gc.reduce_sum(inputs, axis=0))
        return self.total


class MLPBlock(keras.layers.Layer):
    """Layers inside a layer: tracked, built in its scope."""

    def __init__(self):
        super().__init__()
        self.linear_1 = LazyLinear(32)
        self.linear_2 = LazyLinear(32)
        self.linear_3 = LazyLinear(1)

    def call(self, inputs):
        x = gc.relu(self.linear_1(inputs))
        x = gc.relu(self.linear_2(x))
        return self.linear_3(x)


def test_weights_made_in_init_compute_a_linear_map():
    layer = Linear(4, 2)
    x = np.ones((2, 2), "float32")
    np.testing.assert_allclose(layer(x).numpy(), x @ layer.w.numpy() + layer.b.numpy(), rtol=1e-6)
    assert len(layer.weights) == 2 and len(layer.trainable_weights) == 2


def test_weights_made_in_build_on_the_first_call():
    layer = LazyLinear(3, name="lazy")
    assert not layer.built and layer.weights == []
    y = layer(keras.Input((5,)))
    assert layer.built and layer.w.shape == (5, 3) and y.shape == (None, 3)
    assert [w.name for w in layer.weights] == ["lazy/w", "lazy/b"]


def test_a_non_trainable_weight_is_state_and_not_trained():
    layer = ComputeSum(2)
    x = np.ones((2, 2), "float32")
    np.testing.assert_array_equal(layer(x).numpy(), [2.0, 2.0])
    np.testing.assert_array_equal(layer(x).numpy(), [4.0, 4.0])
    assert layer.weights == layer.non_trainable_weights and layer.trainable_weights == []


def test_nested_layers_are_tracked_and_scoped():
    block = MLPBlock()
    y = block(np.ones((3, 64), "float32"))
    assert y.shape == (3, 1)
    assert len(block.weights) == 6 and len(block.trainable_weights) == 6
    assert block.weights[0].name == "mlp_block/lazy_linear/w"
    block.linear_3.trainable = False
    assert len(block.trainable_weights) == 4 and len(block.non_trainable_weights) == 2
    block.trainable = False
    assert block.trainable_weights == [] and len(block.non_trainable_weights) == 6


def test_layers_in_lists_and_dicts_are_tracked():
    class Stack(keras.layers.Layer):
        def __init__(self):
            super().__init__()
            self.parts = [keras.layers.Dense(2), keras.layers.Dense(2)]
            self.heads = {"a": keras.layers.Dense(1)}

        def call(self, x):
            for part in self.parts:
                x = part(x)
            return self.heads["a"](x)

    layer = Stack()
    layer(np.ones((1, 3), "float32"))
    assert len(layer.weights) == 6


def test_training_reaches_nested_layers_and_is_on_only_in_fit():
    class CustomDropout(keras.layers.Layer):
        def __init__(self, rate, **kwargs):
            super().__init__(**kwargs)
            self.rate = rate
            self.seen = []

        def call(self, inputs, training=None):
            self.seen.append(training)
            if training:
                return inputs * 0.0  # drops everything: easy to see
            return inputs

    class Block(keras.layers.Layer):
        def __init__(self):
            super().__init__()
            self.drop = CustomDropout(0.5)

        def call(self, x):  # no training argument: passed on by the outer call
            return self.drop(x)

    block = Block()
    x = np.ones((2, 3), "float32")
    np.testing.assert_array_equal(block(x, training=True).numpy(), 0.0)
    np.testing.assert_array_equal(block(x).numpy(), 1.0)
    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Dense(1, kernel_initializer="ones")(block(inputs)))
    model.compile("sgd", "mse")
    block.drop.seen.clear()
    model.fit(x, np.zeros((2, 1)), verbose=0)
    assert block.drop.seen == [True]  # traced once, in the training step
    np.testing.assert_array_equal(model.predict(x, verbose=0), 3.0)  # and off in predict


def test_a_training_argument_given_when_building_the_model_is_kept():
    inputs = keras.Input((100,))
    always = keras.layers.Dropout(0.5, seed=1)(inputs, training=True)
    model = keras.Model(inputs, always)
    out = model.predict(np.ones((2, 100), "float32"), verbose=0)
    assert 0 < (out == 0).mean() < 1  # dropout on at inference too, as Keras does


def test_a_layer_returning_its_input_is_still_a_node_of_its_own():
    inputs = keras.Input((3,))
    hidden = keras.layers.Dense(3)(inputs)
    same = keras.layers.Activation("linear")(hidden)
    dropped = keras.layers.Dropout(0.5)(same)  # training=None: the input, as a new tensor
    model = keras.Model(inputs, keras.layers.Dense(1)(dropped))
    assert [type(l).__name__ for l in model.layers] == ["InputLayer", "Dense", "Activation", "Dropout", "Dense"]
    assert same is not hidden and dropped is not same


def test_several_inputs_and_outputs_of_a_layer():
    class Stats(keras.layers.Layer):
        def build(self, shapes):
            a_shape, b_shape = shapes
            self.scale = self.add_weight(shape=(a_shape[-1],), initializer="ones", name="scale")

        def call(self, inputs):
            a, b = inputs
            return {"sum": (a + b) * self.scale, "difference": a - b}

    a, b = RNG.normal(size=(2, 4)).astype("float32"), RNG.normal(size=(2, 4)).astype("float32")
    out = Stats()([a, b])
    np.testing.assert_allclose(out["sum"].numpy(), a + b, rtol=1e-6)
    np.testing.assert_allclose(out["difference"].numpy(), a - b, rtol=1e-6)
    x, y = keras.Input((4,)), keras.Input((4,))
    parts = Stats()([x, y])
    model = keras.Model([x, y], [parts["difference"], parts["sum"]])
    got = model.predict([a, b], verbose=0)
    np.testing.assert_allclose(got[0], a - b, rtol=1e-6)
    np.testing.assert_allclose(got[1], a + b, rtol=1e-6)


def test_build_with_one_shape_per_argument():
    class Pair(keras.layers.Layer):
        def build(self, a_shape, b_shape):
            self.shapes = (a_shape, b_shape)

        def call(self, a, b):
            return a * b

    layer = Pair()
    layer(np.ones((2, 3), "float32"), np.ones((2, 1), "float32"))
    assert layer.shapes == ((2, 3), (2, 1))


def test_get_config_from_the_constructor_arguments():
    class Scaled(keras.layers.Layer):
        def __init__(self, factor=2.0, units=(1, 2), **kwargs):
            super().__init__(**kwargs)
            self.factor = factor

        def call(self, x):
            return x * self.factor

    config = Scaled(3.0, name="s").get_config()
    assert config["factor"] == 3.0 and config["units"] == (1, 2) and config["name"] == "s"
    clone = Scaled.from_config(config)
    assert clone.factor == 3.0 and clone.name == "s"

    class Opaque(keras.layers.Layer):
        def __init__(self, table):
            super().__init__()
            self.table = table

    with pytest.raises(NotImplementedError, match="must define get_config"):
        Opaque(object()).get_config()


def test_mistakes_in_a_subclass_are_named():
    class NoSuper(keras.layers.Layer):
        def __init__(self):
            self.units = 3

    with pytest.raises(RuntimeError, match="NoSuper: its __init__ must call super"):
        NoSuper()(np.ones((1, 2), "float32"))

    class ReturnsNumbers(keras.layers.Layer):
        def call(self, x):
            return 1.0

    with pytest.raises(TypeError, match="layer 'returns_numbers': call must return a tensor"):
        ReturnsNumbers()(np.ones((1, 2), "float32"))
    with pytest.raises(ValueError, match="weight 'w' needs a fully known shape"):
        keras.layers.Layer(name="l").add_weight(shape=(None, 3), name="w")


def test_build_called_by_hand_builds_once():
    layer = LazyLinear(3)
    layer.build((None, 5))
    assert layer.built and len(layer.weights) == 2
    layer(np.ones((2, 5), "float32"))
    assert len(layer.weights) == 2  # not built again by the call
    model = keras.Sequential([LazyLinear(2)])
    model.build((None, 4))
    assert model.built and model.output_shape == (None, 2) and len(model.weights) == 2
