"""Ops whose value is drawn anew at every run (the mask of Dropout, keras.random).

Unlike ``gc.random`` (values drawn once, when the tensor is built), these
ops draw from a numpy Generator each time the compiled function runs. The
Generator belongs to the op and is bound in the generated module's
namespace (``Op.globals``), so the emitted line reads
``u = rng.random((x.shape[0], 512), dtype=np.float32)``.

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


_DRAWS = {"uniform": "random", "normal": "standard_normal"}  # distribution -> Generator method


class RandomDraw(Op):
    """Values of a distribution ("uniform" in [0, 1), standard "normal"), drawn
    anew at every run. Each dimension of the shape is an int, or (input, axis):
    the run-time size of an axis of an input, so a draw can follow a batch
    dimension that is None when the graph is built."""
    stateful = True  # never merged (CSE) or folded

    def __init__(self, distribution: str, dims: tuple, dtype: str, seed, generator=None):
        self.distribution, self.dims, self.dtype, self.seed = distribution, dims, dtype, seed
        self.generator = generator if generator is not None else np.random.default_rng(seed)

    @property
    def name(self):
        return f"random_{self.distribution}"

    def key(self):
        return (RandomDraw, id(self))

    def describe(self):
        return f"{self.name}[dtype={self.dtype}, seed={self.seed!r}]"

    def globals(self, node, planned: bool) -> dict:
        return {"rng": self.generator}

    def infer(self, inputs):
        return tuple(d if isinstance(d, int) else inputs[d[0]].shape[d[1]] for d in self.dims), np.dtype(self.dtype)

    def emit(self, out, args, node):
        *tensors, rng = args
        sizes = [str(d) if isinstance(d, int) else f"{tensors[d[0]]}.shape[{d[1]}]" for d in self.dims]
        shape = f"({sizes[0]},)" if len(sizes) == 1 else f"({', '.join(sizes)})"
        return [f"{out} = {rng}.{_DRAWS[self.distribution]}({shape}, dtype=np.{self.dtype})"]

    # grad: the default (no gradient flows into the tensors that give the shape)


def _check_draw(dtype, seed, what: str):
    dtype = as_dtype(dtype, what)
    if dtype.kind != "f" or dtype.itemsize < 4:
        raise TypeError(f"{what}: dtype must be float32 or float64, got {dtype}")
    if seed is not None and (not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0):
        raise ValueError(f"{what}: seed must be a non-negative int or None, got {seed!r}")
    return dtype, None if seed is None else int(seed)


def random_draw(distribution: str, shape, dtype="float32", seed=None, generator=None, name=None) -> Tensor:
    """A fresh draw at every run of a compiled function. ``shape`` holds ints and
    run-time sizes: ``dim(x, axis)`` tensors (``keras.ops.shape`` gives them for
    the None dimensions)."""
    from graphc.ops.array import Dim
    what = f"random {distribution}"
    dtype, seed = _check_draw(dtype, seed, what)
    inputs, dims = [], []
    for d in shape:
        if isinstance(d, Tensor) and isinstance(d.op, Dim):
            source = d.inputs[0]
            index = next((i for i, t in enumerate(inputs) if t is source), None)
            if index is None:
                inputs.append(source)
                index = len(inputs) - 1
            dims.append((index, d.op.axis))
        elif isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d >= 0:
            dims.append(int(d))
        else:
            raise ValueError(f"{what}: each dimension of the shape must be a non-negative int or the run-time size "
                             f"of an axis (keras.ops.shape(x)[i]), got {d!r} in {shape!r}")
    return make_tensor(RandomDraw(distribution, tuple(dims), dtype.name, seed, generator), inputs, name)


def scaled(draw: Tensor, scale=1.0, offset=0.0) -> Tensor:
    """``draw * scale + offset``, writing only the parts that change it."""
    if isinstance(scale, Tensor) or scale != 1.0:
        draw = draw * scale
    if isinstance(offset, Tensor) or offset != 0.0:
        draw = draw + offset
    return draw


def random_uniform_like(x, dtype="float32", seed=None, name=None) -> Tensor:
    """A fresh uniform [0, 1) draw shaped like ``x`` at every run of the compiled function."""
    from graphc.ops.array import dim
    x = as_tensor(x)
    try:
        return random_draw("uniform", [dim(x, a) if d is None else d for a, d in enumerate(x.shape)], dtype, seed,
                           name=name)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"random_uniform_like: {exc} (for {x.name!r} of shape {format_shape(x.shape)})") from None
