"""The static graph: immutable tensors (nodes), name scopes, traversal, Graph.

A Tensor is one node of the graph: an op, its input tensors, a static shape
and a dtype, all fixed when the node is built. Ops that users call (in
graphc.ops) build new tensors; nothing here evaluates anything.
"""
from __future__ import annotations

import contextlib
import re
import threading
import weakref

import numpy as np

from graphc.types import check_size, format_shape

# --------------------------------------------------------------------- scopes

_state = threading.local()


def _scope_stack() -> list:
    if not hasattr(_state, "scopes"):
        _state.scopes = []
    return _state.scopes


def current_scope() -> str:
    return "/".join(_scope_stack())


@contextlib.contextmanager
def name_scope(name: str):
    """Prefix the names of the tensors built inside with ``name/`` (nestable)."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"name_scope: the name must be a non-empty string, got {name!r}")
    stack = _scope_stack()
    stack.append(name.strip("/"))
    try:
        yield current_scope()
    finally:
        stack.pop()


@contextlib.contextmanager
def absolute_scope(path: str):
    """Build under exactly ``path``, ignoring the enclosing scopes (for gradients)."""
    # in place: an enclosing name_scope pops from this same list when it ends
    stack = _scope_stack()
    saved = list(stack)
    stack[:] = [p for p in path.split("/") if p]
    try:
        yield path
    finally:
        stack[:] = saved


# Observers told about every tensor built, e.g. GradientTape recording.
_build_listeners: list = []


# ------------------------------------------------------------- build modes
#
# A tensor outside any compiled function has a value (TensorFlow's eager
# semantics, see graphc/eager.py). Two flags, fixed when a node is built,
# say what that value depends on:
GRAPH = 1        # needs a placeholder, or was built for a compiled graph: no value of its own
READS_STATE = 2  # reads a Variable (or a random draw) not yet fixed: must be computed before it changes

# Eager tensors that read state and whose value is not yet fixed, in build
# order (id -> tensor, weakly). graphc.eager computes them before any
# Variable changes.
pending = weakref.WeakValueDictionary()
pending_lock = threading.Lock()


@contextlib.contextmanager
def graph_mode():
    """Build tensors for a compiled graph (passes, Functions, Keras steps):
    they have no eager value and are never pending. A trace being recorded
    is suspended meanwhile (passes must see the graph as it is)."""
    saved = getattr(_state, "trace", None)
    _state.trace = None
    _state.graph_depth = getattr(_state, "graph_depth", 0) + 1
    try:
        yield
    finally:
        _state.graph_depth -= 1
        _state.trace = saved


def in_graph_mode() -> bool:
    return getattr(_state, "graph_depth", 0) > 0 or getattr(_state, "trace", None) is not None


def current_trace():
    """The trace being recorded on this thread (graphc.tracing), or None."""
    return getattr(_state, "trace", None)


@contextlib.contextmanager
def tracing(trace):
    """Record the Python code run inside as a graph: ``trace.read(tensor)``
    maps each input of a new node (a Variable to its value assigned so far,
    an eager value to a constant)."""
    saved = getattr(_state, "trace", None)
    _state.trace = trace
    try:
        yield trace
    finally:
        _state.trace = saved


# --------------------------------------------------------------------- tensor

class Tensor:
    """A node of the static graph, and the handle users hold.

    Immutable: ``op``, ``inputs``, ``shape`` (ints, None for a dimension known
    only at run time), ``dtype`` (a numpy dtype) and ``name`` never change.
    """

    __slots__ = ("op", "inputs", "shape", "dtype", "name", "_flags", "_fixed", "__weakref__")
    __array_ufunc__ = None  # numpy arrays defer to our operators: array + tensor -> Tensor

    def __init__(self, op, inputs, shape, dtype, name, flags=GRAPH):
        object.__setattr__(self, "op", op)
        object.__setattr__(self, "inputs", tuple(inputs))
        object.__setattr__(self, "shape", tuple(shape))
        object.__setattr__(self, "dtype", np.dtype(dtype))
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "_flags", flags)
        object.__setattr__(self, "_fixed", None)  # the eager value, once computed (read-only)

    def __setattr__(self, key, value):
        raise AttributeError(f"tensor {self.name!r} is immutable: build a new tensor instead")

    def __setitem__(self, key, value):
        raise TypeError(
            f"tensor {self.name!r} does not support item assignment: graph tensors are immutable; "
            "use gc.Variable(...) for state and its assign() to change it")

    def __bool__(self):
        if self.has_value and self.ndim == 0:  # an eager scalar, as in TensorFlow: `if loss < 0.1:`
            return bool(self._eager_value())
        raise TypeError(
            f"the truth value of graph tensor {self.name!r} is unknown until it runs: "
            "use gc.where(...) for a choice in the graph, or .numpy() to evaluate")

    def __len__(self):
        if not self.shape or self.shape[0] is None:
            raise TypeError(f"len() of tensor {self.name!r} with shape {format_shape(self.shape)} is unknown")
        return self.shape[0]

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    __hash__ = object.__hash__  # identity: tensors are dict keys (feeds, gradients)
    is_variable = False

    # ------------------------------------------------------------ static type
    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def scope(self) -> str:
        return self.name.rpartition("/")[0]

    @property
    def T(self) -> "Tensor":
        return _ops.transpose(self)

    @property
    def has_value(self) -> bool:
        """Whether this tensor has a value of its own (needs no placeholder and
        is not part of a graph being compiled), as an eager TensorFlow tensor does."""
        return not self._flags & GRAPH

    def __repr__(self):
        text = f"<graphc.Tensor {self.name!r} {self.op.name} shape={format_shape(self.shape)} dtype={self.dtype}"
        value = self._value_text(repr)
        return text + (f", numpy={value}>" if value is not None else ">")

    def __str__(self):
        value = self._value_text(str)
        if value is None:
            return f"graphc.Tensor({self.name!r}, shape={format_shape(self.shape)}, dtype={self.dtype})"
        return f"graphc.Tensor({value}, shape={format_shape(self.shape)}, dtype={self.dtype})"

    def _value_text(self, show):
        """The value as TensorFlow prints an eager tensor's, or None for a symbolic one."""
        if not self.has_value:
            return None
        try:
            value = self._eager_value()
            text = str(value) if value.ndim == 0 else show(value)  # a scalar shows as 2.5
        except Exception:  # noqa: BLE001  (printing must not fail: the value may not compute)
            return None
        return "\n" + text if "\n" in text else text

    def __format__(self, spec):
        if not spec:
            return str(self)
        if not self.has_value:
            raise TypeError(f"tensor {self.name!r} is symbolic (it needs a placeholder): it has no value to format")
        return format(self._eager_value()[()] if self.ndim == 0 else self._eager_value(), spec)

    # ------------------------------------------------------------ evaluation
    def _eager_value(self) -> np.ndarray:
        """The value (read-only where it is kept); see graphc/eager.py."""
        if self._fixed is not None:
            return self._fixed
        from graphc.eager import values
        return values([self])[0]

    def numpy(self) -> np.ndarray:
        """The value of this tensor (it must not depend on any placeholder),
        as it was when the tensor was built: later Variable changes do not
        change it, as in TensorFlow's eager mode."""
        return np.array(self._eager_value())

    def eval(self, feed=None) -> np.ndarray:
        """Evaluate with placeholders fed from ``feed`` ({placeholder: array})."""
        if not feed:
            return self.numpy()
        from graphc.eager import values
        return np.array(values([self], feed)[0])

    def __array__(self, dtype=None, copy=None):
        value = self.numpy()
        return value if dtype is None else value.astype(dtype)

    def __float__(self):
        return float(self._eager_value())

    def __int__(self):
        return int(self._eager_value())

    # ------------------------------------------------------------ assignment
    def _sliced_variable(self, what: str):
        """(variable, index) when this tensor is ``v[index]`` of a Variable ``v``."""
        from graphc.ops.array import GetItem, numpy_index
        base = self.inputs[0] if isinstance(self.op, GetItem) else None
        trace = current_trace()
        variable = trace.variable_of(base) if trace is not None and base is not None else base
        if variable is None or not getattr(variable, "is_variable", False):
            raise TypeError(f"tensor {self.name!r} is not a Variable or a slice of one: {what} needs "
                            "gc.Variable(...) (graph tensors are immutable)")
        return variable, numpy_index(self.op.index)

    def assign(self, value):
        """``v[index].assign(value)``: write into a slice of a Variable."""
        variable, index = self._sliced_variable("assign")
        return variable.assign_slice(index, value)

    def assign_add(self, delta):
        variable, index = self._sliced_variable("assign_add")
        return variable.assign_slice(index, self + delta)

    def assign_sub(self, delta):
        variable, index = self._sliced_variable("assign_sub")
        return variable.assign_slice(index, self - delta)

    # ------------------------------------------------------------ operators
    def __add__(self, other): return _ops.add(self, other)
    def __radd__(self, other): return _ops.add(other, self)
    def __sub__(self, other): return _ops.subtract(self, other)
    def __rsub__(self, other): return _ops.subtract(other, self)
    def __mul__(self, other): return _ops.multiply(self, other)
    def __rmul__(self, other): return _ops.multiply(other, self)
    def __truediv__(self, other): return _ops.divide(self, other)
    def __rtruediv__(self, other): return _ops.divide(other, self)
    def __pow__(self, other): return _ops.power(self, other)
    def __rpow__(self, other): return _ops.power(other, self)
    def __matmul__(self, other): return _ops.matmul(self, other)
    def __rmatmul__(self, other): return _ops.matmul(other, self)
    def __neg__(self): return _ops.negative(self)
    def __pos__(self): return self
    def __abs__(self): return _ops.abs(self)
    def __lt__(self, other): return _ops.less(self, other)
    def __le__(self, other): return _ops.less_equal(self, other)
    def __gt__(self, other): return _ops.greater(self, other)
    def __ge__(self, other): return _ops.greater_equal(self, other)
    def __getitem__(self, index): return _ops.getitem(self, index)

    # numpy-style method aliases
    def sum(self, axis=None, keepdims=False): return _ops.reduce_sum(self, axis, keepdims)
    def mean(self, axis=None, keepdims=False): return _ops.reduce_mean(self, axis, keepdims)
    def max(self, axis=None, keepdims=False): return _ops.reduce_max(self, axis, keepdims)
    def reshape(self, *shape): return _ops.reshape(self, shape[0] if len(shape) == 1 else shape)
    def astype(self, dtype): return _ops.cast(self, dtype)


def _build_flags(op, inputs) -> int:
    if getattr(_state, "graph_depth", 0) or getattr(_state, "trace", None) is not None:
        return GRAPH
    flags = READS_STATE if op.stateful else 0
    for inp in inputs:
        if inp._flags & GRAPH:
            return GRAPH
        if inp._flags & READS_STATE and inp._fixed is None:
            flags = READS_STATE
    return flags


def _node(op, inputs, full_name) -> Tensor:
    """A new node with its static type and flags (and pending if it must be)."""
    shape, dtype = op.infer(inputs)
    check_size(shape, f"{op.name} {full_name.rpartition('/')[2]!r}", inputs)  # e.g. (2**40, 1) with (1, 2**40)
    flags = _build_flags(op, inputs)
    tensor = Tensor(op, inputs, shape, dtype, full_name, flags)
    if flags == READS_STATE:
        with pending_lock:
            pending[id(tensor)] = tensor
    return tensor


def make_tensor(op, inputs, name=None) -> Tensor:
    """Build a node: ``op`` infers the static type from ``inputs`` (raising on a mismatch)."""
    trace = getattr(_state, "trace", None)
    if trace is not None:
        inputs = [trace.read(inp) for inp in inputs]
    base = name if name is not None else op.name
    scope = current_scope()
    tensor = _node(op, inputs, f"{scope}/{base}" if scope else base)
    for listener in _build_listeners:
        listener(tensor)
    return tensor


def rebuild(node: Tensor, inputs) -> Tensor:
    """``node``'s op on new ``inputs``, under the same name (what passes build)."""
    return _node(node.op, tuple(inputs), node.name)


# ------------------------------------------------------------------ traversal

def topological_order(roots, stop=None) -> list:
    """Every tensor reachable from ``roots``, inputs before users, deterministic.

    Iterative depth-first post-order, so chains of any depth are fine. A
    node for which ``stop(node)`` holds is listed but its inputs are not.
    """
    def entry(node):  # (node, index of the next input to visit)
        return (node, len(node.inputs) if stop is not None and stop(node) else 0)

    order, done = [], set()
    for root in roots:
        if id(root) in done:
            continue
        stack = [entry(root)]
        while stack:
            node, i = stack[-1]
            if i < len(node.inputs):
                stack[-1] = (node, i + 1)
                child = node.inputs[i]
                if id(child) not in done:
                    stack.append(entry(child))
            else:
                stack.pop()
                if id(node) not in done:
                    done.add(id(node))
                    order.append(node)
    return order


def consumers(order) -> dict:
    """Map id(tensor) -> list of the tensors in ``order`` that use it (once per use)."""
    users = {id(n): [] for n in order}
    for node in order:
        for inp in node.inputs:
            users.setdefault(id(inp), []).append(node)
    return users


class Graph:
    """What a Function computes: outputs and variable updates over inputs.

    ``updates`` is a list of (variable, new value) pairs. Passes map a Graph
    to a new Graph; the tensors themselves are never changed.
    """

    def __init__(self, inputs=(), outputs=(), updates=()):
        self.inputs = list(inputs)
        self.outputs = list(outputs)
        self.updates = list(updates)

    @property
    def roots(self) -> list:
        return self.outputs + [value for _, value in self.updates]

    def nodes(self) -> list:
        return topological_order(self.roots + self.inputs)

    def __len__(self):
        return len(self.nodes())

    def __str__(self):
        return format_graph(self)

    def to_networkx(self):
        from graphc.export import to_networkx
        return to_networkx(self)


def format_graph(graph: Graph) -> str:
    """One line per node: ``%3 = matmul(%1, %2)  # name (None, 512) float32``."""
    nodes = graph.nodes()
    index = {id(n): i for i, n in enumerate(nodes)}
    lines = []
    for n in nodes:
        args = ", ".join(f"%{index[id(i)]}" for i in n.inputs)
        lines.append(f"%{index[id(n)]} = {n.op.describe()}({args})  "
                     f"# {escape_text(n.name)} {format_shape(n.shape)} {n.dtype}")
    outs = ", ".join(f"%{index[id(o)]}" for o in graph.outputs)
    lines.append(f"return ({outs})")
    for var, value in graph.updates:
        lines.append(f"update %{index[id(var)]} <- %{index[id(value)]}")
    return "\n".join(lines)


_UNSAFE_TEXT = re.compile(r"[^\x20-\x7e]")


def escape_text(text: str, limit: int = 80) -> str:
    """User text made safe for a one-line comment or label: printable ASCII only."""
    escaped = _UNSAFE_TEXT.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), str(text))
    return escaped if len(escaped) <= limit else escaped[: limit - 3] + "..."


from graphc import ops as _ops  # noqa: E402  (operators above call the op functions)
