"""Common-subexpression elimination: equal subgraphs merge; identities stay."""
from __future__ import annotations

import numpy as np

import graphc as gc
from graphc.ops.stochastic import random_uniform_like
from tests.passes.pass_helpers import op_names, run_pass, same_values


def test_equal_subgraphs_merge_bottom_up():
    x = gc.placeholder((None, 3), "float32", name="x")
    w = gc.Variable(np.ones((3, 3), np.float32), name="w")
    a = gc.reduce_sum(gc.exp(x @ w) + x, 1)
    b = gc.reduce_sum(gc.exp(x @ w) + x, 1)  # built twice, node by node
    g = run_pass("cse", [a, b], [x])
    assert g.outputs[0] is g.outputs[1]
    assert op_names(g).count("matmul") == 1
    assert op_names(g).count("exp") == 1
    assert len(g.nodes()) == 6  # x, w, matmul, exp, add, reduce_sum
    xs = np.random.default_rng(1).normal(size=(4, 3)).astype(np.float32)
    same_values([x], [a, b], [xs], passes={"fusion": False})


def test_different_attributes_do_not_merge():
    x = gc.placeholder((2, 3), "float32", name="x")
    g = run_pass("cse", [gc.reduce_sum(x, 0), gc.reduce_sum(x, 1), gc.reduce_max(x, 0),
                         gc.transpose(x), gc.reshape(x, (3, 2)), gc.reshape(x, (6,))], [x])
    assert len({id(o) for o in g.outputs}) == 6


def test_operand_order_matters_for_non_commutative_ops():
    x = gc.placeholder((3,), "float32", name="x")
    y = gc.placeholder((3,), "float32", name="y")
    g = run_pass("cse", [x - y, y - x, x - y], [x, y])
    assert g.outputs[0] is g.outputs[2]
    assert g.outputs[0] is not g.outputs[1]


def test_placeholders_with_equal_types_never_merge():
    a = gc.placeholder((3,), "float32", name="p")
    b = gc.placeholder((3,), "float32", name="p")
    g = run_pass("cse", [gc.exp(a), gc.exp(b)], [a, b])
    assert g.outputs[0] is not g.outputs[1]
    assert g.outputs[0].inputs[0] is a and g.outputs[1].inputs[0] is b
    f = gc.function([a, b], [gc.exp(a), gc.exp(b)])
    ra, rb = f(np.zeros(3, np.float32), np.ones(3, np.float32))
    np.testing.assert_allclose(ra, 1.0)
    np.testing.assert_allclose(rb, np.e, rtol=1e-6)


def test_variables_with_equal_values_never_merge():
    v = gc.Variable(np.zeros(3, np.float32), name="v")
    u = gc.Variable(np.zeros(3, np.float32), name="v")
    g = run_pass("cse", [v + 1.0, u + 1.0])
    assert g.outputs[0] is not g.outputs[1]
    f = gc.function([], [v + 1.0, u + 1.0], updates=[(v, v + 1.0)])
    f()
    rv, ru = f()  # v was incremented once, u never: merging would show equal values
    np.testing.assert_allclose(rv, 2.0)
    np.testing.assert_allclose(ru, 1.0)


def test_stateful_ops_never_merge():
    x = gc.placeholder((1000,), "float32", name="x")
    r1 = random_uniform_like(x, seed=0)
    r2 = random_uniform_like(x, seed=0)  # same description, independent draws
    g = run_pass("cse", [r1, r2], [x])
    assert g.outputs[0] is not g.outputs[1]
    f = gc.function([x], [r1 - r2])
    assert np.any(f(np.zeros(1000, np.float32)) != 0)


def test_equal_small_constants_merge_large_ones_keep_identity():
    c1 = gc.constant(np.arange(4.0, dtype=np.float32))
    c2 = gc.constant(np.arange(4.0, dtype=np.float32))
    c3 = gc.constant(np.arange(4.0, dtype=np.float64))  # same bytes shape, other dtype
    x = gc.placeholder((4,), "float32", name="x")
    g = run_pass("cse", [x * c1, x * c2], [x])
    assert g.outputs[0] is g.outputs[1]
    g = run_pass("cse", [gc.cast(x, "float64") * c3, gc.cast(x, "float64") * c3], [x])
    assert g.outputs[0] is g.outputs[1]
    big1 = gc.constant(np.zeros(1000, np.float32))
    big2 = gc.constant(np.zeros(1000, np.float32))
    g = run_pass("cse", [big1 + 1.0, big2 + 1.0])
    assert g.outputs[0] is not g.outputs[1]


def test_cse_of_gradients_shares_the_forward_pass():
    x = gc.placeholder((None, 4), "float64", name="x")
    y = gc.reduce_sum(gc.tanh(x) * gc.tanh(x))
    dy = gc.grad(y, x)
    g = run_pass("cse", [y, dy], [x])
    assert op_names(g).count("tanh") == 1
    xs = np.random.default_rng(2).normal(size=(3, 4))
    ref = gc.function([x], dy, optimize=0)(xs)
    np.testing.assert_allclose(ref, 2 * np.tanh(xs) * (1 - np.tanh(xs) ** 2), rtol=1e-12)
    same_values([x], [y, dy], [xs], levels=(0, 1, 2))
