"""Losses beyond Keras's own tests: graphc's exact crossentropies, symbolic
inputs, weighting rules, identifiers and configs, errors, and the trainer.
(Keras's golden values are in test_losses_keras_golden.py.)"""
import json

import numpy as np
import pytest

import graphc as gc
from graphc import keras

L = keras.losses
rng = np.random.default_rng(0)
LOGITS = rng.normal(size=(6, 4)).astype("float32") * 3
LABELS = rng.integers(0, 4, 6)
PROBS = np.exp(LOGITS) / np.exp(LOGITS).sum(-1, keepdims=True)
LOG_PROBS = LOGITS - np.log(np.exp(LOGITS).sum(-1, keepdims=True))


# ------------------------------------------------ graphc's exact crossentropy

def test_crossentropy_of_a_softmax_is_computed_from_its_logits():
    y_pred = gc.softmax(gc.constant(LOGITS))
    expected = np.mean(-LOG_PROBS[np.arange(6), LABELS])
    assert float(L.SparseCategoricalCrossentropy()(LABELS, y_pred)) == pytest.approx(expected, rel=1e-5)
    one_hot = keras.utils.to_categorical(LABELS, 4)
    assert float(L.CategoricalCrossentropy()(one_hot, y_pred)) == pytest.approx(expected, rel=1e-5)
    # exact where the probability underflows: Keras's clipping would give -log(1e-7) = 16.1
    huge = gc.softmax(gc.constant([[0.0, 60.0]]))
    assert float(L.SparseCategoricalCrossentropy()([0], huge)) == pytest.approx(60.0, rel=1e-5)
    assert float(L.categorical_focal_crossentropy([[1.0, 0.0]], huge, gamma=0.0, alpha=1.0)[0]) == \
        pytest.approx(60.0, rel=1e-5)


def test_crossentropy_of_probabilities_clips_like_keras():
    probs = np.array([[0.0, 1.0], [0.3, 0.7]], dtype="float32")
    clipped = np.clip(probs, 1e-7, 1 - 1e-7)
    expected = np.mean(-np.log(clipped[np.arange(2), [0, 1]]))
    assert float(L.SparseCategoricalCrossentropy()([0, 1], probs)) == pytest.approx(expected, rel=1e-5)


def test_binary_crossentropy_of_a_sigmoid_is_computed_from_its_logits():
    y = np.array([[1.0], [0.0], [1.0]], dtype="float32")
    z = np.array([[2.0], [-1.0], [-30.0]], dtype="float32")
    exact = np.mean(y * np.logaddexp(0, -z) + (1 - y) * np.logaddexp(0, z))
    assert float(L.BinaryCrossentropy()(y, gc.sigmoid(gc.constant(z)))) == pytest.approx(exact, rel=1e-5)
    p = np.clip(1 / (1 + np.exp(-z)), 1e-7, 1 - 1e-7)
    clipped = np.mean(-(y * np.log(p) + (1 - y) * np.log(1 - p)))
    assert float(L.BinaryCrossentropy()(y, 1 / (1 + np.exp(-z)))) == pytest.approx(clipped, rel=1e-4)


def test_softmax_crossentropy_gradient_is_probabilities_minus_one_hot():
    logits = gc.Variable(LOGITS, name="logits")
    loss = L.SparseCategoricalCrossentropy()(LABELS, gc.softmax(logits))
    np.testing.assert_allclose(gc.grad(loss, logits).numpy(), (PROBS - np.eye(4)[LABELS]) / 6, rtol=1e-5, atol=1e-7)


def test_label_smoothing_spreads_over_the_class_axis():
    # one sample, classes on axis 0: the smoothed label is 0.9 * y + 0.1 / 3 on each of the 3 classes
    y_true = np.array([[1.0], [0.0], [0.0]])
    logits = np.array([[2.0], [0.0], [-1.0]])
    log_probs = logits[:, 0] - np.log(np.exp(logits[:, 0]).sum())
    smoothed = 0.9 * y_true[:, 0] + 0.1 / 3
    loss = L.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1, axis=0)
    assert float(loss(y_true, logits)) == pytest.approx(-np.sum(smoothed * log_probs), rel=1e-5)


# ------------------------------------------------------ inputs and results

def test_eager_result_is_a_tensor_with_a_value():
    loss = L.MeanSquaredError()([[1.0, 2.0]], [[0.0, 0.0]])
    assert isinstance(loss, gc.Tensor) and loss.shape == ()
    assert float(loss) == 2.5 and loss.numpy() == 2.5 and f"{loss:.2f}" == "2.50"


def test_symbolic_inputs_build_graph_that_evaluates_like_arrays():
    y_true = gc.placeholder((None,), dtype="int64", name="labels")
    logits = gc.placeholder((None, 4), name="logits")
    weight = gc.placeholder((None,), name="weight")
    loss = L.SparseCategoricalCrossentropy(from_logits=True)(y_true, logits, sample_weight=weight)
    assert not loss.has_value
    weights = np.linspace(0.0, 1.0, 6).astype("float32")
    value = loss.eval({y_true: LABELS, logits: LOGITS, weight: weights})
    assert value == pytest.approx(np.mean(-LOG_PROBS[np.arange(6), LABELS] * weights), rel=1e-5)


def test_an_empty_batch_gives_zero_as_keras_divide_no_nan():
    y = gc.placeholder((None, 3), name="y")
    loss = L.MeanSquaredError()(y, gc.zeros((1, 3)) + y)
    assert loss.eval({y: np.zeros((0, 3), np.float32)}) == 0.0


def test_per_sample_weights_scale_every_pixel_of_a_segmentation():
    # losses of shape (batch, h, w) and weights of shape (batch,): Keras documents that each
    # sample's losses are scaled by its weight (a square image, so a last-axis broadcast would differ)
    labels = rng.integers(0, 3, (2, 2, 2))
    logits = rng.normal(size=(2, 2, 2, 3))
    log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    pixel_losses = -np.take_along_axis(log_probs, labels[..., None], -1)[..., 0]
    weights = np.array([1.0, 0.0])
    loss = L.SparseCategoricalCrossentropy(from_logits=True)(labels, logits, sample_weight=weights)
    assert float(loss) == pytest.approx(np.mean(pixel_losses * weights[:, None, None]), rel=1e-5)


def test_ignore_class_averages_over_the_counted_labels_only():
    labels = np.array([[0, 255, 2], [255, 1, 1]])  # 255: "void" pixels, as in Pascal VOC
    logits = rng.normal(size=(2, 3, 3))
    log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    counted = labels != 255
    picked = -np.take_along_axis(log_probs, np.where(counted, labels, 0)[..., None], -1)[..., 0]
    loss = L.SparseCategoricalCrossentropy(from_logits=True, ignore_class=255)
    assert float(loss(labels, logits)) == pytest.approx(picked[counted].mean(), rel=1e-5)
    summed = L.SparseCategoricalCrossentropy(from_logits=True, ignore_class=255, reduction="sum")
    assert float(summed(labels, logits)) == pytest.approx(picked[counted].sum(), rel=1e-5)


def test_mean_with_sample_weight_of_zero_weights_is_zero():
    loss = L.MeanSquaredError(reduction="mean_with_sample_weight")
    assert float(loss([[1.0], [2.0]], [[0.0], [0.0]], sample_weight=[0.0, 0.0])) == 0.0


def test_hinge_keeps_labels_that_are_not_all_binary():
    # labels -1/1 are used as given (0/1 labels would become -1/1): mean(max(1 - y * p, 0))
    y_true, y_pred = np.array([[-1.0, 1.0]]), np.array([[0.5, 0.25]])
    assert float(L.hinge(y_true, y_pred)[0]) == pytest.approx((1.5 + 0.75) / 2)


def test_zero_vectors_have_zero_cosine_similarity():
    assert float(L.cosine_similarity([[0.0, 0.0]], [[1.0, 2.0]])[0]) == 0.0


# --------------------------------------------------- subclasses and wrappers

class ScaledSquares(L.Loss):
    def __init__(self, scale=1.0, **kwargs):
        super().__init__(**kwargs)
        self.scale = scale

    def call(self, y_true, y_pred):
        return self.scale * gc.reduce_mean(gc.square(y_true - y_pred), axis=-1)


def test_a_subclass_overriding_call_is_named_weighted_and_reduced():
    first, second = ScaledSquares(2.0), ScaledSquares()
    assert (first.name, second.name) == ("scaled_squares", "scaled_squares_1")
    value = first([[1.0, 3.0], [0.0, 0.0]], [[0.0, 0.0], [0.0, 0.0]], sample_weight=[1.0, 3.0])
    assert float(value) == pytest.approx(2.0 * 5.0 * 1.0 / 2)
    assert first.get_config() == {"name": "scaled_squares", "reduction": "sum_over_batch_size"}


def test_a_subclass_trains_in_a_model():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile("sgd", loss=ScaledSquares(0.5))
    x, y = np.ones((4, 2), np.float32), np.ones((4, 1), np.float32)
    before = model.evaluate(x, y, verbose=0)
    model.fit(x, y, epochs=3, verbose=0)
    assert model.evaluate(x, y, verbose=0) < before


def test_custom_loss_function_in_compile():
    def half_squared(y_true, y_pred):
        return 0.5 * gc.reduce_sum(gc.square(y_pred - y_true), axis=-1)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, kernel_initializer="zeros")])
    model.compile("sgd", half_squared)
    assert model._loss_object.name == "half_squared"
    # zero weights predict 0: the loss is 0.5 * 1^2 per sample
    assert model.evaluate(np.ones((4, 2)), np.ones((4, 1)), verbose=0) == pytest.approx(0.5)


def test_wrapped_functions_know_whether_labels_are_sparse():
    assert L.loss_object("sparse_categorical_crossentropy").sparse
    assert L.loss_object(L.SparseCategoricalCrossentropy()).sparse
    assert not L.loss_object("categorical_crossentropy").sparse
    wrapped = L.loss_object("mse")
    assert isinstance(wrapped, L.LossFunctionWrapper) and wrapped.name == "mean_squared_error"
    assert L.loss_object(None) is None


# ----------------------------------------------------- identifiers, configs

def test_get_follows_keras():
    assert L.get("categorical_crossentropy") is L.categorical_crossentropy
    assert L.get("bce") is L.binary_crossentropy and L.get("KLD") is L.kl_divergence
    assert isinstance(L.get("CategoricalCrossentropy"), L.CategoricalCrossentropy)
    assert isinstance(L.get(L.Huber), L.Huber)
    huber = L.Huber()
    assert L.get(huber) is huber
    loss = L.get({"class_name": "CategoricalCrossentropy", "config": {"from_logits": True}})
    assert isinstance(loss, L.CategoricalCrossentropy) and loss.from_logits is True
    with pytest.raises(ValueError, match="Could not interpret loss identifier"):
        L.get(3)


ROUND_TRIPS = [
    L.MeanSquaredError(name="mymse"), L.MeanAbsoluteError(reduction="sum"), L.MeanAbsolutePercentageError(),
    L.MeanSquaredLogarithmicError(reduction=None), L.CosineSimilarity(axis=1), L.Huber(delta=0.5),
    L.LogCosh(dtype="float64"), L.Hinge(), L.SquaredHinge(), L.CategoricalHinge(), L.KLDivergence(), L.Poisson(),
    L.BinaryCrossentropy(from_logits=True, label_smoothing=0.2), L.BinaryFocalCrossentropy(True, 0.5, 3.0),
    L.CategoricalCrossentropy(label_smoothing=0.1, axis=1), L.CategoricalFocalCrossentropy(alpha=0.5, gamma=1.0),
    L.SparseCategoricalCrossentropy(ignore_class=-1, axis=1), L.LossFunctionWrapper(L.huber, delta=2.0),
]


@pytest.mark.parametrize("loss", ROUND_TRIPS, ids=lambda loss: type(loss).__name__)
def test_serialize_round_trips_through_json(loss):
    config = json.loads(json.dumps(L.serialize(loss)))
    assert config["class_name"] == type(loss).__name__
    restored = L.deserialize(config)
    assert type(restored) is type(loss)
    assert restored.get_config() == loss.get_config()
    assert restored.dtype == loss.dtype


def test_configs_keep_keras_keys_and_the_arguments_keras_drops():
    assert L.MeanSquaredError().get_config() == {"name": "mean_squared_error", "reduction": "sum_over_batch_size"}
    assert L.SparseCategoricalCrossentropy().get_config() == {
        "name": "sparse_categorical_crossentropy", "reduction": "sum_over_batch_size", "from_logits": False,
        "ignore_class": None, "axis": -1}
    assert L.Huber(delta=0.5).get_config()["delta"] == 0.5
    assert L.MeanSquaredError(dtype="float64").get_config()["dtype"] == "float64"


def test_functions_serialize_by_name():
    config = L.serialize(L.mean_squared_error)
    assert (config["class_name"], config["config"]) == ("function", "mean_squared_error")
    assert L.deserialize(config) is L.mean_squared_error
    assert L.deserialize("mse") is L.mean_squared_error
    assert isinstance(L.deserialize("Poisson"), L.Poisson)


def test_custom_losses_do_not_serialize_but_custom_objects_deserialize():
    def my_loss(y_true, y_pred):
        return gc.reduce_mean(gc.abs(y_true - y_pred), axis=-1)
    with pytest.raises(ValueError, match="my_loss"):
        L.serialize(my_loss)
    with pytest.raises(ValueError, match="scaled_squares"):
        L.serialize(ScaledSquares())
    config = {"class_name": "ScaledSquares", "config": {"name": "s", "reduction": "sum"}}
    restored = L.deserialize(config, custom_objects={"ScaledSquares": ScaledSquares})
    assert isinstance(restored, ScaledSquares) and restored.reduction == "sum"
    assert L.deserialize({"class_name": "function", "config": "my_loss"}, custom_objects={"my_loss": my_loss}) \
        is my_loss


@pytest.mark.parametrize("config", [
    {"class_name": "os.system", "config": {}},
    {"class_name": "function", "config": "eval"},
    {"class_name": "LossFunctionWrapper", "config": {"fn": {"class_name": "function", "config": "open"}}},
    {"class_name": "Huber", "config": {"delta": 1.0, "shell": True}},
    {"class_name": "Huber", "config": [1, 2]},
    ["Huber"],
])
def test_malformed_or_foreign_configs_are_value_errors(config):
    with pytest.raises(ValueError):
        L.deserialize(config)


def test_a_saved_model_keeps_its_loss_arguments(tmp_path):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile("sgd", loss=L.Huber(delta=0.25))
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert isinstance(loaded._loss_object, L.Huber) and loaded._loss_object.delta == 0.25
    model.compile("sgd", loss=L.mean_absolute_error)
    model.save(tmp_path / "f.keras")
    assert keras.models.load_model(tmp_path / "f.keras")._loss_object.fn is L.mean_absolute_error


# ------------------------------------------------------------------ errors

def test_unknown_names_and_reductions_are_named():
    with pytest.raises(ValueError, match=r"Unknown loss function: 'msee'; known: .*did you mean 'mse'"):
        L.get("msee")
    with pytest.raises(ValueError, match=r"Huber: Invalid value for argument `reduction`.*'avg'"):
        L.Huber(reduction="avg")
    with pytest.raises(ValueError, match="tf.keras's default"):
        L.MeanSquaredError(reduction="auto")
    assert L.Reduction.SUM == "sum" and None in L.Reduction.all()


def test_incompatible_shapes_name_the_loss_and_the_shapes():
    with pytest.raises(ValueError, match=r"mean_squared_error: y_true of shape \(2, 3\) and y_pred of shape \(2, 4\)"):
        L.MeanSquaredError()(np.ones((2, 3)), np.ones((2, 4)))
    with pytest.raises(ValueError, match=r"categorical_crossentropy: .*\(3,\).*\(3, 4\).*sparse_categorical"):
        L.CategoricalCrossentropy()(np.array([0, 1, 2]), np.ones((3, 4)))
    with pytest.raises(ValueError, match=r"sparse_categorical_crossentropy: .*\(3,\).*\(2, 4\).*\(2,\)"):
        L.SparseCategoricalCrossentropy()(np.array([0, 1, 2]), np.ones((2, 4)))
    with pytest.raises(ValueError, match="for one-hot labels use categorical_crossentropy"):
        L.SparseCategoricalCrossentropy()(np.eye(4), np.ones((4, 4)))


def test_bad_sample_weights_name_the_loss_and_the_shapes():
    with pytest.raises(ValueError, match=r"huber_loss: sample_weight of shape \(3, 2\) does not fit the losses of "
                                         r"shape \(2,\)"):
        L.Huber()(np.ones((2, 3)), np.ones((2, 3)), sample_weight=np.ones((3, 2)))
    with pytest.raises(ValueError, match=r"sample_weight of shape \(5,\)"):
        L.MeanSquaredError()(np.ones((2, 3)), np.ones((2, 3)), sample_weight=np.ones(5))


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="no bfloat16"):
        L.MeanSquaredError(dtype="bfloat16")
    with pytest.raises(ValueError, match="label_smoothing must be a number in"):
        L.CategoricalCrossentropy(label_smoothing=1.5)
    with pytest.raises(ValueError, match="`axis` must be of type `int`"):
        L.BinaryCrossentropy(axis=True)
    with pytest.raises(ValueError, match="integer class labels"):
        L.SparseCategoricalCrossentropy()(np.array([0.5, 1.0]), np.ones((2, 3)))
    with pytest.raises(AttributeError):
        L.MeanSquaredError().dtype = "float64"
    with pytest.raises(NotImplementedError, match="must implement call"):
        L.Loss()([1.0], [1.0])


# ----------------------------------------------------------------- trainer

@pytest.mark.parametrize("loss", ["mse", "mae", "mape", "msle", "huber", "log_cosh", "hinge", "squared_hinge",
                                  "categorical_hinge", "kld", "poisson", "cosine_similarity", "binary_crossentropy",
                                  "binary_focal_crossentropy", "categorical_crossentropy",
                                  "categorical_focal_crossentropy", "sparse_categorical_crossentropy"])
def test_every_built_in_loss_trains(loss):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    model.compile("adam", loss=loss)
    data = np.random.default_rng(3)
    x = data.normal(size=(16, 4)).astype("float32")
    labels = data.integers(0, 3, 16)
    y = labels if loss == "sparse_categorical_crossentropy" else keras.utils.to_categorical(labels, 3)
    history = model.fit(x, y, epochs=5, batch_size=16, verbose=0)
    losses = history.history["loss"]
    assert np.all(np.isfinite(losses)) and losses[-1] < losses[0]
    # the trainer's number is the loss object's number on the model's predictions
    expected = float(L.loss_object(loss)(y, model.predict(x, verbose=0)))
    assert model.evaluate(x, y, verbose=0) == pytest.approx(expected, rel=1e-4, abs=1e-6)
