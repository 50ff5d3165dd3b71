"""F-scores (Keras 3's ``FBetaScore`` and ``F1Score``) of multi-label predictions
of shape (batch, classes): ``(1 + beta^2) * precision * recall / (beta^2 * precision + recall)``."""
from __future__ import annotations

import graphc as gc
from graphc.keras.losses import EPSILON
from graphc.keras.reduction_metrics import Metric, _tensor, check_2d
from graphc.types import format_shape

_AVERAGES = (None, "micro", "macro", "weighted")


class FBetaScore(Metric):
    """The F-beta score per class (``average=None``), or averaged: "micro" from the
    counts summed over classes, "macro" the mean over classes, "weighted" their mean
    weighted by each class's number of true labels.

    A prediction above ``threshold`` is positive; without a threshold, the highest
    prediction of each row is (all of them if tied, none if it is 0)."""

    def __init__(self, average=None, beta=1.0, threshold=None, name="fbeta_score", dtype=None):
        super().__init__(name=name, dtype=dtype)
        if average not in _AVERAGES:
            raise ValueError("Invalid `average` argument value. Expected one of: {None, 'micro', 'macro', "
                             f"'weighted'}}. Received: average={average}")
        if not isinstance(beta, float):
            raise ValueError(f"Invalid `beta` argument value. It should be a Python float. Received: beta={beta} of "
                             f"type '{type(beta)}'")
        if beta <= 0.0:
            raise ValueError(f"Invalid `beta` argument value. It should be > 0. Received: beta={beta}")
        if threshold is not None:
            if not isinstance(threshold, float):
                raise ValueError("Invalid `threshold` argument value. It should be a Python float. Received: "
                                 f"threshold={threshold} of type '{type(threshold)}'")
            if threshold > 1.0 or threshold <= 0.0:
                raise ValueError("Invalid `threshold` argument value. It should verify 0 < threshold <= 1. "
                                 f"Received: threshold={threshold}")
        self.average = average
        self.beta = beta
        self.threshold = threshold
        self.axis = None if average == "micro" else 0  # the batch axis, or everything for micro
        self._built = False

    def _build(self, y_true_shape, y_pred_shape):
        # one count per class: the variables wait for the first batch's shape
        check_2d("FBetaScore", y_true_shape, y_pred_shape)
        shape = () if self.average == "micro" else (y_pred_shape[-1],)
        self.true_positives = self.add_variable(shape, name="true_positives")
        self.false_positives = self.add_variable(shape, name="false_positives")
        self.false_negatives = self.add_variable(shape, name="false_negatives")
        self.intermediate_weights = self.add_variable(shape, name="intermediate_weights")
        self._built = True

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = _tensor(y_true, self.dtype), _tensor(y_pred, self.dtype)
        if not self._built:
            self._build(y_true.shape, y_pred.shape)
        if self.threshold is None:
            highest = gc.reduce_max(y_pred, axis=-1, keepdims=True)
            predicted = gc.where(y_pred >= highest, gc.abs(y_pred) > 1e-9, False)
        else:
            predicted = y_pred > self.threshold
        y_pred = gc.cast(predicted, self.dtype)
        if sample_weight is not None:
            sample_weight = _tensor(sample_weight, self.dtype)
            if sample_weight.ndim != 1:  # Keras multiplies by sample_weight[:, None]: one weight per row
                raise ValueError(f"{self.name}: sample_weight must have one weight per sample, shape (batch,); got "
                                 f"shape {format_shape(sample_weight.shape)}")
            sample_weight = gc.expand_dims(sample_weight, 1)

        def weighted_sum(values):
            if sample_weight is not None:
                values = values * sample_weight
            return gc.reduce_sum(values, axis=self.axis)

        self.true_positives.assign(self.true_positives + weighted_sum(y_pred * y_true))
        self.false_positives.assign(self.false_positives + weighted_sum(y_pred * (1.0 - y_true)))
        self.false_negatives.assign(self.false_negatives + weighted_sum((1.0 - y_pred) * y_true))
        self.intermediate_weights.assign(self.intermediate_weights + weighted_sum(y_true))

    def result(self):
        if not self._built:
            raise ValueError(f"{self.name}: result() needs an update_state() first (the number of classes comes "
                             "from the first batch)")
        tp = self.true_positives
        precision = tp / (tp + self.false_positives + EPSILON)
        recall = tp / (tp + self.false_negatives + EPSILON)
        beta_squared = self.beta ** 2
        score = (precision * recall) / (beta_squared * precision + recall + EPSILON) * (1.0 + beta_squared)
        if self.average == "weighted":
            weights = self.intermediate_weights / (gc.reduce_sum(self.intermediate_weights) + EPSILON)
            return gc.reduce_sum(score * weights)
        if self.average is not None:  # micro (one score already) or macro
            return gc.reduce_mean(score)
        return score

    def get_config(self):
        return dict(super().get_config(), average=self.average, beta=self.beta, threshold=self.threshold)


class F1Score(FBetaScore):
    """The F-beta score with beta = 1: the harmonic mean of precision and recall."""

    def __init__(self, average=None, threshold=None, name="f1_score", dtype=None):
        super().__init__(average=average, beta=1.0, threshold=threshold, name=name, dtype=dtype)

    def get_config(self):
        config = super().get_config()
        del config["beta"]
        return config

