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
    """``alpha * scale * (a @ b) + beta * c`` for matrices ``a`` and ``b`` (BLAS's gemm).

    Made by the ``gemm`` pass, not by users: scaling and accumulation then
    happen inside the product instead of in passes over it. ``alpha`` and
    ``beta`` are numbers; ``c`` (optional) broadcasts to the product's shape;
    ``scale`` (optional) is a 0-d tensor, such as a learning rate held in a
    variable. Where BLAS takes the dtype (graphc/lower/blas.py) and the code
    keeps buffers, it is one BLAS call, in place into ``c`` when ``c`` is a
    variable being updated; otherwise it is written in numpy.
    """
    name = "gemm"

    def __init__(self, alpha: float, beta: float = 0.0, has_c: bool = False, scaled: bool = False):
        self.alpha = float(alpha)
        self.beta = float(beta) if has_c else 0.0
        self.has_c = bool(has_c)
        self.scaled = bool(scaled)

    def operands(self, inputs) -> tuple:
        """(a, b, c or None, scale or None) from this op's inputs."""
        a, b, *more = inputs
        c = more.pop(0) if self.has_c else None
        return a, b, c, (more[0] if self.scaled else None)

    def infer(self, inputs):
        if len(inputs) != 2 + self.has_c + self.scaled:
            raise TypeError(f"gemm: expected {2 + self.has_c + self.scaled} inputs, got {len(inputs)}")
        a, b, c, scale = self.operands(inputs)
        if a.ndim != 2 or b.ndim != 2:
            raise _mismatch(a, b, "gemm takes matrices")
        shape, dtype = MatMul().infer([a, b])
        if c is not None:
            if broadcast_shapes(c.shape, shape) != shape:
                raise ValueError(f"gemm: {c.name!r} of shape {format_shape(c.shape)} does not broadcast "
                                 f"to the product's shape {format_shape(shape)}")
            dtype = np.result_type(dtype, c.dtype)
        if scale is not None and (scale.ndim != 0 or scale.dtype.kind != "f"):
            raise TypeError(f"gemm: scale {scale.name!r} must be a float scalar, got {scale.dtype} "
                            f"{format_shape(scale.shape)}")
        return shape, dtype

    def _alpha_text(self, scale_arg) -> str:
        if scale_arg is None:
            return repr(self.alpha)
        return scale_arg if self.alpha == 1 else f"{self.alpha!r} * {scale_arg}"

    def expression(self, args, node):
        a, b, c, scale = self.operands(args)
        product = f"({a} @ {b})"
        alpha = self._alpha_text(scale)
        terms = [product if alpha == "1.0" else f"{alpha} * {product}"]
        if c is not None:
            terms.append(c if self.beta == 1 else f"{self.beta!r} * {c}")
        return " + ".join(terms)

    def globals(self, node, planned: bool) -> dict:
        """The BLAS kernel, bound when the code keeps buffers and BLAS takes the dtype."""
        from graphc.lower import blas
        return {"gemm": blas.gemm} if planned and blas.available(node.dtype) else {}

    def _kernel_call(self, args, out: str) -> str:
        *operands, kernel = args
        a, b, c, scale = self.operands(operands)
        accumulate = f", {c}, {self.beta!r}" if c is not None else ""
        return f"{kernel}({self._alpha_text(scale)}, {a}, {b}{accumulate}, out={out})"

    def emit(self, out, args, node):
        if len(args) == len(node.inputs):  # no kernel bound: plain numpy
            return [f"{out} = {self.expression(args, node)}"]
        return [f"{out} = {self._kernel_call(args, 'None')}"]

    def emit_planned(self, out, args, node, buffer, scratch):
        if len(args) == len(node.inputs):
            return None
        return [f"{out} = {self._kernel_call(args, buffer)}"]

    def emit_update(self, out, args, node, target, scratch):
        """Accumulate into the storage of ``c``, the variable ``out`` being updated."""
        a, b, c, _ = self.operands(node.inputs)
        if len(args) == len(node.inputs) or c is None or target != 2 or c is a or c is b:
            return None
        return [self._kernel_call(args, out)]

    def grad(self, node, g):
        from graphc.ops.array import swap_last_axes
        from graphc.ops.reduce import reduce_sum, sum_to_shape
        a, b, c, scale = self.operands(node.inputs)
        alpha = self.alpha if scale is None else self.alpha * scale
        grads = [alpha * matmul(g, swap_last_axes(b)), alpha * matmul(swap_last_axes(a), g)]
        if c is not None:
            grads.append(sum_to_shape(self.beta * g, c.shape))
        if scale is not None:
            grads.append(self.alpha * reduce_sum(g * matmul(a, b)))
        return grads


def gemm(a, b, c=None, alpha=1.0, beta=0.0, scale=None, name=None) -> Tensor:
    """``alpha * scale * (a @ b) + beta * c`` of matrices (``c``, ``scale`` optional)."""
    a = as_tensor(a, b if isinstance(b, Tensor) else None)
    b = as_tensor(b, a)
    inputs = [a, b] + ([as_tensor(c, a)] if c is not None else []) + (
        [as_tensor(scale, a)] if scale is not None else [])
    return make_tensor(Gemm(alpha, beta, has_c=c is not None, scaled=scale is not None), inputs, name)
