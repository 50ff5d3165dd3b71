"""Numerically stable rewrites.

Forms that overflow or lose precision are replaced by equivalent stable ops:
log(softmax(x)) by log_softmax(x); a cross-entropy of a log-softmax by the
fused softmax cross-entropy (sparse when the labels are a one-hot of
integers); and, inside elementwise expressions, log(sigmoid(a)) by
-softplus(-a), log(1 - sigmoid(a)) by -softplus(a) and log(1 + exp(a)) by
softplus(a). The expression rules are data: pattern -> replacement.
"""
from __future__ import annotations

import sympy as sp

from graphc.graph import Tensor, make_tensor
from graphc.ops.array import OneHot, expand_dims
from graphc.ops.elementwise import TABLE, Elementwise
from graphc.ops.nn import SoftmaxCrossEntropy, SparseSoftmaxCrossEntropy
from graphc.ops.reduce import LogSoftmax, Reduce, Softmax
from graphc.ops.scalar import ARGS, sigmoid, softplus
from graphc.passes.expressions import build_like, compose, scalar_value
from graphc.passes.ieee import rebuild
from graphc.passes.simplify import rules, run_rules

COMPOSE_LEVELS = 2
_a = sp.Wild("a")
STABLE_PATTERNS = [
    (sp.log(sigmoid(_a)), -softplus(-_a)),
    (sp.log(1 - sigmoid(_a)), -softplus(_a)),
    (sp.log(1 + sp.exp(_a)), softplus(_a)),
]


def _stable_form(e):
    """The stable replacement of SymPy node ``e``, or None."""
    for pattern, replacement in STABLE_PATTERNS:
        match = e.match(pattern)
        if match is not None:
            return replacement.xreplace(match)
    return None


def stable_expression(node: Tensor, fast_math: bool = False):
    """log(sigmoid(a)) -> -softplus(-a) and the like, over up to three
    elementwise nodes. The replacements are equal at +-inf and NaN and in
    exact arithmetic; they differ only where the original over- or
    underflows, which is why they exist. Everything SymPy simplifies around
    them is checked as in simplify (see ieee.py)."""
    if not node.op.expr.has(sp.log):
        return None
    # The patterns span up to three elementwise nodes (log, 1 - s, sigmoid).
    composed = compose(node, lambda inp: True, levels=COMPOSE_LEVELS, fast_math=fast_math)
    if composed is None:
        return None
    expr, inputs = composed
    # Scalar constants written in, so 1 + exp(a) matches before simplify ran
    # (autodiff stabilizes the graph as the user wrote it).
    values = {ARGS[i]: v for i, inp in enumerate(inputs) if (v := scalar_value(inp, node.dtype)) is not None}
    plain = rebuild(expr, values, fast_math) if values else expr
    stable = None if plain is None else rebuild(plain, {}, fast_math, rewrite=_stable_form)
    if stable is None or stable == plain:
        return None
    return build_like(node, stable, inputs, fast_math)


def log_of_softmax(node: Tensor):
    if node.op.expr != TABLE["log"] or not isinstance(node.inputs[0].op, Softmax):
        return None
    softmax = node.inputs[0]
    return make_tensor(LogSoftmax(softmax.op.axis), [softmax.inputs[0]])


def log_of_picked_probability(node: Tensor):
    """log(sum(one_hot(y) * softmax(x), last axis)) -> -sparse_softmax_cross_entropy(y, x)."""
    if node.op.expr != TABLE["log"] or not isinstance(node.inputs[0].op, Reduce):
        return None
    total = node.inputs[0]
    product = total.inputs[0]
    last = product.ndim - 1
    if total.op.kind != "sum" or total.op.keepdims or total.op.axes != (last,) \
            or not isinstance(product.op, Elementwise) or product.op.expr != TABLE["multiply"]:
        return None
    a, b = product.inputs
    labels, probs = (a, b) if isinstance(b.op, Softmax) else (b, a)
    if not (isinstance(labels.op, OneHot) and isinstance(probs.op, Softmax)) or probs.op.axis != last \
            or labels.shape != probs.shape or labels.dtype != probs.dtype:
        return None
    return -make_tensor(SparseSoftmaxCrossEntropy(), [labels.inputs[0], probs.inputs[0]])


def cross_entropy_of_log_softmax(node: Tensor):
    """sum(labels * log_softmax(x), last axis) -> -softmax_cross_entropy(labels, x)."""
    product = node.inputs[0]
    last = product.ndim - 1
    if node.op.kind != "sum" or node.op.axes != (last,) or not isinstance(product.op, Elementwise) \
            or product.op.expr != TABLE["multiply"]:
        return None
    a, b = product.inputs
    labels, logp = (a, b) if isinstance(b.op, LogSoftmax) else (b, a)
    if not isinstance(logp.op, LogSoftmax) or logp.op.axis != last or labels.shape != logp.shape \
            or labels.dtype != logp.dtype:
        return None
    logits = logp.inputs[0]
    if isinstance(labels.op, OneHot):
        loss = make_tensor(SparseSoftmaxCrossEntropy(), [labels.inputs[0], logits])
    else:
        loss = make_tensor(SoftmaxCrossEntropy(), [labels, logits])
    result = -loss
    return expand_dims(result, last) if node.op.keepdims else result


RULES = {
    Elementwise: [log_of_softmax, log_of_picked_probability, stable_expression],
    Reduce: [cross_entropy_of_log_softmax],
}


def stabilize(graph, frozen=frozenset(), fast_math: bool = False):
    return run_rules(graph, rules(RULES, fast_math, (stable_expression,)), "stable", frozen=frozen)
