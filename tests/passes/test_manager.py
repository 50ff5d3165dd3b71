"""The pass manager: levels, switching passes off, statistics, kept graphs."""
from __future__ import annotations

import numpy as np
import pytest

import graphc as gc
from graphc.graph import Graph
from graphc.passes import LEVELS, PASSES, PassStats, graph_size, optimize
from tests.passes.pass_helpers import op_names, same_values


def _model():
    x = gc.placeholder((None, 4), "float32", name="x")
    w = gc.Variable(np.linspace(-1, 1, 12, dtype=np.float32).reshape(4, 3), name="w")
    h = gc.tanh(x @ w) * 1.0 + 0.0
    y = gc.reduce_sum(gc.exp(h) * 2.0 + gc.exp(h) * 2.0, 1)
    return x, w, y


def test_levels_are_known_pass_sequences():
    assert LEVELS[0] == []
    for level, names in LEVELS.items():
        assert set(names) <= set(PASSES), level
    assert set(LEVELS[1]) < set(LEVELS[2])
    assert {"fusion", "stable"} <= set(LEVELS[2]) - set(LEVELS[1])


@pytest.mark.parametrize("level", [0, 1, 2])
def test_stats_record_each_pass_of_the_level(level):
    x, _, y = _model()
    f = gc.function([x], y, optimize=level)
    assert [r.name for r in f.stats] == LEVELS[level]
    assert len(f.stats) == len(LEVELS[level])
    # counts chain: each pass starts from what the previous one left
    size = graph_size(f.written_graph)
    for r in f.stats:
        assert (r.nodes_before, r.ops_before) == size
        size = (r.nodes_after, r.ops_after)
        assert r.seconds >= 0
    assert size == graph_size(f.graph)
    assert f.stats.seconds == pytest.approx(sum(r.seconds for r in f.stats))
    if level == 0:
        assert f.graph is f.written_graph or op_names(f.graph) == op_names(f.written_graph)
    else:
        assert graph_size(f.graph)[0] < graph_size(f.written_graph)[0]


def test_levels_compute_the_same_values():
    x, _, y = _model()
    xs = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)
    same_values([x], [y], [xs], levels=(0, 1, 2))


def test_stats_print_as_a_table():
    x, _, y = _model()
    text = str(gc.function([x], y, optimize=2).stats)
    lines = text.splitlines()
    assert lines[0].split() == ["pass", "nodes", "ops", "ms"]
    assert [line.split()[0] for line in lines[1:-1]] == LEVELS[2]
    assert lines[-1].split()[0] == "total"
    assert "->" in lines[1]


def test_switching_a_pass_off_by_name():
    x, _, y = _model()
    f = gc.function([x], y, optimize=2, passes={"fusion": False})
    assert "fusion" not in [r.name for r in f.stats]
    assert [r.name for r in f.stats] == [n for n in LEVELS[2] if n != "fusion"]
    g = gc.function([x], y, optimize=2)
    # tanh, exp and the arithmetic stay separate nodes without fusion
    assert {"tanh", "exp"} <= set(op_names(f.graph))
    assert not {"tanh", "exp"} & set(op_names(g.graph))
    assert len(g.graph.nodes()) < len(f.graph.nodes())
    # switched on explicitly is the same as the default
    h = gc.function([x], y, optimize=2, passes={"fusion": True, "cse": True})
    assert [r.name for r in h.stats] == LEVELS[2]


def test_unknown_pass_name_lists_the_known_ones():
    x, _, y = _model()
    with pytest.raises(ValueError) as info:
        gc.function([x], y, passes={"fuson": False})
    message = str(info.value)
    assert "fuson" in message
    for name in PASSES:
        assert name in message


def test_unknown_level():
    x, _, y = _model()
    with pytest.raises(ValueError, match="optimize"):
        gc.function([x], y, optimize=3)


def test_keep_graphs_keeps_the_graph_after_each_pass():
    x, _, y = _model()
    f = gc.function([x], y, optimize=2, keep_graphs=True)
    for r in f.stats:
        assert isinstance(r.graph, Graph)
        assert graph_size(r.graph) == (r.nodes_after, r.ops_after)
    assert f.stats.records[-1].graph.outputs[0] is f.graph.outputs[0]
    xs = np.ones((2, 4), np.float32)
    # every intermediate graph computes what the written one does
    ref = gc.function([x], y, optimize=0)(xs)
    for r in f.stats:
        mid = gc.function([x], r.graph.outputs[0], optimize=0)(xs)
        np.testing.assert_allclose(mid, ref, rtol=1e-5, err_msg=r.name)
    g = gc.function([x], y, optimize=2)
    assert all(r.graph is None for r in g.stats)


def test_optimize_function_directly():
    x, w, y = _model()
    graph = Graph([x], [y], [(w, w * 0.5)])
    new, stats = optimize(graph, level=1)
    assert isinstance(stats, PassStats)
    assert [r.name for r in stats] == LEVELS[1]
    assert len(new.updates) == 1 and new.updates[0][0] is w
    assert graph.outputs[0] is y  # the input graph is not changed


def test_graph_size_counts_ops_inside_fused_expressions():
    x = gc.placeholder((3,), "float64")
    y = gc.exp(gc.sin(x) * gc.cos(x) + 1.0)
    written = Graph([x], [y])
    fused, _ = optimize(written, 2)
    nodes, ops = graph_size(fused)
    assert nodes == 2  # placeholder + one fused node
    assert ops >= 4  # sin, cos, *, +, exp: still counted inside the expression
    assert graph_size(written) == (len(written.nodes()), 5)
