"""Random tensors, as TensorFlow's: drawn once when built (an eager value),
but inside a traced ``@gc.function`` drawn anew at every call of it.

With a ``seed`` the values are reproducible; without one they come from a
generator seeded by ``set_seed`` (or from fresh entropy if it was never set).
"""
from __future__ import annotations

import numpy as np

from graphc.graph import current_trace
from graphc.ops.leaves import constant
from graphc.ops.stochastic import random_draw, scaled
from graphc.types import as_dtype, as_shape

_global = {"rng": np.random.default_rng()}


def set_seed(seed: int) -> None:
    """Seed the generator used when an op is given no seed of its own."""
    _global["rng"] = np.random.default_rng(seed)


def _generator(seed):
    return _global["rng"] if seed is None else np.random.default_rng(seed)


def _traced_draw(distribution, shape, dtype, seed, name):
    """A draw of the compiled function (new at every call), seeded from ``seed`` or the global generator."""
    if seed is None:
        seed = int(_global["rng"].integers(2 ** 63 - 1))
    return random_draw(distribution, as_shape(shape, name), dtype, seed, name=name)


def normal(shape, mean=0.0, stddev=1.0, dtype="float32", seed=None, name="random_normal"):
    dtype = as_dtype(dtype, name)
    if current_trace() is not None:
        return scaled(_traced_draw("normal", shape, dtype, seed, name), stddev, mean)
    values = _generator(seed).normal(mean, stddev, size=as_shape(shape, name))
    return constant(values.astype(dtype), name=name)


def uniform(shape, minval=0.0, maxval=1.0, dtype="float32", seed=None, name="random_uniform"):
    dtype = as_dtype(dtype, name)
    if current_trace() is not None:
        return scaled(_traced_draw("uniform", shape, dtype, seed, name), maxval - minval, minval)
    values = _generator(seed).uniform(minval, maxval, size=as_shape(shape, name))
    return constant(values.astype(dtype), name=name)
