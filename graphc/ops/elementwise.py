"""Elementwise ops: one class, one table of SymPy expressions.

An ``Elementwise`` op holds a SymPy expression over argument symbols
x0..x(n-1). Its derivative comes from ``sympy.diff``, its numpy code from the
printer in ``scalar.py``, its dtype from numpy itself (the printed code is
run once on one-element arrays of the input dtypes, cached). Adding an
elementwise op is one line in ``TABLE``.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import sympy as sp

from graphc.graph import Tensor, make_tensor
from graphc.ops import scalar
from graphc.ops.base import Op
from graphc.ops.leaves import as_tensor
from graphc.ops.scalar import (ARGS, derivative, fill, may_be_unbounded, numpy_statements,
                               numpy_template)
from graphc.types import broadcast_shapes, format_shape, is_float

x, y, z = ARGS[:3]

# name -> expression over x0, x1, ...
TABLE = {
    "add": x + y,
    "subtract": x - y,
    "multiply": x * y,
    "divide": x / y,
    "power": x ** y,
    "negative": -x,
    "square": x ** 2,
    "sqrt": sp.sqrt(x),
    "rsqrt": 1 / sp.sqrt(x),
    "reciprocal": 1 / x,
    "exp": sp.exp(x),
    "log": sp.log(x),
    "abs": sp.Abs(x),
    "sign": sp.sign(x),
    "floor": sp.floor(x),
    "ceil": sp.ceiling(x),
    "sin": sp.sin(x),
    "cos": sp.cos(x),
    "tanh": sp.tanh(x),
    "sigmoid": scalar.sigmoid(x),
    "softplus": scalar.softplus(x),
    "relu": scalar.relu(x),
    "maximum": scalar.maximum(x, y),
    "minimum": scalar.minimum(x, y),
    "clip": scalar.minimum(scalar.maximum(x, y), z),
    "where": scalar.where(x, y, z),
    "less": sp.StrictLessThan(x, y),
    "less_equal": sp.LessThan(x, y),
    "greater": sp.StrictGreaterThan(x, y),
    "greater_equal": sp.GreaterThan(x, y),
    "equal": sp.Eq(x, y, evaluate=False),
    "not_equal": sp.Ne(x, y, evaluate=False),
}
_NAMES = {expr: name for name, expr in TABLE.items()}

# Derivatives written in terms of the op's output y = x0 (and its incoming
# gradient g = x1): cheaper than recomputing from the input, and they keep
# repeated derivatives polynomial in y.
_y, _g = ARGS[:2]
OUTPUT_GRADIENTS = {
    TABLE["tanh"]: _g * (1 - _y ** 2),
    TABLE["sigmoid"]: _g * _y * (1 - _y),
    TABLE["exp"]: _g * _y,
    TABLE["relu"]: _g * scalar.step(_y),
}


@dataclass(frozen=True, eq=False)
class Provenance:
    """The nodes a fused elementwise node was made of, for error messages:
    ``parts`` are (name, op name, value) in the order they were computed,
    each value an expression over symbols that ``symbols`` maps to the
    fused node's argument symbols (renamed only when a message needs it)."""
    parts: tuple
    symbols: dict


class Elementwise(Op):
    """Applies a scalar SymPy expression to broadcast inputs."""
    writes_elementwise = True  # lowered to ufunc calls (see Op)

    def __init__(self, expr, provenance: Provenance | None = None):
        self.expr = expr
        self.provenance = provenance  # set by fusion; not part of the key

    @property
    def name(self):
        return _NAMES.get(self.expr, "elementwise")

    @property
    def nargs(self) -> int:
        return 1 + max((scalar.arg_index(s) for s in self.expr.free_symbols), default=-1)

    def key(self):
        return (Elementwise, self.expr)

    def describe(self):
        return self.name if self.expr in _NAMES else f"elementwise[{self.expr}]"

    def infer(self, inputs):
        if len(inputs) != self.nargs:
            raise TypeError(f"{self.name}: expected {self.nargs} inputs, got {len(inputs)}")
        shape = broadcast_shapes(*(t.shape for t in inputs))
        if shape is None:
            shapes = " and ".join(f"{format_shape(t.shape)} of {t.name!r}" for t in inputs)
            raise ValueError(f"{self.name}: shapes {shapes} do not broadcast")
        return shape, result_dtype(self.expr, tuple(t.dtype for t in inputs))

    def expression(self, args, node):
        return numpy_template(self.expr).format(*args)

    def emit(self, out, args, node):
        temps, result = numpy_statements(self.expr)
        if not temps:
            return [f"{out} = {result.format(*args)}"]
        names = dict(enumerate(args))
        lines = []
        for k, (index, template) in enumerate(temps):
            names[index] = f"{out}__{k}"
            lines.append(f"{names[index]} = {fill(template, names)}")
        return lines + [f"{out} = {fill(result, names)}"]

    def globals(self, node, planned: bool) -> dict:
        """A row of zeros for maximum(x, 0) (relu) over a static last axis: with
        it numpy's two-array SIMD loop runs, some 4x faster than with 0."""
        if planned and node.ndim and node.shape[-1] and node.shape[-1] >= 8 and node.dtype.kind == "f" \
                and self.expr.has(scalar.relu, scalar.maximum, scalar.minimum):
            return {f"zeros_{node.shape[-1]}": np.zeros(node.shape[-1], node.dtype)}
        return {}

    def _lower(self, out, args, node, buffer, scratch, target=None):
        from graphc.lower.ufuncs import lower_elementwise
        n = len(node.inputs)
        zeros = (args[n], node.shape[-1]) if len(args) > n else None
        return lower_elementwise(self.expr, args[:n], [t.shape for t in node.inputs], out, buffer, scratch,
                                 target=target, zeros=zeros)

    def emit_planned(self, out, args, node, buffer, scratch):
        return self._lower(out, args, node, buffer, scratch)

    def emit_update(self, out, args, node, target, scratch):
        return self._lower(out, args, node, None, scratch, target=target)

    def grad(self, node, g):
        if self.expr in OUTPUT_GRADIENTS and is_float(node.inputs[0].dtype):
            return [elementwise(OUTPUT_GRADIENTS[self.expr], [node, g])]
        grads = []
        gsym = ARGS[len(node.inputs)]
        # A tensor given twice is one value: merge its symbols, so maximum(x, x)
        # sees the tie (d/dx1 = step(x - x) = 0) and no derivative is left with
        # a constant expression over no inputs.
        first, same = {}, {}
        for i, inp in enumerate(node.inputs):
            j = first.setdefault(id(inp), i)
            if j != i:
                same[ARGS[i]] = ARGS[j]
        for i, inp in enumerate(node.inputs):
            d = derivative(self.expr, i) if is_float(inp.dtype) else sp.S.Zero
            if same:
                d = d.xreplace(same)
            if d == 0:
                grads.append(None)
                continue
            # g * where(c, 1, 0) -> where(c, g, 0): the branch not taken gets exactly 0
            local = scalar.pull_where_out(gsym * d, select=True)
            if may_be_unbounded(d):
                # A zero incoming gradient stays exactly zero even where the local
                # derivative is inf or NaN (e.g. the untaken branch of a where).
                local = scalar.where(sp.Eq(gsym, 0, evaluate=False), 0, local)
            from graphc.ops.reduce import sum_to_shape
            contribution = elementwise(local, list(node.inputs) + [g])
            grads.append(sum_to_shape(contribution, inp.shape))
        return grads


@functools.lru_cache(maxsize=65536)
def numpy_function(expr, n: int):
    """A Python function of ``n`` arrays computing ``expr`` with numpy (cached)."""
    template = numpy_template(expr)
    source = "lambda " + ", ".join(f"a{i}" for i in range(n)) + ": " + template.format(*(f"a{i}" for i in range(n)))
    return eval(source, {"np": np})  # source printed from our own expression, no user text


@functools.lru_cache(maxsize=65536)
def result_dtype(expr, dtypes: tuple) -> np.dtype:
    """The dtype numpy gives the printed expression for inputs of ``dtypes``."""
    probe = numpy_function(expr, len(dtypes))  # every input, used or not
    try:
        with np.errstate(all="ignore"):
            value = probe(*(np.ones(1, dtype=d) for d in dtypes))
    except TypeError as exc:
        names = ", ".join(str(d) for d in dtypes)
        raise TypeError(f"{_NAMES.get(expr, expr)}: not defined for inputs of dtype {names}") from exc
    return np.asarray(value).dtype


def canonical_inputs(expr, inputs) -> tuple:
    """(symbol mapping, inputs) that put ``expr`` over ``inputs`` in canonical
    form: unused inputs dropped, a tensor given twice one symbol, symbols
    numbered in order of first use."""
    order, mapping = [], {}
    for sym in sorted(expr.free_symbols, key=scalar.arg_index):
        t = inputs[scalar.arg_index(sym)]
        position = next((k for k, u in enumerate(order) if u is t), None)
        if position is None:
            order.append(t)
            position = len(order) - 1
        mapping[sym] = ARGS[position]
    return mapping, order


def elementwise(expr, inputs, name=None, provenance: Provenance | None = None) -> Tensor:
    """Build an elementwise node for ``expr`` over ``inputs`` in canonical form
    (``canonical_inputs``), so equal computations get equal ops."""
    mapping, order = canonical_inputs(expr, inputs)
    if not order:
        raise ValueError(f"elementwise expression {expr} uses no input")
    expr = expr.xreplace(mapping)
    if expr == ARGS[0]:
        return order[0]
    if any(k is not v for k, v in mapping.items()):
        provenance = None  # it names the symbols of the expression as given
    return make_tensor(Elementwise(expr, provenance), order, name)


def _apply(name, *args, out_name=None):
    like = next((a for a in args if isinstance(a, Tensor)), None)
    tensors = [as_tensor(a, like) for a in args]
    return make_tensor(Elementwise(TABLE[name]), tensors, out_name)


def _unary(op_name):
    def op(x, name=None):
        return _apply(op_name, x, out_name=name)
    op.__name__ = op_name
    op.__doc__ = f"Elementwise {op_name} of ``x``: ``{TABLE[op_name]}``."
    return op


def _binary(op_name):
    def op(x, y, name=None):
        return _apply(op_name, x, y, out_name=name)
    op.__name__ = op_name
    op.__doc__ = f"Elementwise {op_name} of ``x`` and ``y`` with broadcasting: ``{TABLE[op_name]}``."
    return op


add = _binary("add")
subtract = _binary("subtract")
multiply = _binary("multiply")
divide = _binary("divide")
maximum = _binary("maximum")
minimum = _binary("minimum")
less = _binary("less")
less_equal = _binary("less_equal")
greater = _binary("greater")
greater_equal = _binary("greater_equal")
equal = _binary("equal")
not_equal = _binary("not_equal")

negative = _unary("negative")
square = _unary("square")
sqrt = _unary("sqrt")
rsqrt = _unary("rsqrt")
reciprocal = _unary("reciprocal")
exp = _unary("exp")
log = _unary("log")
abs = _unary("abs")
sign = _unary("sign")
floor = _unary("floor")
ceil = _unary("ceil")
sin = _unary("sin")
cos = _unary("cos")
tanh = _unary("tanh")
sigmoid = _unary("sigmoid")
softplus = _unary("softplus")
relu = _unary("relu")


def power(x, y, name=None) -> Tensor:
    """``x ** y`` elementwise. A Python number exponent is part of the op
    (``x ** 2`` differentiates to ``2 * x``, with no log of x)."""
    if isinstance(x, Tensor) and isinstance(y, (int, float)) and not isinstance(y, bool):
        if y == 0:
            from graphc.ops.array import ones_like
            return ones_like(x, name)
        exponent = sp.Integer(y) if float(y).is_integer() else sp.Float(y)
        return elementwise(ARGS[0] ** exponent, [x], name or "power")
    return _apply("power", x, y, out_name=name)


def where(condition, x, y, name=None) -> Tensor:
    """``x`` where ``condition`` holds, else ``y`` (broadcast)."""
    like = x if isinstance(x, Tensor) else y if isinstance(y, Tensor) else None
    cond = as_tensor(condition)
    if cond.dtype != np.bool_:
        raise TypeError(f"where: condition {cond.name!r} must be bool, got {cond.dtype}")
    return make_tensor(Elementwise(TABLE["where"]), [cond, as_tensor(x, like), as_tensor(y, like)], name)


def clip(x, clip_value_min, clip_value_max, name=None) -> Tensor:
    """``x`` limited to [min, max]; the gradient passes where min <= x <= max."""
    return _apply("clip", x, clip_value_min, clip_value_max, out_name=name)
