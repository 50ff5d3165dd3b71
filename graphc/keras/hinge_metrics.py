"""Hinge metrics (Keras 3's): the mean over samples of the hinge losses.
Labels are -1 or 1; labels that are all 0 or 1 are converted, as the losses do."""
from __future__ import annotations

from graphc.keras import losses
from graphc.keras.reduction_metrics import MeanMetricWrapper


class Hinge(MeanMetricWrapper):
    """``mean(maximum(1 - y_true * y_pred, 0))`` over the last axis."""

    def __init__(self, name="hinge", dtype=None):
        super().__init__(losses.hinge, name=name, dtype=dtype)


class SquaredHinge(MeanMetricWrapper):
    """``mean(square(maximum(1 - y_true * y_pred, 0)))`` over the last axis."""

    def __init__(self, name="squared_hinge", dtype=None):
        super().__init__(losses.squared_hinge, name=name, dtype=dtype)


class CategoricalHinge(MeanMetricWrapper):
    """``maximum(max((1 - y_true) * y_pred) - sum(y_true * y_pred) + 1, 0)`` over the last axis."""

    def __init__(self, name="categorical_hinge", dtype=None):
        super().__init__(losses.categorical_hinge, name=name, dtype=dtype)
