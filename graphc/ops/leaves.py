"""Graph inputs and state: constants, placeholders, Variables."""
from __future__ import annotations

import numpy as np

from graphc.graph import GRAPH, READS_STATE, Tensor, current_scope, current_trace, _build_listeners
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


def _leaf(op, shape, dtype, name, flags) -> Tensor:
    scope = current_scope()
    return Tensor(op, (), shape, dtype, f"{scope}/{name}" if scope else name, flags)


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
    tensor = _leaf(ConstantOp(array), array.shape, array.dtype, name, 0)
    object.__setattr__(tensor, "_fixed", array)
    return tensor


def placeholder(shape, dtype="float32", name: str = "placeholder") -> Tensor:
    """A graph input fed when the graph runs; None in ``shape`` means any size."""
    return _leaf(PlaceholderOp(), as_shape(shape, f"placeholder {name!r}"),
                 as_dtype(dtype, f"placeholder {name!r}"), name, GRAPH)


def as_tensor(value, like: Tensor | None = None) -> Tensor:
    """``value`` as a Tensor. Beside a tensor ``like``, a number, list or numpy
    array takes ``like``'s dtype where that keeps its kind of value (float to
    float, int to int or float), as TensorFlow converts the other operand of
    an op: ``w * np.linspace(0, 1)`` stays float32 for a float32 ``w``."""
    if isinstance(value, Tensor):
        return value
    if like is not None:
        dtype = _operand_dtype(value, like.dtype)
        if dtype is not None:
            return constant(value, dtype=dtype)
    return constant(value)


def _operand_dtype(value, target: np.dtype):
    """The dtype a non-tensor operand takes beside a tensor of dtype ``target``, or None."""
    if isinstance(value, (bool, int, float)) and not isinstance(value, np.generic):  # a Python number
        kind = target.kind
        if isinstance(value, bool) or (isinstance(value, int) and kind in "iuf") or (
                isinstance(value, float) and kind == "f"):
            return target
        return None
    try:
        array = np.asarray(value)
    except (TypeError, ValueError):
        return None
    if target.kind == "f" and array.dtype.kind in "iuf":
        return target
    if target.kind in "iu" and array.dtype.kind in "iu" and array.size:
        info = np.iinfo(target)
        if info.min <= array.min() and array.max() <= info.max:
            return target
    return None


class Variable(Tensor):
    """Mutable state: a tensor whose value persists and changes by assignment.

    Its shape and dtype are fixed at creation. ``assign`` and friends apply at
    once (the value is concrete); first every pending tensor that reads
    state gets its value, so values computed before an assignment keep
    the old state, as in TensorFlow's eager mode. Inside a traced function
    (``@gc.function``) an assignment becomes an update of the compiled step,
    and later reads in the trace see the assigned value. A compiled step can
    also update it with ``gc.function(..., updates=[(v, new_value)])``.
    ``constraint`` (a function of a tensor, as in TensorFlow) is applied by
    optimizers to every new value they give the variable.
    """

    __slots__ = ("_value", "trainable", "constraint")
    is_variable = True

    def __init__(self, initial_value, trainable: bool = True, name: str = "Variable", dtype=None,
                 constraint=None):
        if constraint is not None and not callable(constraint):
            raise TypeError(f"Variable {name!r}: constraint must be a function of a tensor, got {constraint!r:.80}")
        array = _as_array(initial_value, dtype, f"Variable {name!r}")
        if not array.flags.writeable or not array.flags.c_contiguous or array.base is not None:
            array = np.array(array)
        scope = current_scope()
        super().__init__(VariableOp(), (), array.shape, array.dtype, f"{scope}/{name}" if scope else name,
                         READS_STATE)
        object.__setattr__(self, "_value", array)
        object.__setattr__(self, "trainable", bool(trainable))
        object.__setattr__(self, "constraint", constraint)
        for listener in _build_listeners:
            listener(self)

    def __repr__(self):
        return (f"<graphc.Variable {self.name!r} shape={format_shape(self.shape)} dtype={self.dtype} "
                f"trainable={self.trainable}, numpy={self._value!r}>")

    @property
    def value(self) -> np.ndarray:
        """The variable's storage (updated in place; compiled code reads it)."""
        return self._value

    def _eager_value(self) -> np.ndarray:
        return self._value

    def numpy(self) -> np.ndarray:
        return self._value.copy()

    def _checked(self, value, what: str, shape=None) -> np.ndarray:
        array = np.asarray(value._eager_value() if isinstance(value, Tensor) else value)  # read, not copied
        shape = self.shape if shape is None else shape
        if not np.can_cast(array.dtype, self.dtype, "same_kind"):
            raise TypeError(f"Variable {self.name!r}.{what}: value of dtype {array.dtype} "
                            f"cannot be stored in dtype {self.dtype}")
        if array.shape != shape and not (what == "assign_slice" and _broadcasts(array.shape, shape)):
            raise ValueError(f"Variable {self.name!r}.{what}: value of shape {format_shape(array.shape)} "
                             f"does not match the {'slice' if what == 'assign_slice' else 'variable'}'s "
                             f"shape {format_shape(shape)}")
        return array

    def _write(self, value, what: str, combine=None) -> "Variable":
        """Store ``value`` (``combine(old, value)`` if given): in the trace being
        recorded, or now, after every pending value that reads state is fixed."""
        trace = current_trace()
        if trace is not None:
            trace.assign(self, value if combine is None else combine(self, value), what)
            return self
        from graphc.eager import before_state_change
        before_state_change()
        array = self._checked(value, what)
        # computed whole before the copy: a failure leaves the variable as it was
        np.copyto(self._value, array if combine is None else combine(self._value, array), casting="same_kind")
        return self

    def assign(self, value) -> "Variable":
        return self._write(value, "assign")

    def assign_add(self, delta) -> "Variable":
        return self._write(delta, "assign_add", lambda old, delta: old + delta)

    def assign_sub(self, delta) -> "Variable":
        return self._write(delta, "assign_sub", lambda old, delta: old - delta)

    def assign_slice(self, index: tuple, value) -> "Variable":
        """``v[index] = value`` (what ``v[index].assign(value)`` does)."""
        trace = current_trace()
        if trace is not None:
            from graphc.ops.array import set_item
            trace.assign(self, set_item(self, index, value), "assign")
            return self
        from graphc.eager import before_state_change
        before_state_change()
        target = self._value[index]
        self._value[index] = self._checked(value, "assign_slice", target.shape)
        return self


def _broadcasts(shape, target) -> bool:
    try:
        return np.broadcast_shapes(shape, target) == tuple(target)
    except ValueError:
        return False


def zeros(shape, dtype="float32", name: str = "zeros") -> Tensor:
    return constant(np.zeros(as_shape(shape, name), dtype=as_dtype(dtype, name)), name=name)


def ones(shape, dtype="float32", name: str = "ones") -> Tensor:
    return constant(np.ones(as_shape(shape, name), dtype=as_dtype(dtype, name)), name=name)

