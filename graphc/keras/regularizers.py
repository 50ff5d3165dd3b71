"""Regularizers (Keras 3's): penalties on weights or activations added to the loss.

``Dense(64, kernel_regularizer=keras.regularizers.L2(0.002))`` adds
``0.002 * sum(kernel ** 2)`` to the training loss; a layer lists its
penalties in ``layer.losses`` (computed from the weights as they are when
read, so a compiled step reads the weights of that step).
"""
from __future__ import annotations

import math

import graphc as gc
from graphc.keras import registry


def _factor(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isinf(value) or math.isnan(
            value) or value < 0:
        raise ValueError(f"Invalid value for argument {name}: expected a non-negative float. Received: "
                         f"{name}={value!r}")
    return float(value)


class Regularizer:
    """Base class: ``regularizer(x)`` is a scalar penalty."""

    def __call__(self, x):
        return gc.constant(0.0)

    def get_config(self) -> dict:
        raise NotImplementedError(f"{type(self).__name__} does not implement get_config()")

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class L1L2(Regularizer):
    """``l1 * sum(abs(x)) + l2 * sum(square(x))``."""

    def __init__(self, l1=0.0, l2=0.0):
        self.l1 = _factor(0.0 if l1 is None else l1, "l1")
        self.l2 = _factor(0.0 if l2 is None else l2, "l2")

    def __call__(self, x):
        penalty = None
        if self.l1:
            penalty = self.l1 * gc.reduce_sum(gc.abs(x))
        if self.l2:
            term = self.l2 * gc.reduce_sum(gc.square(x))
            penalty = term if penalty is None else penalty + term
        return gc.zeros((), dtype=x.dtype) if penalty is None else penalty

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


class L1(Regularizer):
    """``l1 * sum(abs(x))``."""

    def __init__(self, l1=0.01):
        self.l1 = _factor(0.01 if l1 is None else l1, "l1")

    def __call__(self, x):
        return self.l1 * gc.reduce_sum(gc.abs(x))

    def get_config(self):
        return {"l1": self.l1}


class L2(Regularizer):
    """``l2 * sum(square(x))``."""

    def __init__(self, l2=0.01):
        self.l2 = _factor(0.01 if l2 is None else l2, "l2")

    def __call__(self, x):
        return self.l2 * gc.reduce_sum(gc.square(x))

    def get_config(self):
        return {"l2": self.l2}


l1, l2, l1l2 = L1, L2, L1L2


def l1_l2(l1=0.01, l2=0.01):
    """tf.keras's ``l1_l2``: both penalties, 0.01 each unless given."""
    return L1L2(l1=l1, l2=l2)


CLASSES = {cls.__name__: cls for cls in (Regularizer, L1, L2, L1L2)}
NAMES = {"l1": L1, "l2": L2, "l1l2": L1L2, "l1_l2": l1_l2}


_CATALOG = registry.Catalog("regularizer", Regularizer, CLASSES, NAMES)
get, serialize, deserialize = _CATALOG.get, _CATALOG.serialize, _CATALOG.deserialize
