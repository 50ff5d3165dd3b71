"""Probabilistic metrics (Keras 3's): the mean over samples of a crossentropy,
the KL divergence or the Poisson loss, computed by the loss functions of
graphc.keras.losses (so with their numbers, and their exact logits path when
y_pred is a softmax or sigmoid output)."""
from __future__ import annotations

import numpy as np

from graphc.keras import losses
from graphc.keras.reduction_metrics import MeanMetricWrapper


def _check(what, label_smoothing=0, axis=-1):
    """Bad arguments fail when the metric is made, not at its first update."""
    losses._check_label_smoothing(label_smoothing, what)
    losses._check_axis(axis, what)


class KLDivergence(MeanMetricWrapper):
    """``sum(y_true * log(y_true / y_pred))`` over the last axis, both clipped to [eps, 1]."""

    def __init__(self, name="kl_divergence", dtype=None):
        super().__init__(losses.kl_divergence, name=name, dtype=dtype)


class Poisson(MeanMetricWrapper):
    """``mean(y_pred - y_true * log(y_pred + eps))`` over the last axis."""

    def __init__(self, name="poisson", dtype=None):
        super().__init__(losses.poisson, name=name, dtype=dtype)


class BinaryCrossentropy(MeanMetricWrapper):
    """Crossentropy of 0/1 labels and probabilities (or logits), mean over the last axis."""

    def __init__(self, name="binary_crossentropy", dtype=None, from_logits=False, label_smoothing=0):
        super().__init__(losses.binary_crossentropy, name=name, dtype=dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing)
        _check(self.name, label_smoothing)
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing


class CategoricalCrossentropy(MeanMetricWrapper):
    """Crossentropy of one-hot labels and class probabilities (or logits) along ``axis``."""

    def __init__(self, name="categorical_crossentropy", dtype=None, from_logits=False, label_smoothing=0,
                 axis=-1):
        super().__init__(losses.categorical_crossentropy, name=name, dtype=dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)
        _check(self.name, label_smoothing, axis)
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self.axis = axis


class SparseCategoricalCrossentropy(MeanMetricWrapper):
    """Crossentropy of integer labels. Samples labelled ``ignore_class`` are left out
    of the mean when sample weights are given; without them they count as 0 (as in Keras)."""

    def __init__(self, name="sparse_categorical_crossentropy", dtype=None, from_logits=False, ignore_class=None,
                 axis=-1):
        super().__init__(losses.sparse_categorical_crossentropy, name=name, dtype=dtype, from_logits=from_logits,
                         ignore_class=ignore_class, axis=axis)
        _check(self.name, axis=axis)
        if ignore_class is not None and (isinstance(ignore_class, bool)
                                         or not isinstance(ignore_class, (int, np.integer))):
            raise ValueError(f"{self.name}: `ignore_class` must be an int (a class label) or None, "
                             f"got {ignore_class!r}")
        self.from_logits = from_logits
        self.ignore_class = ignore_class
        self.axis = axis
