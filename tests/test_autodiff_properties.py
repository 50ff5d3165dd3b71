"""Property tests: gradients of random compositions of ops against finite differences.

Hypothesis draws the input shapes (broadcast-compatible, with size-1 dims,
optionally a batch dimension known only at run time) and a random program
over them; values come from a seeded numpy generator so the search explores
structure, not adversarial numbers at kinks.
"""
from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import graphc as gc
from graphc.types import broadcast_shapes
from tests.autodiff_gradcheck import check_grad, compile_plain, numeric_grad

SETTINGS = dict(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

UNARY = {
    "sin": gc.sin,
    "tanh": gc.tanh,
    "sigmoid": gc.sigmoid,
    "softplus": gc.softplus,
    "square": gc.square,
    "relu": gc.relu,
    "exp_tanh": lambda t: gc.exp(gc.tanh(t)),
    "sqrt_1p": lambda t: gc.sqrt(t * t + 1.0),
    "log_1p": lambda t: gc.log(t * t + 1.0),
    "recip_1p": lambda t: 1.0 / (1.0 + t * t),
    "scale": lambda t: t * -0.7 + 0.3,
    "pow3": lambda t: t ** 3,
    "neg": lambda t: -t,
}
BINARY = {
    "add": gc.add,
    "sub": gc.subtract,
    "mul": gc.multiply,
    "div": lambda a, b: a / (1.0 + b * b),
    "max": gc.maximum,
    "min": gc.minimum,
    "where": lambda a, b: gc.where(a > b, a * b, gc.sin(b)),
    "pow": lambda a, b: gc.sigmoid(a) ** b,
}
STRUCTURAL = ["reduce", "transpose", "reshape", "expand", "getitem", "softmax", "concat", "matmul", "squeeze"]


@st.composite
def input_shapes(draw):
    rank = draw(st.integers(0, 3))
    full = tuple(draw(st.lists(st.integers(1, 3), min_size=rank, max_size=rank)))
    n = draw(st.integers(1, 3))
    shapes = [full]
    for _ in range(n - 1):
        drop = draw(st.integers(0, rank))
        kept = full[drop:]
        shapes.append(tuple(d if draw(st.booleans()) else 1 for d in kept))
    return shapes


def _apply_structural(kind, t, pool, draw, fits):
    """One structural op on ``t``, or None when it does not fit the shape."""
    nd = t.ndim
    static = [i for i, d in enumerate(t.shape) if d is not None]
    if kind == "reduce" and nd:
        op = draw(st.sampled_from([gc.reduce_sum, gc.reduce_mean, gc.reduce_max, gc.reduce_min]))
        axis = draw(st.one_of(st.none(), st.integers(-nd, nd - 1)))
        return op(t, axis=axis, keepdims=draw(st.booleans()))
    if kind == "transpose" and nd >= 2:
        return gc.transpose(t, draw(st.permutations(range(nd))))
    if kind == "reshape" and nd:
        return gc.reshape(t, (-1,)) if draw(st.booleans()) or nd == 1 else gc.reshape(t, (-1, 1))
    if kind == "expand":
        return gc.expand_dims(t, draw(st.integers(0, nd)))
    if kind == "squeeze" and 1 in t.shape:
        return gc.squeeze(t)
    if kind == "getitem" and nd:
        axis = draw(st.integers(0, nd - 1))
        index = [slice(None)] * nd
        if draw(st.booleans()):
            index[axis] = draw(st.sampled_from([slice(None, None, -1), slice(0, 1), slice(None, None, 2)]))
        elif t.shape[axis] is not None:
            index[axis] = draw(st.integers(-t.shape[axis], t.shape[axis] - 1))
        else:
            index[axis] = slice(1, None)
        return t[tuple(index)]
    if kind == "softmax" and nd:
        return gc.softmax(t, axis=draw(st.integers(0, nd - 1))) * 3.0
    if kind == "concat" and static:
        other = draw(st.sampled_from(pool))
        if other.shape != t.shape or not fits(t, other):
            other = t
        return gc.concat([t, gc.sin(other)], axis=draw(st.sampled_from(static)))
    if kind == "matmul" and nd >= 1 and t.shape[-1] is not None:
        k = t.shape[-1]
        w = np.linspace(-1.0, 1.0, k * 2).reshape(k, 2)
        return t @ gc.constant(w, dtype="float64")
    return None


def random_program(draw, inputs, depth, feed=None):
    """A random program over ``inputs``. With ``feed`` (arrays for inputs with
    None dims), two tensors are combined only if their run-time shapes
    broadcast: a static (None,) says nothing about x versus x[::2]."""
    pool = list(inputs)

    def fits(a, b):
        if feed is None or (None not in a.shape and None not in b.shape):
            return True
        sa, sb = (np.shape(v) for v in compile_plain(list(inputs), [a, b])(*feed))
        try:
            return np.broadcast_shapes(sa, sb) == tuple(
                d if d is not None else e for d, e in zip(broadcast_shapes(a.shape, b.shape),
                                                          np.broadcast_shapes(sa, sb)))
        except ValueError:
            return False

    for _ in range(depth):
        kind = draw(st.sampled_from(["unary", "binary", "structural"]))
        t = draw(st.sampled_from(pool))
        out = None
        if kind == "unary":
            out = UNARY[draw(st.sampled_from(sorted(UNARY)))](t)
        elif kind == "binary":
            u = draw(st.sampled_from(pool))
            if broadcast_shapes(t.shape, u.shape) is not None and fits(t, u):
                out = BINARY[draw(st.sampled_from(sorted(BINARY)))](t, u)
        else:
            out = _apply_structural(draw(st.sampled_from(STRUCTURAL)), t, pool, draw, fits)
        if out is not None:
            pool.append(out)
    # combine several results so that most of the graph reaches the output
    result = gc.reduce_sum(pool[-1])
    for t in pool[len(inputs):-1]:
        if draw(st.booleans()):
            result = result + gc.reduce_mean(t) * 0.5
    return result


@settings(**SETTINGS)
@given(shapes=input_shapes(), depth=st.integers(1, 6), seed=st.integers(0, 2 ** 16), data=st.data())
def test_random_compositions_match_finite_differences(shapes, depth, seed, data):
    rng = np.random.default_rng(seed)
    arrays = [rng.uniform(-1.5, 1.5, size=s) for s in shapes]
    check_grad(lambda *xs: random_program(data.draw, xs, depth), arrays, rtol=1e-4, atol=1e-5)


@settings(**SETTINGS)
@given(shapes=input_shapes().filter(lambda s: len(s[0]) >= 1 and s[0][0] > 1),
       depth=st.integers(1, 5), seed=st.integers(0, 2 ** 16), data=st.data(),
       batch=st.sampled_from([2, 5]))
def test_random_compositions_with_run_time_batch(shapes, depth, seed, data, batch):
    """The first axis of the full-rank input is None and is fed at another size."""
    rng = np.random.default_rng(seed)
    full_rank = len(shapes[0])
    static, arrays = [], []
    for s in shapes:
        if len(s) == full_rank and s[0] > 1:
            static.append((None,) + s[1:])
            arrays.append(rng.uniform(-1.5, 1.5, size=(batch,) + s[1:]))
        else:
            static.append(s)
            arrays.append(rng.uniform(-1.5, 1.5, size=s))
    check_grad(lambda *xs: random_program(data.draw, xs, depth, feed=arrays), arrays, shapes=static,
               rtol=1e-4, atol=1e-5)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shapes=input_shapes(), depth=st.integers(1, 4), seed=st.integers(0, 2 ** 16), data=st.data())
def test_random_compositions_second_order(shapes, depth, seed, data):
    """grad of (sum of the gradient * fixed weights) against differences of the gradient."""
    rng = np.random.default_rng(seed)
    arrays = [rng.uniform(-1.5, 1.5, size=s) for s in shapes]
    phs = [gc.placeholder(s, "float64") for s in shapes]
    # smooth ops only: second derivatives of kinks are not finite differences' business
    smooth = dict(UNARY)
    del smooth["relu"]
    y = gc.reduce_sum(phs[0])
    for _ in range(depth):
        t = data.draw(st.sampled_from(phs + [y]))
        y = y + gc.reduce_sum(smooth[data.draw(st.sampled_from(sorted(smooth)))](t)
                              * (t if data.draw(st.booleans()) else 1.0))
    first = gc.grad(y, phs)
    weights = [rng.uniform(0.5, 1.5, size=s) for s in shapes]
    inner = gc.reduce_sum(first[0] * gc.constant(weights[0], dtype="float64"))
    for g, w in zip(first[1:], weights[1:]):
        inner = inner + gc.reduce_sum(g * gc.constant(w, dtype="float64"))
    second = compile_plain(phs, gc.grad(inner, phs))(*arrays)
    numeric = numeric_grad(compile_plain(phs, inner), arrays)
    for s, n in zip(second, numeric):
        np.testing.assert_allclose(s, n, rtol=1e-4, atol=1e-5 * (1 + np.max(np.abs(n))))


@settings(**SETTINGS)
@given(shapes=input_shapes(), depth=st.integers(1, 6), seed=st.integers(0, 2 ** 16), data=st.data())
def test_optimized_gradient_graphs_match_finite_differences(shapes, depth, seed, data):
    """The same random gradient graphs compiled at gc.function's default level
    (optimization passes on gradient graphs: strong-zero wheres, sum_to_shape,
    slice_grad, broadcast_like) agree with finite differences too."""
    rng = np.random.default_rng(seed)
    arrays = [rng.uniform(-1.5, 1.5, size=s) for s in shapes]
    check_grad(lambda *xs: random_program(data.draw, xs, depth), arrays, rtol=1e-4, atol=1e-5,
               optimized=True)
