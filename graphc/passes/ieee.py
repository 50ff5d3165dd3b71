"""Which of SymPy's own simplifications hold in IEEE arithmetic.

SymPy simplifies as it builds an expression: ``x - x`` is 0, ``x / x`` is
1, ``x * 0`` is 0, ``exp(log(x))`` and ``sqrt(x)**2`` are x. That is true of
real numbers, not of floats: at x = inf, ``x - x`` is NaN; at x = -1,
``exp(log(x))`` is NaN; at x = 0, ``x / x`` is NaN. Passes that write
expressions into one another (simplify, stable, fusion) therefore rebuild
them here, one SymPy node at a time, and each simplification SymPy makes on
the way is checked by the rule for its kind of node below. A rebuild that
would need one that is not exact returns None, and the pass keeps the nodes
as they were. ``fast_math=True`` skips the checks: every identity SymPy
knows is then used.

Exact means: for every input, including 0, -0.0, +-inf, NaN and values
outside a function's domain, the new expression is NaN where the old one
is, the same infinity where the old one is infinite, a zero of the same
sign where it is zero, and otherwise the same number up to rounding.
Rounding may change: numbers combine (``(x * 2) / 2`` is ``x``), like
terms with coefficients of one sign collect (``x + x`` is ``2*x``), integer
powers of one sign combine (``x * x**2`` is ``x**3``, ``(x*y)**2`` is
``x**2*y**2``), and sums reassociate as they flatten. Like every change of
rounding, these can also round to infinity or to zero differently where a
value is near the limits of its dtype, and a reassociated sum whose large
terms cancel can lose a small one. Not allowed: ``x + 0`` (it is 0.0 at
x = -0.0; SymPy cannot tell ``x - 0``, which is exact, from it), and a
number distributed over a sum that may be large (``(x + 2) * 3`` stays;
its terms would join the sums around it: ``-1e10 * (1 - m) + x*m`` is x
at m = 1, ``1e10*m - 1e10 + x*m`` is 0 in float32), so ``(x + 2) * 3 - 6``
stays too. Over a bounded sum (a polynomial in tanh) distributing changes
only rounding, and repeated derivatives need it to collapse.
"""
from __future__ import annotations

import numpy as np
import sympy as sp
from sympy.core.relational import Relational

from graphc.ops import scalar

# Functions whose value is never infinite (NaN only for a NaN argument).
_BOUNDED = (sp.tanh, sp.sin, sp.cos, sp.sign, sp.atan, scalar.sigmoid, scalar.step, scalar.step_ge)
# Functions that are infinite only where an argument is: bounded on bounded arguments.
_BOUNDED_ON_BOUNDED = (sp.Add, sp.Mul, sp.Abs, sp.exp, scalar.relu, scalar.maximum, scalar.minimum)
# f(-x) == -f(x) and f(-x) == f(x), exactly, in IEEE arithmetic.
_ODD = (sp.tanh, sp.sin, sp.sinh, sp.atan, sp.sign, sp.tan)
_EVEN = (sp.cos, sp.cosh, sp.Abs)


def bounded(expr) -> bool:
    """Whether ``expr`` is finite (or NaN) for every input: it cannot be +-inf."""
    done: dict = {}
    stack = [expr]
    while stack:
        e = stack[-1]
        if e in done:
            stack.pop()
            continue
        pending = [a for a in e.args if a not in done]
        if pending and not isinstance(e, _BOUNDED):
            stack.extend(pending)
            continue
        stack.pop()
        if e.is_Symbol:  # an input (SymPy's Symbol is also a Boolean: test it first)
            done[e] = False
        elif e.is_number:
            done[e] = bool(e.is_finite)
        elif isinstance(e, (_BOUNDED, Relational, sp.logic.boolalg.Boolean)):
            done[e] = True
        elif isinstance(e, _BOUNDED_ON_BOUNDED):
            done[e] = all(done[a] for a in e.args)
        elif isinstance(e, scalar.where):
            done[e] = done[e.args[1]] and done[e.args[2]]
        elif e.is_Pow:
            done[e] = done[e.base] and bool(e.exp.is_integer and e.exp.is_nonnegative)
        else:
            done[e] = False
    return done[expr]


def _ieee_number(value) -> bool:
    """A number SymPy computed is what IEEE arithmetic gives: real, or
    +-inf or NaN (not SymPy's complex infinity, 1/0, nor log(-1) = i*pi)."""
    return value is sp.nan or value in (sp.oo, -sp.oo) or bool(value.is_extended_real and value.is_number)


def _has_nan(numbers) -> bool:
    return any(n is sp.nan for n in numbers)


def _exact_sum(args, result) -> bool:
    terms = [t for a in args for t in (a.args if a.is_Add else (a,))]
    numbers = [t for t in terms if t.is_Number]
    like: dict = {}  # the non-numeric part of a term -> its coefficients
    for t in terms:
        if not t.is_Number:
            coefficient, rest = t.as_coeff_Mul()
            like.setdefault(rest, []).append(coefficient)
    if not like:
        return _ieee_number(result)
    if numbers:
        if _has_nan(numbers):
            return True  # x + nan is nan
        total = sp.Add(*numbers)
        # x + 0 -> x changes the sign of a zero x (and SymPy's x - 0 is x + 0 too);
        # x + oo -> oo is wrong at x = -inf or nan
        if total == 0 or not total.is_finite:
            return False
    for rest, coefficients in like.items():
        if len(coefficients) == 1:
            continue
        if not all(c.is_finite for c in coefficients):
            return False
        if all(c > 0 for c in coefficients) or all(c < 0 for c in coefficients):
            continue  # inf + inf is inf: only rounding changes
        # 2*t - t -> t is inf - inf = nan at t = inf; t - t -> 0 loses t's NaN
        if sp.Add(*coefficients) == 0 or not bounded(rest):
            return False
    return True


def _exact_product(args, result) -> bool:
    factors = [f for a in args for f in (a.args if a.is_Mul else (a,))]
    coefficient = sp.Mul(*(f for f in factors if f.is_Number))
    if coefficient != 1 and result.as_coeff_Mul()[0] != coefficient and any(
            f.is_Add and not bounded(f) for f in factors):
        # SymPy distributed the number into a sum that may be large (2*(x - 1) -> 2*x - 2,
        # 3*y*(x - 1) -> y*(3*x - 3)): the terms cancel differently, and the sum's terms join
        # the sums around it: -1e10*(1 - m) + x*m is x at m = 1, 1e10*m - 1e10 + x*m is 0 in
        # float32. Over a bounded sum (a polynomial in tanh) only rounding changes.
        return False
    numbers = [f for f in factors if f.is_Number]
    powers: dict = {}  # base -> exponents
    for f in factors:
        if not f.is_Number:
            base, exponent = f.as_base_exp()
            powers.setdefault(base, []).append(exponent)
    if not powers:  # -1 * 0 is -0.0, which SymPy does not have
        return _ieee_number(result) and not (result == 0 and sp.Mul(*(n for n in numbers if n != 0)) < 0)
    if numbers:
        if _has_nan(numbers):
            return True  # x * nan is nan
        coefficient = sp.Mul(*numbers)
        # x * 0 is nan at x = inf; oo * (x + y) would distribute into a NaN-free sum
        if coefficient == 0 or not coefficient.is_finite:
            return False
    for base, exponents in powers.items():
        if len(exponents) == 1:
            continue
        if base is sp.E:  # exp(a) * exp(a) = exp(2a); exp(a) * exp(-a) = 1 is nan at a = inf
            if any(e != exponents[0] for e in exponents):
                return False
            continue
        if not all(e.is_Number for e in exponents):
            return False
        # x * x**-1 -> 1 is 0 * inf at x = inf and 0 / 0 at x = 0
        if not (all(e > 0 for e in exponents) or all(e < 0 for e in exponents)):
            return False
        # sqrt(x) * sqrt(x) -> x is not nan at x < 0; x * sqrt(x) -> x**1.5 is numpy's
        # pow, which is inf at x = -inf (sqrt(-inf) is nan)
        if not all(e.is_integer for e in exponents) and not base.is_nonnegative:
            return False
    return True


def _exact_power(base, exponent, result) -> bool:
    """(The printer writes x**(1/2) and x**(-1/2) with np.sqrt, other fractional
    powers with numpy's pow, which differs from sqrt at -inf and -0.0.)"""
    if result.is_Pow and result.args == (base, exponent):
        return True
    if base.is_number and exponent.is_number:
        return _ieee_number(result) and _same_float(result, _printed_value(sp.Pow, (base, exponent)))
    if exponent == 0 or exponent == 1 or base == 1:
        return True  # x**0 is 1 and 1**y is 1 in IEEE pow, for NaN too
    if exponent.is_integer:
        if base.is_Mul:  # (x*y)**n -> x**n * y**n, each factor as a power of a power
            return all(_exact_power_of_power(*f.as_base_exp(), exponent) for f in base.args)
        if base.is_Pow:
            return _exact_power_of_power(base.base, base.exp, exponent)
        return isinstance(base, (sp.exp, sp.Abs))  # exp(a)**n = exp(n*a), Abs(x)**2 = x**2
    # exp(a)**(1/2) = exp(a/2); exp(a)**y -> exp(a*y) is not: inf**0 is 1, exp(inf*0) is nan
    return isinstance(base, sp.exp) and exponent.is_Number and bool(exponent.is_finite)


def _printed_value(func, args) -> float:
    """``func(*args)`` of numbers as the generated code computes it: the
    printed numpy expression over the arguments as floats (sqrt(-inf) is
    NaN, where SymPy says oo*I; log(-oo) is NaN, where SymPy says oo). A
    power keeps its exponent: x**(1/2) is printed as np.sqrt(x)."""
    from graphc.ops.scalar import ARGS, fill, numpy_template
    symbols = ARGS[:len(args)]
    if func is sp.Pow:
        template, values = numpy_template(sp.Pow(symbols[0], args[1], evaluate=False)), args[:1]
    else:
        template, values = numpy_template(func(*symbols, evaluate=False)), args
    text = fill(template, [f"np.float64({str(float(v))!r})" for v in values])
    with np.errstate(all="ignore"):
        return float(eval(text, {"np": np}))  # our printer's text over float literals only


def _same_float(value, expected: float) -> bool:
    """NaN for NaN, the same infinity or signed zero, finite values up to rounding."""
    got = float(value)
    if np.isnan(expected) or np.isnan(got):
        return bool(np.isnan(expected) and np.isnan(got))
    if got == 0 or expected == 0 or np.isinf(got) or np.isinf(expected):
        return got == expected and np.signbit(got) == np.signbit(expected)
    return abs(got - expected) <= 1e-12 * abs(expected)


def _exact_power_of_power(base, inner, exponent) -> bool:
    """(base**inner)**exponent -> base**(inner*exponent), for an integer exponent:
    sqrt(x)**2 -> x is not nan at x < 0; (1/sqrt(x))**2 -> 1/x is not at x = -0.0."""
    if inner.is_integer or base.is_nonnegative or base is sp.E:
        return True
    return bool(inner.is_Number and abs(inner) == sp.S.Half and abs(exponent) == 1)


def _exact_function(func, args, result) -> bool:
    if isinstance(result, func) and result.args == tuple(args):
        return True  # SymPy did nothing
    if all(a.is_number for a in args):
        return _ieee_number(result) and _same_float(result, _printed_value(func, args))
    if func is scalar.where:
        return any(result == a for a in args[1:])  # a branch: where(c, a, a) -> a
    if issubclass(func, scalar.ScalarFunction) and _has_nan(args):
        return result is sp.nan  # maximum(nan, x) is nan, as numpy's is
    if len(args) != 1:
        return False
    (arg,) = args
    if func in _ODD and result == -func(-arg, evaluate=False) and not arg.is_Add:
        # f(-y) -> -f(y) keeps zero signs; f(b - a) -> -f(a - b) does not (b - a is +0 at a = b)
        return True
    if func in _EVEN and result == func(-arg, evaluate=False):
        return True
    if func is sp.Abs:
        # |x| of a nonnegative or nonpositive x, or split over a product or power:
        # |x*y| = |x|*|y| and |1/x| = 1/|x| exactly
        return result in (arg, -arg) or arg.is_Mul or (arg.is_Pow and arg.exp.is_integer)
    return False  # exp(log(x)) -> x, log(exp(x)) -> x, exp(x + log(y)) -> y*exp(x), sign(exp(x)) -> 1, ...


def _exact_comparison(func, lhs, rhs, result) -> bool:
    if result == func(lhs, rhs, evaluate=False):
        return True
    if lhs.is_number and rhs.is_number:
        return True
    # x < x is False for NaN and inf too; x <= x -> True is not (nan <= nan is False)
    return lhs == rhs and result is sp.false and func in (sp.StrictLessThan, sp.StrictGreaterThan)


def _build(func, args, evaluate: bool):
    """``func(*args)``; a comparison with NaN is False (True for !=), as in IEEE
    arithmetic (SymPy raises TypeError for it)."""
    if issubclass(func, Relational) and any(a is sp.nan for a in args):
        return sp.true if func is sp.Ne else sp.false
    if not evaluate:
        return func(*args, evaluate=False)
    return func(*args)



def _exact(func, args, result) -> bool:
    if func is sp.Add:
        return _exact_sum(args, result)
    if func is sp.Mul:
        return _exact_product(args, result)
    if func is sp.Pow:
        return _exact_power(*args, result)
    if issubclass(func, Relational):
        return any(a is sp.nan for a in args) or _exact_comparison(func, *args, result)
    if issubclass(func, sp.Function):
        return _exact_function(func, args, result)
    return result == func(*args, evaluate=False)


def _may_simplify(func, args) -> bool:
    """Whether SymPy's evaluation of function ``func`` on ``args`` can do
    anything (it is skipped otherwise: for a large argument it queries
    assumptions for milliseconds). A miss is caught later, at a cost in
    fusion only: ``rebuild`` with ``functions=True`` evaluates and checks
    every function again."""
    if func in (sp.Abs, sp.sign) or all(a.is_number for a in args):
        return True
    if func is sp.exp:
        return args[0].has(sp.log)
    if func is sp.log:
        return args[0].has(sp.exp)
    return func in _ODD + _EVEN and args[0].could_extract_minus_sign()


def rebuild(expr, mapping: dict, fast_math: bool = False, functions: bool = True, rewrite=None):
    """``expr.xreplace(mapping)``, evaluated as SymPy evaluates, or None when
    that needs a simplification that is not exact (unless ``fast_math``).

    With ``functions=False`` function applications are rebuilt unevaluated
    unless their evaluation could simplify them (a later rebuild with
    ``functions=True`` evaluates and checks them). ``rewrite(e)`` may return
    a replacement for each rebuilt node ``e`` (a table of pattern rules);
    what it returns is taken as it is, the nodes above it are checked.
    Iterative: expressions may be deep.
    """
    done: dict = {}
    stack = [(expr, False)]
    while stack:
        e, ready = stack.pop()
        if e in done:
            continue
        if e in mapping:
            done[e] = mapping[e]
            continue
        if not e.args:
            done[e] = e
            continue
        if not ready:
            stack.append((e, True))
            stack.extend((a, False) for a in e.args if a not in done)
            continue
        args = [done[a] for a in e.args]
        if any(a is None for a in args):
            return None
        if all(a is b for a, b in zip(args, e.args)):
            new = e
        else:
            evaluate = functions or not isinstance(e, sp.Function) or _may_simplify(e.func, args)
            new = _build(e.func, args, evaluate)
            if not fast_math and evaluate and not _exact(e.func, args, new):
                return None
        if rewrite is not None:
            new = rewrite(new) or new
        done[e] = new
    return done[expr]


def polynomial_generators(expr):
    """The generators of ``expr`` as a polynomial (the symbols and function
    applications under its sums, products and nonnegative integer powers),
    or None when it is not a polynomial in anything (a division, a root)."""
    generators, stack = set(), [expr]
    while stack:
        e = stack.pop()
        if e.is_Number:
            continue
        if e.is_Add or e.is_Mul:
            stack.extend(e.args)
        elif e.is_Pow and e.exp.is_Integer and e.exp > 0:
            stack.append(e.base)
        elif e.is_Pow:
            return None
        else:
            generators.add(e)
    return generators


def exact_expansion(expr, expansion) -> bool:
    """Whether ``expansion`` (``sympy.expand(expr)``) may replace ``expr``: a
    polynomial in the same generators, none of which can be infinite (then
    every term is finite or NaN in both, so collecting terms changes only
    rounding, and a generator's NaN reaches the result while it appears)."""
    generators = polynomial_generators(expr)
    return (generators is not None and all(bounded(g) for g in generators)
            and polynomial_generators(expansion) == generators)
