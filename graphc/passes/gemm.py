"""Fold scaling and accumulation into the matrix product (BLAS's gemm).

``W - lr * (x.T @ dh)`` costs numpy the product into a temporary plus a pass
over it; as ``gemm(x.T, dh, W, alpha=-lr, beta=1)`` BLAS scales and adds
while it forms the product, and the update of W happens in place inside
the product (see graphc/lower/blas.py). Applies to an elementwise node that
is ``beta * c + alpha * P`` with a number beta, alpha a number or a
scalar tensor (a learning rate in a variable), P a product of two
matrices with no other user, when BLAS takes the dtype and the product
is big enough for the saved pass to outweigh calling BLAS from Python.
"""
from __future__ import annotations

import sympy as sp

from graphc.graph import Graph, consumers
from graphc.lower import blas
from graphc.ops.elementwise import Elementwise
from graphc.ops.linalg import MatMul, gemm
from graphc.ops.scalar import arg_index
from graphc.passes.expressions import linear_in, scalar_of
from graphc.passes.rewrite import rewrite
from graphc.types import static_size

# A BLAS call from Python costs a few microseconds more than np.matmul; a
# pass over this many elements costs about as much.
MIN_ELEMENTS = 1 << 16


def _accumulated(rest, node):
    """(c, beta) with ``rest == beta * c`` for an input c and a number beta; (None, 0) for
    ``rest == 0``; None otherwise."""
    if rest == 0:
        return None, 0.0
    beta, term = rest.as_coeff_Mul()
    if not isinstance(term, sp.Symbol) or not beta.is_real:
        return None
    return node.inputs[arg_index(term)], float(beta)


def fold_into_gemm(graph: Graph, fast_math: bool = False) -> Graph:
    users = {key: len(nodes) for key, nodes in consumers(graph.nodes()).items()}
    roots = {id(r) for r in graph.roots}

    def rule(node):
        if not isinstance(node.op, Elementwise) or not blas.available(node.dtype):
            return None
        for k, product in enumerate(node.inputs):
            if (not isinstance(product.op, MatMul) or users.get(id(product)) != 1 or id(product) in roots
                    or static_size(product.shape) < MIN_ELEMENTS or product.shape != node.shape):
                continue
            a, b = product.inputs
            if a.ndim != 2 or b.ndim != 2 or not a.dtype == b.dtype == node.dtype:
                continue
            linear = linear_in(node, k, fast_math)
            accumulated = linear and _accumulated(linear[1], node)
            if not accumulated or (accumulated[0] is not None and accumulated[0].dtype != node.dtype):
                continue
            c, beta = accumulated
            alpha = scalar_of(linear[0], node)
            name = node.name.rpartition("/")[2]
            if isinstance(alpha, float):
                return gemm(a, b, c, alpha, beta, name=name)
            return gemm(a, b, c, 1.0, beta, scale=alpha, name=name)
        return None

    return rewrite(graph, rule, "gemm")
