"""Metrics: running means over an epoch, their state in gc.Variables.

A metric's ``update(y_true, y_pred)`` builds graph expressions: the new
values of its ``total`` and ``count`` variables (applied as updates of the
compiled step) and its result after the update. ``reset_state`` zeroes the
variables (at the start of each epoch and of evaluate); ``result`` reads
them. So the numbers shown during fit are means over the epoch so far,
weighted by samples, as in Keras.
"""
from __future__ import annotations

import numpy as np

import graphc as gc
from graphc.ops.reduce import num_elements


class Metric:
    def __init__(self, name):
        self.name = name
        with gc.name_scope(name):
            self.total = gc.Variable(np.float32(0), trainable=False, name="total")
            self.count = gc.Variable(np.float32(0), trainable=False, name="count")

    @property
    def variables(self):
        return [self.total, self.count]

    def reset_state(self):
        self.total.assign(np.float32(0))
        self.count.assign(np.float32(0))

    def result(self) -> float:
        count = float(self.count.value)
        return float(self.total.value) / count if count else 0.0

    def _accumulate(self, values_sum, values_count):
        new_total = self.total + gc.cast(values_sum, "float32")
        new_count = self.count + gc.cast(values_count, "float32")
        result = new_total / gc.maximum(new_count, 1.0)
        return [(self.total, new_total), (self.count, new_count)], result

    def update(self, y_true, y_pred):
        raise NotImplementedError


class Mean(Metric):
    """Mean of a scalar weighted by ``weight`` (the loss tracker: weight = batch size)."""

    def update_value(self, value, weight):
        with gc.name_scope(self.name):
            return self._accumulate(value * weight, weight)


class MeanMetricWrapper(Metric):
    """Mean over samples of ``fn(y_true, y_pred)`` (one value per sample)."""

    def __init__(self, fn, name, sparse_labels=False):
        super().__init__(name)
        self.fn = fn
        self.sparse_labels = sparse_labels

    def update(self, y_true, y_pred):
        with gc.name_scope(self.name):
            values = gc.cast(self.fn(y_true, y_pred), "float32")
            count = num_elements(values, tuple(range(values.ndim))) if values.ndim else 1.0
            return self._accumulate(gc.reduce_sum(values), count)


# ------------------------------------------------- per-sample metric functions

def binary_accuracy(y_true, y_pred, threshold=0.5):
    predicted = gc.cast(y_pred > threshold, y_true.dtype)
    return gc.reduce_mean(gc.cast(gc.equal(y_true, predicted), "float32"), axis=-1)


def categorical_accuracy(y_true, y_pred):
    return gc.cast(gc.equal(gc.argmax(y_true, axis=-1), gc.argmax(y_pred, axis=-1)), "float32")


def sparse_categorical_accuracy(y_true, y_pred):
    return gc.cast(gc.equal(gc.cast(y_true, "int64"), gc.argmax(y_pred, axis=-1)), "float32")


def mean_squared_error(y_true, y_pred):
    return gc.reduce_mean(gc.square(y_pred - y_true), axis=-1)


def mean_absolute_error(y_true, y_pred):
    return gc.reduce_mean(gc.abs(y_pred - y_true), axis=-1)


FUNCTIONS = {
    "binary_accuracy": binary_accuracy,
    "categorical_accuracy": categorical_accuracy,
    "sparse_categorical_accuracy": sparse_categorical_accuracy,
    "mean_squared_error": mean_squared_error,
    "mean_absolute_error": mean_absolute_error,
}
ALIASES = {"mse": "mean_squared_error", "mae": "mean_absolute_error", "acc": "accuracy"}
SPARSE = {"sparse_categorical_accuracy"}


def check(identifier) -> None:
    """Raise now (at compile) for a metric name that cannot be resolved later."""
    if isinstance(identifier, str):
        name = ALIASES.get(identifier, identifier)
        if name != "accuracy" and name not in FUNCTIONS:
            raise ValueError(f"Unknown metric function: {identifier!r}; known: "
                             f"{', '.join(sorted(set(FUNCTIONS) | set(ALIASES) | {'accuracy'}))}")
    elif not (isinstance(identifier, Metric) or callable(identifier)):
        raise ValueError(f"Could not interpret metric identifier: {identifier!r}")


def get(identifier, loss=None, output_shape=None) -> Metric:
    """A metric object; "accuracy" becomes binary, sparse or categorical accuracy as in Keras:
    sparse for a sparse loss, binary for one output unit or binary crossentropy, else categorical."""
    check(identifier)
    if isinstance(identifier, Metric):
        return identifier
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
    return MeanMetricWrapper(FUNCTIONS[name], identifier, sparse_labels=name in SPARSE)
