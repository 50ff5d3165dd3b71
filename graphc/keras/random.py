"""``keras.random``: draws that are new at every run of a compiled step.

As in Keras 3, ``keras.random.normal(shape, seed=...)`` inside a layer's
call gives fresh values at every training step (the draw is an op of the
compiled function, see graphc/ops/stochastic.py), and eagerly a tensor
with its value. ``seed`` is an int (reproducible: that op's own stream
starts from it), a ``SeedGenerator`` (one stream shared by the ops that
take it), or None (a stream seeded from ``keras.utils.set_random_seed``).
``shape`` may hold run-time sizes from ``keras.ops.shape``.
"""
from __future__ import annotations

import numpy as np

import graphc as gc
from graphc.keras import utils
from graphc.ops.stochastic import random_draw, scaled


class SeedGenerator:
    """A random stream shared by the draws given it as ``seed``."""

    def __init__(self, seed=None, name=None):
        if seed is not None and (not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0):
            raise ValueError(f"SeedGenerator: seed must be a non-negative int or None, got {seed!r}")
        self.seed = utils.draw_seed() if seed is None else int(seed)
        self.name = name or "seed_generator"
        self.generator = np.random.default_rng(self.seed)

    def __repr__(self):
        return f"<SeedGenerator seed={self.seed}>"


def _stream(seed):
    """(seed for the op, generator it draws from)."""
    if isinstance(seed, SeedGenerator):
        return seed.seed, seed.generator
    if seed is None:
        seed = utils.draw_seed()
    return seed, None


def _dtype(dtype):
    return dtype or "float32"


def normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Normal values of ``mean`` and ``stddev``."""
    seed, generator = _stream(seed)
    return scaled(random_draw("normal", tuple(shape), _dtype(dtype), seed, generator, name="random_normal"),
                  stddev, mean)


def uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    """Uniform values in [minval, maxval)."""
    seed, generator = _stream(seed)
    return scaled(random_draw("uniform", tuple(shape), _dtype(dtype), seed, generator, name="random_uniform"),
                  maxval - minval, minval)


def dropout(inputs, rate, noise_shape=None, seed=None):
    """``inputs`` with a fraction ``rate`` zeroed and the rest scaled by 1 / (1 - rate)."""
    from graphc.keras.ops import shape as shape_of
    inputs = gc.as_tensor(inputs)
    sizes = shape_of(inputs) if noise_shape is None else tuple(noise_shape)
    keep = uniform(sizes, dtype=inputs.dtype.name, seed=seed) >= rate
    return gc.where(keep, inputs / (1.0 - rate), 0.0)
