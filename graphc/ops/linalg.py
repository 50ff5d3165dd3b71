"""Matrix multiplication with numpy's batching and broadcasting rules."""
from __future__ import annotations

import numpy as np

from graphc.graph import Tensor, make_tensor
from graphc.ops.base import Op
from graphc.ops.leaves import as_tensor
from graphc.types import broadcast_shapes, format_shape


def _mismatch(a, b, why):
    return ValueError(f"matmul: {why}: {a.name!r} has shape {format_shape(a.shape)} "
                      f"and {b.name!r} has shape {format_shape(b.shape)}")


class MatMul(Op):
    name = "matmul"

    def infer(self, inputs):
        a, b = inputs
        if a.ndim == 0 or b.ndim == 0:
            raise _mismatch(a, b, "operands must have rank 1 or more")
        k_a = a.shape[-1]
        k_b = b.shape[-2] if b.ndim >= 2 else b.shape[0]
        if k_a is not None and k_b is not None and k_a != k_b:
            raise _mismatch(a, b, f"inner dimensions {k_a} and {k_b} differ")
        batch = broadcast_shapes(a.shape[:-2], b.shape[:-2])
        if batch is None:
            raise _mismatch(a, b, "batch dimensions do not broadcast")
        rows = a.shape[-2:-1] if a.ndim >= 2 else ()
        cols = b.shape[-1:] if b.ndim >= 2 else ()
        if a.dtype.kind not in "iuf" or b.dtype.kind not in "iuf":
            raise TypeError(f"matmul: operands must be numeric, got {a.dtype} and {b.dtype}")
        return batch + rows + cols, np.result_type(a.dtype, b.dtype)

    def expression(self, args, node):
        return f"{args[0]} @ {args[1]}"

    def emit_planned(self, out, args, node, buffer, scratch):
        return [f"{out} = np.matmul({args[0]}, {args[1]}, out={buffer})"]

    def grad(self, node, g):
        from graphc.ops.array import expand_dims, reshape_like, swap_last_axes
        from graphc.ops.reduce import sum_to_shape
        a, b = node.inputs
        # Lift vectors to matrices, differentiate, then drop the lifted axes.
        a2 = expand_dims(a, 0) if a.ndim == 1 else a
        b2 = expand_dims(b, -1) if b.ndim == 1 else b
        g2 = g
        if a.ndim == 1:
            g2 = expand_dims(g2, g2.ndim - (0 if b.ndim == 1 else 1))
        if b.ndim == 1:
            g2 = expand_dims(g2, g2.ndim)
        ga = sum_to_shape(matmul(g2, swap_last_axes(b2)), a2.shape)
        gb = sum_to_shape(matmul(swap_last_axes(a2), g2), b2.shape)
        return [reshape_like(ga, a) if a.ndim == 1 else ga, reshape_like(gb, b) if b.ndim == 1 else gb]


def matmul(a, b, name=None) -> Tensor:
    """Matrix product ``a @ b`` (batched over leading axes, numpy rules)."""
    a = as_tensor(a, b if isinstance(b, Tensor) else None)
    b = as_tensor(b, a)
    return make_tensor(MatMul(), [a, b], name)
