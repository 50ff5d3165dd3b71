"""A direct numpy interpreter of graphc graphs, for tests only.

``evaluate(outputs, feed)`` walks the nodes in topological order and computes
each op with plain numpy written here, independently of graphc's code
generator (no op's ``emit``/``expression``, no SymPy printer): elementwise
ops are evaluated by walking their SymPy expression tree, every other op by
its own few lines below. Tests compare compiled Functions against it.

It also measures how close the run came to a kink or a jump (relu at 0,
``maximum`` at a tie, a comparison at equality, a max with two near-equal
candidates): ``Reference.margin`` is the smallest such distance, so a
finite-difference check can tell when its step may cross a kink.
"""
from __future__ import annotations

import math

import numpy as np
import sympy as sp

import importlib

from graphc.graph import topological_order

# (``graphc.ops.elementwise`` the module is shadowed by the function of that name)
A, E, L, N, R, S = (importlib.import_module(f"graphc.ops.{m}")
                    for m in ("array", "elementwise", "linalg", "nn", "reduce", "scalar"))
from graphc.ops.leaves import ConstantOp, PlaceholderOp, VariableOp


def _reciprocal(factor) -> bool:
    return factor.is_Pow and factor.exp.is_Integer and factor.exp < 0


class Reference:
    """Evaluates graphs; ``margin`` is the distance to the nearest kink seen so far."""

    def __init__(self):
        self.margin = math.inf

    # ------------------------------------------------------------ margins
    def _near(self, values):
        values = np.abs(np.asarray(values, dtype=np.float64))
        if values.size:
            finite = values[np.isfinite(values)]
            if finite.size:
                self.margin = min(self.margin, float(finite.min()))

    def _near_extreme(self, x, axes):
        """Gap between the best and second-best candidate of each reduced slice."""
        x = np.asarray(x, dtype=np.float64)
        if x.size == 0:
            return
        moved = np.moveaxis(x, axes, tuple(range(-len(axes), 0)))
        k = int(np.prod([x.shape[a] for a in axes]))
        if k < 2:
            return
        flat = np.sort(moved.reshape(-1, k), axis=1)
        self._near(flat[:, -1] - flat[:, -2])
        self._near(flat[:, 1] - flat[:, 0])

    # ------------------------------------------------------ elementwise
    def scalar(self, expr, args):
        """Value of SymPy ``expr`` with argument symbol x_i bound to ``args[i]``."""
        ev = lambda e: self.scalar(e, args)  # noqa: E731
        if isinstance(expr, sp.Symbol):
            return args[S.arg_index(expr)]
        if expr is sp.true or expr is sp.false:
            return bool(expr)
        if expr.is_Integer:
            return int(expr)
        if expr.is_Number:
            return float(expr)
        if expr is sp.nan:
            return math.nan
        if expr.is_Add:
            total = ev(expr.args[0])
            for a in expr.args[1:]:
                total = total + ev(a)
            return total
        if expr.is_Mul:  # x * y**-1 is x / y (x * (1 / y) rounds differently: 3 * (1/3) is not 1)
            over = [a for a in expr.args if not _reciprocal(a)]
            total = ev(over[0]) if over else 1.0
            for a in over[1:]:
                total = total * ev(a)
            for a in expr.args:
                if _reciprocal(a):
                    total = total / ev(a.base ** -a.exp)
            return total
        if expr.is_Pow:
            base, exponent = ev(expr.args[0]), ev(expr.args[1])
            if expr.args[1] in (sp.S.Half, -sp.S.Half):  # graphc's sqrt is IEEE sqrt; pow(-inf, 0.5) is inf
                return np.sqrt(base) if exponent > 0 else 1.0 / np.sqrt(base)
            if isinstance(exponent, int) and exponent < 0:
                return 1.0 / np.power(base, -exponent)
            return np.power(base, exponent)
        if isinstance(expr, sp.core.relational.Relational):
            lhs, rhs = ev(expr.lhs), ev(expr.rhs)
            if not isinstance(expr, (sp.Eq, sp.Ne)):
                self._near(np.subtract(lhs, rhs, dtype=np.float64))
            return {"<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal,
                    "==": np.equal, "!=": np.not_equal}[expr.rel_op](lhs, rhs)
        values = [ev(a) for a in expr.args]
        kind = type(expr)
        if kind is S.where:
            return np.where(*values)
        if kind in (S.maximum, S.minimum, sp.Max, sp.Min):
            self._near(np.subtract(values[0], values[1], dtype=np.float64))
            fn = np.maximum if kind in (S.maximum, sp.Max) else np.minimum
            out = values[0]
            for v in values[1:]:
                out = fn(out, v)
            return out
        (x,) = values
        if kind in (S.relu, S.step, S.step_ge, sp.Abs, sp.sign, sp.floor, sp.ceiling, sp.Heaviside):
            self._near(x)
        if kind is S.relu:
            return np.maximum(x, 0)
        if kind is S.step:
            return (np.asarray(x) > 0).astype(np.asarray(x).dtype)
        if kind is S.step_ge:
            return (np.asarray(x) >= 0).astype(np.asarray(x).dtype)
        if kind is sp.Heaviside:
            return np.where(np.asarray(x) == 0, 0.5, (np.asarray(x) > 0) * 1.0)
        if kind is S.sigmoid:
            return 1.0 / (1.0 + np.exp(-x))
        if kind is S.softplus:
            return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))
        simple = {sp.exp: np.exp, sp.log: np.log, sp.tanh: np.tanh, sp.sin: np.sin, sp.cos: np.cos,
                  sp.Abs: np.abs, sp.sign: np.sign, sp.floor: np.floor, sp.ceiling: np.ceil,
                  sp.sinh: np.sinh, sp.cosh: np.cosh}
        if kind in simple:
            return simple[kind](x)
        raise NotImplementedError(f"reference: no numpy meaning for {kind.__name__} in {expr}")

    # --------------------------------------------------------- every op
    def node(self, node, args, feed):
        op = node.op
        if isinstance(op, PlaceholderOp):
            if node not in feed:
                raise KeyError(f"reference: placeholder {node.name!r} not fed")
            return np.asarray(feed[node], dtype=node.dtype)
        if isinstance(op, VariableOp):
            return node.value.copy()
        if isinstance(op, ConstantOp):
            return op.value.copy()
        if isinstance(op, E.Elementwise):
            value = self.scalar(op.expr, args)
            return np.broadcast_to(np.asarray(value), np.broadcast_shapes(*(np.shape(a) for a in args)))
        if isinstance(op, L.MatMul):
            return np.matmul(*args)
        if isinstance(op, A.Reshape):
            return np.reshape(args[0], op.shape)
        if isinstance(op, A.ReshapeLike):
            return np.reshape(args[0], np.shape(args[1]))
        if isinstance(op, A.Transpose):
            return np.transpose(args[0], op.perm)
        if isinstance(op, A.ExpandDims):
            return np.expand_dims(args[0], op.axes)
        if isinstance(op, A.Squeeze):
            return np.squeeze(args[0], axis=op.axes)
        if isinstance(op, A.Concat):
            return np.concatenate(args, axis=op.axis)
        if isinstance(op, A.GetItem):
            return args[0][_index(op.index)]
        if isinstance(op, A.SliceGrad):
            g, x = args
            out = np.zeros(np.shape(x), dtype=node.dtype)
            out[_index(op.index)] = g
            return out
        if isinstance(op, A.BroadcastLike):
            return np.broadcast_to(args[0], np.shape(args[1]))
        if isinstance(op, A.FullLike):
            return np.full(np.shape(args[0]), op.value)
        if isinstance(op, A.Cast):
            return np.asarray(args[0]).astype(op.dtype)
        if isinstance(op, A.OneHot):
            idx = np.asarray(args[0])
            out = np.zeros(idx.shape + (op.depth,))
            for pos in np.ndindex(*idx.shape):
                if 0 <= idx[pos] < op.depth:
                    out[pos + (int(idx[pos]),)] = 1
            return out
        if isinstance(op, A.StopGradient):
            return args[0]
        if isinstance(op, R.Reduce):
            x = np.asarray(args[0])
            if op.kind in ("max", "min"):
                self._near_extreme(x, op.axes)
            if op.kind == "sum" and x.dtype.kind in "iub":
                x = x.astype(np.int64)
            fn = {"sum": np.sum, "mean": np.mean, "max": np.max, "min": np.min}[op.kind]
            return fn(x, axis=op.axes, keepdims=op.keepdims)
        if isinstance(op, R.NumElements):
            return np.prod([np.shape(args[0])[a] for a in op.axes])
        if isinstance(op, R.Softmax):
            return softmax(args[0], op.axis)
        if isinstance(op, R.LogSoftmax):
            return log_softmax(args[0], op.axis)
        if isinstance(op, R.ArgMax):
            if np.shape(args[0])[op.axis] > 1:
                self._near_extreme(args[0], (op.axis,))
            return np.argmax(args[0], axis=op.axis)
        if isinstance(op, N.SoftmaxCrossEntropy):  # the sum of the negated terms (the sign of a zero)
            labels, logits = args
            return np.sum(-(labels * log_softmax(logits, -1)), axis=-1)
        if isinstance(op, N.SparseSoftmaxCrossEntropy):
            labels, logits = args
            return -_pick(log_softmax(logits, -1), labels)
        if isinstance(op, N.SparseNLL):
            labels, logp = args
            return -_pick(logp, labels)
        if isinstance(op, N.SparseSoftmaxCrossEntropyGrad):
            labels, logp, g = args
            p = np.exp(logp)
            classes = np.shape(logp)[-1]
            onehot = (np.asarray(labels)[..., None] == np.arange(classes))
            if np.any((labels < 0) | (labels >= classes)):
                raise IndexError("reference: label out of range")
            return (p - onehot) * np.asarray(g)[..., None]
        raise NotImplementedError(f"reference: op {op.name} ({type(op).__name__}) is not covered")

    def evaluate(self, outputs, feed):
        """Values of ``outputs`` (a list of tensors) with placeholders fed from ``feed``."""
        values = {}
        with np.errstate(all="ignore"):
            for node in topological_order(list(outputs)):
                value = self.node(node, [values[id(i)] for i in node.inputs], feed)
                values[id(node)] = np.asarray(value).astype(node.dtype, copy=False)
        return [values[id(o)] for o in outputs]


def _index(normalized):
    return tuple(i if i is None or isinstance(i, int) else slice(*i[1:]) for i in normalized)


def softmax(x, axis):
    x = np.asarray(x)
    if x.size == 0:
        return x.copy()
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def log_softmax(x, axis):
    x = np.asarray(x)
    if x.size == 0:
        return x.copy()
    shifted = x - np.max(x, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def _pick(values, labels):
    labels = np.asarray(labels)
    classes = np.shape(values)[-1]
    if np.any((labels < 0) | (labels >= classes)):
        raise IndexError("reference: label out of range")
    return np.take_along_axis(values, labels[..., None].astype(np.intp), axis=-1)[..., 0]


def evaluate(outputs, feed):
    """Values of ``outputs`` (tensor or list) under ``feed``; see ``Reference``."""
    single = not isinstance(outputs, (list, tuple))
    values = Reference().evaluate([outputs] if single else list(outputs), feed)
    return values[0] if single else values
