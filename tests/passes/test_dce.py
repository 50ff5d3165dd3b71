"""Dead-code elimination: unreachable nodes and do-nothing updates vanish."""
from __future__ import annotations

import numpy as np

import graphc as gc
from graphc.graph import Graph
from graphc.passes import PASSES
from tests.passes.pass_helpers import op_names


def test_self_updates_are_dropped():
    v = gc.Variable(np.ones(3, np.float32), name="v")
    u = gc.Variable(np.ones(3, np.float32), name="u")
    g = PASSES["dce"](Graph([], [v * 2.0], [(v, v), (u, u + 1.0)]))
    assert [var for var, _ in g.updates] == [u]
    f = gc.function([], v * 2.0, updates=[(v, v), (u, u + 1.0)], optimize=2)
    assert [var for var, _ in f.graph.updates] == [u]
    f()
    np.testing.assert_allclose(v.numpy(), 1.0)
    np.testing.assert_allclose(u.numpy(), 2.0)


def test_unreachable_nodes_are_not_in_the_graph():
    x = gc.placeholder((3,), "float32", name="x")
    unused = gc.exp(gc.log(x) * 3.0)  # built but not an output
    y = gc.sin(x)
    g = PASSES["dce"](Graph([x], [y]))
    assert op_names(g) == ["sin"]
    assert all(n is not unused for n in g.nodes())


def test_inputs_stay_even_when_unused():
    x = gc.placeholder((3,), "float32", name="x")
    z = gc.placeholder((3,), "float32", name="z")
    f = gc.function([x, z], gc.sin(x), optimize=2)
    assert f.graph.inputs == [x, z]
    np.testing.assert_allclose(f(np.zeros(3), np.ones(3)), 0.0)


def test_updates_keep_their_order_and_values():
    a = gc.Variable(np.float32(1.0), name="a")
    b = gc.Variable(np.float32(2.0), name="b")
    f = gc.function([], [], updates=[(a, b), (b, a)], optimize=2)  # a swap
    f()
    assert (float(a.numpy()), float(b.numpy())) == (2.0, 1.0)
