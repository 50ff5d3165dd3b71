"""Reductions along axes, softmax and log-softmax, argmax."""
from __future__ import annotations

import functools

import numpy as np

from graphc.graph import Tensor, make_tensor
from graphc.ops.base import Op, StepsOp
from graphc.ops.leaves import as_tensor
from graphc.types import is_float, normalize_axes, normalize_axis

# The ufuncs' own reduce methods: numpy's np.sum / np.max add a Python-level
# wrapper of a few microseconds per call, which shows in small training steps.
_REDUCERS = {"sum": "np.add.reduce", "mean": "np.mean", "max": "np.maximum.reduce", "min": "np.minimum.reduce"}


def _axes_text(axes: tuple) -> str:
    return str(axes[0]) if len(axes) == 1 else repr(axes)


def _kept_shape(shape, axes):
    return tuple(1 if i in axes else d for i, d in enumerate(shape))


@functools.lru_cache(maxsize=4096)
def _reduce_dtype(kind, dtype, ndim, axes):
    if kind == "sum" and np.dtype(dtype).kind in "iu":
        return np.dtype(dtype)  # numpy would widen int32 sums to int64; TensorFlow keeps int32
    sample = np.ones((1,) * ndim, dtype=dtype)
    return getattr(np, kind)(sample, axis=axes).dtype


class Reduce(Op):
    def __init__(self, kind: str, axes: tuple, keepdims: bool):
        self.kind, self.axes, self.keepdims = kind, axes, keepdims

    @property
    def name(self):
        return f"reduce_{self.kind}"

    def describe(self):
        return f"{self.name}[axis={self.axes}{', keepdims' if self.keepdims else ''}]"

    def infer(self, inputs):
        (x,) = inputs
        if self.kind in ("max", "min"):
            empty = [x.shape[a] for a in self.axes if x.shape[a] == 0]
            if empty:
                raise ValueError(f"{self.name}: tensor {x.name!r} is empty along the reduced axes {self.axes}")
        shape = (_kept_shape(x.shape, self.axes) if self.keepdims
                 else tuple(d for i, d in enumerate(x.shape) if i not in self.axes))
        return shape, _reduce_dtype(self.kind, x.dtype, x.ndim, self.axes)

    def _mean_as_sum(self, node) -> bool:
        return self.kind == "mean" and node.dtype == node.inputs[0].dtype and node.dtype.kind == "f"

    def _count(self, x: str, node) -> str:
        dims = [node.inputs[0].shape[a] for a in self.axes]
        if None not in dims:
            return str(int(np.prod(dims)))
        product = " * ".join(f"{x}.shape[{a}]" for a in self.axes)
        return f"({product})" if len(self.axes) > 1 else product

    def _options(self, node) -> str:
        keep = ", keepdims=True" if self.keepdims else ""
        if self.kind == "sum" and node.dtype.kind in "iu":
            keep += f", dtype=np.{node.dtype.name}"
        return keep

    def expression(self, args, node):
        keep = self._options(node)
        if self._mean_as_sum(node):  # a sum and a division: np.mean's wrapper costs more
            count = self._count(args[0], node)
            return f"np.add.reduce({args[0]}, axis={_axes_text(self.axes)}{keep}) / {count}"
        return f"{_REDUCERS[self.kind]}({args[0]}, axis={_axes_text(self.axes)}{keep})"

    def emit_planned(self, out, args, node, buffer, scratch):
        keep = self._options(node)
        reducer = "np.add.reduce" if self._mean_as_sum(node) else _REDUCERS[self.kind]
        lines = [f"{out} = {reducer}({args[0]}, axis={_axes_text(self.axes)}{keep}, out={buffer})"]
        if self._mean_as_sum(node):
            lines.append(f"np.divide({out}, {self._count(args[0], node)}, out={out})")
        return lines

    def grad(self, node, g):
        # (graphc.ops.elementwise is shadowed by the function of that name)
        from graphc.ops import array
        from graphc.ops.elementwise import equal
        (x,) = node.inputs
        g = g if self.keepdims else array.expand_dims(g, self.axes)
        if self.kind == "sum":
            return [array.broadcast_like(g, x)]
        if self.kind == "mean":  # divide before broadcasting: fewer elements
            return [array.broadcast_like(g / num_elements(x, self.axes), x)]
        # max / min: split the gradient evenly among the elements that attain it
        extreme = node if self.keepdims else array.expand_dims(node, self.axes)
        mask = array.cast(equal(x, extreme), x.dtype)
        count = reduce_sum(mask, self.axes, keepdims=True)
        return [mask * (g / count)]


def _reduce(kind):
    def reduce(x, axis=None, keepdims=False, name=None):
        x = as_tensor(x)
        axes = normalize_axes(axis, x.ndim, f"reduce_{kind}")
        if not axes:
            return x
        return make_tensor(Reduce(kind, axes, bool(keepdims)), [x], name)
    reduce.__name__ = f"reduce_{kind}"
    reduce.__doc__ = f"{kind.capitalize()} of ``x`` over ``axis`` (all axes if None)."
    return reduce


reduce_sum = _reduce("sum")
reduce_mean = _reduce("mean")
reduce_max = _reduce("max")
reduce_min = _reduce("min")


class NumElements(Op):
    """Number of elements of ``x`` along ``axes`` (known only at run time), as x's dtype."""
    name = "num_elements"

    def __init__(self, axes: tuple):
        self.axes = axes

    def infer(self, inputs):
        return (), inputs[0].dtype

    def expression(self, args, node):
        product = " * ".join(f"{args[0]}.shape[{a}]" for a in self.axes) or "1"
        return f"np.{node.dtype.name}({product})"


def num_elements(x: Tensor, axes: tuple):
    dims = [x.shape[a] for a in axes]
    if all(d is not None for d in dims):
        return as_tensor(float(np.prod(dims)), x) if is_float(x.dtype) else int(np.prod(dims))
    return make_tensor(NumElements(tuple(axes)), [x])


def sum_to_shape(t: Tensor, shape: tuple) -> Tensor:
    """Undo broadcasting: sum ``t`` down to ``shape`` (used by gradients)."""
    lead = t.ndim - len(shape)
    kept = tuple(lead + i for i, d in enumerate(shape)
                 if d == 1 and t.shape[lead + i] != 1)
    if kept:
        t = reduce_sum(t, kept, keepdims=True)
    if lead:
        t = reduce_sum(t, tuple(range(lead)))
    return t


class Softmax(StepsOp):
    name = "softmax"

    def __init__(self, axis: int):
        self.axis = axis

    def infer(self, inputs):
        x = inputs[0]
        if not is_float(x.dtype):
            raise TypeError(f"softmax: {x.name!r} must be float, got {x.dtype}")
        return x.shape, x.dtype

    def emit_planned(self, out, args, node, buffer, scratch):
        x, a, m = args[0], self.axis, f"{out}__max"
        mbuf = scratch(m, _kept_shape(node.shape, (a,)), False)
        return [f"{m} = np.maximum.reduce({x}, axis={a}, keepdims=True, initial=-np.inf, out={mbuf})",
                f"{out} = np.subtract({x}, {m}, out={buffer})",
                f"np.exp({out}, out={out})",
                f"np.add.reduce({out}, axis={a}, keepdims=True, out={m})",
                f"np.divide({out}, {m}, out={out})"]

    def grad(self, node, g):
        return [node * (g - reduce_sum(g * node, self.axis, keepdims=True))]


class LogSoftmax(StepsOp):
    name = "log_softmax"

    def __init__(self, axis: int):
        self.axis = axis

    def infer(self, inputs):
        return Softmax.infer(self, inputs)

    def emit_planned(self, out, args, node, buffer, scratch):
        return log_softmax_lines(out, args[0], self.axis, buffer, scratch, node.shape)

    def grad(self, node, g):
        from graphc.ops.elementwise import exp
        return [g - exp(node) * reduce_sum(g, self.axis, keepdims=True)]


def log_softmax_lines(out, x, axis, buffer, scratch, shape) -> list:
    """log_softmax of ``x`` into ``out`` (storage ``buffer``), with scratch buffers."""
    m, e = f"{out}__max", f"{out}__exp"
    mbuf = scratch(m, _kept_shape(shape, (axis % len(shape),)), False)
    ebuf = scratch(e, shape, False)
    return [f"{m} = np.maximum.reduce({x}, axis={axis}, keepdims=True, initial=-np.inf, out={mbuf})",
            f"{out} = np.subtract({x}, {m}, out={buffer})",
            f"{e} = np.exp({out}, out={ebuf})",
            f"np.add.reduce({e}, axis={axis}, keepdims=True, out={m})",
            f"np.log({m}, out={m})",
            f"np.subtract({out}, {m}, out={out})"]


def softmax(x, axis=-1, name=None) -> Tensor:
    x = as_tensor(x)
    return make_tensor(Softmax(normalize_axis(axis, x.ndim, "softmax")), [x], name)


def log_softmax(x, axis=-1, name=None) -> Tensor:
    x = as_tensor(x)
    return make_tensor(LogSoftmax(normalize_axis(axis, x.ndim, "log_softmax")), [x], name)


class ArgMax(Op):
    name = "argmax"

    def __init__(self, axis: int):
        self.axis = axis

    def infer(self, inputs):
        x = inputs[0]
        return tuple(d for i, d in enumerate(x.shape) if i != self.axis), np.dtype("int64")

    def expression(self, args, node):
        return f"np.argmax({args[0]}, axis={self.axis})"


def argmax(x, axis=0, name=None) -> Tensor:
    """Index of the largest value along ``axis`` (int64; axis 0 by default, as in TensorFlow)."""
    x = as_tensor(x)
    return make_tensor(ArgMax(normalize_axis(axis, x.ndim, "argmax")), [x], name)
