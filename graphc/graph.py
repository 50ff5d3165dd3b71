"""The static graph: immutable tensors (nodes), name scopes, traversal, Graph.

A Tensor is one node of the graph: an op, its input tensors, a static shape
and a dtype, all fixed when the node is built. Ops that users call (in
graphc.ops) build new tensors; nothing here evaluates anything.
"""
from __future__ import annotations

import contextlib
import re
import threading

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
    saved = list(_scope_stack())
    _state.scopes = [p for p in path.split("/") if p]
    try:
        yield path
    finally:
        _state.scopes = saved


# Observers told about every tensor built, e.g. GradientTape recording.
_build_listeners: list = []


# --------------------------------------------------------------------- tensor

class Tensor:
    """A node of the static graph, and the handle users hold.

    Immutable: ``op``, ``inputs``, ``shape`` (ints, None for a dimension known
    only at run time), ``dtype`` (a numpy dtype) and ``name`` never change.
    """

    __slots__ = ("op", "inputs", "shape", "dtype", "name", "__weakref__")
    __array_ufunc__ = None  # numpy arrays defer to our operators: array + tensor -> Tensor

    def __init__(self, op, inputs, shape, dtype, name):
        object.__setattr__(self, "op", op)
        object.__setattr__(self, "inputs", tuple(inputs))
        object.__setattr__(self, "shape", tuple(shape))
        object.__setattr__(self, "dtype", np.dtype(dtype))
        object.__setattr__(self, "name", name)

    def __setattr__(self, key, value):
        raise AttributeError(f"tensor {self.name!r} is immutable: build a new tensor instead")

    def __setitem__(self, key, value):
        raise TypeError(
            f"tensor {self.name!r} does not support item assignment: graph tensors are immutable; "
            "use gc.Variable(...) for state and its assign() to change it")

    def __bool__(self):
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

    def __repr__(self):
        return f"<graphc.Tensor {self.name!r} {self.op.name} shape={format_shape(self.shape)} dtype={self.dtype}>"

    # ------------------------------------------------------------ evaluation
    def numpy(self) -> np.ndarray:
        """Evaluate this tensor; it must not depend on any placeholder."""
        return self.eval({})

    def eval(self, feed=None) -> np.ndarray:
        """Evaluate with placeholders fed from ``feed`` ({placeholder: array})."""
        from graphc.function import evaluate
        return evaluate(self, feed or {})

    def __array__(self, dtype=None, copy=None):
        value = self.numpy()
        return value if dtype is None else value.astype(dtype)

    def __float__(self):
        return float(self.numpy())

    def __int__(self):
        return int(self.numpy())

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


def make_tensor(op, inputs, name=None) -> Tensor:
    """Build a node: ``op`` infers the static type from ``inputs`` (raising on a mismatch)."""
    shape, dtype = op.infer(inputs)
    base = name if name is not None else op.name
    scope = current_scope()
    check_size(shape, f"{op.name} {base!r}", inputs)  # e.g. a broadcast of (2**40, 1) with (1, 2**40)
    tensor = Tensor(op, inputs, shape, dtype, f"{scope}/{base}" if scope else base)
    for listener in _build_listeners:
        listener(tensor)
    return tensor


# ------------------------------------------------------------------ traversal

def topological_order(roots) -> list:
    """Every tensor reachable from ``roots``, inputs before users, deterministic.

    Iterative depth-first post-order, so chains of any depth are fine.
    """
    order, done = [], set()
    for root in roots:
        if id(root) in done:
            continue
        stack = [(root, 0)]
        while stack:
            node, i = stack[-1]
            if i < len(node.inputs):
                stack[-1] = (node, i + 1)
                child = node.inputs[i]
                if id(child) not in done:
                    stack.append((child, 0))
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
