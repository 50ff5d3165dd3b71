"""Metrics (Keras 3's API and numbers): state in gc.Variables.

A metric's ``update_state(...)`` assigns to its variables and ``result()``
computes from them, with graphc ops. Called eagerly (on arrays) they run
at once and ``result()`` is a tensor with a value; called inside a traced
step (the Keras steps are traced, see trainer.py) the assignments become
updates of the compiled step and ``result()`` reads the updated values.
``reset_state()`` zeroes the variables. So the numbers shown during fit are
means over the epoch so far, weighted by samples, as in Keras.
"""
from __future__ import annotations

import numpy as np

import graphc as gc
from graphc.graph import Tensor
from graphc.keras import initializers, losses, utils
from graphc.keras.losses import squeeze_or_expand_to_same_rank
from graphc.ops.array import broadcast_like
from graphc.ops.reduce import num_elements


def _tensor(value, dtype=None) -> Tensor:
    """``value`` (array, list, number or tensor) as a tensor, cast to ``dtype`` if given."""
    t = value if isinstance(value, Tensor) else gc.constant(np.asarray(value))
    return t if dtype is None or t.dtype == np.dtype(dtype) else gc.cast(t, dtype)


def _count(t: Tensor, axes) -> Tensor:
    """Number of elements of ``t`` along ``axes`` as a float32 tensor (run-time dims allowed)."""
    n = num_elements(t, tuple(axes))
    return n if isinstance(n, Tensor) else gc.constant(np.float32(n))


def _mean(t: Tensor, axes) -> Tensor:
    return gc.reduce_mean(t, axis=tuple(axes)) if axes else t


# ---------------------------------------------------------------- base class

class Metric:
    """Base class: ``add_variable`` in ``__init__``, then ``update_state`` and ``result``."""

    def __init__(self, name=None, dtype=None):
        self.name = utils.check_name(name, type(self).__name__) if name is not None else \
            utils.snake_case(type(self).__name__)
        self.dtype = np.dtype(dtype or "float32").name
        self._variables: list = []

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"

    def add_variable(self, shape=(), initializer="zeros", dtype=None, aggregation="sum", name=None):
        """A non-trainable state Variable of this metric (``name`` scoped under the metric's)."""
        dtype = dtype or self.dtype
        value = np.asarray(initializers.get(initializer)(tuple(shape), dtype), dtype=dtype)
        with gc.name_scope(self.name):
            variable = gc.Variable(value, trainable=False, name=name or "variable", dtype=dtype)
        self._variables.append(variable)
        return variable

    add_weight = add_variable

    @property
    def variables(self) -> list:
        return list(self._variables)

    def reset_state(self):
        for variable in self._variables:
            variable.assign(np.zeros(variable.shape, dtype=variable.dtype))

    def update_state(self, *args, **kwargs):
        raise NotImplementedError(f"metric {self.name!r}: a Metric subclass must define update_state")

    def result(self):
        raise NotImplementedError(f"metric {self.name!r}: a Metric subclass must define result")

    def __call__(self, *args, **kwargs):
        self.update_state(*args, **kwargs)
        return self.result()

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


# ---------------------------------------------------------------- reductions

def reduce_to_samplewise_values(values, sample_weight, reduce_fn, dtype):
    """Keras's weighting: values reduced to one per sample, weighted by ``sample_weight``
    (broadcast after matching ranks). Returns (values, per-sample weights or None)."""
    values = _tensor(values, dtype)
    if sample_weight is not None:
        sample_weight = _tensor(sample_weight, dtype)
        values, sample_weight = squeeze_or_expand_to_same_rank(values, sample_weight)
        weight_ndim = sample_weight.ndim
        if values.ndim > weight_ndim:
            values = reduce_fn(values, range(weight_ndim, values.ndim))
        sample_weight = broadcast_like(sample_weight, values)
        values = values * sample_weight
        if weight_ndim > 1:
            sample_weight = reduce_fn(sample_weight, range(1, weight_ndim))
    if values.ndim > 1:
        values = reduce_fn(values, range(1, values.ndim))
    return values, sample_weight


class Sum(Metric):
    """The (weighted) sum of the values seen."""

    def __init__(self, name="sum", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable(name="total")

    def update_state(self, values, sample_weight=None):
        values, _ = reduce_to_samplewise_values(values, sample_weight, _sum, self.dtype)
        self.total.assign_add(gc.reduce_sum(values))

    def result(self):
        return self.total * 1


class Mean(Metric):
    """The (weighted) mean of the values seen: ``total / count``."""

    def __init__(self, name="mean", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable(name="total")
        self.count = self.add_variable(name="count")

    def update_state(self, values, sample_weight=None):
        if (isinstance(sample_weight, Tensor) and sample_weight.ndim == 0 or isinstance(sample_weight, (int, float))) \
                and isinstance(values, Tensor) and values.ndim == 0:
            # one value of a given weight (the loss tracker: the batch's mean loss, weight batch size)
            weight = _tensor(sample_weight, self.dtype)
            self.total.assign_add(_tensor(values, self.dtype) * weight)
            self.count.assign_add(weight)
            return
        values, sample_weight = reduce_to_samplewise_values(values, sample_weight, _mean, self.dtype)
        self.total.assign_add(gc.reduce_sum(values))
        if sample_weight is not None:
            samples = gc.reduce_sum(sample_weight)
        elif values.ndim:
            samples = _count(values, (0,))
        else:
            samples = 1.0
        self.count.assign_add(_tensor(samples, self.dtype))

    def result(self):
        empty = gc.equal(self.count, 0.0)  # Keras's divide_no_nan: 0 before any update
        return gc.where(empty, 0.0, self.total / gc.where(empty, 1.0, self.count))


def _sum(t, axes):
    return gc.reduce_sum(t, axis=tuple(axes))


class MeanMetricWrapper(Mean):
    """The mean over samples of ``fn(y_true, y_pred, **kwargs)`` (one value per sample)."""

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        super().__init__(name=name or getattr(fn, "__name__", "metric"), dtype=dtype)
        self._fn = fn
        self._fn_kwargs = kwargs

    def update_state(self, y_true, y_pred, sample_weight=None):
        values = self._fn(y_true, y_pred, **self._fn_kwargs)
        return super().update_state(values, sample_weight=sample_weight)

    def get_config(self):
        return dict(super().get_config(), **self._fn_kwargs)


# ------------------------------------------------- accuracy functions (per sample)

def accuracy(y_true, y_pred):
    y_pred = _tensor(y_pred)
    y_true, y_pred = squeeze_or_expand_to_same_rank(_tensor(y_true, y_pred.dtype), y_pred)
    return gc.reduce_mean(gc.cast(gc.equal(y_true, y_pred), "float32"), axis=-1)


def binary_accuracy(y_true, y_pred, threshold=0.5):
    y_true, y_pred = _tensor(y_true), _tensor(y_pred)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    predicted = gc.cast(y_pred > gc.cast(gc.constant(threshold), y_pred.dtype), y_true.dtype)
    return gc.reduce_mean(gc.cast(gc.equal(y_true, predicted), "float32"), axis=-1)


def _matches(labels, y_pred):
    """1.0 where integer ``labels`` equal argmax(y_pred), shaped like ``labels``
    (a trailing axis of size 1 squeezed, as Keras does)."""
    squeezed = labels.ndim == y_pred.ndim and labels.shape[-1] == 1
    if squeezed:
        labels = gc.squeeze(labels, -1)
    predicted = gc.argmax(y_pred, axis=-1)
    if labels.dtype != predicted.dtype:
        predicted = gc.cast(predicted, labels.dtype)
    return gc.cast(gc.equal(labels, predicted), "float32")


def categorical_accuracy(y_true, y_pred):
    return _matches(gc.argmax(_tensor(y_true), axis=-1), _tensor(y_pred))


def sparse_categorical_accuracy(y_true, y_pred):
    return _matches(_tensor(y_true), _tensor(y_pred))


def _in_top_k(labels, y_pred, k):
    """Whether the score of each label is among the ``k`` largest of its row
    (ties at the boundary count as in, as in TensorFlow's in_top_k)."""
    labels = gc.cast(labels, "int32")
    if y_pred.ndim > 2:
        y_pred = gc.reshape(y_pred, (-1, y_pred.shape[-1]))
    if labels.ndim > 1:
        labels = gc.reshape(labels, (-1,))
    score = gc.reduce_sum(gc.one_hot(labels, y_pred.shape[-1], dtype=y_pred.dtype) * y_pred, axis=-1,
                          keepdims=True)
    higher = gc.reduce_sum(gc.cast(y_pred > score, "int32"), axis=-1)
    return gc.cast(higher < k, "float32")


def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5):
    labels = _tensor(y_true)
    matches = _in_top_k(labels, _tensor(y_pred), k)
    return gc.reshape(matches, labels.shape) if labels.ndim > 1 else matches


def top_k_categorical_accuracy(y_true, y_pred, k=5):
    return sparse_top_k_categorical_accuracy(gc.argmax(_tensor(y_true), axis=-1), y_pred, k)


mean_squared_error = losses.mean_squared_error
mean_absolute_error = losses.mean_absolute_error


# ------------------------------------------------------------ metric classes

class Accuracy(MeanMetricWrapper):
    """How often predictions equal labels."""

    def __init__(self, name="accuracy", dtype=None):
        super().__init__(accuracy, name=name, dtype=dtype)


class BinaryAccuracy(MeanMetricWrapper):
    """How often predictions (above ``threshold`` means 1) match binary labels."""

    def __init__(self, name="binary_accuracy", dtype=None, threshold=0.5):
        if threshold is not None and not 0 < threshold < 1:
            raise ValueError(f"Invalid value for argument `threshold`. Expected a value in interval (0, 1). "
                             f"Received: threshold={threshold}")
        super().__init__(binary_accuracy, name=name, dtype=dtype, threshold=threshold)


class CategoricalAccuracy(MeanMetricWrapper):
    """How often argmax(predictions) matches one-hot labels."""

    def __init__(self, name="categorical_accuracy", dtype=None):
        super().__init__(categorical_accuracy, name=name, dtype=dtype)


class SparseCategoricalAccuracy(MeanMetricWrapper):
    """How often argmax(predictions) matches integer labels."""

    def __init__(self, name="sparse_categorical_accuracy", dtype=None):
        super().__init__(sparse_categorical_accuracy, name=name, dtype=dtype)


class TopKCategoricalAccuracy(MeanMetricWrapper):
    """How often one-hot targets are among the ``k`` top predictions."""

    def __init__(self, k=5, name="top_k_categorical_accuracy", dtype=None):
        super().__init__(top_k_categorical_accuracy, name=name, dtype=dtype, k=int(k))


class SparseTopKCategoricalAccuracy(MeanMetricWrapper):
    """How often integer targets are among the ``k`` top predictions."""

    def __init__(self, k=5, name="sparse_top_k_categorical_accuracy", dtype=None):
        super().__init__(sparse_top_k_categorical_accuracy, name=name, dtype=dtype, k=int(k))


class MeanSquaredError(MeanMetricWrapper):
    def __init__(self, name="mean_squared_error", dtype=None):
        super().__init__(mean_squared_error, name=name, dtype=dtype)


class MeanAbsoluteError(MeanMetricWrapper):
    def __init__(self, name="mean_absolute_error", dtype=None):
        super().__init__(mean_absolute_error, name=name, dtype=dtype)


# ------------------------------------------------------------ lookup

FUNCTIONS = {
    "accuracy": accuracy,
    "binary_accuracy": binary_accuracy,
    "categorical_accuracy": categorical_accuracy,
    "sparse_categorical_accuracy": sparse_categorical_accuracy,
    "top_k_categorical_accuracy": top_k_categorical_accuracy,
    "sparse_top_k_categorical_accuracy": sparse_top_k_categorical_accuracy,
    "mean_squared_error": mean_squared_error,
    "mean_absolute_error": mean_absolute_error,
}
CLASSES = {cls.__name__: cls for cls in (Mean, Sum, MeanMetricWrapper, Accuracy, BinaryAccuracy,
                                         CategoricalAccuracy, SparseCategoricalAccuracy, TopKCategoricalAccuracy,
                                         SparseTopKCategoricalAccuracy, MeanSquaredError, MeanAbsoluteError)}
_CLASS_OF = {"binary_accuracy": BinaryAccuracy, "categorical_accuracy": CategoricalAccuracy,
             "sparse_categorical_accuracy": SparseCategoricalAccuracy,
             "top_k_categorical_accuracy": TopKCategoricalAccuracy,
             "sparse_top_k_categorical_accuracy": SparseTopKCategoricalAccuracy,
             "mean_squared_error": MeanSquaredError, "mean_absolute_error": MeanAbsoluteError}
ALIASES = {"mse": "mean_squared_error", "mae": "mean_absolute_error", "acc": "accuracy"}
mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error


def check(identifier) -> None:
    """Raise now (at compile) for a metric name that cannot be resolved later."""
    if isinstance(identifier, str):
        if ALIASES.get(identifier, identifier) not in FUNCTIONS:
            raise ValueError(f"Unknown metric function: {identifier!r}; known: "
                             f"{', '.join(sorted(set(FUNCTIONS) | set(ALIASES)))}")
    elif not (isinstance(identifier, Metric) or callable(identifier)):
        raise ValueError(f"Could not interpret metric identifier: {identifier!r}")


def get(identifier, loss=None, output_shape=None) -> Metric:
    """A metric object; "accuracy" becomes binary, sparse or categorical accuracy as in Keras:
    sparse for a sparse loss, binary for one output unit or binary crossentropy, else categorical."""
    check(identifier)
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Metric):
        return identifier()
    if callable(identifier) and not isinstance(identifier, str):
        return MeanMetricWrapper(identifier, getattr(identifier, "__name__", "metric"))
    name = ALIASES.get(identifier, identifier)
    if name == "accuracy":
        loss_name = getattr(loss, "name", "")
        if getattr(loss, "sparse", False):
            name = "sparse_categorical_accuracy"
        elif loss_name == "binary_crossentropy" or (output_shape and output_shape[-1] == 1):
            name = "binary_accuracy"
        else:
            name = "categorical_accuracy"
    return _CLASS_OF[name](name=identifier)
