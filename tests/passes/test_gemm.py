"""The gemm pass: beta * c + alpha * (a @ b) as one BLAS product, in place into a variable."""
import numpy as np
import pytest

import graphc as gc
from graphc.lower import blas
from graphc.ops.linalg import Gemm, gemm
from graphc.passes import gemm as gemm_pass
from tests.passes.pass_helpers import op_names, same_values

RNG = np.random.default_rng(11)
N = 300  # a 300 x 300 product is above the pass's size threshold


@pytest.fixture
def with_blas(monkeypatch):
    """The pass as on a machine with BLAS (the kernel itself falls back to numpy if there is none)."""
    monkeypatch.setattr(gemm_pass.blas, "available", lambda dtype: np.dtype(dtype).kind == "f")


def sgd_step(lr=0.1, decay=0.0, n=N, dtype="float64"):
    x = gc.placeholder((None, n), dtype, name="x")
    dh = gc.placeholder((None, n), dtype, name="dh")
    w = gc.Variable(RNG.standard_normal((n, n)).astype(dtype), name="w")
    gradient = gc.matmul(gc.transpose(x), dh)
    new_w = w - lr * (gradient + decay * w if decay else gradient)
    return x, dh, w, new_w


def _gemms(graph):
    return [n for n in graph.nodes() if isinstance(n.op, Gemm)]


def test_an_sgd_update_becomes_one_gemm_into_the_variable(with_blas):
    x, dh, w, new_w = sgd_step(lr=0.1)
    f = gc.function([x, dh], [], updates=[(w, new_w)])
    (node,) = _gemms(f.graph)
    assert (node.op.alpha, node.op.beta) == (-0.1, 1.0) and node.inputs[2] is w
    if blas.available("float64"):
        assert "out=w)" in f.source and "matmul" not in f.source
    start = w.numpy()
    xs, dhs = [RNG.standard_normal((b, N)) for b in (8, 3)], [RNG.standard_normal((b, N)) for b in (8, 3)]
    expected = start
    for xv, dv in zip(xs, dhs):
        f(xv, dv)
        expected = expected - 0.1 * (xv.T @ dv)
        np.testing.assert_allclose(w.numpy(), expected, rtol=1e-11, atol=1e-11)


def test_weight_decay_folds_into_beta_with_fast_math(with_blas):
    # w - 0.1 * (g + 0.5 * w) -> 0.95 * w - 0.1 * g collects w's terms: inf - inf = NaN at
    # w = inf becomes inf, so only with fast_math
    x, dh, w, new_w = sgd_step(lr=0.1, decay=0.5)
    (node,) = _gemms(gc.function([x, dh], new_w, fast_math=True).graph)
    assert node.op.alpha == pytest.approx(-0.1) and node.op.beta == pytest.approx(0.95)
    xv, dv = RNG.standard_normal((4, N)), RNG.standard_normal((4, N))
    ref = same_values([x, dh], [new_w], [xv, dv], fast_math=True)
    np.testing.assert_allclose(ref[0], 0.95 * w.numpy() - 0.1 * (xv.T @ dv), rtol=1e-11, atol=1e-11)
    # exactly: 0.1 is not distributed over g + 0.5 * w (it would cancel differently), so only
    # that sum is a gemm, and w = inf gives the NaN (inf - inf) of the graph as written
    (exact_node,) = _gemms((exact := gc.function([x, dh], new_w)).graph)
    assert (exact_node.op.alpha, exact_node.op.beta) == (1.0, 0.5)
    same_values([x, dh], [new_w], [xv, dv])
    saved = w.numpy()
    w.assign(np.full(w.shape, np.inf))
    assert np.isnan(exact(xv, dv)).all() and np.isnan(gc.function([x, dh], new_w, optimize=0)(xv, dv)).all()
    w.assign(saved)


def test_a_scaled_product_without_c(with_blas):
    a, b = gc.placeholder((N, N), "float32", name="a"), gc.placeholder((N, N), "float32", name="b")
    y = -2.0 * gc.matmul(a, b)
    f = gc.function([a, b], y)
    (node,) = _gemms(f.graph)
    assert len(node.inputs) == 2 and node.op.alpha == -2.0
    av, bv = RNG.standard_normal((N, N)).astype(np.float32), RNG.standard_normal((N, N)).astype(np.float32)
    for _ in range(2):  # the first call allocates, the second reuses its arrays
        np.testing.assert_allclose(f(av, bv), -2.0 * (av.astype(np.float64) @ bv), rtol=1e-4, atol=1e-3)


def test_what_the_pass_leaves_alone(with_blas):
    x, dh, w, _ = sgd_step()
    product = gc.matmul(gc.transpose(x), dh)
    small_a, small_b = gc.placeholder((10, 10), "float64", name="a"), gc.placeholder((10, 10), "float64", name="b")
    cases = {
        "nonlinear in the product": w - 0.1 * gc.square(product),
        "the product used twice": (w - 0.1 * product) * gc.reduce_sum(product),
        "a small product": 3.0 * gc.matmul(small_a, small_b) + small_a,
        "a coefficient that is not a scalar": w - w * product,
    }
    for what, y in cases.items():
        assert not _gemms(gc.function([x, dh, small_a, small_b], y).graph), what


def test_without_blas_the_pass_does_nothing_and_matmul_scaling_takes_over(monkeypatch):
    monkeypatch.setattr(gemm_pass.blas, "available", lambda dtype: False)
    x, dh, w, new_w = sgd_step(lr=0.1)
    f = gc.function([x, dh], [], updates=[(w, new_w)])
    assert not _gemms(f.graph) and "gemm" not in f.source
    assert any(n.name.endswith("_scaled") for n in f.graph.nodes())
    start, xv, dv = w.numpy(), RNG.standard_normal((5, N)), RNG.standard_normal((5, N))
    f(xv, dv)
    np.testing.assert_allclose(w.numpy(), start - 0.1 * (xv.T @ dv), rtol=1e-11, atol=1e-11)


def test_an_update_whose_product_reads_the_variable_is_not_written_in_place(with_blas):
    w = gc.Variable(RNG.standard_normal((N, N)) * 0.01, name="w")
    x = gc.placeholder((N, N), "float64", name="x")
    f = gc.function([x], [], updates=[(w, w - 0.5 * gc.matmul(w, x))])
    assert _gemms(f.graph)
    start, xv = w.numpy(), RNG.standard_normal((N, N))
    f(xv)
    np.testing.assert_allclose(w.numpy(), start - 0.5 * (start @ xv), rtol=1e-11, atol=1e-11)


def test_gemm_has_gradients():
    shapes = {"a": (3, 4), "b": (4, 2), "c": (2,), "s": ()}
    a, b, c, s = (gc.placeholder(shape, "float64", name=n) for n, shape in shapes.items())
    y = gc.reduce_sum(gc.sin(gemm(a, b, c, alpha=-1.5, beta=0.5, scale=s)))
    f = gc.function([a, b, c, s], [y] + gc.grad(y, [a, b, c, s]), optimize=0)
    feeds = [RNG.standard_normal(shape) for shape in shapes.values()]
    _, *analytic = f(*feeds)
    for k, feed in enumerate(feeds):
        numeric = np.zeros_like(feed)
        for idx in np.ndindex(feed.shape):
            up = [v.copy() for v in feeds]
            down = [v.copy() for v in feeds]
            up[k][idx] += 1e-6
            down[k][idx] -= 1e-6
            numeric[idx] = (f(*up)[0] - f(*down)[0]) / 2e-6
        np.testing.assert_allclose(analytic[k], numeric, rtol=1e-6, atol=1e-8)


def test_gemm_checks_its_operands():
    a, v = gc.placeholder((3, 4), name="a"), gc.placeholder((4,), name="v")
    with pytest.raises(ValueError, match="gemm takes matrices"):
        gemm(a, v)
    with pytest.raises(ValueError, match=r"'c'.*\(3,\).*\(3, 2\)"):
        gemm(a, gc.placeholder((4, 2), name="b"), gc.placeholder((3,), name="c"))


def test_the_pass_is_part_of_level_2(with_blas):
    x, dh, w, new_w = sgd_step()
    f = gc.function([x, dh], [], updates=[(w, new_w)], passes={"gemm": False})
    assert not _gemms(f.graph)
    assert "gemm" in op_names(gc.function([x, dh], [], updates=[(w, new_w)]).graph)


def test_the_exported_module_writes_gemm_in_numpy(with_blas, tmp_path):
    import runpy
    x, dh, w, new_w = sgd_step(lr=0.1)
    f = gc.function([x, dh], gc.reduce_sum(new_w), updates=[(w, new_w)])
    assert _gemms(f.graph)
    path = tmp_path / "step.py"
    f.export(path)
    text = path.read_text()
    assert "gemm(" not in text and "-0.1 * (" in text
    module = runpy.run_path(str(path))
    xv, dv = RNG.standard_normal((4, N)), RNG.standard_normal((4, N))
    start = w.numpy()
    (total,) = module[f.program.name](xv, dv)
    np.testing.assert_allclose(total, np.sum(start - 0.1 * (xv.T @ dv)), rtol=1e-10)


@pytest.mark.parametrize("blas_on, fast_math", [(True, False), (False, False), (False, True)])
def test_a_learning_rate_in_a_variable(monkeypatch, blas_on, fast_math):
    # Keras keeps the learning rate in a variable: the gemm then takes it as a
    # run-time scale (BLAS scales the product, as lr * (a @ b) does). Without
    # BLAS, matmul_scaling scales the smaller operand by it only with fast_math:
    # a @ (lr * b) is NaN where lr = inf and a holds a 0, lr * (a @ b) is not.
    monkeypatch.setattr(gemm_pass.blas, "available", lambda dtype: blas_on)
    x = gc.placeholder((None, N), "float64", name="x")
    dh = gc.placeholder((None, N), "float64", name="dh")
    w = gc.Variable(RNG.standard_normal((N, N)), name="w")
    lr = gc.Variable(0.25, dtype="float64", name="lr")
    f = gc.function([x, dh], [], updates=[(w, w - lr * gc.matmul(gc.transpose(x), dh))], fast_math=fast_math)
    gemms = _gemms(f.graph)
    if blas_on:
        (node,) = gemms
        assert node.op.scaled and node.op.alpha == 1.0 and node.inputs[2] is w
    else:
        assert not gemms and any(n.name.endswith("_scaled") for n in f.graph.nodes()) == fast_math
    start = w.numpy()
    xv, dv = RNG.standard_normal((6, N)), RNG.standard_normal((6, N))
    f(xv, dv)
    np.testing.assert_allclose(w.numpy(), start - 0.25 * (xv.T @ dv), rtol=1e-11, atol=1e-11)
    lr.assign(0.5)  # read at every call, not baked in
    f(xv, dv)
    np.testing.assert_allclose(w.numpy(), start - 0.75 * (xv.T @ dv), rtol=1e-11, atol=1e-11)


def test_scaling_an_operand_by_a_tensor_keeps_the_infinities(monkeypatch):
    monkeypatch.setattr(gemm_pass.blas, "available", lambda dtype: False)
    a, b = gc.placeholder((2, 3), "float64", name="a"), gc.placeholder((3, 40), "float64", name="b")
    lr = gc.placeholder((), "float64", name="lr")
    y = 1.0 + lr * gc.matmul(a, b)
    av, bv = np.array([[0.0, 1.0, 2.0], [1.0, 1.0, 1.0]]), RNG.standard_normal((3, 40))
    want = 1.0 + np.inf * (av @ bv)  # +-inf: no NaN
    for level in (0, 1, 2):
        np.testing.assert_array_equal(gc.function([a, b, lr], y, optimize=level)(av, bv, np.inf), want)
    fast = gc.function([a, b, lr], y, fast_math=True)
    assert any(n.name.endswith("_scaled") for n in fast.graph.nodes())
    assert np.isnan(fast(av, bv, np.inf)).any()  # a @ (inf * b): 0 * inf
