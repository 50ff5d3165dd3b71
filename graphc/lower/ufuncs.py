"""Lowering of an elementwise SymPy expression to numpy ufunc calls with ``out=``.

``a * b + exp(c)`` becomes

    t = np.exp(c, out=t_buf)
    y = np.multiply(a, b, out=y_buf)
    np.add(y, t, out=y)

so a fused expression writes into one preallocated array (plus a few
scratch arrays for subexpressions) instead of allocating a temporary per
operation. Every step is one ufunc; an expression that uses a function
with no ufunc spelling returns None and is printed as an ordinary
expression instead.

Buffer names may hold None (the first call of a Function allocates, and
its arrays become the buffers of later calls), so only the first step of a
value passes ``out=<buffer>``; later steps write into the value's own name.
"""
from __future__ import annotations

import sympy as sp

from graphc.ops import scalar
from graphc.ops.scalar import arg_index, fill, numpy_template
from graphc.types import broadcast_shapes

# SymPy function -> numpy ufunc (one argument)
_UNARY = {
    sp.exp: "np.exp", sp.log: "np.log", sp.tanh: "np.tanh", sp.sin: "np.sin", sp.cos: "np.cos",
    sp.tan: "np.tan", sp.Abs: "np.absolute", sp.sign: "np.sign", sp.sinh: "np.sinh", sp.cosh: "np.cosh",
    sp.atan: "np.arctan", sp.floor: "np.floor", sp.ceiling: "np.ceil",
}
# graphc scalar function -> (ufunc, argument template) with {0}, {1} for its arguments
_CUSTOM = {
    scalar.relu: ("np.maximum", "{0}, 0"),
    scalar.step: ("np.heaviside", "{0}, 0.0"),
    scalar.step_ge: ("np.heaviside", "{0}, 1.0"),
    scalar.softplus: ("np.logaddexp", "0, {0}"),
    scalar.maximum: ("np.maximum", "{0}, {1}"),
    scalar.minimum: ("np.minimum", "{0}, {1}"),
}
_RELATIONS = {"<": "np.less", "<=": "np.less_equal", ">": "np.greater", ">=": "np.greater_equal",
              "==": "np.equal", "!=": "np.not_equal"}


def _atomic(expr) -> bool:
    return isinstance(expr, sp.Symbol) or expr.is_number


class CannotLower(Exception):
    """The expression needs a function without a ufunc spelling."""


def _literal(number) -> str:
    return scalar._number(number) if not number.is_Integer else str(int(number))


class Lowering:
    """Writes the steps for one expression.

    ``args`` and ``shapes`` map argument index -> name and static shape.
    ``new_scratch(shape, is_bool)`` returns (value name, buffer name) for a
    subexpression that needs its own array.
    """

    def __init__(self, args: dict, shapes: dict, new_scratch, zeros=None):
        self.args = args
        self.shapes = shapes
        self.new_scratch = new_scratch
        self.zeros = zeros  # (name, length) of a row of zeros, or None
        self.lines = []

    def zero(self, *operands) -> str:
        """``0`` as the other operand of maximum/minimum of ``operands``: the row
        of zeros when they end in its length (numpy's SIMD loops for these take
        two arrays; with a scalar they run some 4x slower), else the literal."""
        if self.zeros is not None:
            name, length = self.zeros
            if all((self.shape_of(a) or (None,))[-1] == length for a in operands):
                return name
        return "0"

    def shape_of(self, expr) -> tuple:
        return broadcast_shapes(*(self.shapes[arg_index(s)] for s in expr.free_symbols)) or ()

    def full(self, expr, shape) -> bool:
        return self.shape_of(expr) == shape

    def operand(self, expr) -> str:
        """A name or literal for ``expr``, computing it into scratch if needed."""
        if isinstance(expr, sp.Symbol):
            return self.args[arg_index(expr)]
        if expr is sp.true or expr is sp.false:
            return str(bool(expr))
        if expr.is_number:
            return _literal(expr)
        shape = self.shape_of(expr)
        if not shape:  # a scalar: numpy returns scalars, which cannot be written in place
            return f"({fill(numpy_template(expr), self.args)})"
        if isinstance(expr, (scalar.step, scalar.step_ge)):
            # as a factor, a 0/1 step is a bool mask: np.greater is some 20x
            # faster than np.heaviside, and numpy multiplies by bools directly
            value, buffer = self.new_scratch(shape, True)
            ufunc = "np.greater" if isinstance(expr, scalar.step) else "np.greater_equal"
            self.step(ufunc, [self.operand(expr.args[0]), "0"], value, buffer, True)
            return value
        value, buffer = self.new_scratch(shape, _is_bool(expr))
        self.into(expr, value, buffer)
        return value

    def step(self, ufunc, operands, name, buffer, first) -> bool:
        """One ufunc call; returns False (later steps write in place)."""
        out = buffer if first else name
        call = f"{ufunc}({', '.join(operands)}, out={out})"
        self.lines.append(f"{name} = {call}" if first else call)
        return False

    def into(self, expr, name, buffer):
        """Compute ``expr`` into ``name`` (whose storage is ``buffer`` or fresh).

        Sums and products begin with a term of the full shape: their later
        steps write in place and cannot grow the array. A single ufunc call
        broadcasts its operands by itself."""
        shape = self.shape_of(expr)
        if isinstance(expr, sp.Add):
            self._sum(expr, name, buffer, shape)
        elif isinstance(expr, sp.Mul):
            self._product(expr, name, buffer, shape)
        elif isinstance(expr, sp.Pow):
            self._power(expr, name, buffer)
        elif isinstance(expr, sp.core.relational.Relational):
            self.step(_RELATIONS[expr.rel_op], [self.operand(expr.lhs), self.operand(expr.rhs)],
                      name, buffer, True)
        elif type(expr) in _CUSTOM:
            ufunc, template = _CUSTOM[type(expr)]
            if len(expr.args) == 1:
                first = self._argument_in_place(expr.args[0], name, buffer)
                operand = first or self.operand(expr.args[0])
                if isinstance(expr, scalar.relu):
                    template = "{0}, " + self.zero(expr.args[0])
                self.step(ufunc, [template.format(operand)], name, buffer, first is None)
            else:
                operands = [self.zero(*(b for b in expr.args if b is not a)) if a == 0 and
                            isinstance(expr, (scalar.maximum, scalar.minimum)) else self.operand(a)
                            for a in expr.args]
                self.step(ufunc, [template.format(*operands)], name, buffer, True)
        elif isinstance(expr, scalar.sigmoid):
            # 0.5 + 0.5 * tanh(0.5 * x): no overflow, all in place
            first = self._argument_in_place(expr.args[0], name, buffer)
            self.step("np.multiply", [first or self.operand(expr.args[0]), "0.5"], name, buffer, first is None)
            for ufunc, operands in (("np.tanh", [name]), ("np.multiply", [name, "0.5"]),
                                    ("np.add", [name, "0.5"])):
                self.step(ufunc, operands, name, buffer, False)
        elif type(expr) in _UNARY:
            first = self._argument_in_place(expr.args[0], name, buffer)
            self.step(_UNARY[type(expr)], [first or self.operand(expr.args[0])], name, buffer, first is None)
        else:
            raise CannotLower(type(expr).__name__)

    def _argument_in_place(self, arg, name, buffer):
        """Compute a non-atomic argument of a one-argument function into the
        destination itself (the function then runs in place); returns the
        destination's name, or None when the argument is atomic."""
        if _atomic(arg) or _is_bool(arg):
            return None
        self.into(arg, name, buffer)
        return name

    def _sum(self, expr, name, buffer, shape):
        terms = []
        for term in expr.args:
            coeff, rest = term.as_coeff_Mul()
            negative = coeff == -1
            terms.append((rest if negative else term, negative))
        # first a term of the full shape (computed into the destination), heavy before atomic
        terms.sort(key=lambda tn: (not self.full(tn[0], shape), _atomic(tn[0])))
        if not self.full(terms[0][0], shape):
            raise CannotLower("no term has the shape of the sum")
        # The destination holds sign * value; the sign flips back at the end.
        (first_term, negative), rest = terms[0], terms[1:]
        if _atomic(first_term):
            second, neg2 = rest[0]
            rest = rest[1:]
            a, b = self.operand(first_term), self.operand(second)
            if negative and neg2:
                self.step("np.add", [a, b], name, buffer, True)
            elif negative:
                self.step("np.subtract", [b, a], name, buffer, True)
                negative = False
            elif neg2:
                self.step("np.subtract", [a, b], name, buffer, True)
            else:
                self.step("np.add", [a, b], name, buffer, True)
        else:
            self.into(first_term, name, buffer)
        for term, term_negative in rest:
            operand = self.operand(term)
            if not negative:
                self.step("np.subtract" if term_negative else "np.add", [name, operand], name, buffer, False)
            elif term_negative:
                self.step("np.add", [name, operand], name, buffer, False)
            else:
                self.step("np.subtract", [operand, name], name, buffer, False)
                negative = False
        if negative:
            self.step("np.negative", [name], name, buffer, False)

    def _product(self, expr, name, buffer, shape):
        coeff, rest = expr.as_coeff_Mul()
        factors = []  # (factor, is_denominator); x**-k is a denominator x**k
        for factor in sp.Mul.make_args(rest):
            if isinstance(factor, sp.Pow) and factor.exp.is_number and factor.exp < 0:
                factors.append((factor.base ** -factor.exp, True))
            else:
                factors.append((factor, False))
        # Start with a factor of the full shape, computed into the destination.
        # Step functions go last: as factors they are cheap bool masks (see operand).
        factors.sort(key=lambda fd: (isinstance(fd[0], (scalar.step, scalar.step_ge)),
                                     not self.full(fd[0], shape), _atomic(fd[0]), fd[1]))
        (head, head_divides), factors = factors[0], factors[1:]
        if not self.full(head, shape):
            raise CannotLower("no factor has the shape of the product")
        numerators = [f for f, d in factors if not d]
        denominators = [f for f, d in factors if d]
        if head_divides:
            # top / head: the destination holds head, then is divided into top
            if not _atomic(head):
                self.into(head, name, buffer)
            if numerators:
                top = self.operand(numerators.pop(0))
            else:
                top, coeff = _literal(coeff), sp.S.One
            if _atomic(head):
                self.step("np.divide", [top, self.operand(head)], name, buffer, True)
            else:
                self.step("np.divide", [top, name], name, buffer, False)
        elif not _atomic(head):
            self.into(head, name, buffer)
        elif numerators:
            self.step("np.multiply", [self.operand(head), self.operand(numerators.pop(0))], name, buffer, True)
        elif denominators:
            self.step("np.divide", [self.operand(head), self.operand(denominators.pop(0))], name, buffer, True)
        else:
            self.step("np.multiply", [self.operand(head), _literal(coeff)], name, buffer, True)
            coeff = sp.S.One
        for factor in numerators:
            self.step("np.multiply", [name, self.operand(factor)], name, buffer, False)
        for factor in denominators:
            self.step("np.divide", [name, self.operand(factor)], name, buffer, False)
        if coeff == -1:
            self.step("np.negative", [name], name, buffer, False)
        elif coeff != 1:
            self.step("np.multiply", [name, _literal(coeff)], name, buffer, False)

    def _power(self, expr, name, buffer):
        base, exp = expr.args
        if exp in (2, sp.S.Half, -1, -sp.S.Half):
            first = self._argument_in_place(base, name, buffer)
            b, fresh = (first, False) if first else (self.operand(base), True)
            if exp == 2:
                self.step("np.square", [b], name, buffer, fresh)
            elif exp == -1:
                self.step("np.divide", ["1", b], name, buffer, fresh)
            else:
                self.step("np.sqrt", [b], name, buffer, fresh)
                if exp < 0:
                    self.step("np.divide", ["1", name], name, buffer, False)
        else:
            self.step("np.power", [self.operand(base), self.operand(exp)], name, buffer, True)


def _lower_update(lowering, expr, target: int):
    """Steps computing ``expr`` into the storage of its input ``target``
    (a variable updated in place), or None. Only ``c * target + rest`` with
    ``target`` absent from ``rest`` is accepted: the target is read by the
    first step that writes it, so no step reads an overwritten value."""
    symbol = scalar.ARGS[target]
    name = lowering.args[target]
    coeff = expr.coeff(symbol) if isinstance(expr, sp.Add) else None
    if coeff is None or not coeff.is_number or coeff == 0:
        return None
    rest = expr - coeff * symbol
    if rest.has(symbol) or rest == 0:
        return None
    negative = rest.could_extract_minus_sign()
    operand = lowering.operand(-rest if negative else rest)
    if coeff != 1:
        lowering.lines.append(f"np.multiply({name}, {_literal(coeff)}, out={name})")
    lowering.lines.append(f"np.{'subtract' if negative else 'add'}({name}, {operand}, out={name})")
    return lowering.lines


def _is_bool(expr) -> bool:
    return isinstance(expr, sp.logic.boolalg.Boolean)


def lower_elementwise(expr, inputs: list, shapes: list, name: str, buffer, scratch, target=None,
                      zeros=None):
    """Steps for an elementwise node: common subexpressions first (each into
    a scratch buffer), then the expression into ``buffer`` — or, with
    ``target``, into the storage of input ``target`` (an in-place update).
    ``scratch(value_name, shape, is_bool)`` hands out scratch buffer names;
    ``zeros`` is (name, length) of a row of zeros for maximum(x, 0).
    Returns None when the expression cannot be lowered to ufunc calls."""
    temps, reduced = scalar.common_subexpressions(expr)
    count = [0]

    def new_scratch(shape, is_bool):
        value = f"{name}__{count[0]}"
        count[0] += 1
        return value, scratch(value, shape, is_bool)

    lowering = Lowering(dict(enumerate(inputs)), dict(enumerate(shapes)), new_scratch, zeros)
    try:
        for symbol, value in temps:
            if _atomic(value):
                raise CannotLower("trivial temporary")
            shape = lowering.shape_of(value)
            if not shape:  # a scalar: numpy returns scalars, which cannot be written in place
                temp = f"{name}__{count[0]}"
                count[0] += 1
                lowering.lines.append(f"{temp} = {fill(numpy_template(value), lowering.args)}")
            else:
                temp, temp_buffer = new_scratch(shape, _is_bool(value))
                lowering.into(value, temp, temp_buffer)
            lowering.args[arg_index(symbol)] = temp
            lowering.shapes[arg_index(symbol)] = shape
        if _atomic(reduced):
            raise CannotLower("not an operation")
        if target is None:
            lowering.into(reduced, name, buffer)
        elif _lower_update(lowering, reduced, target) is None:
            return None
    except CannotLower:
        return None
    return lowering.lines
