"""Losses (Keras 3 names, defaults and formulas), as graphc graph expressions.

A loss object maps symbolic ``(y_true, y_pred)`` to the scalar mean over the
batch of the per-sample losses ("sum_over_batch_size"). Probabilities are
clipped to [epsilon, 1 - epsilon] with epsilon = 1e-7, as in Keras; but when
``y_pred`` is the output of a softmax (or sigmoid) op, the loss is computed
from its logits with ``gc.log_softmax`` (or softplus), as tf.keras does:
exact and stable, with no clipping needed.
"""
from __future__ import annotations

import graphc as gc
from graphc.ops.elementwise import TABLE, Elementwise
from graphc.ops.reduce import Softmax

EPSILON = 1e-7


def _logits_of_softmax(y_pred):
    op = y_pred.op
    if isinstance(op, Softmax) and op.axis == y_pred.ndim - 1:
        return y_pred.inputs[0]
    return None


def _logits_of_sigmoid(y_pred):
    op = y_pred.op
    if isinstance(op, Elementwise) and op.expr == TABLE["sigmoid"]:
        return y_pred.inputs[0]
    return None


def _log_probabilities(y_pred, from_logits):
    if from_logits:
        return gc.log_softmax(y_pred, axis=-1)
    logits = _logits_of_softmax(y_pred)
    if logits is not None:
        return gc.log_softmax(logits, axis=-1)
    probs = y_pred / gc.reduce_sum(y_pred, axis=-1, keepdims=True)
    return gc.log(gc.clip(probs, EPSILON, 1.0 - EPSILON))


# ----------------------------------------------------- per-sample functions

def mean_squared_error(y_true, y_pred):
    return gc.reduce_mean(gc.square(y_pred - y_true), axis=-1)


def mean_absolute_error(y_true, y_pred):
    return gc.reduce_mean(gc.abs(y_pred - y_true), axis=-1)


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0):
    if label_smoothing:
        classes = y_pred.shape[-1]
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / classes
    return -gc.reduce_sum(y_true * _log_probabilities(y_pred, from_logits), axis=-1)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False):
    classes = y_pred.shape[-1]
    one_hot = gc.one_hot(y_true, classes, dtype=y_pred.dtype)
    return -gc.reduce_sum(one_hot * _log_probabilities(y_pred, from_logits), axis=-1)


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0):
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    logits = y_pred if from_logits else _logits_of_sigmoid(y_pred)
    if logits is not None:
        # -log(sigmoid(z)) = softplus(-z), -log(1 - sigmoid(z)) = softplus(z)
        elementwise = y_true * gc.softplus(-logits) + (1.0 - y_true) * gc.softplus(logits)
    else:
        p = gc.clip(y_pred, EPSILON, 1.0 - EPSILON)
        elementwise = -(y_true * gc.log(p) + (1.0 - y_true) * gc.log(1.0 - p))
    return gc.reduce_mean(elementwise, axis=-1)


# ----------------------------------------------------------- loss objects

class Loss:
    """Callable: the mean per-sample loss over the batch. ``sparse`` losses take int labels."""
    sparse = False
    fn = None

    def __init__(self, name=None, **options):
        self.name = name or _SNAKE[type(self).__name__]
        self.options = options

    def per_sample(self, y_true, y_pred):
        return type(self).fn(y_true, y_pred, **self.options)

    def __call__(self, y_true, y_pred):
        # scope "loss" (not the long loss name) keeps the generated identifiers readable
        with gc.name_scope("loss"):
            values = self.per_sample(y_true, y_pred)
            return gc.reduce_mean(values) if values.ndim else values

    def get_config(self):
        return dict(name=self.name, **self.options)


class MeanSquaredError(Loss):
    fn = staticmethod(mean_squared_error)

    def __init__(self, name=None):
        super().__init__(name)


class MeanAbsoluteError(Loss):
    fn = staticmethod(mean_absolute_error)

    def __init__(self, name=None):
        super().__init__(name)


class BinaryCrossentropy(Loss):
    fn = staticmethod(binary_crossentropy)

    def __init__(self, from_logits=False, label_smoothing=0.0, name=None):
        super().__init__(name, from_logits=bool(from_logits), label_smoothing=float(label_smoothing))


class CategoricalCrossentropy(Loss):
    fn = staticmethod(categorical_crossentropy)

    def __init__(self, from_logits=False, label_smoothing=0.0, name=None):
        super().__init__(name, from_logits=bool(from_logits), label_smoothing=float(label_smoothing))


class SparseCategoricalCrossentropy(Loss):
    fn = staticmethod(sparse_categorical_crossentropy)
    sparse = True

    def __init__(self, from_logits=False, name=None):
        super().__init__(name, from_logits=bool(from_logits))


class LossFunctionWrapper(Loss):
    """A user function ``fn(y_true, y_pred)`` of graphc tensors (per sample or scalar)."""

    def __init__(self, fn, name=None):
        self.name = name or getattr(fn, "__name__", "loss")
        if not self.name.isidentifier():
            self.name = "loss"
        self.options = {}
        self.function = fn

    def per_sample(self, y_true, y_pred):
        return self.function(y_true, y_pred)


_SNAKE = {"MeanSquaredError": "mean_squared_error", "MeanAbsoluteError": "mean_absolute_error",
          "BinaryCrossentropy": "binary_crossentropy", "CategoricalCrossentropy": "categorical_crossentropy",
          "SparseCategoricalCrossentropy": "sparse_categorical_crossentropy"}
CLASSES = {name: globals()[name] for name in _SNAKE}
_BY_NAME = {snake: CLASSES[cls] for cls, snake in _SNAKE.items()}
_BY_NAME.update(mse=MeanSquaredError, mae=MeanAbsoluteError)
_FUNCTIONS = {mean_squared_error: MeanSquaredError, mean_absolute_error: MeanAbsoluteError,
              binary_crossentropy: BinaryCrossentropy, categorical_crossentropy: CategoricalCrossentropy,
              sparse_categorical_crossentropy: SparseCategoricalCrossentropy}
mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error


def get(identifier) -> Loss:
    """A Loss from a name ("mse", "sparse_categorical_crossentropy", ...), a Loss, or a function."""
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, str):
        cls = _BY_NAME.get(identifier) or CLASSES.get(identifier)
        if cls is None:
            raise ValueError(f"Unknown loss function: {identifier!r}; known: {', '.join(sorted(_BY_NAME))}")
        return cls()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if identifier in _FUNCTIONS:
        return _FUNCTIONS[identifier]()
    if callable(identifier):
        return LossFunctionWrapper(identifier)
    raise ValueError(f"Could not interpret loss identifier: {identifier!r}")


def serialize(loss: Loss):
    if isinstance(loss, LossFunctionWrapper) or type(loss).__name__ not in CLASSES:
        raise ValueError(f"loss {loss.name!r} is a custom function, so it cannot be saved")
    return {"class_name": type(loss).__name__, "config": loss.get_config()}


def deserialize(config) -> Loss:
    if not isinstance(config, dict) or config.get("class_name") not in CLASSES:
        raise ValueError(f"unknown or malformed loss config {config!r:.200}")
    inner = config.get("config") or {}
    if not isinstance(inner, dict):
        raise ValueError("a loss config must be a dict")
    try:
        return CLASSES[config["class_name"]](**inner)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"bad config for loss {config['class_name']}: {exc}") from None
