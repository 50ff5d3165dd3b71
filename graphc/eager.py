"""Values of tensors outside compiled functions: TensorFlow's eager semantics.

A tensor that needs no placeholder has a value, and it is the value
TensorFlow's eager mode would give: computed from the Variables as they
were when the tensor was built. graphc computes values lazily, through the
compiler:

- asking for a value (``t.numpy()``, ``print(t)``, ``float(t)``) compiles
  the part of its graph not computed yet, once per graph *structure*
  (ops, wiring, shapes and dtypes; arrays larger than a few numbers are
  arguments, not part of the structure), so a hand-written training loop
  that builds the same graph every step compiles it once;
- a computed value is kept on the tensor if it could change were it
  computed later: it reads a Variable or a random draw. Values that depend
  on constants only are computed again when asked for;
- before any Variable changes (``assign``, or a compiled step's updates),
  every tensor still pending that reads state is computed, in one compiled
  call, and keeps its value. So a gradient taken before ``W.assign_sub``
  is the gradient at the old ``W``, however late it is used.

Tensors built for a compiled graph (in ``graph_mode``, or while tracing
``@gc.function``) have no value of their own and are never pending.
"""
from __future__ import annotations

import collections
import threading

import numpy as np

from graphc.graph import (GRAPH, READS_STATE, Tensor, graph_mode, pending, pending_lock,
                          topological_order)
from graphc.ops.leaves import ConstantOp, PlaceholderOp, VariableOp

CACHE_SIZE = 256

# structure key -> compiled Function; structure skeleton -> (scalar values
# first seen, positions of the scalars seen to vary)
_compiled: "collections.OrderedDict[tuple, object]" = collections.OrderedDict()
_scalars: "collections.OrderedDict[tuple, tuple]" = collections.OrderedDict()
_compiled_lock = threading.Lock()


def _known(node: Tensor) -> bool:
    """A node whose value is at hand: a leaf, or a value already fixed."""
    return node.op.is_leaf or node._fixed is not None


def _remember(cache, key, value):
    cache[key] = value
    if len(cache) > CACHE_SIZE:
        cache.popitem(last=False)


class _Plan:
    """The graph computing some targets, as the compiler sees it.

    ``order`` lists its nodes; the boundary nodes (leaves and values fixed
    already) come in as arguments, except scalar constants, which are
    written into the graph (the passes fold them) until the same structure
    is met with another value there: from then on that scalar is an
    argument too, so a loop whose learning rate changes compiles twice,
    not every step. ``outputs`` are the targets and every node on the way
    whose value must be kept (it reads state).
    """

    def __init__(self, targets: list, feed: dict):
        self.order = topological_order(targets, stop=_known)
        target_ids = {id(t) for t in targets}
        position, parts, missing = {}, [], []
        self.boundary, self.outputs, self.scalars = [], [], []  # scalars: (position, value key)
        for node in self.order:
            position[id(node)] = len(parts)
            if not _known(node):
                parts.append((node.op.key(), tuple(position[id(i)] for i in node.inputs)))
                if id(node) in target_ids or node._flags == READS_STATE:
                    self.outputs.append(node)
                continue
            if isinstance(node.op, PlaceholderOp) and node not in feed:
                missing.append(node.name)
            if isinstance(node.op, ConstantOp) and node.op.value.ndim == 0:
                self.scalars.append((len(parts), node.op.key()))
            parts.append(("argument", node.shape, node.dtype.str))
            self.boundary.append(node)
            if id(node) in target_ids:
                self.outputs.append(node)
        if missing:
            raise ValueError(f"tensor {targets[0].name!r} depends on placeholders {missing}, which were not "
                             "fed; use t.eval({placeholder: array})")
        self.skeleton = (tuple(parts), tuple(position[id(n)] for n in self.outputs))
        self.position = position
        self.feed = feed

    def key(self, varying: frozenset) -> tuple:
        return self.skeleton + (varying, tuple(v for p, v in self.scalars if p not in varying))

    def inlined(self, node, varying) -> bool:
        """Whether the boundary ``node`` is a scalar constant written into the graph."""
        return (isinstance(node.op, ConstantOp) and node.op.value.ndim == 0
                and self.position[id(node)] not in varying)

    def arguments(self, varying) -> list:
        """(node, array) for each boundary node passed in, in order."""
        result = []
        for node in self.boundary:
            if self.inlined(node, varying):
                continue
            if node._fixed is not None:
                result.append((node, node._fixed))
            elif isinstance(node.op, VariableOp):
                result.append((node, node.value))
            else:
                result.append((node, self.feed[node]))
        return result

    def compile(self, varying, check_numerics):
        """A Function over fresh placeholders, one per argument: it holds no user tensor."""
        from graphc.function import Function
        fresh: dict = {}
        inputs = []
        with graph_mode():
            for node in self.order:
                if self.inlined(node, varying):
                    fresh[id(node)] = node
                elif _known(node):
                    fresh[id(node)] = Tensor(PlaceholderOp(), (), node.shape, node.dtype, node.name)
                    inputs.append(fresh[id(node)])
                else:
                    fresh[id(node)] = Tensor(node.op, [fresh[id(i)] for i in node.inputs], node.shape,
                                             node.dtype, node.name)
            return Function(inputs, [fresh[id(n)] for n in self.outputs], name="evaluate",
                            check_numerics=check_numerics)


def _function_for(plan: _Plan, check_numerics):
    """The compiled function of ``plan``'s structure and which scalars it takes as arguments."""
    skeleton = plan.skeleton + (check_numerics,)
    values = tuple(v for _, v in plan.scalars)
    with _compiled_lock:
        first_values, varying = _scalars.get(skeleton, (values, frozenset()))
        function = _compiled.get(plan.key(varying) + (check_numerics,))
    if function is not None:
        return function, varying
    if first_values != values:  # met again with other scalars: those become arguments
        varying = varying | {p for (p, v), w in zip(plan.scalars, first_values) if v != w}
    function = plan.compile(varying, check_numerics)
    with _compiled_lock:
        _remember(_scalars, skeleton, (first_values, varying))
        _remember(_compiled, plan.key(varying) + (check_numerics,), function)
    return function, varying


def values(targets: list, feed: dict | None = None, check_numerics=None) -> list:
    """Values of ``targets`` (placeholders fed from ``feed``); the values of
    eager tensors among them, and of those on the way that read state, are
    kept on the tensors (read-only)."""
    plan = _Plan(targets, feed or {})
    function, varying = _function_for(plan, check_numerics)
    arguments = plan.arguments(varying)
    results = function(*[array for _, array in arguments])
    # a view of a Variable's storage or of a fed array would change with it
    mutable = [array for node, array in arguments if node._fixed is None]
    by_node = {}
    for node, value in zip(plan.outputs, results):
        value = np.asarray(value)
        if any(np.may_share_memory(value, array) for array in mutable):
            value = value.copy()
        if not node._flags & GRAPH and node._fixed is None:
            value.flags.writeable = False
            object.__setattr__(node, "_fixed", value)
            with pending_lock:
                pending.pop(id(node), None)
        by_node[id(node)] = value
    return [by_node[id(t)] for t in targets]


def before_state_change() -> None:
    """Fix the value of every pending tensor that reads state (called before a
    Variable changes, so those values keep the state they were built on)."""
    if not pending:
        return
    with pending_lock:
        waiting = [t for t in pending.values() if t._fixed is None]
    if waiting:
        values(waiting, check_numerics=False)


def clear_cache() -> None:
    """Forget the compiled functions kept for eager values."""
    with _compiled_lock:
        _compiled.clear()
