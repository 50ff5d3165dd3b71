"""Elementwise fusion.

Connected elementwise nodes become one node holding one SymPy expression
over the region's inputs. A node is materialized (kept as its own array)
when something other than an elementwise op uses it, when it is an output,
or when it is expensive and feeds several materialized nodes (inlining would
compute it twice); every other node is written into its users' expressions.
Shared subexpressions inside one expression are computed once, because the
printer runs ``sympy.cse``.

Expressions are kept small as they grow: when a bound on an expression's
size passes ``EXPAND_ABOVE`` it is expanded (as a polynomial in its
symbols and function calls) if that is smaller, and a node whose
expression would pass ``MAX_OPS`` is materialized instead. So repeated
derivatives, which are polynomials in tanh(x) or sigmoid(x), collapse to
their closed form.

Unless ``fast_math``, every simplification SymPy makes while expressions
are written into one another is checked (ieee.py): a node whose
composition would need one that floats break (x - x -> 0 at x = inf, ...)
stays as written, and expansion and Horner's form are used only for
polynomials in bounded generators (tanh(x), sigmoid(x), ...).
"""
from __future__ import annotations

import sympy as sp

from graphc.graph import Graph, consumers
from graphc.ops.elementwise import Provenance, result_dtype
from graphc.ops.scalar import ARGS, MAX_ARGS
from graphc.passes.expressions import build_like, is_elementwise, substitute
from graphc.passes.ieee import bounded, exact_expansion, rebuild
from graphc.passes.rewrite import rebuilt
from graphc.types import broadcast_shapes, is_static

MAX_OPS = 400
MAX_DEPTH = 12  # nesting of one expression: SymPy walks (and queries assumptions) recursively
EXPAND_ABOVE = 24
_EXPAND = dict(power_exp=False, power_base=False, log=False, multinomial=True, mul=True)
_CHEAP = (sp.Add, sp.Mul, sp.Symbol, sp.Number)


def _is_cheap(expr) -> bool:
    """Arithmetic only (no exp, tanh, ...): fine to compute twice."""
    return all(isinstance(e, _CHEAP) or (isinstance(e, sp.Pow) and e.exp.is_Integer)
               for e in sp.preorder_traversal(expr))


def _measure(expr) -> tuple:
    """(operation count, whether ``expr`` is already expanded), in one walk.

    Far cheaper than ``sympy.count_ops``. Expanded means no product or
    positive integer power has a sum as a factor: expanding it again cannot
    shrink it (sums merge their like terms as they are built).
    """
    size, expanded, stack = 0, True, [expr]
    while stack:
        e = stack.pop()
        if e.is_Atom:
            continue
        args = e.args
        if e.is_Add or e.is_Mul:
            size += len(args) - 1
            if e.is_Mul and expanded:
                expanded = not any(a.is_Add or (a.is_Pow and a.base.is_Add and a.exp.is_Integer
                                                and a.exp > 0) for a in args)
        else:
            size += 1
            if e.is_Pow and e.base.is_Add and e.exp.is_Integer and e.exp > 1:
                expanded = False
        stack.extend(args)
    return size, expanded


def _depth(expr) -> int:
    """Nesting depth of ``expr``, walked without recursion."""
    deepest, stack = 0, [(expr, 1)]
    while stack:
        e, d = stack.pop()
        deepest = max(deepest, d)
        stack.extend((a, d + 1) for a in e.args)
    return deepest


def _materialized(order, roots) -> set:
    """ids of the elementwise nodes that get their own array."""
    users = consumers(order)
    keep = {id(r) for r in roots}
    for n in order:
        if is_elementwise(n) and any(not is_elementwise(u) for u in users[id(n)]):
            keep.add(id(n))
    # sink: the one materialized node a value flows into, or None for several
    sink: dict = {}
    for n in reversed(order):
        if not is_elementwise(n):
            continue
        if id(n) in keep:
            sink[id(n)] = id(n)
            continue
        sinks = {sink.get(id(u)) for u in users[id(n)]}
        if len(sinks) == 1 and None not in sinks:
            sink[id(n)] = sinks.pop()
        elif _is_cheap(n.op.expr):
            sink[id(n)] = None
        else:
            keep.add(id(n))
            sink[id(n)] = id(n)
    return keep


def _few_generators(expr) -> bool:
    """At most one function application (e.g. tanh(x)) and three inputs."""
    return len(expr.free_symbols) <= 3 and len(expr.atoms(sp.Function)) <= 1


def evaluation_form(expr, fast_math: bool = False):
    """Horner's form of a polynomial of degree 3 or more in one generator
    (e.g. tanh(x) in a derivative of tanh): a multiply-add per degree
    instead of a power per term. Anything else is returned as it is, cheaply
    (building a SymPy Poly of a product of sums would expand it). Unless
    ``fast_math`` the generator must be bounded: at x = inf the terms of
    x**3 - x are inf - inf = nan, Horner's x*(x**2 - 1) is inf."""
    if not isinstance(expr, sp.Expr) or len(expr.free_symbols) != 1 or _measure(expr)[0] > MAX_OPS:
        return expr  # (a comparison is not a polynomial)
    functions = expr.atoms(sp.Function)
    if len(functions) > 1:
        return expr
    generator = functions.pop() if functions else next(iter(expr.free_symbols))
    if not (fast_math or bounded(generator)):
        return expr
    t = sp.Dummy("t")
    body = expr.xreplace({generator: t})
    if body.free_symbols != {t} or not body.is_polynomial(t) or sp.degree(body, t) < 3:
        return expr
    return sp.horner(body, t).xreplace({t: generator})


def fuse_elementwise(graph: Graph, fast_math: bool = False) -> Graph:
    """Fuse elementwise regions; where writing a node into its users would
    need an inexact simplification (ieee.py) the node stays as written,
    unless ``fast_math``."""
    order = graph.nodes()
    keep = _materialized(order, graph.roots)
    mapping: dict = {}   # id(old node) -> its tensor in the new graph, once it has one
    inline: dict = {}    # id(old node) -> (expression over region symbols, size bound)
    nesting: dict = {}   # id(old node) -> nesting depth of its inlined expression
    made_of: dict = {}   # id(old node) -> {id: (name, op name, value)} of the nodes its expression holds
    symbol_of: dict = {}
    tensor_of: dict = {}

    def symbol(tensor):
        sym = symbol_of.get(id(tensor))
        if sym is None:
            sym = symbol_of[id(tensor)] = sp.Symbol(f"r{len(symbol_of)}", real=True)
            tensor_of[sym] = tensor
        return sym

    def canonical(expr):
        """(expression over x0, x1, ..., its input tensors, the renaming), or
        None when SymPy's evaluation of it (functions included) is not exact."""
        free = sorted(expr.free_symbols, key=lambda s: int(s.name[1:]))
        renaming = {s: ARGS[k] for k, s in enumerate(free)}
        body = rebuild(expr, renaming, fast_math)
        return None if body is None else (body, [tensor_of[s] for s in free], renaming)

    def sound(node, expr) -> bool:
        """Whether ``expr`` computes exactly node's shape and dtype."""
        free = expr.free_symbols
        if len(free) > MAX_ARGS:
            return False
        if not free:
            return is_static(node.shape)
        inputs = [tensor_of[s] for s in free]
        if broadcast_shapes(*(t.shape for t in inputs)) != node.shape:
            return False
        if all(t.dtype == node.dtype for t in inputs):
            return True
        form = canonical(expr)
        if form is None:
            return False
        body, inputs, _ = form
        try:
            return result_dtype(body, tuple(t.dtype for t in inputs)) == node.dtype
        except TypeError:  # numpy has no loop for these dtypes: keep the node as written
            return False

    def as_written(node):
        return rebuilt(node, tuple(tensor(i) for i in node.inputs))

    def materialized(node, expr):
        """A node computing ``expr`` in place of ``node``, or ``node`` as written
        when the expression cannot stand for it (e.g. a bool constant of
        unknown shape, or an inexact simplification)."""
        form = canonical(evaluation_form(expr, fast_math))
        new = None
        if form is not None:
            body, inputs, renaming = form
            provenance = Provenance(tuple(made_of[id(node)].values()), renaming)
            new = build_like(node, body, inputs, fast_math, provenance)
        return as_written(node) if new is None else new

    def tensor(node):
        new = mapping.get(id(node))
        if new is None:  # an inlined value needed as an array after all
            new = mapping[id(node)] = materialized(node, inline[id(node)][0])
        return new

    for node in order:
        if node.op.is_leaf:
            mapping[id(node)] = node
            continue
        if not is_elementwise(node):
            mapping[id(node)] = as_written(node)
            continue
        values, bound = [], 1
        depth = _depth(node.op.expr) + max((nesting.get(id(inp), 0) for inp in node.inputs), default=0)
        for k, inp in enumerate(node.inputs):
            expr, size = inline[id(inp)] if id(inp) in inline else (symbol(tensor(inp)), 0)
            values.append(expr)
            bound += size
        written_in = [inp for inp in node.inputs if id(inp) in inline]
        expr = substitute(node.op.expr, dict(zip(ARGS, values)), fast_math)
        if expr is None and written_in:
            # writing the inputs in is not exact: they become arrays, and this node
            # starts a region of its own (its users may still take it in)
            values, bound, written_in = [symbol(tensor(inp)) for inp in node.inputs], 1, []
            depth = _depth(node.op.expr)
            expr = substitute(node.op.expr, dict(zip(ARGS, values)), fast_math)
        if expr is None:
            mapping[id(node)] = as_written(node)
            continue
        if bound > EXPAND_ABOVE:
            bound, expanded = _measure(expr)
            if bound > EXPAND_ABOVE and not expanded and _few_generators(expr):
                # Keep the expansion only when it is no larger: it collapses
                # polynomials (repeated derivatives) but multiplies out
                # products of unrelated sums. Expressions in many different
                # functions and inputs are never polynomials worth it.
                expansion = sp.expand(expr, **_EXPAND)
                size = _measure(expansion)[0]
                if size <= bound and (fast_math or exact_expansion(expr, expansion)):
                    expr, bound = expansion, size
        if depth > MAX_DEPTH:  # the estimate from the inputs is high: measure (expansion may flatten)
            depth = _depth(expr)
        parts = {}  # the nodes written into this expression, each with its own value, in order
        for inp in written_in:
            parts.update(made_of[id(inp)])
        parts[id(node)] = (node.name, node.op.name, expr)
        made_of[id(node)] = parts
        if bound > MAX_OPS or not sound(node, expr):
            mapping[id(node)] = as_written(node)
        elif id(node) in keep or depth > MAX_DEPTH:
            mapping[id(node)] = materialized(node, expr)
        else:
            inline[id(node)] = (expr, bound)
            nesting[id(node)] = depth
    return Graph(graph.inputs, [mapping[id(o)] for o in graph.outputs],
                 [(var, mapping[id(value)]) for var, value in graph.updates])
