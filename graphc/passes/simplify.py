"""Algebraic simplification: a table of local rewrite rules.

Each rule is a function of one node returning its replacement or None, and
the table says which op type it applies to. Identities between elementwise
ops (x*1, --x, (x*2)/2, x + x, ...) come from SymPy: scalar constants are
written into the expression and SymPy's own evaluation simplifies it, but
only where that is exact in IEEE arithmetic (ieee.py): x - x, x / x, x * 0,
exp(log x) and sqrt(x)**2 stay as they are unless ``fast_math``.
"""
from __future__ import annotations

import functools

from graphc.graph import Tensor, make_tensor
from graphc.ops import array
from graphc.ops.array import (BroadcastLike, ExpandDims, Reshape, ReshapeLike,
                              Identity, Squeeze, StopGradient, Transpose)
from graphc.ops.elementwise import Elementwise, elementwise
from graphc.ops.linalg import MatMul, matmul
from graphc.ops.nn import SparseNLL, SparseSoftmaxCrossEntropy, SparseSoftmaxCrossEntropyGrad
from graphc.ops.reduce import (ArgMax, LogSoftmax, NumElements, Reduce, Softmax, log_softmax,
                                num_elements)
from graphc.passes.expressions import build_like, is_elementwise, scalar_value
from graphc.passes.ieee import rebuild
from graphc.passes.rewrite import rebuilt, rewrite, same_graph
from graphc.ops.scalar import ARGS


def absorb_scalar_constants(node: Tensor, fast_math: bool = False):
    values = {ARGS[i]: v for i, inp in enumerate(node.inputs) if (v := scalar_value(inp, node.dtype)) is not None}
    if not values:
        return None
    expr = rebuild(node.op.expr, values, fast_math)
    return None if expr is None else build_like(node, expr, list(node.inputs), fast_math)


def merge_repeated_inputs(node: Tensor, fast_math: bool = False):
    """x * x, x + x: a tensor given twice is one value, so its symbols merge
    and SymPy's evaluation simplifies (x0*x0 -> x0**2; x0 - x0 -> 0 and
    x0/x0 -> 1 only with fast_math: they are NaN at inf, and 0/0 is NaN)."""
    if len({id(inp) for inp in node.inputs}) == len(node.inputs):
        return None
    return build_like(node, node.op.expr, list(node.inputs), fast_math)


def collapse_identity(node: Tensor, fast_math: bool = False):
    """-(-x), (x*2)/2, 1/(1/x) ...: a composition that is its input (with
    fast_math also exp(log x), log(exp x), sqrt(x)**2)."""
    # Only unary chains can collapse to their input; checking them is cheap.
    if len(node.inputs) != 1 or not is_elementwise(node.inputs[0]) or len(node.inputs[0].inputs) != 1:
        return None
    inner = node.inputs[0]
    if not _composes_to_identity(node.op.expr, inner.op.expr, fast_math):
        return None
    return build_like(node, ARGS[0], list(inner.inputs), fast_math)


@functools.lru_cache(maxsize=4096)
def _composes_to_identity(outer, inner, fast_math: bool) -> bool:
    """Whether outer(inner(x)) is x (both over x0), decided once per pair."""
    return rebuild(outer, {ARGS[0]: inner}, fast_math) == ARGS[0]


def sink_broadcast(node: Tensor):
    """f(broadcast(x), scalars...) -> broadcast(f(x, scalars...)): compute on
    the small array, then broadcast once (a mean's gradient is one number)."""
    broadcasts = [i for i in node.inputs if isinstance(i.op, BroadcastLike)]
    if len(broadcasts) != 1 or any(i.ndim for i in node.inputs if i is not broadcasts[0]):
        return None
    x, like = broadcasts[0].inputs
    inputs = [x if i is broadcasts[0] else i for i in node.inputs]
    return array.broadcast_like(elementwise(node.op.expr, inputs, name=node.name.rpartition("/")[2]), like)


def absorb_broadcast(node: Tensor):
    """An op that broadcasts an input itself (``op.broadcast_inputs``) takes it unbroadcast."""
    inputs = list(node.inputs)
    for k in node.op.broadcast_inputs:
        if isinstance(inputs[k].op, BroadcastLike):
            inputs[k] = inputs[k].inputs[0]
    if all(a is b for a, b in zip(inputs, node.inputs)):
        return None
    return rebuilt(node, tuple(inputs))


def share_log_softmax(node: Tensor):
    """sparse_softmax_cross_entropy(labels, logits) -> sparse_nll(labels,
    log_softmax(logits)): the same statements, but its gradient reads
    log_softmax(logits) too, and CSE then computes it once for both."""
    labels, logits = node.inputs
    return make_tensor(SparseNLL(), [labels, log_softmax(logits)], node.name.rpartition("/")[2])


def argmax_of_softmax(node: Tensor, fast_math: bool = False):
    """argmax(softmax(x)) -> argmax(x) along the same axis: softmax and
    log_softmax keep the order (accuracy metrics need no probabilities).
    Only with fast_math: a NaN makes every softmax of its row NaN (argmax 0),
    and values that differ by less than rounding tie after softmax."""
    x = node.inputs[0]
    if fast_math and isinstance(x.op, (Softmax, LogSoftmax)) and x.op.axis == node.op.axis:
        return make_tensor(ArgMax(node.op.axis), [x.inputs[0]], node.name.rpartition("/")[2])
    return None


def count_before_softmax(node: Tensor):
    """num_elements reads only a shape: that of softmax(x) is x's, which is
    computed anyway (so a softmax nothing else needs is not kept for it)."""
    x = node.inputs[0]
    if isinstance(x.op, (Softmax, LogSoftmax)) and x.inputs[0].dtype == x.dtype:
        return make_tensor(node.op, [x.inputs[0]], node.name.rpartition("/")[2])
    return None


def transpose_of_transpose(node: Tensor):
    inner = node.inputs[0]
    if not isinstance(inner.op, Transpose):
        return None
    perm = tuple(inner.op.perm[p] for p in node.op.perm)
    return array.transpose(inner.inputs[0], perm)


def _is_swap(node: Tensor) -> bool:
    perm = getattr(node.op, "perm", None)
    n = node.ndim
    return isinstance(node.op, Transpose) and n >= 2 and perm == tuple(range(n - 2)) + (n - 1, n - 2)


def transpose_of_matmul(node: Tensor):
    """(a @ b).T -> b.T @ a.T when that removes a transpose of an operand."""
    inner = node.inputs[0]
    if not (_is_swap(node) and isinstance(inner.op, MatMul)):
        return None
    a, b = inner.inputs
    if a.ndim < 2 or b.ndim < 2 or not (_is_swap(a) or _is_swap(b)):
        return None
    return matmul(array.swap_last_axes(b), array.swap_last_axes(a))


_RESHAPES = (Reshape, ReshapeLike, ExpandDims, Squeeze)


def reshape_chain(node: Tensor):
    """A reshape of a reshape reads the innermost input; a reshape to the same shape is nothing."""
    x = node.inputs[0]
    if isinstance(x.op, _RESHAPES):
        inner = x.inputs[0]
        if isinstance(node.op, Reshape):
            return array.reshape(inner, node.op.shape)
        return array.reshape_like(inner, node.inputs[1])
    if x.shape == node.shape and None not in x.shape:
        return x
    return None


def broadcast_chain(node: Tensor):
    x, like = node.inputs
    if isinstance(x.op, BroadcastLike):
        return array.broadcast_like(x.inputs[0], like)
    if x.shape == like.shape and None not in x.shape:
        return x
    return None


def sum_of_broadcast(node: Tensor):
    """sum(broadcast(x), axes) -> x * n when x is broadcast exactly along axes."""
    source = node.inputs[0]
    if node.op.kind != "sum" or not isinstance(source.op, BroadcastLike):
        return None
    x, like = source.inputs
    axes = node.op.axes
    if x.ndim != like.ndim:
        return None
    for i, (dx, dl) in enumerate(zip(x.shape, like.shape)):
        broadcast = dx == 1 and dl != 1
        if broadcast != (i in axes):
            return None
    scaled = x * num_elements(like, axes)
    return scaled if node.op.keepdims else array.squeeze(scaled, axes)


def forward_input(node: Tensor):
    """identity is its input, and so is stop_gradient after differentiation."""
    return node.inputs[0]


# Rules that take the fast_math switch (see rules()): SymPy's evaluation, and argmax of softmax.
FAST_MATH_RULES = (absorb_scalar_constants, merge_repeated_inputs, collapse_identity, argmax_of_softmax)

RULES = {
    Elementwise: [absorb_scalar_constants, merge_repeated_inputs, collapse_identity, sink_broadcast],
    Transpose: [transpose_of_transpose, transpose_of_matmul],
    Reshape: [reshape_chain],
    ReshapeLike: [reshape_chain],
    BroadcastLike: [broadcast_chain],
    Reduce: [sum_of_broadcast],
    StopGradient: [forward_input],
    Identity: [forward_input],
    SparseSoftmaxCrossEntropy: [share_log_softmax],
    ArgMax: [argmax_of_softmax],
    NumElements: [count_before_softmax],
    SparseSoftmaxCrossEntropyGrad: [absorb_broadcast],
}


def rules(table: dict, fast_math: bool, switched=FAST_MATH_RULES) -> dict:
    """``table`` with its ``switched`` rules bound to ``fast_math``."""
    return {op: [functools.partial(rule, fast_math=fast_math) if rule in switched else rule
                 for rule in entries] for op, entries in table.items()}


def apply_rules(table: dict, node: Tensor):
    for rule in table.get(type(node.op), ()):
        new = rule(node)
        if new is not None and new is not node:
            return new
    return None


def run_rules(graph, table: dict, name: str, max_rounds: int = 8, frozen=frozenset()):
    """Rewrite with ``table`` until nothing changes (bounded)."""
    for _ in range(max_rounds):
        new = rewrite(graph, lambda node: apply_rules(table, node), name, frozen=frozen)
        if same_graph(new, graph):
            return new
        graph = new
    return graph


def simplify(graph, fast_math: bool = False):
    """The rules of ``RULES``; identities that floats break (x - x -> 0, ...) only with ``fast_math``."""
    return run_rules(graph, rules(RULES, fast_math), "simplify")
