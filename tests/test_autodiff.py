"""gc.grad of every differentiable op against central finite differences (float64),
and the conventions of graphc/autodiff.py: reused nodes, repeated calls,
non-float and stop_gradient tensors, unconnected inputs, dtypes, strong zeros."""
from __future__ import annotations

import numpy as np
import pytest

import sympy as sp

import graphc as gc
from graphc.ops.scalar import ARGS
from tests.autodiff_gradcheck import check_grad

RNG = np.random.default_rng(1234)
X0 = ARGS[0]


def rand(*shape, low=-2.0, high=2.0):
    return RNG.uniform(low, high, size=shape)


def positive(*shape):
    return RNG.uniform(0.3, 2.0, size=shape)


def away_from_zero(*shape):
    """Values in ±[0.2, 2], so kinks at 0 (relu, abs, sign) are not straddled by FD."""
    return RNG.uniform(0.2, 2.0, size=shape) * RNG.choice([-1.0, 1.0], size=shape)


# ----------------------------------------------------------- elementwise table

UNARY = [
    ("negative", gc.negative, rand),
    ("square", gc.square, rand),
    ("sqrt", gc.sqrt, positive),
    ("rsqrt", gc.rsqrt, positive),
    ("reciprocal", gc.reciprocal, away_from_zero),
    ("exp", gc.exp, rand),
    ("log", gc.log, positive),
    ("abs", gc.abs, away_from_zero),
    ("sin", gc.sin, rand),
    ("cos", gc.cos, rand),
    ("tanh", gc.tanh, rand),
    ("sigmoid", gc.sigmoid, rand),
    ("softplus", gc.softplus, rand),
    ("relu", gc.relu, away_from_zero),
    ("sign_times_x", lambda x: gc.sign(x) * x, away_from_zero),
    ("pow_int", lambda x: x ** 3, rand),
    ("pow_neg_int", lambda x: x ** -2, away_from_zero),
    ("pow_half", lambda x: x ** 0.5, positive),
    ("pow_float", lambda x: x ** -1.5, positive),
    ("rpow", lambda x: 2.0 ** x, rand),
    ("custom_expr", lambda x: gc.elementwise(X0 ** 2 * sp.cos(X0) + sp.atan(X0), [x]), rand),
]


@pytest.mark.parametrize("name,fn,sample", UNARY, ids=[u[0] for u in UNARY])
def test_unary_elementwise(name, fn, sample):
    check_grad(fn, [sample(3, 4)])


BINARY = [
    ("add", gc.add, rand, rand),
    ("subtract", gc.subtract, rand, rand),
    ("multiply", gc.multiply, rand, rand),
    ("divide", gc.divide, rand, away_from_zero),
    ("power", gc.power, positive, rand),
    ("maximum", gc.maximum, rand, rand),
    ("minimum", gc.minimum, rand, rand),
]

BROADCAST_SHAPES = [
    ((3, 4), (3, 4)),
    ((3, 4), (4,)),
    ((4,), (3, 4)),
    ((3, 1), (1, 4)),
    ((2, 3, 4), (3, 1)),
    ((), (2, 3)),
    ((2, 1, 4), ()),
]


@pytest.mark.parametrize("shapes", BROADCAST_SHAPES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("name,fn,sa,sb", BINARY, ids=[b[0] for b in BINARY])
def test_binary_elementwise_with_broadcasting(name, fn, sa, sb, shapes):
    a, b = sa(*shapes[0]), sb(*shapes[1])
    # maximum/minimum: random continuous values never tie (FD needs |a - b| >> eps)
    grads = check_grad(fn, [a, b])
    assert grads[0].shape == a.shape and grads[1].shape == b.shape


def test_maximum_minimum_tie_goes_to_first_argument():
    a = gc.placeholder((3,), "float64")
    b = gc.placeholder((3,), "float64")
    va, vb = np.array([1.0, 2.0, 3.0]), np.array([1.0, 5.0, 0.0])
    for op, expect_a in ((gc.maximum, [1, 0, 1]), (gc.minimum, [1, 1, 0])):
        ga, gb = gc.grad(gc.reduce_sum(op(a, b)), [a, b])
        got_a, got_b = gc.function([a, b], [ga, gb])(va, vb)
        np.testing.assert_array_equal(got_a, expect_a)
        np.testing.assert_array_equal(got_a + got_b, [1, 1, 1])  # gradient is not doubled at a tie


def test_where_with_broadcast_condition_and_branches():
    def build(c, a, b):
        return gc.where(c > 0, a * a, gc.sin(b))
    check_grad(build, [away_from_zero(3, 1), rand(3, 4), rand(4)])


def test_clip_inside_and_outside():
    x = np.array([[-3.0, -0.5, 0.2], [0.9, 1.7, 4.0]])
    g = check_grad(lambda t: gc.clip(t, -1.0, 1.5) * t, [x])
    # inside the interval d(x*x)=2x, outside d(c*x)=c
    np.testing.assert_allclose(g[0] / np.random.default_rng(0).uniform(0.5, 1.5, size=x.shape),
                               [[-1.0, -1.0, 0.4], [1.8, 1.5, 1.5]])


def test_clip_with_tensor_bounds():
    lo, hi = rand(3, 1) - 2.5, rand(4) + 2.5
    x = np.array([[-5.0, -0.5, 0.3, 6.0]] * 3)
    check_grad(lambda t, l, h: gc.clip(t, l, h), [x, lo, hi])


def test_power_with_tensor_exponent_broadcast():
    check_grad(lambda x, p: x ** p, [positive(2, 3), rand(3)])


def test_composite_chain_of_table_ops():
    def build(x, y):
        h = gc.tanh(x @ y) + gc.sigmoid(x).sum(axis=1, keepdims=True)
        return gc.softplus(h) * gc.exp(-h * h) / (1.0 + h * h)
    check_grad(build, [rand(3, 4), rand(4, 2)])


# ----------------------------------------------------------------- matmul

MATMUL_SHAPES = [
    ((3, 4), (4, 5)),
    ((2, 3, 4), (2, 4, 5)),
    ((2, 3, 4), (4, 5)),
    ((3, 4), (2, 4, 5)),
    ((2, 1, 3, 4), (5, 4, 2)),
    ((4,), (4, 5)),
    ((3, 4), (4,)),
    ((4,), (4,)),
    ((2, 3, 4), (4,)),
    ((4,), (2, 4, 5)),
]


@pytest.mark.parametrize("sa,sb", MATMUL_SHAPES, ids=lambda s: str(s))
def test_matmul(sa, sb):
    grads = check_grad(gc.matmul, [rand(*sa), rand(*sb)])
    assert grads[0].shape == sa and grads[1].shape == sb


def test_matmul_closed_form():
    a, b = rand(3, 4), rand(4, 5)
    pa, pb = gc.placeholder((3, 4), "float64"), gc.placeholder((4, 5), "float64")
    ga, gb = gc.function([pa, pb], gc.grad(pa @ pb, [pa, pb]))(a, b)
    np.testing.assert_allclose(ga, np.ones((3, 5)) @ b.T)
    np.testing.assert_allclose(gb, a.T @ np.ones((3, 5)))


# ------------------------------------------------------------- reductions

REDUCE_AXES = [None, 0, 1, -1, (0, 2), (1, 2)]


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("axis", REDUCE_AXES, ids=str)
@pytest.mark.parametrize("op", [gc.reduce_sum, gc.reduce_mean, gc.reduce_max, gc.reduce_min],
                         ids=["sum", "mean", "max", "min"])
def test_reductions(op, axis, keepdims):
    # a permutation of spaced values: no ties, so max/min are differentiable
    x = RNG.permutation(np.arange(24, dtype=np.float64)).reshape(2, 3, 4) * 0.1
    check_grad(lambda t: op(t * t, axis=axis, keepdims=keepdims), [x])


def test_reduce_max_ties_split_the_gradient():
    x = gc.placeholder((2, 3), "float64")
    g = gc.grad(gc.reduce_max(x, axis=1), x).eval({x: np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])})
    np.testing.assert_allclose(g, [[0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]])


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_softmax_and_log_softmax(axis):
    x = rand(3, 4)
    check_grad(lambda t: gc.softmax(t, axis=axis), [x])
    check_grad(lambda t: gc.log_softmax(t, axis=axis), [x])
    check_grad(lambda t: gc.softmax(t, axis=axis) * gc.log_softmax(t, axis=axis) * t, [x])


# ---------------------------------------------------------- structural ops

INDICES = [
    1, -1, (slice(None), 1), (slice(1, 3),), (slice(None), slice(1, None, 2)),
    (slice(None, None, -1),), (None, 1, slice(None, None, 2)), (Ellipsis, 0),
    (slice(1, 2), None), (1, 2), (slice(None), None, slice(3, 0, -2)),
]


@pytest.mark.parametrize("index", INDICES, ids=str)
def test_getitem(index):
    check_grad(lambda t: t[index] * t[index], [rand(3, 4)])


def test_getitem_overlapping_slices_accumulate():
    g = check_grad(lambda t: t[1:] * t[:-1] + t[0], [rand(5)])
    assert g[0].shape == (5,)


@pytest.mark.parametrize("shape", [(12,), (3, 4), (2, 2, 3), (-1, 6), (4, 1, 3)], ids=str)
def test_reshape(shape):
    check_grad(lambda t: gc.reshape(t, shape) * gc.reshape(gc.sin(t), shape), [rand(2, 6)])


@pytest.mark.parametrize("perm", [None, (0, 2, 1), (2, 0, 1), (1, 2, 0)], ids=str)
def test_transpose(perm):
    w = rand(*(np.array((2, 3, 4))[list(perm)] if perm else (4, 3, 2)))
    check_grad(lambda t: gc.transpose(t, perm) * w, [rand(2, 3, 4)])


def test_T_property():
    check_grad(lambda t: t.T @ t, [rand(3, 2)])


@pytest.mark.parametrize("axis", [0, 1, 2, -1, (0, 3)], ids=str)
def test_expand_dims(axis):
    check_grad(lambda t: gc.expand_dims(t, axis) * gc.expand_dims(gc.exp(t), axis), [rand(2, 3)])


@pytest.mark.parametrize("axis", [None, 0, 2, (0, 2)], ids=str)
def test_squeeze(axis):
    check_grad(lambda t: gc.squeeze(t, axis) ** 2, [rand(1, 3, 1)])


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_concat(axis):
    check_grad(lambda a, b, c: gc.concat([a, b * b, gc.exp(c)], axis=axis) * 1.5,
               [rand(2, 3), rand(2, 3), rand(2, 3)])


def test_concat_uneven_sizes():
    check_grad(lambda a, b: gc.concat([a, gc.sin(b)], axis=1), [rand(2, 1), rand(2, 4)])


@pytest.mark.parametrize("axis", [0, 1, 2, -1])
def test_stack(axis):
    check_grad(lambda a, b: gc.stack([a, a * b, gc.tanh(b)], axis=axis), [rand(2, 3), rand(2, 3)])


def test_cast_float_round_trip():
    # cast to float32 and back: the value loses precision, so a looser FD check
    check_grad(lambda t: gc.cast(gc.cast(t, "float32") * 2.0, "float64") * t,
               [rand(3)], eps=1e-3, rtol=1e-3, atol=1e-3)


def test_cast_to_int_passes_no_gradient():
    x = gc.placeholder((3,), "float64")
    y = gc.reduce_sum(gc.cast(gc.cast(x, "int32"), "float64") * 2.0 + x)
    np.testing.assert_array_equal(gc.grad(y, x).eval({x: np.array([1.5, 2.5, -3.0])}), [1, 1, 1])


# ------------------------------------------------------- dimensions fed later

def test_none_batch_dimension_fed_at_different_sizes():
    w = rand(3, 2)
    bias = rand(3)

    def build(x):
        W = gc.constant(w, dtype="float64")
        h = gc.tanh((x + bias) @ W)                         # (None, 2)
        s = gc.softmax(gc.concat([h, x[:, 2:]], axis=1))    # (None, 3)
        flat = gc.reshape(x * x, (-1,))                      # (None*3,)
        return (gc.reduce_mean(s * gc.log_softmax(h @ W.T, axis=1), axis=0).sum()
                + gc.reduce_max(h, axis=1).mean() + gc.reduce_mean(flat)
                + gc.reduce_sum(gc.expand_dims(x, 1) * 0.5) + gc.reduce_mean(x))

    for batch in (4, 7):
        check_grad(build, [rand(batch, 3)], shapes=[(None, 3)])


def test_none_dims_gradient_has_the_fed_shape():
    x = gc.placeholder((None, 3), "float64")
    y = gc.reduce_mean(x * x)
    g = gc.grad(y, x)
    assert g.shape == (None, 3)
    for batch in (4, 7):
        v = rand(batch, 3)
        np.testing.assert_allclose(g.eval({x: v}), 2 * v / v.size)


# -------------------------------------------------------------- conventions

def test_reused_node_accumulates():
    x = gc.placeholder((3,), "float64")
    v = np.array([-1.0, 0.5, 2.0])
    y = x * x + x
    np.testing.assert_allclose(gc.grad(y, x).eval({x: v}), 2 * v + 1)
    # a value feeding several consumers through different paths
    h = gc.exp(x)
    z = h * h + gc.sin(h) + h
    np.testing.assert_allclose(gc.grad(z, x).eval({x: v}),
                               (2 * np.exp(v) + np.cos(np.exp(v)) + 1) * np.exp(v))


def test_same_input_twice_in_one_op():
    x = gc.placeholder((2, 2), "float64")
    v = rand(2, 2)
    np.testing.assert_allclose(gc.grad(gc.multiply(x, x), x).eval({x: v}), 2 * v)
    np.testing.assert_allclose(gc.grad(x @ x, x).eval({x: v}),
                               np.ones((2, 2)) @ v.T + v.T @ np.ones((2, 2)))
    np.testing.assert_allclose(gc.grad(gc.concat([x, x], axis=0), x).eval({x: v}), 2 * np.ones((2, 2)))


def test_grad_twice_on_the_same_graph_gives_the_same_result():
    x = gc.placeholder((4,), "float64")
    y = gc.reduce_sum(gc.tanh(x) * x + x * x)
    v = rand(4)
    g1 = gc.grad(y, x)
    g2 = gc.grad(y, x)
    expected = 1 - np.tanh(v) ** 2
    expected = expected * v + np.tanh(v) + 2 * v
    np.testing.assert_allclose(g1.eval({x: v}), expected)
    np.testing.assert_allclose(g2.eval({x: v}), expected)
    # and the original graph still evaluates as before
    np.testing.assert_allclose(y.eval({x: v}), np.sum(np.tanh(v) * v + v * v))


def test_list_in_list_out_and_several_outputs():
    x = gc.placeholder((), "float64")
    z = gc.placeholder((), "float64")
    gx, gz = gc.grad([x * z, gc.sin(x)], [x, z])
    f = gc.function([x, z], [gx, gz])
    got = f(0.7, 3.0)
    np.testing.assert_allclose(got[0], 3.0 + np.cos(0.7))
    np.testing.assert_allclose(got[1], 0.7)
    assert isinstance(gc.grad(x * z, [x]), list)


def test_grad_ys_weights():
    x = gc.placeholder((3,), "float64")
    w = np.array([1.0, -2.0, 0.5])
    g = gc.grad(x * x, x, grad_ys=gc.constant(w, dtype="float64"))
    v = rand(3)
    np.testing.assert_allclose(g.eval({x: v}), 2 * v * w)
    with pytest.raises(ValueError, match="grad_ys"):
        gc.grad(x * x, x, grad_ys=gc.constant(np.ones(2), dtype="float64"))


def test_stop_gradient_blocks():
    x = gc.placeholder((3,), "float64")
    v = rand(3)
    y = gc.reduce_sum(gc.stop_gradient(x * x) * x + gc.stop_gradient(x))
    np.testing.assert_allclose(gc.grad(y, x).eval({x: v}), v * v)
    only = gc.grad(gc.reduce_sum(gc.stop_gradient(x)), x)
    np.testing.assert_array_equal(only.eval({x: v}), np.zeros(3))


def test_integer_and_bool_sources_get_zero_gradient():
    i = gc.placeholder((3,), "int32")
    b = gc.placeholder((3,), "bool")
    x = gc.placeholder((3,), "float64")
    y = gc.reduce_sum(gc.cast(i, "float64") * x + gc.where(b, x, 2.0 * x) + gc.cast(b, "float64"))
    gi, gb, gx = gc.grad(y, [i, b, x])
    iv, bv, xv = np.array([1, 2, 3], np.int32), np.array([True, False, True]), rand(3)
    f = gc.function([i, b, x], [gi, gb, gx])
    ri, rb, rx = f(iv, bv, xv)
    np.testing.assert_array_equal(ri, 0)
    np.testing.assert_array_equal(rb, 0)
    np.testing.assert_allclose(rx, iv + np.where(bv, 1.0, 2.0))
    assert gi.shape == (3,) and gb.shape == (3,)


def test_grad_of_integer_output_is_an_error():
    i = gc.placeholder((3,), "int32")
    with pytest.raises(TypeError, match="cast it to float"):
        gc.grad(gc.reduce_sum(i), i)


def test_unconnected_inputs_get_zeros():
    x = gc.placeholder((2, 3), "float64")
    u = gc.placeholder((None, 4), "float64")
    c = gc.constant(np.ones(5), dtype="float64")
    y = gc.reduce_sum(x * x)
    gx, gu, gc_ = gc.grad(y, [x, u, c])
    assert gu.shape == (None, 4) and gc_.shape == (5,)
    np.testing.assert_array_equal(gu.eval({u: np.ones((6, 4))}), np.zeros((6, 4)))
    np.testing.assert_array_equal(gc_.numpy(), np.zeros(5))
    # connected only through an integer path: still zeros
    z = gc.reduce_sum(gc.cast(gc.argmax(u, axis=1), "float64"))
    np.testing.assert_array_equal(gc.grad(z, u).eval({u: rand(3, 4)}), np.zeros((3, 4)))


def test_gradient_with_respect_to_intermediate_and_variable():
    v = gc.Variable(np.array([1.0, 2.0]), dtype="float64", name="v")
    h = v * 3.0
    y = gc.reduce_sum(gc.sin(h))
    gh, gv = gc.grad(y, [h, v])
    np.testing.assert_allclose(gh.numpy(), np.cos([3.0, 6.0]))
    np.testing.assert_allclose(gv.numpy(), 3 * np.cos([3.0, 6.0]))


def test_float32_graph_gives_float32_gradients():
    x = gc.placeholder((None, 3), "float32")
    w = gc.Variable(np.ones((3, 2), np.float32), name="w")
    h = gc.sigmoid(x @ w) + gc.where(x[:, :2] > 0, gc.sqrt(gc.abs(x[:, :2])), 0.5)
    y = (gc.reduce_mean(gc.log_softmax(h) * gc.softmax(h)) + gc.reduce_max(h ** 2, axis=0).sum()
         + gc.reduce_mean(gc.clip(x, -1.0, 1.0) / (1.0 + x * x)) + gc.reduce_mean(gc.softplus(x) ** 1.5))
    gx, gw = gc.grad(y, [x, w])
    assert gx.dtype == np.float32 and gw.dtype == np.float32
    vx, vw = gc.function([x], [gx, gw])(RNG.normal(size=(5, 3)).astype(np.float32))
    assert vx.dtype == np.float32 and vw.dtype == np.float32
    # second order stays float32 too
    gg = gc.grad(gc.reduce_sum(gx * gx), x)
    assert gg.dtype == np.float32
    assert gc.function([x], gg)(np.ones((2, 3), np.float32)).dtype == np.float32


def test_float32_gradient_close_to_float64():
    def build(dtype):
        x = gc.placeholder((4,), dtype)
        return x, gc.grad(gc.reduce_sum(gc.tanh(x) * gc.exp(-x * x)), x)
    v = rand(4)
    x32, g32 = build("float32")
    x64, g64 = build("float64")
    np.testing.assert_allclose(g32.eval({x32: v.astype(np.float32)}), g64.eval({x64: v}), rtol=1e-5, atol=1e-6)


# -------------------------------------------------- strong zeros: no NaN leaks

X_EDGE = np.array([-1.0, 0.0, 4.0])


@pytest.mark.parametrize("branch,expected", [
    (gc.sqrt, [0.0, 0.0, 0.25]),
    (gc.log, [0.0, 0.0, 0.25]),
    (lambda t: 1.0 / t, [0.0, 0.0, -1 / 16]),
    (lambda t: t ** -0.5, [0.0, 0.0, -0.5 * 4.0 ** -1.5]),
    (gc.rsqrt, [0.0, 0.0, -0.5 * 4.0 ** -1.5]),
], ids=["sqrt", "log", "divide", "pow", "rsqrt"])
def test_where_branch_not_taken_gives_no_nan(branch, expected):
    x = gc.placeholder((3,), "float64")
    y = gc.reduce_sum(gc.where(x > 0, branch(x), 0.0))
    g = gc.grad(y, x).eval({x: X_EDGE})
    assert np.all(np.isfinite(g)), g
    np.testing.assert_allclose(g, expected)


def test_where_untaken_branch_other_side_and_inside_chain():
    x = gc.placeholder((3,), "float64")
    y = gc.reduce_sum(gc.exp(gc.where(x <= 0, 0.0, 3.0 * gc.log(x) + gc.sqrt(x) / 2.0)) * 2.0)
    g = gc.grad(y, x).eval({x: X_EDGE})
    v = 4.0
    expected = 2 * np.exp(3 * np.log(v) + np.sqrt(v) / 2) * (3 / v + 1 / (4 * np.sqrt(v)))
    np.testing.assert_allclose(g, [0.0, 0.0, expected])


def test_where_untaken_branch_second_derivative_has_no_nan():
    x = gc.placeholder((3,), "float64")
    y = gc.reduce_sum(gc.where(x > 0, gc.sqrt(x), 0.0))
    g2 = gc.grad(gc.grad(y, x), x).eval({x: X_EDGE})
    np.testing.assert_allclose(g2, [0.0, 0.0, -0.25 * 4.0 ** -1.5])


def test_safe_division_with_where_denominator():
    x = gc.placeholder((3,), "float64")
    zero = gc.equal(x, 0.0)  # (x == 0.0 is Python identity on graph tensors, as in TF1 graphs)
    safe = gc.where(zero, 1.0, x)
    y = gc.reduce_sum(gc.where(zero, 0.0, gc.sin(x) / safe))
    g = gc.grad(y, x).eval({x: X_EDGE})
    d = lambda v: (np.cos(v) * v - np.sin(v)) / v ** 2  # noqa: E731
    np.testing.assert_allclose(g, [d(-1.0), 0.0, d(4.0)])


def test_grad_does_not_evaluate():
    # building the gradient of a graph on unfed placeholders must not need values
    x = gc.placeholder((None, None), "float64")
    g = gc.grad(gc.reduce_sum(gc.softmax(x) * gc.log(x)), x)
    assert g.shape == (None, None)


def test_same_tensor_in_both_arguments_of_a_kinked_op():
    # maximum(x, x) is x: the tie gives the whole gradient to the first argument
    x = gc.placeholder((2,), "float64")
    v = np.array([1.0, -2.0])
    for op in (gc.maximum, gc.minimum):
        np.testing.assert_array_equal(gc.grad(op(x, x), x).eval({x: v}), [1.0, 1.0])
    np.testing.assert_array_equal(gc.grad(gc.clip(x, x, x), x).eval({x: v}), [1.0, 1.0])
    np.testing.assert_array_equal(gc.grad(gc.where(x > x, x, 2.0 * x), x).eval({x: v}), [2.0, 2.0])


def test_nan_value_in_untaken_branch_needs_a_safe_input():
    # documented limit of strong zeros: sqrt(x) * log(x) is NaN at x < 0 and the
    # product's gradient multiplies by it; the safe-input idiom gives exact zeros
    x = gc.placeholder((3,), "float64")
    safe = gc.where(x > 0, x, 1.0)
    y = gc.reduce_sum(gc.where(x > 0, gc.sqrt(safe) * gc.log(safe), 0.0))
    g = gc.grad(y, x).eval({x: X_EDGE})
    np.testing.assert_allclose(g, [0.0, 0.0, np.log(4.0) / 4.0 + 1.0 / 2.0])
