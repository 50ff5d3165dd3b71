"""Regression metrics (Keras 3's): mean errors, their root, cosine similarity, R^2."""
from __future__ import annotations

import warnings

import numpy as np

import graphc as gc
from graphc.graph import current_trace
from graphc.keras import losses
from graphc.keras.losses import squeeze_or_expand_to_same_rank
from graphc.keras.reduction_metrics import Mean, MeanMetricWrapper, Metric, _count, _tensor, check_2d
from graphc.ops.array import broadcast_like


def cosine_similarity(y_true, y_pred, axis=-1):
    """``sum(l2_normalize(y_true) * l2_normalize(y_pred), axis)``: 1 for parallel vectors
    (the metric; the loss of the same name is its negative)."""
    return -losses.cosine_similarity(y_true, y_pred, axis=axis)


class MeanSquaredError(MeanMetricWrapper):
    def __init__(self, name="mean_squared_error", dtype=None):
        super().__init__(losses.mean_squared_error, name=name, dtype=dtype)


class MeanAbsoluteError(MeanMetricWrapper):
    def __init__(self, name="mean_absolute_error", dtype=None):
        super().__init__(losses.mean_absolute_error, name=name, dtype=dtype)


class MeanAbsolutePercentageError(MeanMetricWrapper):
    """``100 * mean(abs((y_true - y_pred) / y_true))`` (|y_true| at least eps)."""

    def __init__(self, name="mean_absolute_percentage_error", dtype=None):
        super().__init__(losses.mean_absolute_percentage_error, name=name, dtype=dtype)


class MeanSquaredLogarithmicError(MeanMetricWrapper):
    """``mean(square(log(y_true + 1) - log(y_pred + 1)))``."""

    def __init__(self, name="mean_squared_logarithmic_error", dtype=None):
        super().__init__(losses.mean_squared_logarithmic_error, name=name, dtype=dtype)


class LogCoshError(MeanMetricWrapper):
    """``mean(log(cosh(y_pred - y_true)))`` over the last axis."""

    def __init__(self, name="logcosh", dtype=None):
        super().__init__(losses.log_cosh, name=name, dtype=dtype)


class CosineSimilarity(MeanMetricWrapper):
    """The mean cosine similarity of labels and predictions along ``axis``."""

    def __init__(self, name="cosine_similarity", dtype=None, axis=-1):
        losses._check_axis(axis, name)
        super().__init__(cosine_similarity, name=name, dtype=dtype, axis=axis)
        self.axis = axis


class RootMeanSquaredError(Mean):
    """``sqrt(mean(square(y_pred - y_true)))`` over all the elements seen (weighted)."""

    def __init__(self, name="root_mean_squared_error", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = squeeze_or_expand_to_same_rank(_tensor(y_true, self.dtype), _tensor(y_pred, self.dtype))
        super().update_state(gc.square(y_pred - y_true), sample_weight=sample_weight)

    def result(self):
        return gc.sqrt(super().result())


_AGGREGATIONS = (None, "uniform_average", "variance_weighted_average")


class R2Score(Metric):
    """The coefficient of determination ``1 - SS_res / SS_tot`` per output column,
    aggregated by ``class_aggregation``; adjusted for ``num_regressors`` if nonzero.

    As in Keras, the adjustment counts every element seen (rows times columns)
    as a sample, and falls back to plain R^2 (with a warning) when there are
    not more samples than regressors + 1. Inputs are (batch, outputs)."""

    def __init__(self, class_aggregation="uniform_average", num_regressors=0, name="r2_score", dtype=None):
        super().__init__(name=name, dtype=dtype)
        if class_aggregation not in _AGGREGATIONS:
            raise ValueError(f"Invalid value for argument `class_aggregation`. Expected one of {_AGGREGATIONS}. "
                             f"Received: class_aggregation={class_aggregation}")
        if isinstance(num_regressors, bool) or not isinstance(num_regressors, (int, np.integer)) \
                or num_regressors < 0:
            raise ValueError("Invalid value for argument `num_regressors`. Expected a value >= 0. "
                             f"Received: num_regressors={num_regressors}")
        self.class_aggregation = class_aggregation
        self.num_regressors = int(num_regressors)
        self.num_samples = self.add_variable(name="num_samples")
        self._built = False

    def _build(self, y_true_shape, y_pred_shape):
        # the per-column sums have one entry per output: their variables wait for the first batch
        check_2d("R2Score", y_true_shape, y_pred_shape)
        columns = (y_pred_shape[-1],)
        self.squared_sum = self.add_variable(columns, name="squared_sum")
        self.sum = self.add_variable(columns, name="sum")
        self.total_mse = self.add_variable(columns, name="residual")
        self.count = self.add_variable(columns, name="count")
        self._built = True

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = squeeze_or_expand_to_same_rank(_tensor(y_true, self.dtype), _tensor(y_pred, self.dtype))
        if not self._built:
            self._build(y_true.shape, y_pred.shape)
        weight = _tensor(1.0 if sample_weight is None else sample_weight, self.dtype)
        if weight.ndim == 1:  # one weight per row
            weight = gc.expand_dims(weight, 1)
        weight = broadcast_like(weight, y_true)
        weighted_y_true = y_true * weight
        self.sum.assign(self.sum + gc.reduce_sum(weighted_y_true, axis=0))
        self.squared_sum.assign(self.squared_sum + gc.reduce_sum(y_true * weighted_y_true, axis=0))
        self.total_mse.assign(self.total_mse + gc.reduce_sum(gc.square(y_true - y_pred) * weight, axis=0))
        self.count.assign(self.count + gc.reduce_sum(weight, axis=0))
        self.num_samples.assign(self.num_samples + _count(y_true, range(y_true.ndim)))

    def result(self):
        if not self._built:
            raise ValueError(f"{self.name}: result() needs an update_state() first (R2Score learns the number "
                             "of outputs from the first batch)")
        mean = self.sum / self.count
        total = self.squared_sum - self.sum * mean
        raw_scores = 1.0 - self.total_mse / total
        # Keras zeroes an infinite score (a constant column predicted wrong), keeps 0/0's NaN
        infinite = gc.greater(gc.abs(raw_scores), float(np.finfo(self.dtype).max))
        raw_scores = gc.where(infinite, 0.0, raw_scores)
        if self.class_aggregation == "uniform_average":
            r2 = gc.reduce_mean(raw_scores)
        elif self.class_aggregation == "variance_weighted_average":
            r2 = gc.reduce_sum(total * raw_scores) / gc.reduce_sum(total)
        else:
            r2 = raw_scores
        if self.num_regressors == 0:
            return r2
        n, p = self.num_samples, float(self.num_regressors)
        if current_trace() is None:  # eager: the count is known, so warn as Keras does
            samples = float(n.numpy())
            if p > samples - 1:
                warnings.warn("More independent predictors than datapoints in adjusted R2 score. Falling back to "
                              "standard R2 score.", stacklevel=2)
            elif p == samples - 1:
                warnings.warn("Division by zero in Adjusted R2 score. Falling back to standard R2 score.",
                              stacklevel=2)
        adjustable = gc.less(p, n - 1.0)
        denominator = gc.where(adjustable, (n - p) - 1.0, 1.0)
        return gc.where(adjustable, 1.0 - ((1.0 - r2) * (n - 1.0)) / denominator, r2)

    def get_config(self):
        return dict(super().get_config(), class_aggregation=self.class_aggregation,
                    num_regressors=self.num_regressors)
