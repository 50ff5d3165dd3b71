"""Custom layers, models, losses, metrics and activations saved and loaded by
registration or custom_objects (graphc/keras/registry.py), and nothing else."""
import numpy as np
import pytest

import graphc as gc
from graphc import keras

RNG = np.random.default_rng(5)
X = RNG.normal(size=(16, 4)).astype("float32")
Y = RNG.normal(size=(16, 1)).astype("float32")


@keras.saving.register_keras_serializable(package="tests")
class Scale(keras.layers.Layer):
    """A layer with a weight and a constructor argument (auto get_config)."""

    def __init__(self, init_value=2.0, **kwargs):
        super().__init__(**kwargs)
        self.init_value = init_value

    def build(self, input_shape):
        self.factor = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="factor")

    def call(self, x):
        return x * self.factor * self.init_value


@keras.saving.register_keras_serializable(package="tests")
def cube(x):
    return x * x * x


@keras.saving.register_keras_serializable(package="tests")
def half_mse(y_true, y_pred):
    return 0.5 * gc.reduce_mean(gc.square(y_pred - y_true), axis=-1)


@keras.saving.register_keras_serializable(package="tests")
class Peak(keras.metrics.Metric):
    def __init__(self, name="peak", **kwargs):
        super().__init__(name=name, **kwargs)
        self.best = self.add_variable(name="best")

    def update_state(self, y_true, y_pred, sample_weight=None):
        self.best.assign(gc.maximum(self.best, gc.reduce_max(gc.abs(y_pred))))

    def result(self):
        return self.best * 1.0


@keras.saving.register_keras_serializable(package="tests")
class Residual(keras.Model):
    """A subclassed model: saved by its config and rebuilt from its input shape."""

    def __init__(self, units=8, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.hidden = keras.layers.Dense(units, activation=cube)
        self.back = keras.layers.Dense(4)
        self.head = keras.layers.Dense(1)

    def call(self, x):
        return self.head(x + self.back(self.hidden(x)))


def test_registered_names():
    assert keras.saving.get_registered_name(Scale) == "tests>Scale"
    assert keras.saving.get_registered_object("tests>cube") is cube
    assert keras.utils.get_registered_name(half_mse) == "tests>half_mse"
    assert keras.saving.get_custom_objects()["tests>Peak"] is Peak


def test_a_registered_layer_activation_loss_and_metric_round_trip(tmp_path):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation=cube), Scale(0.5),
                              keras.layers.Dense(1)])
    model.compile("adam", loss=half_mse, metrics=[Peak(), "mae"])
    model.fit(X, Y, epochs=2, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_array_equal(loaded.predict(X, verbose=0), model.predict(X, verbose=0))
    assert isinstance(loaded.layers[1], Scale) and loaded.layers[1].init_value == 0.5
    assert loaded.layers[0].activation is cube
    assert loaded.loss is half_mse and int(loaded.optimizer.iterations) == int(model.optimizer.iterations) == 2
    assert set(loaded.evaluate(X, Y, return_dict=True, verbose=0)) == {"loss", "peak", "mae"}


def test_a_registered_subclassed_model_is_rebuilt_and_trains_on(tmp_path):
    model = Residual(units=6)
    model.compile(keras.optimizers.SGD(0.01), "mse")
    model.fit(X, Y, epochs=1, batch_size=8, verbose=0)
    model.save(tmp_path / "r.keras")
    loaded = keras.models.load_model(tmp_path / "r.keras")
    assert type(loaded) is Residual and loaded.units == 6 and loaded.input_shape == (None, 4)
    np.testing.assert_array_equal(loaded.predict(X, verbose=0), model.predict(X, verbose=0))
    model.fit(X, Y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    loaded.fit(X, Y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_an_unregistered_class_loads_with_custom_objects_or_a_scope(tmp_path):
    class Offset(keras.layers.Layer):
        def __init__(self, by=1.0, **kwargs):
            super().__init__(**kwargs)
            self.by = by

        def call(self, x):
            return x + self.by

    model = keras.Sequential([keras.Input((4,)), Offset(3.0), keras.layers.Dense(1)])
    model.save(tmp_path / "o.keras")
    with pytest.raises(ValueError, match="layer class 'Offset' is not allowed: it is neither built in .* nor "
                                         "registered; pass it in custom_objects"):
        keras.models.load_model(tmp_path / "o.keras")
    loaded = keras.models.load_model(tmp_path / "o.keras", custom_objects={"Offset": Offset})
    np.testing.assert_array_equal(loaded.predict(X, verbose=0), model.predict(X, verbose=0))
    with keras.saving.custom_object_scope({"Offset": Offset}):
        assert isinstance(keras.models.load_model(tmp_path / "o.keras").layers[0], Offset)


def test_a_file_cannot_name_objects_that_were_not_given(tmp_path):
    import json
    import zipfile
    model = keras.Sequential([keras.Input((4,)), Scale()])
    model.save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    config = json.loads(members["config.json"])
    config["model"]["config"]["layers"][1]["registered_name"] = "os>system"
    members["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(tmp_path / "m.keras", "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    with pytest.raises(ValueError, match="'os>system' is not allowed"):
        keras.models.load_model(tmp_path / "m.keras")


def test_objects_that_cannot_be_saved_say_how_to_fix_it(tmp_path):
    class Opaque(keras.layers.Layer):
        def __init__(self, table):
            super().__init__()
            self.table = table

        def call(self, x):
            return x

    model = keras.Sequential([keras.Input((4,)), Opaque(object())])
    with pytest.raises(ValueError, match="must define get_config"):
        model.save(tmp_path / "x.keras")
    assert not (tmp_path / "x.keras").exists()
    with pytest.raises(ValueError, match="register it with"):
        keras.activations.serialize(lambda x: x)
    unbuilt = Residual()
    with pytest.raises(ValueError, match="not built yet"):
        unbuilt.save(tmp_path / "y.keras")
