"""Constraints (Keras 3's): projections an optimizer applies to a weight's new value.

``Dense(8, kernel_constraint=keras.constraints.MaxNorm(2.0))``: after every
update each column of the kernel is scaled back to norm at most 2.
"""
from __future__ import annotations


import graphc as gc
from graphc.keras import registry

EPSILON = 1e-7  # keras.config.epsilon()


class Constraint:
    """Base class: ``constraint(w)`` is the projected weight."""

    def __call__(self, w):
        return w

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _norms(w, axis):
    return gc.sqrt(gc.reduce_sum(gc.square(w), axis=axis, keepdims=True))


class MaxNorm(Constraint):
    """Vectors along ``axis`` scaled down to norm at most ``max_value``."""

    def __init__(self, max_value=2, axis=0):
        self.max_value, self.axis = max_value, axis

    def __call__(self, w):
        norms = _norms(w, self.axis)
        return w * (gc.clip(norms, 0.0, float(self.max_value)) / (EPSILON + norms))

    def get_config(self):
        return {"max_value": self.max_value, "axis": self.axis}


class MinMaxNorm(Constraint):
    """Vector norms along ``axis`` moved toward [min_value, max_value] by ``rate``."""

    def __init__(self, min_value=0.0, max_value=1.0, rate=1.0, axis=0):
        self.min_value, self.max_value, self.rate, self.axis = min_value, max_value, rate, axis

    def __call__(self, w):
        norms = _norms(w, self.axis)
        desired = self.rate * gc.clip(norms, float(self.min_value), float(self.max_value)) + (1 - self.rate) * norms
        return w * (desired / (EPSILON + norms))

    def get_config(self):
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate, "axis": self.axis}


class NonNeg(Constraint):
    """Negative weights set to zero."""

    def __call__(self, w):
        return w * gc.cast(w >= 0.0, w.dtype)


class UnitNorm(Constraint):
    """Vectors along ``axis`` scaled to norm 1."""

    def __init__(self, axis=0):
        self.axis = axis

    def __call__(self, w):
        return w / (EPSILON + _norms(w, self.axis))

    def get_config(self):
        return {"axis": self.axis}


max_norm, min_max_norm, non_neg, unit_norm = MaxNorm, MinMaxNorm, NonNeg, UnitNorm
CLASSES = {cls.__name__: cls for cls in (Constraint, MaxNorm, MinMaxNorm, NonNeg, UnitNorm)}
NAMES = {"max_norm": MaxNorm, "min_max_norm": MinMaxNorm, "non_neg": NonNeg, "unit_norm": UnitNorm}


_CATALOG = registry.Catalog("constraint", Constraint, CLASSES, NAMES)
get, serialize, deserialize = _CATALOG.get, _CATALOG.serialize, _CATALOG.deserialize
