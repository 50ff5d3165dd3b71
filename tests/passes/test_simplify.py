"""Algebraic simplification: each rule of the table, and that values hold."""
from __future__ import annotations

import numpy as np
import pytest

import graphc as gc
from graphc.ops.array import broadcast_like
from graphc.passes.simplify import RULES
from tests.passes.pass_helpers import op_names, run_pass, same_values

RNG = np.random.default_rng(3)


def _x(shape=(3, 4), dtype="float64"):
    return gc.placeholder(shape, dtype, name="x")


def _values(shape, dtype="float64", positive=False):
    v = RNG.normal(size=[4 if d is None else d for d in shape])
    return (np.abs(v) + 0.5 if positive else v).astype(dtype)


IDENTITIES = {
    "x*1": lambda x: x * 1.0,
    "1*x": lambda x: 1.0 * x,
    "x/1": lambda x: x / 1.0,
    "--x": lambda x: -(-x),
    "(x*2)/2": lambda x: (x * 2.0) / 2.0,
    "1/(1/x)": lambda x: gc.reciprocal(gc.reciprocal(x)),
    "transpose of transpose": lambda x: gc.transpose(gc.transpose(x)),
    "reshape and back": lambda x: gc.reshape(gc.reshape(x, (-1,)), (3, 4)),
    "stop_gradient": gc.stop_gradient,
}

# Identities of real numbers that floats break (or that SymPy cannot tell from one),
# with a point where the float value differs from x: only with fast_math.
FAST_MATH_IDENTITIES = {
    "x+0": (lambda x: x + 0.0, -0.0),           # -0.0 + 0 is +0.0
    "x-0": (lambda x: x - 0.0, -0.0),           # exact, but SymPy writes it x + 0
    "exp(log x)": (lambda x: gc.exp(gc.log(x)), -1.0),  # nan
    "log(exp x)": (lambda x: gc.log(gc.exp(x)), 800.0),  # log(inf) = inf
    "sqrt(x)**2": (lambda x: gc.sqrt(x) ** 2, -4.0),     # nan
    "square(sqrt x)": (lambda x: gc.square(gc.sqrt(x)), -4.0),
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", list(IDENTITIES))
def test_identity_disappears(name, dtype):
    x = _x(dtype=dtype)
    y = IDENTITIES[name](x)
    assert op_names(run_pass("simplify", [x], [x])) == []
    assert op_names(gc.function([x], y, optimize=0).graph) != []
    g = run_pass("simplify", [y], [x])
    assert g.outputs[0] is x, op_names(g)
    xs = _values((3, 4), dtype, positive=True)
    same_values([x], [y], [xs], levels=(1, 2))


@pytest.mark.parametrize("name", list(FAST_MATH_IDENTITIES))
def test_inexact_identity_disappears_only_with_fast_math(name):
    build, point = FAST_MATH_IDENTITIES[name]
    x = _x((3,))
    y = build(x)
    assert run_pass("simplify", [y], [x], fast_math=True).outputs[0] is x
    assert run_pass("simplify", [y], [x]).outputs[0] is not x
    xs = np.array([point, 0.5, 2.0])
    with np.errstate(all="ignore"):
        want = {"x+0": xs + 0.0, "x-0": xs - 0.0, "exp(log x)": np.exp(np.log(xs)), "log(exp x)": np.log(np.exp(xs)),
                "sqrt(x)**2": np.sqrt(xs) ** 2, "square(sqrt x)": np.square(np.sqrt(xs))}[name]
    for level in (1, 2):
        got = gc.function([x], y, optimize=level)(xs)
        np.testing.assert_array_equal(got, want)
        assert np.signbit(got[0]) == np.signbit(want[0])
        fast = gc.function([x], y, optimize=level, fast_math=True)(xs)
        assert fast[0] == point or np.signbit(fast[0]) != np.signbit(want[0])  # x itself
        np.testing.assert_allclose(fast[1:], want[1:], rtol=1e-12)


def test_identity_with_unknown_dims():
    x = _x((None, 4), "float32")
    for build in (lambda t: t * 1.0, lambda t: -(-t), lambda t: gc.transpose(gc.transpose(t))):
        assert run_pass("simplify", [build(x)], [x]).outputs[0] is x


@pytest.mark.parametrize("shape", [(3, 4), (None, 4)])
def test_times_zero_and_x_minus_x_fold_only_with_fast_math(shape):
    x = _x(shape, "float32")
    xs = _values(shape, "float32")
    special = np.array([[np.inf, -np.inf, np.nan, -1.0]] * 3, np.float32)
    for y in (x * 0.0, 0.0 * x, x - x):
        g = run_pass("simplify", [y], [x], fast_math=True)
        assert "multiply" not in op_names(g) and "subtract" not in op_names(g)
        assert set(op_names(g)) <= {"full_like"}  # a fill (dynamic shape) or a constant
        ref = same_values([x], [y], [xs], levels=(1, 2), fast_math=True)
        np.testing.assert_array_equal(ref[0], np.zeros_like(xs))
        # without it the node stays: inf * 0 and inf - inf are NaN
        assert op_names(run_pass("simplify", [y], [x])) == op_names(gc.function([x], y, optimize=0).graph)
        for level in (1, 2):
            got = gc.function([x], y, optimize=level)(special)
            np.testing.assert_array_equal(np.isnan(got), [[True, True, True, False]] * 3)
            assert got[0, 3] == 0


def test_zero_that_would_change_the_shape_is_kept():
    # x (3, 1) * 0 broadcast against y (1, 4): the zero has y's share of the shape
    x = gc.placeholder((3, 1), "float32", name="x")
    y = gc.placeholder((1, 4), "float32", name="y")
    z = x * 0.0 + y * 0.0
    f2 = gc.function([x, y], z, optimize=2, fast_math=True)
    out = f2(np.ones((3, 1)), np.ones((1, 4)))
    assert out.shape == (3, 4) and out.dtype == np.float32
    np.testing.assert_array_equal(out, 0.0)


def test_repeated_input_merges():
    x = _x()
    g = run_pass("simplify", [x * x, x / x], [x])
    assert op_names(g) == ["square", "divide"]  # x / x is NaN at 0 and inf: kept
    same_values([x], [x * x, x / x], [_values((3, 4))], levels=(1, 2))
    assert op_names(run_pass("simplify", [x * x, x / x], [x], fast_math=True)) in (
        ["square"], ["square", "full_like"])


def test_reshape_chain_reads_the_innermost_input():
    x = _x((2, 3, 4))
    y = gc.reshape(gc.reshape(gc.reshape(x, (6, 4)), (24,)), (4, 6))
    g = run_pass("simplify", [y], [x])
    assert op_names(g) == ["reshape"]
    assert g.outputs[0].inputs[0] is x
    same_values([x], [y], [_values((2, 3, 4))], levels=(1, 2))


def test_expand_dims_then_reshape():
    x = _x((3, 4))
    y = gc.reshape(gc.expand_dims(x, 0), (12,))
    g = run_pass("simplify", [y], [x])
    assert op_names(g) == ["reshape"] and g.outputs[0].inputs[0] is x
    same_values([x], [y], [_values((3, 4))], levels=(1, 2))


def test_transposes_compose():
    x = _x((2, 3, 4))
    y = gc.transpose(gc.transpose(x, (1, 2, 0)), (2, 0, 1))  # inverse permutations
    assert run_pass("simplify", [y], [x]).outputs[0] is x
    z = gc.transpose(gc.transpose(x, (1, 2, 0)), (1, 0, 2))
    g = run_pass("simplify", [z], [x])
    assert op_names(g) == ["transpose"]
    same_values([x], [z], [_values((2, 3, 4))], levels=(1, 2))


def test_sum_of_a_broadcast_is_a_multiple():
    x = _x((1, 4))
    like = _x((5, 4))
    for keep in (True, False):
        y = gc.reduce_sum(broadcast_like(x, like), 0, keepdims=keep)
        g = run_pass("simplify", [y], [x, like])
        assert "reduce_sum" not in op_names(g) and "broadcast_like" not in op_names(g)
        xs, ls = _values((1, 4)), _values((5, 4))
        ref = same_values([x, like], [y], [xs, ls], levels=(1, 2))
        np.testing.assert_allclose(ref[0], 5 * xs if keep else 5 * xs[0])


def test_sum_of_a_broadcast_along_other_axes_is_kept():
    x = _x((1, 4))
    like = _x((5, 4))
    y = gc.reduce_sum(broadcast_like(x, like), 1)  # axis 1 was not broadcast
    g = run_pass("simplify", [y], [x, like])
    assert "reduce_sum" in op_names(g)
    same_values([x, like], [y], [_values((1, 4)), _values((5, 4))], levels=(1, 2))


def test_sum_of_a_broadcast_with_unknown_batch():
    x = _x((1, 4))
    like = _x((None, 4))
    y = gc.reduce_sum(broadcast_like(x, like), 0)
    assert "reduce_sum" not in op_names(run_pass("simplify", [y], [x, like]))
    for n in (1, 7):
        ref = same_values([x, like], [y], [_values((1, 4)), _values((n, 4))], levels=(1, 2))
        assert ref[0].shape == (4,)


def test_transpose_of_matmul_with_a_transposed_operand():
    a = _x((5, 3))
    b = _x((5, 4))
    y = gc.transpose(gc.matmul(gc.transpose(a), b))  # (a.T @ b).T = b.T @ a
    g = run_pass("simplify", [y], [a, b])
    assert op_names(g).count("transpose") == 1  # was 2
    mm = g.outputs[0]
    assert mm.op.name == "matmul" and mm.inputs[1] is a
    av, bv = _values((5, 3)), _values((5, 4))
    ref = same_values([a, b], [y], [av, bv], levels=(1, 2))
    np.testing.assert_allclose(ref[0], (av.T @ bv).T, rtol=1e-12)


def test_transpose_of_matmul_without_transposed_operand_is_kept():
    a, b = _x((3, 5)), _x((5, 4))
    y = gc.transpose(gc.matmul(a, b))
    g = run_pass("simplify", [y], [a, b])
    assert op_names(g) == ["matmul", "transpose"]


@pytest.mark.parametrize("op, derivative", [
    (gc.stop_gradient, lambda xs: xs * xs),   # d/dx of c * x, c = x * x held fixed: not 3 x**2
    (gc.identity, lambda xs: 3 * xs * xs),
])
def test_stop_gradient_and_identity_are_removed_after_differentiation(op, derivative):
    x = _x((3,))
    y = gc.reduce_sum(op(x * x) * x)
    dy = gc.grad(y, x)
    f = gc.function([x], [y, dy], optimize=2)
    assert op.__name__ not in op_names(f.graph)
    xs = _values((3,))
    np.testing.assert_allclose(f(xs)[1], derivative(xs), rtol=1e-12)
    np.testing.assert_allclose(gc.function([x], dy, optimize=0)(xs), derivative(xs), rtol=1e-12)


def test_every_table_entry_is_exercised():
    # The tests above cover each rule in the table; a new rule needs a test.
    names = {rule.__name__ for rules in RULES.values() for rule in rules}
    assert names == {"absorb_scalar_constants", "merge_repeated_inputs", "collapse_identity",
                     "sink_broadcast", "transpose_of_transpose", "transpose_of_matmul", "reshape_chain",
                     "broadcast_chain", "sum_of_broadcast", "forward_input", "share_log_softmax",
                     "absorb_broadcast", "argmax_of_softmax", "count_before_softmax"}


def test_broadcast_chain():
    x = _x((1, 4))
    mid, like = _x((3, 4)), _x((3, 4))
    y = broadcast_like(broadcast_like(x, mid), like)
    g = run_pass("simplify", [y], [x, mid, like])
    assert op_names(g) == ["broadcast_like"] and g.outputs[0].inputs[0] is x


def test_constants_absorbed_into_expressions():
    x = _x((3,))
    y = (x + 2.0) * 3.0 - 6.0  # = 3x, but 0 (not -0.0) at x = -0.0
    g = run_pass("simplify", [y], [x])
    # each node absorbs its own constant (no constant nodes left) ...
    assert all(n.op.name == "elementwise" for n in g.nodes() if n is not x)
    assert len(g.nodes()) == 4
    # ... and fusion then composes them, into the closed form with fast_math
    f = gc.function([x], y, optimize=2, fast_math=True)
    assert [str(n.op.expr) for n in f.graph.nodes() if n is not x] == ["3*x0"]
    xs = _values((3,))
    ref = same_values([x], [y], [xs], levels=(1, 2))
    np.testing.assert_allclose(ref[0], 3 * xs, rtol=1e-12)
    np.testing.assert_allclose(f(xs), 3 * xs, rtol=1e-12)
    # without it, as written (3 is not distributed over x + 2): -0.0 gives 0.0
    exact = gc.function([x], y, optimize=2)
    assert len(exact.graph.nodes()) == 3
    zero = exact(np.array([-0.0, 1.0, 2.0]))[0]
    assert zero == 0 and not np.signbit(zero)


def test_elementwise_of_a_broadcast_and_scalars_is_computed_before_broadcasting():
    x, like, s = _x((1, 4)), _x((None, 4)), _x(())
    y = gc.exp(broadcast_like(x, like) * s)
    g = run_pass("simplify", [y], [x, like, s])
    out = g.outputs[0]
    assert out.op.name == "broadcast_like" and out.inputs[1] is like
    assert out.inputs[0].shape == (1, 4)  # exp(x * s) on the small array
    xv, sv = _values((1, 4)), _values(())
    for n in (1, 5):
        ref = same_values([x, like, s], [y], [xv, _values((n, 4)), sv], levels=(1, 2))
        np.testing.assert_allclose(ref[0], np.broadcast_to(np.exp(xv * sv), (n, 4)), rtol=1e-12)


def test_a_broadcast_next_to_a_full_sized_input_is_kept():
    x, like, z = _x((1, 4)), _x((3, 4)), _x((3, 4))
    y = broadcast_like(x, like) * z
    g = run_pass("simplify", [y], [x, like, z])
    assert g.outputs[0].op.name == "elementwise" or g.outputs[0].op.name == "multiply"
    assert any(n.op.name == "broadcast_like" for n in g.nodes())


def _sparse_loss(batch=None, classes=5):
    labels = gc.placeholder((batch,), "int32", name="labels")
    logits = gc.placeholder((batch, classes), "float64", name="logits")
    loss = gc.reduce_mean(gc.nn.sparse_softmax_cross_entropy_with_logits(labels, logits))
    return labels, logits, loss


def _sparse_feeds(n=6, classes=5):
    return RNG.integers(0, classes, n).astype(np.int32), RNG.normal(size=(n, classes)) * 3


def test_sparse_cross_entropy_and_its_gradient_share_one_log_softmax():
    labels, logits, loss = _sparse_loss()
    dlogits = gc.grad(loss, logits)
    g = run_pass("cse", run_pass("simplify", [loss, dlogits], [labels, logits]).outputs, [labels, logits])
    names = op_names(g)
    assert names.count("log_softmax") == 1 and "softmax" not in names
    assert "sparse_nll" in names and "sparse_softmax_cross_entropy" not in names
    # the mean's gradient reaches the op as one number, not a broadcast per example
    (grad_node,) = [n for n in g.nodes() if n.op.name == "sparse_softmax_cross_entropy_grad"]
    assert grad_node.inputs[2].shape in ((), (1,))
    yv, lv = _sparse_feeds()
    ref = same_values([labels, logits], [loss, dlogits], [yv, lv], levels=(1, 2))
    p = np.exp(lv - lv.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    np.testing.assert_allclose(ref[0], -np.mean(np.log(p[np.arange(6), yv])), rtol=1e-12)
    np.testing.assert_allclose(ref[1], (p - np.eye(5)[yv]) / 6, rtol=1e-10, atol=1e-14)


def test_gradients_of_the_split_sparse_cross_entropy_are_right():
    # the optimized graph is differentiable too: sparse_nll and the
    # gradient op have gradients of their own (checked by finite differences)
    labels, logits, loss = _sparse_loss(batch=4)
    (nll_loss,) = run_pass("simplify", [loss], [labels, logits]).outputs
    yv, lv = _sparse_feeds(4)
    f = gc.function([labels, logits], [nll_loss, gc.grad(nll_loss, logits)], optimize=0)
    value, analytic = f(yv, lv)
    eps, numeric = 1e-6, np.zeros_like(lv)
    for idx in np.ndindex(lv.shape):
        up, down = lv.copy(), lv.copy()
        up[idx] += eps
        down[idx] -= eps
        numeric[idx] = (f(yv, up)[0] - f(yv, down)[0]) / (2 * eps)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("normalize", [gc.softmax, gc.log_softmax])
def test_an_accuracy_needs_no_softmax_with_fast_math(normalize):
    # argmax and the batch count read the logits themselves: the softmax is dropped
    from graphc.ops.reduce import num_elements
    logits = gc.placeholder((None, 6), "float64", name="logits")
    probs = normalize(logits, axis=-1)
    outputs = [gc.argmax(probs, axis=-1), num_elements(probs, (0,))]
    g = run_pass("simplify", outputs, [logits], fast_math=True)
    assert normalize.__name__ not in op_names(g)
    assert [n.inputs[0] for n in g.outputs] == [logits, logits]
    lv = RNG.normal(size=(5, 6))
    ref = same_values([logits], outputs, [lv], levels=(1, 2), fast_math=True)
    np.testing.assert_array_equal(ref[0], np.argmax(lv, axis=-1))
    assert ref[1] == 5
    # without it the argmax reads the softmax: a NaN makes its whole row NaN
    g = run_pass("simplify", outputs, [logits])
    assert g.outputs[0].inputs[0].op.name == normalize.__name__ and g.outputs[1].inputs[0] is logits
    lv[2, 4] = np.nan
    ref = same_values([logits], outputs, [lv], levels=(1, 2))
    assert ref[0][2] == 0 and np.argmax(lv[2]) == 4


def test_argmax_along_another_axis_keeps_the_softmax():
    logits = gc.placeholder((4, 6), "float64", name="logits")
    y = gc.argmax(gc.softmax(logits, axis=-1), axis=0)
    assert "softmax" in op_names(run_pass("simplify", [y], [logits]))
    lv = RNG.normal(size=(4, 6))
    p = np.exp(lv) / np.exp(lv).sum(-1, keepdims=True)
    np.testing.assert_array_equal(same_values([logits], [y], [lv], levels=(1, 2))[0], np.argmax(p, axis=0))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_real_number_identities_keep_the_float_values(dtype):
    """x / x, exp(log x), sqrt(x)**2, x - x, x * 0 at 0, -0.0, +-inf, NaN, negatives:
    every level gives what numpy gives for the expression as written."""
    xs = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, -1.0, -2.5, 0.5, 3.0], dtype)
    x = gc.placeholder((9,), dtype, name="x")
    forms = {"x / x": (x / x, lambda v: v / v), "exp(log x)": (gc.exp(gc.log(x)), lambda v: np.exp(np.log(v))),
             "sqrt(x)**2": (gc.sqrt(x) ** 2, lambda v: np.sqrt(v) ** 2), "x - x": (x - x, lambda v: v - v),
             "x * 0": (x * 0.0, lambda v: v * 0.0), "0 * x + 1": (0.0 * x + 1.0, lambda v: 0.0 * v + 1.0)}
    for name, (y, numpy_form) in forms.items():
        with np.errstate(all="ignore"):
            want = numpy_form(xs)
        for level in (0, 1, 2):
            got = gc.function([x], y, optimize=level)(xs)
            np.testing.assert_array_equal(got, want, err_msg=f"{name} at level {level}")
            assert np.array_equal(np.signbit(got), np.signbit(want)), (name, level)


@pytest.mark.parametrize("level", [1, 2])
def test_comparisons_and_extrema_with_a_nan_constant_compile(level):
    x = gc.placeholder((4,), "float64", name="x")
    xs = np.array([-1.0, 0.0, np.inf, np.nan])
    nan = gc.constant(np.nan, dtype="float64")
    outputs = [gc.where(x > np.nan, x, -x), gc.where(x != np.nan, x, 0.0), gc.maximum(nan, x), gc.minimum(x, nan),
               gc.grad(gc.reduce_sum(gc.maximum(nan, x)), x), gc.relu(nan) + x]
    got = gc.function([x], outputs, optimize=level)(xs)
    want = gc.function([x], outputs, optimize=0)(xs)
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)
    np.testing.assert_array_equal(got[0], -xs)  # x > nan is False
    np.testing.assert_array_equal(got[1], xs)   # x != nan is True
    assert np.isnan(got[2]).all() and np.isnan(got[5]).all()
