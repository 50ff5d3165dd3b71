"""Matrix multiplication with numpy's batching and broadcasting rules, and
``gemm``, the scaled and accumulating product the passes make of it."""
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


class Gemm(Op):
    """``alpha * (a @ b) + beta * c`` for matrices ``a`` and ``b`` (BLAS's gemm).

    Made by the ``gemm`` pass, not by users: scaling and accumulation then
    happen inside the product instead of in passes over it. ``c`` is
    optional and broadcasts to the product's shape. Where BLAS takes the
    dtype (graphc/lower/blas.py) and the code keeps buffers, it is one BLAS
    call, in place into ``c`` when ``c`` is a variable being updated;
    otherwise it is written in numpy.
    """
    name = "gemm"

    def __init__(self, alpha: float, beta: float = 0.0):
        self.alpha = float(alpha)
        self.beta = float(beta)

    def infer(self, inputs):
        a, b = inputs[:2]
        if a.ndim != 2 or b.ndim != 2:
            raise _mismatch(a, b, "gemm takes matrices")
        shape, dtype = MatMul().infer([a, b])
        if len(inputs) == 3:
            c = inputs[2]
            if broadcast_shapes(c.shape, shape) != shape:
                raise ValueError(f"gemm: {c.name!r} of shape {format_shape(c.shape)} does not broadcast "
                                 f"to the product's shape {format_shape(shape)}")
            dtype = np.result_type(dtype, c.dtype)
        return shape, dtype

    def expression(self, args, node):
        product = f"{args[0]} @ {args[1]}"
        terms = [product if self.alpha == 1 else f"{self.alpha!r} * ({product})"]
        if len(node.inputs) == 3:
            terms.append(args[2] if self.beta == 1 else f"{self.beta!r} * {args[2]}")
        return " + ".join(terms)

    def globals(self, node, planned: bool) -> dict:
        """The BLAS kernel, bound when the code keeps buffers and BLAS takes the dtype."""
        from graphc.lower import blas
        return {"gemm": blas.gemm} if planned and blas.available(node.dtype) else {}

    def _kernel_call(self, args, node, out: str) -> str:
        *operands, kernel = args
        c = f", {operands[2]}, {self.beta!r}" if len(node.inputs) == 3 else ""
        return f"{kernel}({self.alpha!r}, {operands[0]}, {operands[1]}{c}, out={out})"

    def emit(self, out, args, node):
        if len(args) == len(node.inputs):  # no kernel bound: plain numpy
            return [f"{out} = {self.expression(args, node)}"]
        return [f"{out} = {self._kernel_call(args, node, 'None')}"]

    def emit_planned(self, out, args, node, buffer, scratch):
        if len(args) == len(node.inputs):
            return None
        return [f"{out} = {self._kernel_call(args, node, buffer)}"]

    def emit_update(self, out, args, node, target, scratch):
        """Accumulate into the storage of ``c``, the variable ``out`` being updated."""
        if len(args) == len(node.inputs) or target != 2 or any(t is node.inputs[2] for t in node.inputs[:2]):
            return None
        return [self._kernel_call(args, node, out)]

    def grad(self, node, g):
        from graphc.ops.array import swap_last_axes
        from graphc.ops.reduce import sum_to_shape
        a, b = node.inputs[:2]
        grads = [self.alpha * matmul(g, swap_last_axes(b)), self.alpha * matmul(swap_last_axes(a), g)]
        if len(node.inputs) == 3:
            grads.append(sum_to_shape(self.beta * g, node.inputs[2].shape))
        return grads


def gemm(a, b, c=None, alpha=1.0, beta=0.0, name=None) -> Tensor:
    """``alpha * (a @ b) + beta * c`` of matrices (``c`` omitted: the scaled product)."""
    a = as_tensor(a, b if isinstance(b, Tensor) else None)
    b = as_tensor(b, a)
    inputs = [a, b] if c is None else [a, b, as_tensor(c, a)]
    return make_tensor(Gemm(alpha, beta if c is not None else 0.0), inputs, name)
