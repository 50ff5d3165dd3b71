"""Scalar math for elementwise ops: SymPy functions and their numpy printer.

Every elementwise op is a SymPy expression over argument symbols x0, x1, ...
This module adds the few scalar functions SymPy lacks or defines differently
from deep-learning frameworks (sigmoid, softplus, relu, step, where, maximum,
minimum), each with its derivative and its numpy spelling in one place, and
prints expressions as numpy source that keeps the inputs' dtype (numbers are
printed as Python literals, which numpy treats as weakly typed).
"""
from __future__ import annotations

import functools
import math
import re

import sympy as sp
from sympy.printing.precedence import PRECEDENCE, precedence
from sympy.printing.str import StrPrinter

MAX_ARGS = 64      # inputs of one elementwise node
TEMP_BASE = 256    # symbols from here on name common subexpressions when printing
ARGS = sp.symbols("x0:1024", real=True)


def arg_index(symbol) -> int:
    return int(symbol.name[1:])


class ScalarFunction(sp.Function):
    """A scalar function with a fixed numpy spelling (``template``).

    In the template ``{0}`` is argument 0 as printed, ``{p0}`` the same in
    parentheses unless it is atomic (for use next to an operator).
    """

    template = ""

    def _eval_is_extended_real(self):
        return True  # every graphc scalar function is real-valued on real arguments

    _eval_is_real = _eval_is_extended_real

    @classmethod
    def numeric(cls, *args):
        return None

    @classmethod
    def eval(cls, *args):
        if any(a is sp.nan for a in args):
            return sp.nan  # as numpy's maximum, heaviside, ... give (SymPy cannot compare NaN)
        if all(a.is_number for a in args):
            return cls.numeric(*args)
        return None


class sigmoid(ScalarFunction):
    nargs = 1
    # tanh form: no overflow for large |x| and no warnings, unlike 1/(1+exp(-x)).
    template = "(0.5 + 0.5 * np.tanh(0.5 * {p0}))"

    def fdiff(self, argindex=1):
        s = sigmoid(self.args[0])
        return s * (1 - s)

    @classmethod
    def numeric(cls, x):
        return 1 / (1 + sp.exp(-x))


class softplus(ScalarFunction):
    nargs = 1
    template = "np.logaddexp(0, {0})"  # log(1 + exp(x)) without overflow

    def fdiff(self, argindex=1):
        return sigmoid(self.args[0])

    @classmethod
    def numeric(cls, x):
        return sp.log(1 + sp.exp(x))


class step(ScalarFunction):
    """1 where x > 0, else 0 (so relu'(0) = 0, as in TensorFlow and JAX)."""
    nargs = 1
    template = "np.heaviside({0}, 0.0)"

    def fdiff(self, argindex=1):
        return sp.S.Zero

    @classmethod
    def numeric(cls, x):
        return sp.S.One if x > 0 else sp.S.Zero


class step_ge(ScalarFunction):
    """1 where x >= 0, else 0."""
    nargs = 1
    template = "np.heaviside({0}, 1.0)"

    def fdiff(self, argindex=1):
        return sp.S.Zero

    @classmethod
    def numeric(cls, x):
        return sp.S.One if x >= 0 else sp.S.Zero


class relu(ScalarFunction):
    nargs = 1
    template = "np.maximum({0}, 0)"

    def fdiff(self, argindex=1):
        return step(self.args[0])

    @classmethod
    def numeric(cls, x):
        return x if x > 0 else sp.S.Zero


class maximum(ScalarFunction):
    """max(a, b); ties send the gradient to a (TensorFlow's convention)."""
    nargs = 2
    template = "np.maximum({0}, {1})"

    def fdiff(self, argindex=1):
        a, b = self.args
        return step_ge(a - b) if argindex == 1 else step(b - a)

    @classmethod
    def numeric(cls, a, b):
        return a if a >= b else b


class minimum(ScalarFunction):
    """min(a, b); ties send the gradient to a."""
    nargs = 2
    template = "np.minimum({0}, {1})"

    def fdiff(self, argindex=1):
        a, b = self.args
        return step_ge(b - a) if argindex == 1 else step(a - b)

    @classmethod
    def numeric(cls, a, b):
        return a if a <= b else b


class where(ScalarFunction):
    """cond ? a : b. The gradient of the branch not taken is exactly zero."""
    nargs = 3
    template = "np.where({0}, {1}, {2})"

    def _eval_derivative(self, s):
        cond, a, b = self.args  # the condition is piecewise constant
        return where(cond, a.diff(s), b.diff(s))

    @classmethod
    def eval(cls, cond, a, b):
        if cond is sp.true:
            return a
        if cond is sp.false:
            return b
        if a == b:
            return a
        return None


# numpy spellings of SymPy's own functions
_NUMPY_FUNCTIONS = {
    "exp": "np.exp", "log": "np.log", "tanh": "np.tanh", "sin": "np.sin",
    "cos": "np.cos", "tan": "np.tan", "Abs": "np.abs", "sign": "np.sign",
    "sinh": "np.sinh", "cosh": "np.cosh", "atan": "np.arctan", "floor": "np.floor",
    "ceiling": "np.ceil",
}
_RELATIONS = {"<": "<", "<=": "<=", ">": ">", ">=": ">=", "==": "==", "!=": "!="}


def pull_where_out(expr, select: bool = False):
    """g * where(c, a, b) -> where(c, g*a, g*b): numpy's where of two Python
    numbers would make an int64 or float64 array and upcast the result.

    The branch products are left as they are (0 * g is still NaN where g is
    inf, g / g is not 1), except a nonzero number times g. With ``select`` they
    are simplified, so a zero branch is exactly zero whatever g is: the
    gradient of a where, as in TensorFlow and JAX (autodiff builds it so)."""
    def is_target(e):
        return e.is_Mul and any(isinstance(f, where) for f in e.args)

    def times(branch, rest):
        if select or (branch.is_Number and branch != 0):
            return branch * rest
        return sp.Mul(branch, rest, evaluate=False)

    def pull(e):
        w = next(f for f in e.args if isinstance(f, where))
        rest = e / w
        return where(w.args[0], times(w.args[1], rest), times(w.args[2], rest))

    return expr.replace(is_target, pull)


class NumpyPrinter(StrPrinter):
    """Prints a SymPy expression as numpy source with ``{i}`` for argument i."""

    def _print_Symbol(self, expr):
        return "{%d}" % arg_index(expr)

    def _print(self, expr, **kwargs):
        if isinstance(expr, sp.Expr) and expr.is_number and not expr.is_Integer:
            return _number(expr)
        return super()._print(expr, **kwargs)

    def _arg(self, expr):
        text = self._print(expr)
        return text if precedence(expr) >= PRECEDENCE["Func"] else f"({text})"

    def _print_Function(self, expr):
        if isinstance(expr, ScalarFunction):
            # each argument printed once: printing it again for the grouped
            # form doubled the work at every level of nesting
            plain = [self._print(a) for a in expr.args]
            grouped = {f"p{i}": text if precedence(a) >= PRECEDENCE["Func"] else f"({text})"
                       for i, (a, text) in enumerate(zip(expr.args, plain))}
            return type(expr).template.format(*plain, **grouped)
        args = [self._print(a) for a in expr.args]
        name = _NUMPY_FUNCTIONS.get(type(expr).__name__)
        if name is None:
            raise NotImplementedError(f"no numpy spelling for {type(expr).__name__}")
        return f"{name}({', '.join(args)})"

    def _print_Pow(self, expr, rational=False):
        base, exp = expr.args
        if exp == sp.S.Half:
            return f"np.sqrt({self._print(base)})"
        if exp == -sp.S.Half:
            return f"1 / np.sqrt({self._print(base)})"
        if exp == -1:
            return f"1 / {self._arg(base)}"
        if exp.is_Integer:
            return f"{self._arg(base)}**{self._arg(exp)}"
        # numpy's ufunc, not ``**``: a numpy scalar's ** follows C pow ((-inf)**0.5 is inf),
        # an array's is the ufunc (nan); a 0-d value must compute as an array does
        return f"np.power({self._print(base)}, {self._print(exp)})"

    def _print_Relational(self, expr):
        return f"{self._arg(expr.lhs)} {_RELATIONS[expr.rel_op]} {self._arg(expr.rhs)}"

    def _print_Max(self, expr):
        args = [self._print(a) for a in expr.args]
        text = args[0]
        for a in args[1:]:
            text = f"np.maximum({text}, {a})"
        return text

    def _print_Min(self, expr):
        args = [self._print(a) for a in expr.args]
        text = args[0]
        for a in args[1:]:
            text = f"np.minimum({text}, {a})"
        return text

    def _print_Piecewise(self, expr):
        text = None
        for value, cond in reversed(expr.args):
            if cond is sp.true:
                text = self._print(value)
            else:
                text = f"np.where({self._print(cond)}, {self._print(value)}, {text})"
        return text

    def _print_Heaviside(self, expr):
        return f"np.heaviside({self._print(expr.args[0])}, 0.5)"

    def _print_BooleanTrue(self, expr):
        return "True"

    def _print_BooleanFalse(self, expr):
        return "False"


def _number(expr) -> str:
    value = float(expr) if expr.is_Float or expr.is_Rational else float(expr.evalf())
    if math.isnan(value):
        return "np.nan"
    if math.isinf(value):
        return "np.inf" if value > 0 else "(-np.inf)"
    text = repr(value)
    return f"({text})" if value < 0 else text


@functools.lru_cache(maxsize=65536)
def numpy_template(expr) -> str:
    """numpy source of ``expr`` with ``{i}`` standing for argument i."""
    text = NumpyPrinter().doprint(pull_where_out(expr))
    text = _MUL.sub(" * ", text)  # SymPy writes a*b; code reads better as a * b
    return _DIV.sub(" / ", text)


_MUL = re.compile(r"\s*(?<!\*)\*(?!\*)\s*")
_DIV = re.compile(r"\s*/\s*")


_FIELD = re.compile(r"\{(\d+)\}")


def fill(template: str, names) -> str:
    """Put ``names[i]`` (a list or dict) in place of each ``{i}`` of a template."""
    return _FIELD.sub(lambda m: names[int(m.group(1))], template)


@functools.lru_cache(maxsize=65536)
def common_subexpressions(expr) -> tuple:
    """(temporaries, reduced) of ``sympy.cse``: (symbol, value) pairs in order,
    and ``expr`` over them. Or ((), expr) when writing the temporaries in
    made SymPy simplify: a temporary is a real symbol, so log(x) >= log(x),
    which is False at x < 0, would become t >= t, which SymPy makes True."""
    if count_ops(expr) <= 2:  # nothing can repeat
        return (), expr
    temps, (reduced,) = sp.cse(expr, symbols=iter(ARGS[TEMP_BASE:]), order="none")
    rebuilt = reduced
    for symbol, value in reversed(temps):
        rebuilt = rebuilt.xreplace({symbol: value})
    return (tuple(temps), reduced) if rebuilt == expr else ((), expr)


@functools.lru_cache(maxsize=65536)
def numpy_statements(expr) -> tuple:
    """(temporaries, result): templates after common-subexpression elimination.

    ``temporaries`` is a tuple of (index, template) pairs; the template of
    temporary k may use ``{index}`` of earlier temporaries.
    """
    temps, reduced = common_subexpressions(expr)
    return (tuple((arg_index(sym), numpy_template(value)) for sym, value in temps),
            numpy_template(reduced))


@functools.lru_cache(maxsize=65536)
def count_ops(expr) -> int:
    return int(sp.count_ops(expr))


_PIECEWISE_CONSTANT = (sp.sign, sp.floor, sp.ceiling)


@functools.lru_cache(maxsize=65536)
def derivative(expr, index: int):
    # Piecewise-constant functions (sign, floor, ceiling, and SymPy's own
    # Heaviside) have derivative 0 almost everywhere, as in TensorFlow; SymPy
    # says DiracDelta or leaves the derivative unevaluated, neither of which
    # has a numpy spelling.
    d = sp.diff(expr, ARGS[index]).replace(sp.DiracDelta, lambda *args: sp.S.Zero)
    return d.replace(lambda e: isinstance(e, sp.Derivative) and isinstance(e.expr, _PIECEWISE_CONSTANT),
                     lambda e: sp.S.Zero)


def may_be_unbounded(expr) -> bool:
    """True when ``expr`` can be inf or NaN for finite inputs (a pole or a log)."""
    if expr.has(sp.log):
        return True
    return any(not (p.exp.is_integer and p.exp.is_nonnegative) for p in expr.atoms(sp.Pow))
