"""Numerically stable rewrites, and that they make extreme logits safe.

References are written in float64 numpy with an explicit log-sum-exp.
"""
from __future__ import annotations

import numpy as np
import pytest

import graphc as gc
from graphc.graph import Graph
from graphc.passes import PASSES
from tests.passes.pass_helpers import op_names, run_pass, same_values

LOGITS = np.array([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 3.0], [0.5, -0.25, 1.0]], np.float32)
LABELS = np.array([0, 2, 1], np.int32)


def _log_softmax(z):
    z = np.asarray(z, np.float64)
    m = z.max(-1, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(-1, keepdims=True))


def _softmax(z):
    return np.exp(_log_softmax(z))


def test_log_of_softmax_becomes_log_softmax():
    x = gc.placeholder((None, 3), "float32", name="x")
    y = gc.log(gc.softmax(x))
    g = run_pass("stable", [y], [x])
    assert op_names(g) == ["log_softmax"]
    f0, f2 = gc.function([x], y, optimize=0), gc.function([x], y, optimize=2)
    assert not np.all(np.isfinite(f0(LOGITS)))  # the written form underflows to log(0)
    np.testing.assert_allclose(f2(LOGITS), _log_softmax(LOGITS), rtol=1e-6)
    small = np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32)
    same_values([x], [y], [small])


def test_cross_entropy_of_softmax_becomes_fused():
    x = gc.placeholder((None, 3), "float32", name="x")
    p = gc.placeholder((None, 3), "float32", name="p")
    loss = -gc.reduce_sum(p * gc.log(gc.softmax(x)), -1)
    g = run_pass("stable", [loss], [x, p])
    assert "softmax_cross_entropy" in op_names(g)
    assert not {"softmax", "log", "log_softmax", "reduce_sum"} & set(op_names(g))
    probs = np.array([[0.2, 0.3, 0.5]] * 3, np.float32)
    expected = -(probs * _log_softmax(LOGITS)).sum(-1)
    assert not np.all(np.isfinite(gc.function([x, p], loss, optimize=0)(LOGITS, probs)))
    np.testing.assert_allclose(gc.function([x, p], loss)(LOGITS, probs), expected, rtol=1e-6)


def test_keepdims_cross_entropy_keeps_its_shape():
    x = gc.placeholder((2, 3), "float64", name="x")
    p = gc.placeholder((2, 3), "float64", name="p")
    loss = gc.reduce_sum(p * gc.log_softmax(x), -1, keepdims=True)
    g = run_pass("stable", [loss], [x, p])
    assert "softmax_cross_entropy" in op_names(g)
    assert g.outputs[0].shape == (2, 1)
    rng = np.random.default_rng(1)
    same_values([x, p], [loss], [rng.normal(size=(2, 3)), rng.uniform(size=(2, 3))])


def test_one_hot_labels_give_the_sparse_form():
    x = gc.placeholder((None, 3), "float32", name="x")
    y = gc.placeholder((None,), "int32", name="y")
    loss = gc.reduce_mean(-gc.reduce_sum(gc.one_hot(y, 3) * gc.log(gc.softmax(x)), -1))
    g = run_pass("stable", [loss], [x, y])
    assert "sparse_softmax_cross_entropy" in op_names(g)
    assert "one_hot" not in op_names(g)


def test_cross_entropy_over_another_axis_is_left_alone():
    x = gc.placeholder((3, 3), "float32", name="x")
    p = gc.placeholder((3, 3), "float32", name="p")
    loss = gc.reduce_sum(p * gc.log_softmax(x, axis=-1), 0)  # sums over examples, not classes
    g = run_pass("stable", [loss], [x, p])
    assert "softmax_cross_entropy" not in op_names(g)
    rng = np.random.default_rng(2)
    same_values([x, p], [loss], [rng.normal(size=(3, 3)).astype(np.float32),
                                 rng.uniform(size=(3, 3)).astype(np.float32)])


@pytest.mark.parametrize("sparse", [True, False])
def test_extreme_logits_loss_and_gradient(sparse):
    x = gc.placeholder((None, 3), "float32", name="logits")
    if sparse:
        lab = gc.placeholder((None,), "int32", name="labels")
        onehot, feed = gc.one_hot(lab, 3), LABELS
        target = np.eye(3)[LABELS]
    else:
        lab = gc.placeholder((None, 3), "float32", name="labels")
        onehot, feed = lab, np.eye(3, dtype=np.float32)[LABELS] * 0.8 + 0.2 / 3
        target = feed.astype(np.float64)
    loss = gc.reduce_mean(-gc.reduce_sum(onehot * gc.log(gc.softmax(x)), -1))
    dloss = gc.grad(loss, x)
    expected_loss = -(target * _log_softmax(LOGITS)).sum(-1).mean()
    expected_grad = (_softmax(LOGITS) * target.sum(-1, keepdims=True) - target) / len(LOGITS)

    naive = gc.function([x, lab], loss, optimize=0)(LOGITS, feed)
    assert not np.isfinite(naive)  # log(softmax) of +-1000 is log(0) = -inf

    value, grad = gc.function([x, lab], [loss, dloss], optimize=2)(LOGITS, feed)
    assert value.dtype == grad.dtype == np.float32
    assert np.isfinite(value) and np.all(np.isfinite(grad))
    np.testing.assert_allclose(value, expected_loss, rtol=1e-6)
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-5, atol=1e-7)
    # gradients are built from the stable forms (autodiff stabilizes first),
    # so even unoptimized the gradient is finite and right
    grad0 = gc.function([x, lab], dloss, optimize=0)(LOGITS, feed)
    np.testing.assert_allclose(grad0, expected_grad, rtol=1e-5, atol=1e-7)


def test_log_sigmoid_becomes_minus_softplus():
    x = gc.placeholder((None,), "float64", name="x")
    y = gc.log(gc.sigmoid(x))
    g = run_pass("stable", [y], [x])
    (node,) = [n for n in g.nodes() if n is not x]
    assert "softplus" in str(node.op.expr) and "sigmoid" not in str(node.op.expr)
    xs = np.array([-1000.0, -40.0, -1.0, 0.0, 2.0, 1000.0])
    exact = -np.logaddexp(0.0, -xs)
    assert not np.all(np.isfinite(gc.function([x], y, optimize=0)(xs)))
    np.testing.assert_allclose(gc.function([x], y, optimize=2)(xs), exact, rtol=1e-13)
    dy = gc.grad(gc.reduce_sum(y), x)
    grad = gc.function([x], dy, optimize=2)(xs)
    np.testing.assert_allclose(grad, np.exp(-np.logaddexp(0.0, xs)), rtol=1e-12, atol=1e-300)  # 1/(1+e^x)


def test_log_one_minus_sigmoid_and_log_one_plus_exp():
    x = gc.placeholder((None,), "float64", name="x")
    a = gc.log(1.0 - gc.sigmoid(x))
    b = gc.log(1.0 + gc.exp(x))
    xs = np.array([-800.0, -3.0, 0.0, 3.0, 800.0])
    fa, fb = gc.function([x], [a, b], optimize=0)(xs)
    assert not (np.all(np.isfinite(fa)) and np.all(np.isfinite(fb)))
    ga, gb = gc.function([x], [a, b], optimize=2)(xs)
    np.testing.assert_allclose(ga, -np.logaddexp(0, xs), rtol=1e-13)
    np.testing.assert_allclose(gb, np.logaddexp(0, xs), rtol=1e-13)
    # the gradient is built from the stable form too: -sigmoid(x), and sigmoid(x)
    da, db = gc.function([x], [gc.grad(gc.reduce_sum(a), x), gc.grad(gc.reduce_sum(b), x)], optimize=2)(xs)
    sig = np.exp(-np.logaddexp(0.0, -xs))
    np.testing.assert_allclose(da, -sig, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(db, sig, rtol=1e-12, atol=1e-300)


def test_stable_pass_leaves_sources_frozen():
    from graphc.passes.stable import stabilize
    x = gc.placeholder((None, 3), "float32", name="x")
    lsm = gc.log(gc.softmax(x))
    g = stabilize(Graph([x], [lsm * 2.0]), frozen={id(lsm)})
    assert g.outputs[0].inputs[0] is lsm


def test_level_two_runs_the_stable_pass():
    assert "stable" in [r for r in __import__("graphc.passes", fromlist=["LEVELS"]).LEVELS[2]]
    assert PASSES["stable"].__name__ == "stabilize"
