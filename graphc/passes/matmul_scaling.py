"""Scale the smaller operand of a matrix product.

``W - lr * (a @ b)`` costs a pass over the product to scale it; writing it
``W + (a @ (-lr * b))`` scales whichever operand is smaller instead (for a
weight gradient ``x.T @ dh`` that is dh, batch x units, rather than the
inputs x units gradient). Applies when the product has no other user and
the elementwise expression is linear in it, with a coefficient that is a
number or, with fast_math, an expression of scalars (a learning rate in a
variable; scaling by a tensor is not exact where it is inf). Where
BLAS is available the gemm pass, which runs first, folds the scaling into
the product itself.
"""
from __future__ import annotations

from graphc.graph import Graph, absolute_scope, consumers
from graphc.ops.elementwise import Elementwise, elementwise
from graphc.ops.linalg import MatMul, matmul
from graphc.ops.scalar import ARGS
from graphc.passes.expressions import linear_in, shifted
from graphc.passes.rewrite import rewrite
from graphc.types import static_size


def _scaled(operand, coefficient, scalars, users, name):
    """``coefficient * operand`` (the coefficient's symbols index ``scalars``),
    written into the operand's own expression when the product was its only
    user (so no extra pass over it is made)."""
    if isinstance(operand.op, Elementwise) and users.get(id(operand)) == 1:
        expr, inputs = shifted(operand.op.expr, len(scalars)), list(scalars) + list(operand.inputs)
    else:
        expr, inputs = ARGS[len(scalars)], list(scalars) + [operand]
    return elementwise(coefficient * expr, inputs, name=name)


def scale_matmul_operands(graph: Graph, fast_math: bool = False) -> Graph:
    """The coefficient must be a number unless ``fast_math``: lr * (a @ b) is
    inf or -inf where lr = inf, a @ (lr * b) is NaN where a holds a 0."""
    users = {key: len(nodes) for key, nodes in consumers(graph.nodes()).items()}
    roots = {id(r) for r in graph.roots}

    def rule(node):
        if not isinstance(node.op, Elementwise) or node.dtype.kind != "f":
            return None
        for k, product in enumerate(node.inputs):
            if not isinstance(product.op, MatMul) or users.get(id(product)) != 1 or id(product) in roots:
                continue
            linear = linear_in(node, k, fast_math)
            if linear is None or (linear[0].is_number and abs(linear[0]) == 1) or not (
                    fast_math or linear[0].is_number):
                continue
            coefficient = linear[0]
            a, b = product.inputs
            with absolute_scope(product.scope):  # the new product keeps the old one's place and name
                base = product.name.rpartition("/")[2]
                if static_size(a.shape) < static_size(b.shape):
                    scaled = matmul(_scaled(a, coefficient, node.inputs, users, f"{base}_scaled"), b, name=base)
                else:
                    scaled = matmul(a, _scaled(b, coefficient, node.inputs, users, f"{base}_scaled"), name=base)
            expr = node.op.expr - coefficient * ARGS[k] + ARGS[k]  # exact: the expression is linear in it
            inputs = list(node.inputs)
            inputs[k] = scaled
            return elementwise(expr, inputs, name=node.name.rpartition("/")[2])
        return None

    return rewrite(graph, rule, "matmul_scaling")
