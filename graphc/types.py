"""Static types of tensors: dtypes and shapes with unknown (None) dimensions.

A shape is a tuple whose entries are ints or None. None marks a dimension
known only at run time (typically the batch); such a dimension is never
assumed to broadcast, as in TensorFlow and Keras.
"""
from __future__ import annotations

import math

import numpy as np

Shape = tuple  # tuple[int | None, ...]

DEFAULT_FLOAT = np.dtype("float32")
DEFAULT_INT = np.dtype("int32")
MAX_ELEMENTS = int(np.iinfo(np.intp).max)  # numpy indexes arrays with np.intp


def as_dtype(dtype, what: str = "dtype") -> np.dtype:
    try:
        result = np.dtype(dtype)
    except TypeError as exc:
        raise TypeError(f"{what}: {dtype!r} is not a numpy dtype") from exc
    if result.kind not in "biuf":
        raise TypeError(f"{what}: dtype {result} is not supported (use bool, int, uint or float)")
    return result


def is_float(dtype) -> bool:
    return np.dtype(dtype).kind == "f"


def as_shape(shape, what: str = "shape") -> Shape:
    if shape is None:
        raise TypeError(f"{what}: a shape is required")
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    try:
        dims = tuple(shape)
    except TypeError as exc:
        raise TypeError(f"{what}: {shape!r} is not a shape") from exc
    for d in dims:
        if d is not None and (not isinstance(d, (int, np.integer)) or isinstance(d, bool) or d < 0):
            raise TypeError(f"{what}: {shape!r} has a dimension that is neither a non-negative int nor None")
    result = tuple(None if d is None else int(d) for d in dims)
    check_size(result, what)
    return result


def check_size(shape: Shape, what: str, inputs=()) -> None:
    """A ValueError naming ``what`` (and its ``inputs``' shapes) when ``shape``,
    counting a dimension known only at run time as 1, has more elements than
    numpy can index: no array could ever hold the value."""
    size = math.prod(1 if d is None else d for d in shape)
    if size > MAX_ELEMENTS:
        sources = "".join(f"; {t.name!r} has shape {format_shape(t.shape)}" for t in inputs)
        raise ValueError(f"{what}: shape {format_shape(shape)} has {size} elements, more than numpy can "
                         f"index ({MAX_ELEMENTS}){sources}")


def format_shape(shape: Shape) -> str:
    if len(shape) == 1:
        return f"({shape[0]},)"
    return "(" + ", ".join(str(d) for d in shape) + ")"


def is_static(shape: Shape) -> bool:
    return all(d is not None for d in shape)


def static_size(shape: Shape) -> int:
    """Elements of ``shape``, counting a dimension known only at run time as 1."""
    return math.prod(1 if d is None else d for d in shape)


def broadcast_shapes(*shapes: Shape) -> Shape | None:
    """numpy broadcasting of static shapes; None when they do not broadcast."""
    ndim = max((len(s) for s in shapes), default=0)
    result = []
    for axis in range(ndim):
        dims = [s[axis - ndim + len(s)] for s in shapes if axis - ndim + len(s) >= 0]
        known = {d for d in dims if d is not None and d != 1}
        if len(known) > 1:
            return None
        if known:
            result.append(known.pop())
        elif None in dims:
            result.append(None)
        else:
            result.append(1)
    return tuple(result)


def normalize_axes(axis, ndim: int, what: str) -> tuple:
    """Axis argument (None, int or sequence) as a sorted tuple of non-negative ints."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    result = []
    for a in axes:
        if not isinstance(a, (int, np.integer)) or not -ndim <= a < ndim:
            raise ValueError(f"{what}: axis {a} is out of range for a tensor of rank {ndim}")
        a = int(a) % ndim if ndim else 0
        if a in result:
            raise ValueError(f"{what}: axis {a} is repeated in {axis!r}")
        result.append(a)
    return tuple(sorted(result))


def normalize_axis(axis, ndim: int, what: str) -> int:
    if not isinstance(axis, (int, np.integer)) or not -ndim <= axis < ndim:
        raise ValueError(f"{what}: axis {axis} is out of range for a tensor of rank {ndim}")
    return int(axis) % ndim
