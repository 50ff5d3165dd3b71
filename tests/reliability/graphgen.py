"""Random graphs over every op, and the checks run on them.

Shared by ``test_fuzz.py`` (hypothesis draws the choices, a bounded number
of examples) and ``tools/fuzz.py`` (a seeded ``random.Random`` draws them,
for as long as asked). A ``Case`` is a graph plus a Python reproducer: the
``gc`` calls that build it, one per line, runnable on their own.

Shapes are written with one symbolic run-time dimension ``B`` (a ``None``
of the placeholders), fed at several sizes including 0 and 1; static
dimensions are drawn from 0..3, so size-0 and size-1 axes and broadcasting
come up often. Ops with a restricted domain get a guard in front
(``log(square(x) + 0.5)``, ``exp(tanh(x))``) so values stay finite and
finite differences stay meaningful.

With ``edges=True`` (``build(..., edges=True)``) there are no guards, the
placeholders are fed 0, -0.0, +-inf, NaN and negative numbers among
ordinary values, and the graphs also hold the compositions that real
numbers simplify and floats do not (``x / x``, ``exp(log(x))``,
``x * 0.0``, a comparison with NaN, ...): every optimization level must
then give the NaN, the infinities and the finite values of level 0.
"""
from __future__ import annotations

import math
import random
import traceback
from dataclasses import dataclass, field

import numpy as np

import graphc as gc
from tests.reference import Reference

B = "B"
LEVELS = (0, 1, 2)
# fed to placeholders of edge-value cases, among uniform(-2, 2) values
EDGE_VALUES = [0.0, -0.0, np.inf, -np.inf, np.nan, -1.0, -2.5, 0.5, 3.0]


def _literal(value: float) -> str:
    """``value`` as Python source (``np.inf``, ``np.nan`` for the non-finite)."""
    if np.isnan(value):
        return "np.nan"
    if np.isinf(value):
        return "np.inf" if value > 0 else "-np.inf"
    return repr(value)


EDGE_TEXT = "[" + ", ".join(_literal(v) for v in EDGE_VALUES) + "]"


# ----------------------------------------------------------------- choosers

class RandomChooser:
    """Choices from a seeded ``random.Random`` (tools/fuzz.py)."""

    def __init__(self, seed):
        self.random = random.Random(seed)

    def int(self, lo, hi):
        return self.random.randint(lo, hi)

    def pick(self, seq):
        return seq[self.int(0, len(seq) - 1)]

    def bool(self, p=0.5):
        return self.random.random() < p


class HypothesisChooser(RandomChooser):
    """Choices drawn from hypothesis ``data`` (so failures shrink)."""

    def __init__(self, data):
        from hypothesis import strategies as st
        self.data, self.st = data, st

    def int(self, lo, hi):
        return self.data.draw(self.st.integers(lo, hi))

    def bool(self, p=0.5):
        return self.int(0, 999) >= round(1000 * (1 - p))


# --------------------------------------------------------------------- case

@dataclass
class Leaf:
    tensor: object
    sym: tuple
    labels: int = 0  # int placeholders: fed with labels in [0, labels)


@dataclass
class Case:
    dtype: np.dtype
    placeholders: list
    outputs: list
    lines: list
    value_seed: int
    differentiable: bool = True
    leaves: dict = field(default_factory=dict)   # id(placeholder) -> Leaf
    loss: object = None
    edges: bool = False  # fed edge values (EDGE_VALUES) too

    @property
    def reproducer(self) -> str:
        outs = ", ".join(self._var(o) for o in self.outputs)
        ins = ", ".join(self._var(p) for p in self.placeholders)
        feed = [f"rng = np.random.default_rng([{self.value_seed}, B, 0])"]
        for p in self.placeholders:
            leaf = self.leaves[id(p)]
            shape = "(" + "".join(f"{d}, " for d in leaf.sym) + ")"
            draw = (f"rng.integers(0, {leaf.labels}, size={shape})" if leaf.labels
                    else f"np.where(rng.uniform(size={shape}) < 0.5, "
                         f"rng.choice({EDGE_TEXT}, size={shape}), rng.uniform(-2, 2, size={shape}))"
                    if self.edges else f"rng.uniform(-2, 2, size={shape})")
            feed.append(f"{self._var(p)}_value = {draw}.astype({p.dtype.name!r})")
        args = ", ".join(f"{self._var(p)}_value" for p in self.placeholders)
        return "\n".join(["import numpy as np", "import graphc as gc", "B, LEVEL = SIZE, OPT"] + self.lines
                          + [f"f = gc.function([{ins}], [{outs}], optimize=LEVEL)"] + feed
                          + [f"print(f({args}))"])

    def _var(self, tensor):
        return self.names[id(tensor)]

    def feed(self, size, seed=0) -> dict:
        rng = np.random.default_rng([self.value_seed, size, seed])
        feed = {}
        for p in self.placeholders:
            leaf = self.leaves[id(p)]
            shape = tuple(size if d == B else d for d in leaf.sym)
            if leaf.labels:
                feed[p] = rng.integers(0, leaf.labels, size=shape).astype(p.dtype)
            elif self.edges:  # the same draws as the reproducer's
                feed[p] = np.where(rng.uniform(size=shape) < 0.5, rng.choice(EDGE_VALUES, size=shape),
                                   rng.uniform(-2, 2, size=shape)).astype(p.dtype)
            else:
                feed[p] = rng.uniform(-2, 2, size=shape).astype(p.dtype)
        return feed


# ------------------------------------------------------------------ builder

def _static(sym):
    return tuple(None if d == B else d for d in sym)


def _broadcast(*syms):
    ndim = max(len(s) for s in syms)
    out = []
    for axis in range(ndim):
        dims = {s[axis - ndim + len(s)] for s in syms if axis - ndim + len(s) >= 0} - {1}
        if len(dims) > 1:
            return None
        out.append(dims.pop() if dims else 1)
    return tuple(out)


class Builder:
    UNARY = ["negative", "square", "tanh", "sigmoid", "softplus", "sin", "cos", "abs", "relu", "sign"]
    GUARDED = ["exp", "log", "sqrt", "rsqrt", "reciprocal"]
    BINARY = ["add", "subtract", "multiply", "maximum", "minimum", "divide", "power"]
    COMPARE = ["less", "less_equal", "greater", "greater_equal", "equal", "not_equal"]

    def __init__(self, choose, dtype, for_grad, edges=False):
        self.c = choose
        self.dtype = np.dtype(dtype)
        self.for_grad = for_grad
        self.edges = edges
        self.pool = []      # (tensor, sym)
        self.lines = []
        self.names = {}
        self.placeholders, self.leaves = [], {}
        self.rng = np.random.default_rng(choose.int(0, 2 ** 31))
        self.differentiable = True

    # names and lines ------------------------------------------------------
    def add(self, tensor, sym, code, pool=True):
        name = f"t{len(self.lines)}"  # (an op may hand back its input: a fresh name all the same)
        self.names[id(tensor)] = name
        self.lines.append(f"{name} = {code}")
        assert tuple(tensor.shape) == _static(sym), (code, tensor.shape, sym)
        if pool:
            self.pool.append((tensor, sym))
        return tensor

    def n(self, tensor):
        return self.names[id(tensor)]

    # leaves -----------------------------------------------------------------
    def dim(self, allow_b=True):
        dims = [1, 2, 3, 3, 2, 0] + ([B, B] if allow_b else [])
        return self.c.pick(dims)

    def shape(self, allow_b=True):
        return tuple(self.dim(allow_b) for _ in range(self.c.int(0, 3)))

    def placeholder(self, sym, labels=0):
        k = len(self.placeholders)
        dtype = "int32" if labels else self.dtype.name
        t = gc.placeholder(_static(sym), dtype=dtype, name=f"p{k}")
        self.add(t, sym, f"gc.placeholder({_static(sym)!r}, dtype={dtype!r}, name='p{k}')",
                 pool=not labels)
        self.placeholders.append(t)
        self.leaves[id(t)] = Leaf(t, sym, labels)
        return t

    def constant(self, sym):
        shape = tuple(1 if d == B else d for d in sym)
        values = self.rng.uniform(-2, 2, size=shape).round(3)
        if self.c.bool(0.2):
            t = gc.Variable(values.astype(self.dtype), name=f"v{len(self.names)}")
            code = f"gc.Variable(np.array({values.tolist()!r}, dtype={self.dtype.name!r}), name={t.name!r})"
        else:
            t = gc.constant(values.astype(self.dtype))
            code = f"gc.constant(np.array({values.tolist()!r}, dtype={self.dtype.name!r}))"
        return self.add(t, shape, code)

    def leaf(self, sym=None):
        sym = self.shape() if sym is None else sym
        if B in sym or self.c.bool(0.5):
            return self.placeholder(sym)
        return self.constant(sym)

    def any(self):
        t, sym = self.c.pick(self.pool)
        return t, sym

    def partner(self, sym):
        """A value whose shape broadcasts with ``sym`` (from the pool or new)."""
        fits = [(t, s) for t, s in self.pool if _broadcast(sym, s) is not None]
        if fits and self.c.bool(0.6):
            return self.c.pick(fits)
        new = list(sym[self.c.int(0, len(sym)):] if self.c.bool(0.3) else sym)
        new = [1 if self.c.bool(0.3) else d for d in new]
        if self.c.bool(0.2):
            new.insert(0, self.c.pick([1, 2]))
        new = tuple(new)
        if _broadcast(sym, new) is None:
            new = new[1:]
        return self.leaf(new), new

    # guards (none for edge values) ---------------------------------------
    def positive(self, t, sym):
        if self.edges:
            return t
        sq = self.add(gc.square(t), sym, f"gc.square({self.n(t)})", pool=False)
        return self.add(sq + 0.5, sym, f"{self.n(sq)} + 0.5", pool=False)

    def bounded(self, t, sym):
        if self.edges:
            return t
        return self.add(gc.tanh(t), sym, f"gc.tanh({self.n(t)})", pool=False)

    # ops --------------------------------------------------------------------
    def op_unary(self):
        t, sym = self.any()
        name = self.c.pick(self.UNARY)
        return self.add(getattr(gc, name)(t), sym, f"gc.{name}({self.n(t)})")

    def op_guarded(self):
        t, sym = self.any()
        name = self.c.pick(self.GUARDED)
        arg = self.bounded(t, sym) if name == "exp" else self.positive(t, sym)
        return self.add(getattr(gc, name)(arg), sym, f"gc.{name}({self.n(arg)})")

    def op_power_number(self):
        t, sym = self.any()
        k = self.c.pick([2, 3, -1, 0.5, 0, 1.5])
        if k in (-1, 0.5, 1.5):
            t = self.positive(t, sym)
        return self.add(t ** k, sym, f"{self.n(t)} ** {k!r}")

    def op_number(self):
        t, sym = self.any()
        k = self.c.pick([1.5, 2, -3, 0.25])
        form = self.c.int(0, 3)
        value, code = [(t + k, f"{self.n(t)} + {k!r}"), (k * t, f"{k!r} * {self.n(t)}"),
                       (k - t, f"{k!r} - {self.n(t)}"), (t / k, f"{self.n(t)} / {k!r}")][form]
        return self.add(value, sym, code)

    def op_binary(self):
        a, sa = self.any()
        b, sb = self.partner(sa)
        out = _broadcast(sa, sb)
        name = self.c.pick(self.BINARY)
        if name == "divide":
            b = self.positive(b, sb)
        if name == "power":
            a, b = self.positive(a, sa), self.bounded(b, sb)
        return self.add(getattr(gc, name)(a, b), out, f"gc.{name}({self.n(a)}, {self.n(b)})")

    def op_where(self):
        a, sa = self.any()
        b, sb = self.partner(sa)
        c, sc = self.partner(sa)
        d, sd = self.partner(sa)
        out = _broadcast(sa, sb, sc, sd)
        if out is None:
            return None
        name = self.c.pick(self.COMPARE)
        cond = self.add(getattr(gc, name)(a, b), _broadcast(sa, sb), f"gc.{name}({self.n(a)}, {self.n(b)})",
                        pool=False)
        if self.c.bool(0.3):
            return self.add(gc.cast(cond, self.dtype), _broadcast(sa, sb),
                            f"gc.cast({self.n(cond)}, {self.dtype.name!r})")
        return self.add(gc.where(cond, c, d), out, f"gc.where({self.n(cond)}, {self.n(c)}, {self.n(d)})")

    def op_clip(self):
        t, sym = self.any()
        lo = self.c.pick([-1.0, -0.5, 0.0])
        hi = self.c.pick([0.5, 1.0, 2.0])
        return self.add(gc.clip(t, lo, hi), sym, f"gc.clip({self.n(t)}, {lo!r}, {hi!r})")

    def op_matmul(self):
        a, sa = self.any()
        if not sa or sa[-1] == B:
            return None
        k = sa[-1]
        m = self.c.pick([1, 2, 3])
        form = self.c.int(0, 2)
        if form == 0 or len(sa) == 1:
            sb = (k, m) if self.c.bool(0.8) else (k,)
        else:
            sb = tuple(d if d != B else 1 for d in sa[:-2][-1:]) + (k, m)
        fits = [(t, s) for t, s in self.pool if s == sb]
        b, sb = self.c.pick(fits) if fits and self.c.bool(0.5) else (self.leaf(sb), sb)
        if len(sa) == 1 and len(sb) == 1:
            out = ()
        elif len(sb) == 1:
            out = sa[:-1]
        elif len(sa) == 1:
            out = sb[:-2] + sb[-1:]
        else:
            batch = _broadcast(sa[:-2], sb[:-2])
            if batch is None:
                return None
            out = batch + sa[-2:-1] + sb[-1:]
        if self.c.bool(0.5):
            return self.add(a @ b, out, f"{self.n(a)} @ {self.n(b)}")
        return self.add(gc.matmul(a, b), out, f"gc.matmul({self.n(a)}, {self.n(b)})")

    def op_reduce(self):
        t, sym = self.any()
        kind = self.c.pick(["sum", "mean", "max", "min"])
        if not sym:
            axis = None
        elif self.c.bool(0.3):
            axis = None
        elif self.c.bool(0.5):
            axis = self.c.int(-len(sym), len(sym) - 1)
        else:
            axis = tuple(sorted({self.c.int(0, len(sym) - 1) for _ in range(2)}))
        keep = self.c.bool(0.3)
        axes = range(len(sym)) if axis is None else [a % len(sym) for a in
                                                      ((axis,) if isinstance(axis, int) else axis)]
        if kind in ("max", "min") and any(sym[a] == 0 for a in axes):
            return None  # a build-time error (tested in test_errors_doc)
        out = tuple(1 if i in axes else d for i, d in enumerate(sym)) if keep else \
            tuple(d for i, d in enumerate(sym) if i not in axes)
        return self.add(getattr(gc, f"reduce_{kind}")(t, axis, keep), out,
                        f"gc.reduce_{kind}({self.n(t)}, {axis!r}, {keep!r})")

    def op_softmax(self):
        t, sym = self.any()
        if not sym:
            return None
        axis = self.c.int(-len(sym), len(sym) - 1)
        name = self.c.pick(["softmax", "log_softmax"])
        return self.add(getattr(gc, name)(t, axis), sym, f"gc.{name}({self.n(t)}, {axis})")

    def op_transpose(self):
        t, sym = self.any()
        if len(sym) < 2:
            return None
        perm = list(range(len(sym)))
        for i in range(len(perm) - 1, 0, -1):  # Fisher-Yates with the chooser's draws
            j = self.c.int(0, i)
            perm[i], perm[j] = perm[j], perm[i]
        out = tuple(sym[p] for p in perm)
        if perm == list(range(len(sym)))[::-1] and self.c.bool(0.5):
            return self.add(t.T if len(sym) == 2 else gc.transpose(t), out,
                            f"{self.n(t)}.T" if len(sym) == 2 else f"gc.transpose({self.n(t)})")
        return self.add(gc.transpose(t, perm), out, f"gc.transpose({self.n(t)}, {perm!r})")

    def op_reshape(self):
        t, sym = self.any()
        if B in sym[1:]:
            return None
        rest = int(np.prod(sym[1:] if sym and sym[0] == B else sym)) if sym else 1
        if sym and sym[0] == B:
            if rest == 0:
                return None
            target, out = (-1, rest), (B, rest)
        else:
            size = rest
            options = [((size,), (size,)), ((1, size), (1, size)), ((size, 1), (size, 1))]
            if size and size % 2 == 0:
                options.append(((2, -1), (2, size // 2)))
            if size == 1:
                options.append(((), ()))
            target, out = self.c.pick(options)
        return self.add(gc.reshape(t, target), out, f"gc.reshape({self.n(t)}, {target!r})")

    def op_expand_squeeze(self):
        t, sym = self.any()
        ones = [i for i, d in enumerate(sym) if d == 1]
        if ones and self.c.bool(0.5):
            axis = self.c.pick(ones)
            return self.add(gc.squeeze(t, axis), sym[:axis] + sym[axis + 1:], f"gc.squeeze({self.n(t)}, {axis})")
        axis = self.c.int(0, len(sym))
        return self.add(gc.expand_dims(t, axis), sym[:axis] + (1,) + sym[axis:],
                        f"gc.expand_dims({self.n(t)}, {axis})")

    def op_getitem(self):
        t, sym = self.any()
        if not sym:
            return None
        index, out = [], []
        for d in sym:
            if d == B:
                step = self.c.pick([None, -1])
                index.append(slice(None, None, step))
                out.append(B)
                continue
            form = self.c.int(0, 3)
            if form == 0 and d > 0:
                index.append(self.c.int(-d, d - 1))
            elif form == 1:
                index.append(None)
                index.append(slice(None))
                out += [1, d]
            else:
                start = self.c.pick([None, 0, 1, -1, 2])
                stop = self.c.pick([None, 1, -1, 3])
                step = self.c.pick([None, 1, 2, -1])
                s = slice(start, stop, step)
                index.append(s)
                out.append(len(range(d)[s]))
        code = ", ".join("None" if i is None else str(i) if isinstance(i, int) else
                         f"{'' if i.start is None else i.start}:{'' if i.stop is None else i.stop}"
                         f"{'' if i.step is None else ':' + str(i.step)}" for i in index)
        return self.add(t[tuple(index)], tuple(out), f"{self.n(t)}[{code},]")

    def op_concat(self):
        t, sym = self.any()
        static_axes = [i for i, d in enumerate(sym) if d != B]
        if not static_axes:
            return None
        axis = self.c.pick(static_axes)
        same = [(u, s) for u, s in self.pool if len(s) == len(sym)
                and all(a == b for i, (a, b) in enumerate(zip(s, sym)) if i != axis) and s[axis] != B]
        parts = [(t, sym)] + [self.c.pick(same) for _ in range(self.c.int(1, 2))]
        tensors = [p for p, _ in parts]
        if self.c.bool(0.3) and all(s == sym for _, s in parts):
            return self.add(gc.stack(tensors, axis), sym[:axis] + (len(parts),) + sym[axis:],
                            f"gc.stack([{', '.join(self.n(p) for p in tensors)}], {axis})")
        out = sym[:axis] + (sum(s[axis] for _, s in parts),) + sym[axis + 1:]
        return self.add(gc.concat(tensors, axis), out,
                        f"gc.concat([{', '.join(self.n(p) for p in tensors)}], {axis})")

    def op_cast_or_stop(self):
        t, sym = self.any()
        if self.for_grad:  # stop_gradient and precision-losing casts would fool finite differences
            if self.c.bool():
                return self.add(gc.ones_like(t) * t, sym, f"gc.ones_like({self.n(t)}) * {self.n(t)}")
            return self.add(gc.zeros_like(t) + t, sym, f"gc.zeros_like({self.n(t)}) + {self.n(t)}")
        self.differentiable = False
        if self.c.bool(0.5):
            return self.add(gc.stop_gradient(t), sym, f"gc.stop_gradient({self.n(t)})")
        other = "float64" if self.dtype == np.float32 else "float32"
        mid = self.add(gc.cast(t, other), sym, f"gc.cast({self.n(t)}, {other!r})", pool=False)
        return self.add(gc.cast(mid, self.dtype), sym, f"gc.cast({self.n(mid)}, {self.dtype.name!r})")

    def op_one_hot_argmax(self):
        t, sym = self.any()
        statics = [i for i, d in enumerate(sym) if d not in (B, 0)]
        if not statics:
            return None
        axis = self.c.pick(statics)
        depth = sym[axis]
        am = self.add(gc.argmax(t, axis), sym[:axis] + sym[axis + 1:], f"gc.argmax({self.n(t)}, {axis})",
                      pool=False)
        return self.add(gc.one_hot(am, depth, self.dtype), sym[:axis] + sym[axis + 1:] + (depth,),
                        f"gc.one_hot({self.n(am)}, {depth}, {self.dtype.name!r})")

    def op_cross_entropy(self):
        t, sym = self.any()
        if not sym or sym[-1] in (B, 0):
            return None
        if self.c.bool(0.5):
            labels = self.placeholder(sym[:-1], labels=sym[-1]) if B in sym[:-1] or self.c.bool() else None
            if labels is None:
                shape = tuple(sym[:-1])
                values = self.rng.integers(0, sym[-1], size=shape)
                labels = self.add(gc.constant(values.astype(np.int32)), shape,
                                  f"gc.constant(np.array({values.tolist()!r}, dtype='int32'))", pool=False)
            return self.add(gc.nn.sparse_softmax_cross_entropy_with_logits(labels, t), sym[:-1],
                            f"gc.nn.sparse_softmax_cross_entropy_with_logits({self.n(labels)}, {self.n(t)})")
        u, su = self.partner(sym)
        if _broadcast(sym, su) != sym:
            return None
        probs = self.add(gc.softmax(u + gc.zeros_like(t), -1), sym,
                         f"gc.softmax({self.n(u)} + gc.zeros_like({self.n(t)}), -1)", pool=False)
        return self.add(gc.nn.softmax_cross_entropy_with_logits(probs, t), sym[:-1],
                        f"gc.nn.softmax_cross_entropy_with_logits({self.n(probs)}, {self.n(t)})")

    # Identities of real numbers that floats break, and NaN constants ({t}: a value, {d}: the dtype)
    EDGE_FORMS = ["{t} / {t}", "{t} - {t}", "{t} * 0.0", "0.0 * {t}", "{t} + 0.0", "{t} - 0.0",
                  "gc.exp(gc.log({t}))", "gc.log(gc.exp({t}))", "gc.sqrt({t}) ** 2", "gc.square(gc.sqrt({t}))",
                  "({t} * 2.0) / 2.0", "{t} * {t} / {t}", "2.0 * {t} - {t}",
                  "gc.exp({t}) * gc.exp(-{t})", "gc.sign(gc.exp({t}))", "gc.abs(gc.sqrt({t}))",
                  "gc.maximum(gc.constant(np.nan, dtype={d!r}), {t})", "gc.where({t} > np.nan, {t}, -{t})",
                  "gc.where({t} <= {t}, {t}, 1.0)", "gc.cast(gc.equal({t}, {t}), {d!r})",
                  "gc.minimum({t}, np.inf) - {t}", "gc.tanh({t}) - gc.tanh({t})", "{t} + 1.0 - 1.0"]

    def op_edge_form(self):
        t, sym = self.any()
        if t.dtype.kind != "f":
            return None
        code = self.c.pick(self.EDGE_FORMS).format(t=self.n(t), d=self.dtype.name)
        value = eval(code, {"gc": gc, "np": np, self.n(t): t})  # our own table, above
        return self.add(value, sym, code)

    OPS = ["op_unary", "op_unary", "op_guarded", "op_power_number", "op_number", "op_binary", "op_binary",
           "op_where", "op_clip", "op_matmul", "op_reduce", "op_softmax", "op_transpose", "op_reshape",
           "op_expand_squeeze", "op_getitem", "op_concat", "op_cast_or_stop", "op_one_hot_argmax",
           "op_cross_entropy"]


def build(choose, dtype="float64", for_grad=False, max_ops=10, edges=False) -> Case:
    """A random graph drawn with ``choose`` (with ``edges``: for edge values, see the top)."""
    b = Builder(choose, dtype, for_grad, edges)
    b.placeholder(b.shape())
    for _ in range(choose.int(0, 2)):
        b.leaf()
    made = []
    ops = Builder.OPS + ["op_edge_form"] * 4 if edges else Builder.OPS
    for _ in range(choose.int(1, max_ops)):
        op = getattr(b, choose.pick(ops))
        t = op()
        if t is not None:
            made.append(t)
    candidates = made or [t for t, _ in b.pool]
    outputs = []
    for _ in range(choose.int(1, 3)):
        t = candidates[-1] if choose.bool(0.5) else choose.pick(candidates)
        if all(t is not o for o in outputs):
            outputs.append(t)
    case = Case(b.dtype, b.placeholders, outputs, b.lines, b.rng.integers(2 ** 31),
                differentiable=b.differentiable, leaves=b.leaves, edges=edges)
    case.names = b.names
    case.built = [t for t, _ in b.pool] + b.placeholders
    if for_grad:
        terms = []
        for k, o in enumerate(outputs):
            if o.dtype.kind == "f":
                w = 0.5 + 0.25 * k
                terms.append(gc.reduce_sum(gc.cast(o, "float64") * w + 0.1 * gc.square(gc.cast(o, "float64"))))
        case.loss = terms[0] if terms else gc.constant(0.0, dtype="float64")
        for term in terms[1:]:
            case.loss = case.loss + term
    return case


# ------------------------------------------------------------------- checks

class Mismatch(AssertionError):
    pass


def _fail(case, level, size, what):
    raise Mismatch(f"{what}\n  at optimize={level}, B={size}\n--- reproducer ---\n"
                   + case.reproducer.replace("SIZE, OPT", f"{size}, {level}"))


def _close(actual, expected, dtype):
    actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    if actual.shape != expected.shape:
        return False
    finite = np.isfinite(expected)
    if not np.array_equal(np.isnan(actual), np.isnan(expected)) or \
            not np.array_equal(actual[np.isinf(expected)], expected[np.isinf(expected)]):
        return False
    scale = max(1.0, float(np.max(np.abs(expected[finite]), initial=0.0)))
    rtol, atol = (1e-8, 1e-10) if np.dtype(dtype) == np.float64 else (2e-4, 2e-5)
    return bool(np.all(np.abs(actual[finite] - expected[finite]) <= atol * scale + rtol * np.abs(expected[finite])))


def check_forward(case, sizes=(0, 1, 3), levels=LEVELS, fast_math=False):
    """Compiled at every level, the graph gives the reference's values (or both fail)."""
    functions = {level: gc.function(case.placeholders, case.outputs, optimize=level, fast_math=fast_math)
                 for level in levels}
    for size in sizes:
        feed = case.feed(size)
        try:
            expected = Reference().evaluate(case.outputs, feed)
            ref_error = None
        except (ValueError, IndexError, FloatingPointError) as exc:
            expected, ref_error = None, exc
        for level, f in functions.items():
            try:
                got = f(*[feed[p] for p in case.placeholders])
            except Exception as exc:  # noqa: BLE001  (compared with the reference's outcome)
                if ref_error is None:
                    _fail(case, level, size, "graphc raised where the reference did not:\n"
                          + "".join(traceback.format_exception_only(type(exc), exc)))
                continue
            if ref_error is not None:
                _fail(case, level, size, f"the reference raised {ref_error!r}, graphc returned a value")
            for out, value, want in zip(case.outputs, got, expected):
                value = np.asarray(value)
                if value.dtype != out.dtype:
                    _fail(case, level, size, f"{out.name}: dtype {value.dtype}, static dtype {out.dtype}")
                if value.shape != want.shape:
                    _fail(case, level, size, f"{out.name}: shape {value.shape}, reference {want.shape}")
                if not _close(value, want, out.dtype if out.dtype.kind == "f" else np.float64):
                    _fail(case, level, size, f"{out.name}: values differ\n  graphc    {value.ravel()[:8]}"
                          f"\n  reference {want.ravel()[:8]}")
    return len(functions) * len(sizes)


def finite_differences(case, feed, max_elements=40, seed=0):
    """Central differences of the loss (float64, the reference) at ``max_elements`` sampled points."""
    rng = np.random.default_rng(seed)
    grads, margin = {}, math.inf
    probe = Reference()
    probe.evaluate([case.loss], feed)
    margin = probe.margin
    points = [(p, i) for p in case.placeholders if p.dtype.kind == "f" for i in np.ndindex(*feed[p].shape)]
    if len(points) > max_elements:
        points = [points[k] for k in rng.choice(len(points), max_elements, replace=False)]
    for p in case.placeholders:
        if p.dtype.kind == "f":
            grads[p] = np.full(feed[p].shape, np.nan)
    for p, i in points:
        x0 = feed[p][i]
        h = 1e-6 * max(1.0, abs(float(x0)))
        values = []
        for sign in (1, -1):
            shifted = dict(feed)
            shifted[p] = feed[p].copy()
            shifted[p][i] = x0 + sign * h
            values.append(float(Reference().evaluate([case.loss], shifted)[0]))
        grads[p][i] = (values[0] - values[1]) / (2 * h)
    return grads, margin


def check_gradients(case, sizes=(1, 2), levels=LEVELS, kink=1e-3):
    """gc.grad of the loss, compiled at every level, against central differences.

    Returns the number of (level, size) pairs compared; a pair is left out
    only when the forward run came within ``kink`` of a kink or a jump, where
    finite differences do not measure the derivative.
    """
    xs = [p for p in case.placeholders if p.dtype.kind == "f"]
    grads = gc.grad(case.loss, xs)
    functions = {level: gc.function(case.placeholders, grads, optimize=level) for level in levels}
    compared = 0
    for size in sizes:
        feed = case.feed(size)
        feed = {p: (v.astype(np.float64) if p.dtype.kind == "f" else v) for p, v in feed.items()}
        numeric, margin = finite_differences(case, feed)
        if margin < kink:
            continue
        for level, f in functions.items():
            got = f(*[feed[p] for p in case.placeholders])
            for x, g in zip(xs, got):
                want = numeric[x]
                sampled = ~np.isnan(want)
                g = np.asarray(g, np.float64)
                if g.shape != want.shape:
                    _fail(case, level, size, f"d loss/d {x.name}: shape {g.shape}, expected {want.shape}")
                scale = max(1.0, float(np.max(np.abs(want[sampled]), initial=0.0)))
                err = np.abs(g[sampled] - want[sampled])
                if not np.all(err <= 1e-5 * scale + 1e-5 * np.abs(want[sampled])):
                    worst = int(np.argmax(err)) if err.size else 0
                    _fail(case, level, size, f"d loss/d {x.name} differs from finite differences "
                          f"(max error {err.max():.3g}):\n  graphc {g[sampled].ravel()[:8]}\n"
                          f"  numeric {want[sampled].ravel()[:8]} (worst at sample {worst})")
            compared += 1
    return compared
