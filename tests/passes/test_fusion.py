"""Elementwise fusion, and the n-th derivatives of tanh that it collapses."""
from __future__ import annotations


import numpy as np
import pytest
import sympy as sp

import graphc as gc
from graphc.passes import graph_size
from tests.passes.pass_helpers import op_names, run_pass, same_values

RNG = np.random.default_rng(5)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_chain_becomes_one_node(dtype):
    x = gc.placeholder((None, 3), dtype, name="x")
    y = gc.tanh(gc.exp(-x * x) * 2.0 + gc.sin(x)) - 0.5
    assert len(op_names(gc.function([x], y, optimize=0).graph)) >= 6
    g = gc.function([x], y, optimize=2).graph  # fusion after simplify wrote the constants in
    (node,) = [n for n in g.nodes() if not n.op.is_leaf]
    assert node.op.name == "elementwise" and node.inputs == (x,)
    assert node.dtype == np.dtype(dtype) and node.shape == (None, 3)
    for n in (1, 5):
        xs = RNG.normal(size=(n, 3)).astype(dtype)
        ref = same_values([x], [y], [xs])
        np.testing.assert_allclose(ref[0], np.tanh(np.exp(-xs * xs) * 2 + np.sin(xs)) - 0.5,
                                   rtol=1e-5 if dtype == "float32" else 1e-13)


def test_broadcast_inputs_fuse_with_the_right_shape():
    x = gc.placeholder((None, 1, 4), "float32", name="x")
    b = gc.placeholder((3, 1), "float32", name="b")
    y = gc.exp(x) * b + gc.square(b)
    g = run_pass("fusion", [y], [x, b])
    (node,) = [n for n in g.nodes() if not n.op.is_leaf]
    assert node.shape == (None, 3, 4)
    same_values([x, b], [y], [RNG.normal(size=(2, 1, 4)).astype(np.float32),
                              RNG.normal(size=(3, 1)).astype(np.float32)])


def test_outputs_stay_materialized():
    x = gc.placeholder((4,), "float64", name="x")
    a = gc.exp(x)
    b = gc.sin(a) + 1.0
    g = gc.function([x], [a, b], optimize=2).graph
    assert g.outputs[0].op.name == "exp"  # a is an output: its own array...
    assert g.outputs[1].inputs == (g.outputs[0],)  # ...which b reads, not recomputes
    same_values([x], [a, b], [RNG.normal(size=4)])


def test_values_used_by_non_elementwise_ops_stay_materialized():
    x = gc.placeholder((3, 3), "float64", name="x")
    h = gc.tanh(x) * 2.0
    y = gc.exp(h @ h) + h
    g = run_pass("fusion", [y], [x])
    mm = next(n for n in g.nodes() if n.op.name == "matmul")
    assert mm.inputs[0] is mm.inputs[1]
    assert mm.inputs[0].op.name == "elementwise"
    assert sum(1 for n in g.nodes() if n.op.name == "elementwise") == 2
    same_values([x], [y], [RNG.normal(size=(3, 3))])


def test_expensive_shared_value_is_computed_once():
    x = gc.placeholder((5,), "float64", name="x")
    e = gc.exp(gc.sin(x))
    y1 = gc.reduce_sum(e * 2.0)
    y2 = gc.reduce_sum(e + 3.0)
    g = run_pass("fusion", [y1, y2], [x])
    exps = [n for n in g.nodes() if "exp" in str(getattr(n.op, "expr", ""))]
    assert len(exps) == 1  # not inlined into both users
    same_values([x], [y1, y2], [RNG.normal(size=5)])


def test_dtype_is_preserved_through_mixed_regions():
    x = gc.placeholder((None,), "int32", name="x")
    f = gc.cast(x, "float32")
    y = gc.where(x > 2, f * 0.5, -f)
    g = run_pass("fusion", [y], [x])
    assert g.outputs[0].dtype == np.float32
    same_values([x], [y], [np.arange(-3, 6, dtype=np.int32)])
    b = gc.placeholder((None,), "float32", name="b")
    c = gc.exp(b) > 1.5  # bool output of a fused region
    g = run_pass("fusion", [c], [b])
    assert g.outputs[0].dtype == np.bool_
    same_values([b], [c], [RNG.normal(size=7).astype(np.float32)])


def test_fusion_handles_many_inputs():
    xs = [gc.placeholder((2,), "float64", name=f"x{i}") for i in range(80)]  # > MAX_ARGS
    total = xs[0]
    for x in xs[1:]:
        total = total + gc.exp(x) * 0.5
    f2 = gc.function(xs, total, optimize=2)
    assert all(len(n.inputs) <= 64 for n in f2.graph.nodes())
    vals = [RNG.normal(size=2) for _ in xs]
    np.testing.assert_allclose(f2(*vals), vals[0] + 0.5 * sum(np.exp(v) for v in vals[1:]), rtol=1e-12)


# ---------------------------------------------------------- n-th derivatives

S = sp.Symbol("s", real=True)
POINTS = np.array([-2.1, -0.7, -0.05, 0.0, 0.3, 1.2, 2.6])


def _tanh_derivatives(n_max):
    x = gc.placeholder((None,), "float64", name="x")
    ders, d = [], gc.tanh(x)
    for _ in range(n_max):
        d = gc.grad(d, x)  # grad of the sum = the elementwise derivative
        ders.append(d)
    return x, ders


def test_nth_derivative_of_tanh_stays_small_and_exact():
    # (its compile time is measured by tools/derivative_report.py, not here)
    x, ders = _tanh_derivatives(8)
    sizes, written = [], []
    for n, d in enumerate(ders, start=1):
        f = gc.function([x], d, optimize=2)
        sizes.append(graph_size(f.graph))
        written.append(graph_size(f.written_graph))
        exact = sp.lambdify(S, sp.diff(sp.tanh(S), S, n), "mpmath")
        expected = np.array([float(exact(p)) for p in POINTS])
        np.testing.assert_allclose(f(POINTS), expected, rtol=1e-10,
                                   atol=1e-12 * np.abs(expected).max(), err_msg=f"n={n}")
        # also against the unoptimized graph
        np.testing.assert_allclose(gc.function([x], d, optimize=0)(POINTS), expected, rtol=1e-9,
                                   atol=1e-12 * np.abs(expected).max(), err_msg=f"n={n} level 0")
    nodes8, ops8 = sizes[-1]
    assert nodes8 + ops8 <= 40, sizes
    # polynomial growth at level 2: the size grows by a bounded step per order
    # (the written graphs grow geometrically)
    totals = [a + b for a, b in sizes]
    steps = np.diff(totals)
    assert steps.max() <= 4, totals
    assert written[-1][0] > 20 * sizes[-1][0]


def test_nth_derivative_float32_on_many_points():
    x32 = gc.placeholder((None,), "float32", name="x")
    d = gc.tanh(x32)
    for _ in range(4):
        d = gc.grad(d, x32)
    pts = np.linspace(-3, 3, 1001).astype(np.float32)
    f2, f0 = gc.function([x32], d, optimize=2), gc.function([x32], d, optimize=0)
    assert f2(pts).dtype == np.float32
    s4 = sp.lambdify(S, sp.diff(sp.tanh(S), S, 4), "numpy")(pts.astype(np.float64))
    np.testing.assert_allclose(f2(pts), s4, atol=2e-4)
    np.testing.assert_allclose(f2(pts), f0(pts), atol=2e-4)
