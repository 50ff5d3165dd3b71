"""Helpers for passes that work on the SymPy expressions of elementwise nodes."""
from __future__ import annotations

import numpy as np
import sympy as sp

from graphc.graph import Tensor, absolute_scope, make_tensor
from graphc.ops.array import FullLike
from graphc.ops.elementwise import Elementwise, canonical_inputs, elementwise
from graphc.ops.leaves import ConstantOp, constant
from graphc.ops.scalar import ARGS, MAX_ARGS, arg_index, derivative
from graphc.passes.ieee import rebuild
from graphc.types import is_static


def is_elementwise(node: Tensor) -> bool:
    return isinstance(node.op, Elementwise)


def shifted(expr, offset: int):
    if not offset:
        return expr
    return expr.xreplace({s: ARGS[int(s.name[1:]) + offset] for s in expr.free_symbols})


def compose(node: Tensor, absorb, levels: int = 1, fast_math: bool = False):
    """(expression, inputs) of elementwise ``node`` with the elementwise inputs
    for which ``absorb(input)`` holds written into it, ``levels`` deep; None
    when writing them in needs an inexact simplification (see ieee.py)."""
    expr, inputs = node.op.expr, list(node.inputs)
    for _ in range(levels):
        if not any(is_elementwise(inp) and absorb(inp) for inp in inputs):
            break
        mapping, inputs = _compose_once(inputs, absorb)
        expr = rebuild(expr, mapping, fast_math)
        if expr is None:
            return None
    return expr, inputs


def _compose_once(node_inputs, absorb) -> tuple:
    mapping, inputs = {}, []
    for i, inp in enumerate(node_inputs):
        if is_elementwise(inp) and absorb(inp) and len(inputs) + len(inp.inputs) <= MAX_ARGS:
            mapping[ARGS[i]] = shifted(inp.op.expr, len(inputs))
            inputs.extend(inp.inputs)
        else:
            mapping[ARGS[i]] = ARGS[len(inputs)]
            inputs.append(inp)
    return mapping, inputs


def scalar_value(node: Tensor, compute_dtype=None):
    """The SymPy number of a 0-d constant or of a fill, or None.

    When the constant has the dtype the expression computes in, it is
    written in its shortest form for that dtype (0.1, not
    0.10000000149011612 for float32): numpy reads it back to the same value.
    """
    if isinstance(node.op, FullLike):
        value = node.op.value
    elif isinstance(node.op, ConstantOp) and node.ndim == 0:
        value = node.op.value.item()
    else:
        return None
    if isinstance(value, bool):
        return sp.true if value else sp.false
    if value == 0 and np.signbit(value):
        return None  # SymPy has no -0.0 (x * -0.0 is -0.0 for x > 0, 1 / -0.0 is -inf)
    if isinstance(value, int) or float(value).is_integer() and abs(value) < 2 ** 53:
        return sp.Integer(int(value))
    if node.dtype == compute_dtype and node.dtype.kind == "f":
        with np.errstate(over="ignore"):  # a fill too large for the dtype is inf, as numpy makes it
            value = node.dtype.type(value)
        if not np.isfinite(value):
            return sp.nan if np.isnan(value) else (sp.oo if value > 0 else -sp.oo)
        return sp.Float(np.format_float_positional(value, unique=True), 17)
    return sp.Float(value, precision=53)


def build_like(node: Tensor, expr, inputs, fast_math: bool = False, provenance=None) -> Tensor | None:
    """An elementwise node for ``expr`` over ``inputs`` that can replace
    ``node``, or None when it would change the shape or dtype, or when
    merging an input given twice needs an inexact simplification (x - x).
    ``provenance``: what it was fused from (see Elementwise)."""
    mapping, used = canonical_inputs(expr, inputs)
    expr = rebuild(expr, mapping, fast_math)
    if expr is None:
        return None
    if not expr.free_symbols:
        if expr is sp.true or expr is sp.false:  # e.g. less(x, x)
            if is_static(node.shape) and node.dtype == np.bool_:
                return constant(np.full(node.shape, bool(expr)), name=node.name.rpartition("/")[2])
            return None
        if expr.is_number and expr.is_real:
            value = float(expr)
            if is_static(node.shape):
                return constant(np.full(node.shape, value, dtype=node.dtype), name=node.name.rpartition("/")[2])
            like = next((t for t in inputs if t.shape == node.shape and t.dtype == node.dtype), None)
            if like is not None:
                with absolute_scope(node.scope):
                    return make_tensor(FullLike(value), [like], name=node.name.rpartition("/")[2])
        return None
    try:
        with absolute_scope(node.scope):
            new = elementwise(expr, used, name=node.name.rpartition("/")[2], provenance=provenance)
    except (TypeError, ValueError):
        return None
    if new.dtype != node.dtype or new.shape != node.shape:
        return None
    return new


def substitute(expr, mapping: dict, fast_math: bool = False):
    """``expr.xreplace(mapping)``, or None when that needs an inexact
    simplification (see ieee.py). Function applications are rebuilt without
    SymPy's evaluation where it could not simplify them: ``tanh(<large
    expression>)`` would otherwise query assumptions of its argument for
    milliseconds. Arithmetic (Add, Mul, Pow) still evaluates, so constants
    combine and terms cancel where that is exact."""
    return rebuild(expr, mapping, fast_math, functions=False)


def linear_in(node: Tensor, k: int, fast_math: bool = False):
    """(coefficient, rest) with elementwise ``node == coefficient * x_k + rest``,
    where neither part reads input k and the coefficient is a number or an
    expression of 0-d inputs only (a learning rate held in a variable);
    None when ``node`` is not of that form. Only with ``fast_math`` is x_k
    taken out of a product with a sum (``w - 0.1*(x + 0.5*w)`` is
    ``-0.1*x + 0.95*w`` in real numbers, not at w = inf)."""
    expr, symbol = node.op.expr, ARGS[k]
    coefficient = derivative(expr, k)
    if coefficient == 0 or symbol in coefficient.free_symbols or (
            coefficient.is_number and not coefficient.is_real):
        return None
    if any(node.inputs[arg_index(s)].ndim for s in coefficient.free_symbols):
        return None
    rest = expr - coefficient * symbol
    if symbol in rest.free_symbols:
        if not fast_math:
            return None
        rest = sp.expand(rest)
        if symbol in rest.free_symbols:
            return None
    return coefficient, rest


def scalar_of(coefficient, node: Tensor):
    """A coefficient from ``linear_in`` as a float, or as a 0-d node over ``node``'s inputs."""
    if coefficient.is_number:
        return float(coefficient)
    with absolute_scope(node.scope):
        return elementwise(coefficient, list(node.inputs), name="coefficient")
