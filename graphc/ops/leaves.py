"""Graph inputs and state: constants, placeholders, Variables."""
from __future__ import annotations

import numpy as np

from graphc.graph import Tensor, current_scope, _build_listeners
from graphc.ops.base import Op
from graphc.types import (DEFAULT_FLOAT, DEFAULT_INT, as_dtype, as_shape,
                          format_shape)


class ConstantOp(Op):
    name = "constant"
    is_leaf = True

    def __init__(self, value: np.ndarray):
        self.value = value

    def key(self):
        # Equal small constants are interchangeable (CSE); large ones by identity.
        v = self.value
        if v.size <= 64:
            return (ConstantOp, v.dtype.str, v.shape, v.tobytes())
        return (ConstantOp, id(v))

    def describe(self):
        v = self.value
        return f"constant[{v.item()!r}]" if v.ndim == 0 else "constant"


class PlaceholderOp(Op):
    name = "placeholder"
    is_leaf = True

    def key(self):
        return (PlaceholderOp, id(self))


class VariableOp(Op):
    name = "variable"
    is_leaf = True

    def key(self):
        return (VariableOp, id(self))


def _leaf(op, shape, dtype, name) -> Tensor:
    scope = current_scope()
    return Tensor(op, (), shape, dtype, f"{scope}/{name}" if scope else name)


def _as_array(value, dtype, what: str) -> np.ndarray:
    if isinstance(value, Tensor):
        value = value.numpy()
    if dtype is not None:
        dtype = as_dtype(dtype, what)
        array = np.asarray(value)
        if array.dtype.kind == "f" and dtype.kind in "iub" and not np.all(np.isfinite(array) & (array == np.round(array))):
            raise TypeError(f"{what}: float values {array.dtype} do not convert exactly to {dtype}")
        return np.array(array, dtype=dtype)
    array = np.array(value)
    # (np.float64 subclasses float, but a numpy scalar keeps its own dtype)
    if isinstance(value, (float, list, tuple)) and not isinstance(value, np.generic) and array.dtype == np.float64:
        array = array.astype(DEFAULT_FLOAT)  # Python floats become float32, as in TensorFlow
    elif isinstance(value, (int, list, tuple)) and array.dtype == np.int64 and not isinstance(value, bool):
        array = array.astype(DEFAULT_INT)
    as_dtype(array.dtype, what)
    return array


def constant(value, dtype=None, name: str = "constant") -> Tensor:
    """An immutable tensor holding ``value`` (Python floats become float32)."""
    array = _as_array(value, dtype, f"constant {name!r}")
    array.flags.writeable = False
    return _leaf(ConstantOp(array), array.shape, array.dtype, name)


def placeholder(shape, dtype="float32", name: str = "placeholder") -> Tensor:
    """A graph input fed when the graph runs; None in ``shape`` means any size."""
    return _leaf(PlaceholderOp(), as_shape(shape, f"placeholder {name!r}"),
                 as_dtype(dtype, f"placeholder {name!r}"), name)


def as_tensor(value, like: Tensor | None = None) -> Tensor:
    """``value`` as a Tensor; a Python number takes the dtype of ``like`` (weak typing)."""
    if isinstance(value, Tensor):
        return value
    if like is not None and isinstance(value, (bool, int, float)) and not isinstance(value, np.generic):
        kind = like.dtype.kind
        if isinstance(value, bool) or (isinstance(value, int) and kind in "iuf") or (isinstance(value, float) and kind == "f"):
            return constant(value, dtype=like.dtype)
    return constant(value)


class Variable(Tensor):
    """Mutable state: a tensor whose value persists and changes by assignment.

    Its shape and dtype are fixed at creation. ``assign`` and friends apply at
    once (the value is concrete); to update inside a compiled step, pass
    ``updates=[(v, new_value)]`` to ``gc.function``.
    """

    __slots__ = ("_value", "trainable")

    def __init__(self, initial_value, trainable: bool = True, name: str = "Variable", dtype=None):
        array = _as_array(initial_value, dtype, f"Variable {name!r}")
        if not array.flags.writeable or not array.flags.c_contiguous or array.base is not None:
            array = np.array(array)
        scope = current_scope()
        super().__init__(VariableOp(), (), array.shape, array.dtype, f"{scope}/{name}" if scope else name)
        object.__setattr__(self, "_value", array)
        object.__setattr__(self, "trainable", bool(trainable))
        for listener in _build_listeners:
            listener(self)

    def __repr__(self):
        return (f"<graphc.Variable {self.name!r} shape={format_shape(self.shape)} dtype={self.dtype} "
                f"trainable={self.trainable}>")

    @property
    def value(self) -> np.ndarray:
        """The variable's storage (updated in place; compiled code reads it)."""
        return self._value

    def numpy(self) -> np.ndarray:
        return self._value.copy()

    def _checked(self, value, what: str) -> np.ndarray:
        array = np.asarray(value.numpy() if isinstance(value, Tensor) else value)
        if not np.can_cast(array.dtype, self.dtype, "same_kind"):
            raise TypeError(f"Variable {self.name!r}.{what}: value of dtype {array.dtype} "
                            f"cannot be stored in dtype {self.dtype}")
        if array.shape != self.shape:
            raise ValueError(f"Variable {self.name!r}.{what}: value of shape {format_shape(array.shape)} "
                             f"does not match the variable's shape {format_shape(self.shape)}")
        return array

    def assign(self, value) -> "Variable":
        np.copyto(self._value, self._checked(value, "assign"), casting="same_kind")
        return self

    def assign_add(self, delta) -> "Variable":
        new = self._value + self._checked(delta, "assign_add")
        np.copyto(self._value, new, casting="same_kind")
        return self

    def assign_sub(self, delta) -> "Variable":
        new = self._value - self._checked(delta, "assign_sub")
        np.copyto(self._value, new, casting="same_kind")
        return self


def zeros(shape, dtype="float32", name: str = "zeros") -> Tensor:
    return constant(np.zeros(as_shape(shape, name), dtype=as_dtype(dtype, name)), name=name)


def ones(shape, dtype="float32", name: str = "ones") -> Tensor:
    return constant(np.ones(as_shape(shape, name), dtype=as_dtype(dtype, name)), name=name)

