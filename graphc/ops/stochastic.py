"""Ops whose value is drawn anew at every run (e.g. the mask of Dropout).

Unlike ``gc.random`` (values drawn once, when the tensor is built), these
ops draw from a numpy Generator each time the compiled function runs. The
Generator belongs to the op and is bound in the generated module's
namespace (``Op.globals``), so the emitted line reads
``u = rng.random(x.shape, dtype=np.float32)``.

A stochastic op is equal only to itself (its key is its identity): two
draws of the same shape are different values, so CSE must never merge
them, and constant folding must not run them at compile time
(``stateful``, which the passes respect).
"""
from __future__ import annotations

import numpy as np

from graphc.graph import Tensor, make_tensor
from graphc.ops.base import Op
from graphc.ops.leaves import as_tensor
from graphc.types import as_dtype, format_shape


class RandomUniformLike(Op):
    """Uniform values in [0, 1) with the run-time shape of its input."""
    name = "random_uniform_like"
    stateful = True  # never merged (CSE) or folded

    def __init__(self, dtype: str, seed):
        self.dtype = dtype
        self.seed = seed
        self.generator = np.random.default_rng(seed)

    def key(self):
        return (RandomUniformLike, id(self))

    def describe(self):
        return f"{self.name}[dtype={self.dtype}, seed={self.seed!r}]"

    def globals(self, node, planned: bool) -> dict:
        return {"rng": self.generator}

    def infer(self, inputs):
        return inputs[0].shape, np.dtype(self.dtype)

    def emit(self, out, args, node):
        x, rng = args
        return [f"{out} = {rng}.random({x}.shape, dtype=np.{self.dtype})"]

    # grad: the default (no gradient flows into the shape-giving input)


def random_uniform_like(x, dtype="float32", seed=None, name=None) -> Tensor:
    """A fresh uniform [0, 1) draw shaped like ``x`` at every run of the compiled function."""
    x = as_tensor(x)
    dtype = as_dtype(dtype, "random_uniform_like")
    if dtype.kind != "f" or dtype.itemsize < 4:
        raise TypeError(f"random_uniform_like: dtype must be float32 or float64, got {dtype} "
                        f"(for {x.name!r} of shape {format_shape(x.shape)})")
    if seed is not None and (not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0):
        raise ValueError(f"random_uniform_like: seed must be a non-negative int or None, got {seed!r}")
    return make_tensor(RandomUniformLike(dtype.name, None if seed is None else int(seed)), [x], name)
