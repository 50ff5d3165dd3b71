"""Higher-order derivatives (grad of grad), jacobian and hessian, deep chains.

References are independent of graphc: SymPy's exact derivatives evaluated to
30 digits, closed forms, and a forward-mode recurrence written in numpy.
"""
from __future__ import annotations

import sys

import numpy as np
import pytest
import sympy as sp

import graphc as gc
from tests.autodiff_gradcheck import compile_plain, numeric_grad

S = sp.Symbol("s", real=True)
RNG = np.random.default_rng(7)

# name -> (graphc builder, SymPy expression, evaluation points)
SCALAR_FUNCTIONS = {
    "tanh": (gc.tanh, sp.tanh(S), [-1.3, -0.2, 0.4, 1.1, 2.2]),
    "sigmoid": (gc.sigmoid, 1 / (1 + sp.exp(-S)), [-2.0, -0.5, 0.3, 1.0, 3.0]),
    "sin_exp": (lambda t: gc.sin(t) * gc.exp(-t ** 2), sp.sin(S) * sp.exp(-S ** 2), [-1.5, -0.3, 0.2, 0.8, 1.9]),
    "x_log_x": (lambda t: t * gc.log(t), S * sp.log(S), [0.2, 0.7, 1.0, 1.9, 4.0]),
}


@pytest.fixture(scope="module")
def nth_derivatives():
    """For each function: graphc's d^n f / dx^n for n = 1..6 as compiled Functions."""
    out = {}
    for name, (build, _, points) in SCALAR_FUNCTIONS.items():
        x = gc.placeholder((len(points),), "float64", name="x")
        d = build(x)
        ders = []
        for _ in range(6):
            d = gc.grad(d, x)  # non-scalar d: grad of its sum = elementwise derivative
            ders.append(gc.function([x], d))
        out[name] = ders
    return out


@pytest.mark.parametrize("n", range(1, 7))
@pytest.mark.parametrize("name", list(SCALAR_FUNCTIONS))
def test_nth_derivative_matches_sympy(nth_derivatives, name, n):
    _, expr, points = SCALAR_FUNCTIONS[name]
    exact_expr = sp.diff(expr, S, n)
    exact = np.array([float(exact_expr.subs(S, p).evalf(30)) for p in points])
    got = nth_derivatives[name][n - 1](np.array(points))
    assert got.dtype == np.float64
    # float64 evaluation of a formula with a few dozen terms: ~1e-14 relative is typical
    np.testing.assert_allclose(got, exact, rtol=1e-8, atol=1e-10 * np.max(np.abs(exact)))


def test_second_derivative_of_scalar_placeholder():
    x = gc.placeholder((), "float64")
    d2 = gc.grad(gc.grad(x ** 4 + gc.exp(2.0 * x), x), x)
    for v in (-0.5, 0.0, 1.3):
        np.testing.assert_allclose(d2.eval({x: v}), 12 * v ** 2 + 4 * np.exp(2 * v))


def test_mixed_second_partials_are_symmetric():
    x = gc.placeholder((), "float64")
    y = gc.placeholder((), "float64")
    f = gc.sin(x * y) + x ** 3 * y
    dxy = gc.grad(gc.grad(f, x), y)
    dyx = gc.grad(gc.grad(f, y), x)
    vx, vy = 0.7, -1.2
    exact = np.cos(vx * vy) - vx * vy * np.sin(vx * vy) + 3 * vx ** 2
    fn = gc.function([x, y], [dxy, dyx])
    a, b = fn(vx, vy)
    np.testing.assert_allclose([a, b], [exact, exact])


# ---------------------------------------------------------------- hessians

def test_hessian_of_quadratic_form_is_a_plus_a_transpose():
    A = RNG.normal(size=(4, 4))  # not symmetric
    x = gc.placeholder((4,), "float64")
    a = gc.constant(A, dtype="float64")
    y = x @ (a @ x)
    H = gc.hessian(y, x)
    assert H.shape == (4, 4)
    for v in (RNG.normal(size=4), np.zeros(4)):
        np.testing.assert_allclose(H.eval({x: v}), A + A.T, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(gc.grad(y, x).eval({x: np.ones(4)}), (A + A.T) @ np.ones(4))


def test_hessian_of_logsumexp_of_a_matrix():
    X = RNG.normal(size=(2, 3))
    x = gc.placeholder((2, 3), "float64")
    y = gc.log(gc.reduce_sum(gc.exp(x)))
    H = gc.hessian(y, x)
    assert H.shape == (2, 3, 2, 3)
    p = np.exp(X.ravel()) / np.exp(X.ravel()).sum()
    expected = (np.diag(p) - np.outer(p, p)).reshape(2, 3, 2, 3)
    np.testing.assert_allclose(H.eval({x: X}), expected, rtol=1e-10, atol=1e-12)


def test_hessian_of_squared_matmul():
    # f(X) = sum((X B)^2): d2f / dX_ij dX_kl = 2 delta_ik (B B^T)_jl
    B = RNG.normal(size=(3, 2))
    x = gc.placeholder((2, 3), "float64")
    y = gc.reduce_sum((x @ gc.constant(B, dtype="float64")) ** 2)
    H = gc.hessian(y, x).eval({x: RNG.normal(size=(2, 3))})
    expected = 2 * np.einsum("ik,jl->ijkl", np.eye(2), B @ B.T)
    np.testing.assert_allclose(H, expected, rtol=1e-12, atol=1e-12)


def test_hessian_matches_finite_differences_of_gradient():
    X = RNG.uniform(0.5, 1.5, size=(2, 2))
    x = gc.placeholder((2, 2), "float64")
    y = gc.reduce_sum(gc.tanh(x @ x) * gc.log(x)) + gc.reduce_max(gc.softmax(x) * x)
    H = gc.hessian(y, x).eval({x: X})
    g = gc.function([x], gc.grad(y, x))
    numeric = np.zeros((2, 2, 2, 2))
    for i in range(2):
        for j in range(2):
            numeric[i, j] = numeric_grad(lambda a: g(a)[i, j], [X])[0]
    np.testing.assert_allclose(H, numeric, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(H, H.transpose(2, 3, 0, 1), rtol=1e-10, atol=1e-10)


# --------------------------------------------------------------- jacobians

def test_jacobian_of_softmax_closed_form():
    v = RNG.normal(size=5)
    x = gc.placeholder((5,), "float64")
    J = gc.jacobian(gc.softmax(x), x).eval({x: v})
    s = np.exp(v - v.max())
    s /= s.sum()
    np.testing.assert_allclose(J, np.diag(s) - np.outer(s, s), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("y_shape", [(), (3,), (2, 2)], ids=str)
@pytest.mark.parametrize("x_shape", [(), (4,), (2, 3), (2, 1, 2)], ids=str)
def test_jacobian_shape_and_values(y_shape, x_shape):
    n = int(np.prod(x_shape)) if x_shape else 1
    m = int(np.prod(y_shape)) if y_shape else 1
    M = RNG.normal(size=(m, n))
    xv = RNG.normal(size=x_shape)
    x = gc.placeholder(x_shape, "float64")
    flat = gc.reshape(x, (n,))
    y = gc.reshape(gc.tanh(gc.constant(M, dtype="float64") @ flat), y_shape)
    J = gc.jacobian(y, x)
    assert J.shape == y_shape + x_shape
    t = np.tanh(M @ np.reshape(xv, n))
    expected = ((1 - t ** 2)[:, None] * M).reshape(y_shape + x_shape)
    got = J.eval({x: xv})
    assert got.shape == y_shape + x_shape
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-14)


def test_jacobian_of_unrelated_tensor_is_zero_and_needs_static_shapes():
    x = gc.placeholder((3,), "float64")
    c = gc.constant(np.ones(2), dtype="float64")
    J = gc.jacobian(c * 2.0, x)
    assert J.shape == (2, 3)
    np.testing.assert_array_equal(J.eval({x: np.ones(3)}), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="static"):
        gc.jacobian(gc.placeholder((None, 2), "float64") * 2.0, x)


def test_jacobian_of_gradient_is_the_hessian():
    x = gc.placeholder((3,), "float64")
    y = gc.reduce_sum(gc.sin(x) * x[0])
    v = np.array([0.3, -0.8, 1.4])
    H = gc.jacobian(gc.grad(y, x), x).eval({x: v})
    expected = np.diag(-np.sin(v) * v[0])
    expected[0, :] += np.cos(v)
    expected[:, 0] += np.cos(v)
    np.testing.assert_allclose(H, expected, rtol=1e-12, atol=1e-14)


# ------------------------------------------------------------- deep chains

def _chain(x, n_ops):
    """n_ops elementwise ops, three per step: y <- y + 0.001 * sin(y)."""
    y = x
    for _ in range(n_ops // 3):
        y = y + gc.sin(y) * 0.001
    return y


def _chain_reference(v, steps):
    """Value, first and second derivative of the chain by forward recurrences."""
    y, d1, d2 = v.copy(), np.ones_like(v), np.zeros_like(v)
    for _ in range(steps):
        # f(y) = y + 0.001 sin y: f' = 1 + 0.001 cos y, f'' = -0.001 sin y
        f1, f2 = 1 + 0.001 * np.cos(y), -0.001 * np.sin(y)
        d2 = f2 * d1 ** 2 + f1 * d2
        d1 = f1 * d1
        y = y + 0.001 * np.sin(y)
    return y, d1, d2


def test_chain_of_ten_thousand_ops_differentiates_without_recursion():
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)  # a recursive walk over 10 000 nodes would fail
    try:
        x = gc.placeholder((3,), "float64")
        y = _chain(x, 10_000)
        assert len(gc.Graph(outputs=[y]).nodes()) > 10_000
        g = gc.grad(y, x)
        value, dy = compile_plain([x], [y, g])(np.array([0.1, 1.0, 2.5]))
    finally:
        sys.setrecursionlimit(limit)
    ref_y, ref_d1, _ = _chain_reference(np.array([0.1, 1.0, 2.5]), 10_000 // 3)
    np.testing.assert_allclose(value, ref_y, rtol=1e-10)
    np.testing.assert_allclose(dy, ref_d1, rtol=1e-9)


def test_chain_differentiates_twice():
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)
    try:
        x = gc.placeholder((3,), "float64")
        y = _chain(x, 900)
        d2 = gc.grad(gc.grad(y, x), x)
        got = compile_plain([x], d2)(np.array([0.1, 1.0, 2.5]))
    finally:
        sys.setrecursionlimit(limit)
    _, _, ref_d2 = _chain_reference(np.array([0.1, 1.0, 2.5]), 300)
    np.testing.assert_allclose(got, ref_d2, rtol=1e-8)
