"""Reverse-mode differentiation as a graph transform.

``grad`` walks the graph from the outputs back to the sources in reverse
topological order and builds new tensors for the gradients; it evaluates
nothing. The result is an ordinary graph, so it can be compiled, optimized
or differentiated again (higher orders by repetition).

Conventions:
- Gradients of non-scalar outputs are gradients of their sum (unless
  ``grad_ys`` weights them).
- Integer and boolean tensors, and ``stop_gradient``, pass no gradient.
- A source the outputs do not depend on gets zeros.
- Zero is strong: where the incoming gradient is exactly 0, an input's
  gradient is exactly 0 even if the op's local derivative there is inf or
  NaN (a pole or a log: sqrt, log, division, negative powers). So
  ``where(x > 0, sqrt(x), 0)`` has gradient 0 (not NaN) at x <= 0, and so do
  ``where(x > 0, log(x), 0)`` and ``where(x > 0, 1 / x, 0)``. A NaN *value*
  computed in the branch not taken still reaches a product's gradient
  (``where(x > 0, sqrt(x) * log(x), 0)`` is NaN at x < 0, as in TensorFlow
  and JAX): feed such a branch a safe input, ``t = where(x > 0, x, 1)``.
"""
from __future__ import annotations

import numpy as np

from graphc.graph import Tensor, absolute_scope, topological_order
from graphc.ops import array, reduce
from graphc.ops.elementwise import add
from graphc.ops.leaves import as_tensor, constant
from graphc.types import format_shape, is_float


def _sum_all(contributions: list) -> Tensor:
    total = contributions[0]
    for c in contributions[1:]:
        total = add(total, c)
    return total


def _gradient_scope(node: Tensor) -> str:
    return f"gradients/{node.name}"


def _stable_forms(ys, xs) -> tuple:
    """``ys`` with numerically unstable forms (log of softmax, cross-entropy
    of a softmax, log of sigmoid) replaced by their stable equivalents, so
    that gradients are built from the stable forms (e.g. the gradient of a
    softmax cross-entropy is softmax - labels). Sources stay untouched.
    Returns (ys, ids of the nodes the rewrite made: new ones and the
    originals' rebuilt users, which a tape must differentiate through)."""
    from graphc.graph import Graph
    from graphc.passes.stable import stabilize
    before = {id(n) for n in topological_order(ys)}
    stable = stabilize(Graph(outputs=list(ys)), frozen={id(x) for x in xs}).outputs
    return stable, {id(n) for n in topological_order(stable) if id(n) not in before}


def backprop(ys, grad_ys, xs, through=None) -> list:
    """Gradients of ``ys`` (weighted by ``grad_ys``) with respect to ``xs``.

    ``through(node)`` may restrict which nodes carry gradients (GradientTape
    records only what was built under it); None for a source that is not
    reached.
    """
    ys, created = _stable_forms(ys, xs)
    if through is not None:
        recorded = through
        through = lambda node: id(node) in created or recorded(node)  # noqa: E731
    order = topological_order(ys)
    sources = {id(x) for x in xs}
    # Nodes on a path from a source: only they need gradients.
    depends = set(sources)
    for node in order:
        if id(node) in depends or not is_float(node.dtype):
            continue
        if through is not None and not through(node):
            continue
        if any(id(i) in depends for i in node.inputs):
            depends.add(id(node))

    pending: dict = {}
    for y, gy in zip(ys, grad_ys):
        if id(y) in depends:
            pending.setdefault(id(y), []).append(gy)

    found: dict = {}
    for node in reversed(order):
        contributions = pending.pop(id(node), None)
        if contributions is None:
            continue
        with absolute_scope(_gradient_scope(node)):
            g = _sum_all(contributions)
            if id(node) in sources:
                found[id(node)] = g
            if not node.inputs or not any(id(i) in depends for i in node.inputs):
                continue
            for inp, gi in zip(node.inputs, node.op.grad(node, g)):
                if gi is None or id(inp) not in depends or not is_float(inp.dtype):
                    continue
                if gi.dtype != inp.dtype:
                    gi = array.cast(gi, inp.dtype)
                pending.setdefault(id(inp), []).append(gi)
    return [found.get(id(x)) for x in xs]


def _seed(y: Tensor, gy) -> Tensor:
    if gy is None:
        return array.ones_like(y)
    gy = as_tensor(gy, y)
    if len(gy.shape) != len(y.shape) or any(a is not None and b is not None and a != b
                                            for a, b in zip(gy.shape, y.shape)):
        raise ValueError(f"grad: grad_ys {gy.name!r} has shape {format_shape(gy.shape)}, "
                         f"but {y.name!r} has shape {format_shape(y.shape)}")
    return gy


def grad(ys, xs, grad_ys=None):
    """Symbolic gradient of ``ys`` with respect to ``xs`` (a Tensor or a list).

    A Tensor in gives a Tensor out, a list gives a list. For non-scalar ``ys``
    this is the gradient of their sum, or of ``sum(grad_ys * ys)``.
    """
    single_x = isinstance(xs, Tensor)
    xs_list = [xs] if single_x else list(xs)
    ys_list = [ys] if isinstance(ys, Tensor) else list(ys)
    for t in ys_list + xs_list:
        if not isinstance(t, Tensor):
            raise TypeError(f"grad: expected Tensors, got {type(t).__name__}")
    for y in ys_list:
        if not is_float(y.dtype):
            raise TypeError(f"grad: cannot differentiate {y.name!r} of dtype {y.dtype}; cast it to float first")
    if grad_ys is None:
        grad_ys = [None] * len(ys_list)
    elif isinstance(grad_ys, (Tensor, np.ndarray, float, int)):
        grad_ys = [grad_ys]
    grad_ys = list(grad_ys)
    if len(grad_ys) != len(ys_list):
        raise ValueError(f"grad: {len(ys_list)} outputs but {len(grad_ys)} grad_ys")
    seeds = [_seed(y, gy) for y, gy in zip(ys_list, grad_ys)]
    results = backprop(ys_list, seeds, xs_list)
    results = [array.zeros_like(x) if g is None else g for x, g in zip(xs_list, results)]
    return results[0] if single_x else results


def _static_size(t: Tensor, what: str) -> int:
    if None in t.shape:
        raise ValueError(f"{what}: {t.name!r} has shape {format_shape(t.shape)}; "
                         "the Jacobian needs static shapes")
    return int(np.prod(t.shape)) if t.shape else 1


def jacobian(y: Tensor, x: Tensor) -> Tensor:
    """d y / d x with shape ``y.shape + x.shape`` (one gradient per element of y)."""
    n = _static_size(y, "jacobian")
    _static_size(x, "jacobian")
    flat = array.reshape(y, (n,)) if y.ndim != 1 else y
    rows = [grad(flat[i], x) for i in range(n)]
    if not rows:
        return constant(np.zeros(y.shape + x.shape, dtype=x.dtype))
    return array.reshape(array.stack(rows, axis=0), y.shape + x.shape)


def hessian(y: Tensor, x: Tensor) -> Tensor:
    """Second derivatives of scalar ``y``: shape ``x.shape + x.shape``."""
    if y.ndim != 0:
        y = reduce.reduce_sum(y)
    return jacobian(grad(y, x), x)
