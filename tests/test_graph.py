"""The static graph: tensors, name scopes, traversal, Graph, to_networkx."""
import numpy as np
import pytest

import graphc as gc
from graphc.graph import Graph, consumers, topological_order


def test_tensors_carry_their_static_type():
    x = gc.placeholder((None, 3), dtype="float64", name="x")
    y = gc.reduce_sum(x * 2.0, axis=1, keepdims=True)
    assert (y.shape, y.dtype, y.ndim) == ((None, 1), np.float64, 2)
    assert y.op.name == "reduce_sum" and y.inputs[0].op.name == "multiply"
    assert "reduce_sum" in repr(y) and "(None, 1)" in repr(y)


def test_tensors_are_immutable():
    x = gc.placeholder((2,), name="x")
    y = x + 1.0
    for attr, value in [("shape", (3,)), ("dtype", np.float64), ("name", "z"), ("op", None)]:
        with pytest.raises(AttributeError):
            setattr(y, attr, value)
    with pytest.raises(TypeError, match="gc.Variable"):
        y[0] = 1.0
    assert y.shape == (2,) and y.name == "add"


def test_truth_value_and_len():
    x = gc.placeholder((None, 3), name="x")
    with pytest.raises(TypeError, match="where"):
        bool(x > 0)
    with pytest.raises(TypeError, match="len"):
        len(x)
    c = gc.constant([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    assert len(c) == 3
    rows = list(c)
    assert len(rows) == 3 and rows[2].shape == (2,)
    np.testing.assert_array_equal(rows[2].numpy(), [5.0, 6.0])


def test_names_and_nested_scopes():
    with gc.name_scope("model"):
        with gc.name_scope("dense"):
            w = gc.Variable(np.zeros((2, 2), np.float32), name="kernel")
            y = gc.matmul(w, w, name="mm")
        z = y + 1.0
    after = z * 2.0
    assert w.name == "model/dense/kernel" and w.scope == "model/dense"
    assert y.name == "model/dense/mm"
    assert z.name == "model/add" and z.scope == "model"
    assert after.name == "multiply" and after.scope == ""
    with pytest.raises(ValueError):
        with gc.name_scope(""):
            pass


def test_scope_is_restored_after_an_exception():
    with pytest.raises(RuntimeError):
        with gc.name_scope("broken"):
            raise RuntimeError
    assert gc.constant(1.0, name="c").name == "c"


def test_an_absolute_scope_inside_a_name_scope_leaves_it_whole():
    from graphc.graph import absolute_scope, current_scope
    with gc.name_scope("layer"):
        with absolute_scope("gradients/other"):
            assert current_scope() == "gradients/other"
        assert current_scope() == "layer"
    assert current_scope() == ""
    v = gc.Variable(np.zeros(2, np.float32), name="v")
    with gc.name_scope("layer"):
        v.assign_add(gc.ones((2,)))  # eager: computes pending values, which builds under absolute scopes
    assert gc.constant(1.0, name="c").name == "c"


def test_topological_order_puts_inputs_first_and_visits_each_node_once():
    x = gc.placeholder((2,), name="x")
    a = gc.exp(x)
    b = a * a + a  # a is shared
    c = gc.log(b) - a
    order = topological_order([c, b])
    assert len(order) == len({id(n) for n in order})
    position = {id(n): i for i, n in enumerate(order)}
    for node in order:
        for inp in node.inputs:
            assert position[id(inp)] < position[id(node)]
    assert order[-1] is c
    assert {id(x), id(a), id(b), id(c)} <= set(position)
    users = consumers(order)
    assert {u.op.name for u in users[id(a)]} >= {"multiply", "subtract"}
    assert topological_order([c]) == topological_order([c])  # deterministic


def test_deep_chains_need_no_recursion():
    x = gc.placeholder((1,), name="x")
    y = x
    for _ in range(20000):
        y = y + 1.0
    order = topological_order([y])
    assert len(order) == 20000 + 1 + 20000  # the adds, x, and one constant each
    assert order[-1] is y


def test_graph_lists_nodes_and_prints_one_line_per_node():
    x = gc.placeholder((None, 3), name="x")
    v = gc.Variable(np.zeros(3, np.float32), name="v")
    y = gc.reduce_sum(x + v, axis=0, name="total")
    g = Graph([x], [y], [(v, y)])
    assert len(g) == len(g.nodes()) == 4  # x, v, add, total
    text = str(g)
    assert text.count("\n") == 4 + 1 + 1 - 1  # nodes, return, one update
    assert "reduce_sum" in text and "total" in text and "(None, 3)" in text
    assert text.splitlines()[-1].startswith("update")


def _layer():
    x = gc.placeholder((None, 3), dtype="float32", name="x")
    with gc.name_scope("layer"):
        w = gc.Variable(np.ones((3, 2), np.float32), name="w")
        h = gc.relu(x @ w, name="h")
    return x, w, h


def _check_leaves(g):
    for _, data in g.nodes(data=True):
        for key in ("op", "shape", "dtype", "name", "scope"):
            assert key in data
    by_name = {data["name"]: data for _, data in g.nodes(data=True)}
    assert by_name["x"]["op"] == "placeholder" and by_name["x"]["shape"] == (None, 3)
    assert by_name["x"]["dtype"] == "float32" and by_name["x"]["scope"] == ""
    assert by_name["layer/w"]["op"] == "variable" and by_name["layer/w"]["scope"] == "layer"
    assert by_name["layer/w"]["shape"] == (3, 2)
    import networkx as nx
    assert nx.is_directed_acyclic_graph(g)
    return by_name


def test_to_networkx_has_node_and_edge_attributes():
    x, w, h = _layer()
    g = gc.to_networkx([h])
    by_name = _check_leaves(g)
    assert by_name["layer/h"]["op"] == "relu" and by_name["layer/h"]["shape"] == (None, 2)
    assert by_name["layer/matmul"]["scope"] == "layer"
    ids = {data["name"]: i for i, data in g.nodes(data=True)}
    assert g.has_edge(ids["x"], ids["layer/matmul"]) and g.has_edge(ids["layer/w"], ids["layer/matmul"])
    assert g.has_edge(ids["layer/matmul"], ids["layer/h"])
    assert g.number_of_nodes() == 4 and g.number_of_edges() == 3


def test_function_graph_to_networkx():
    x, w, h = _layer()
    f = gc.function([x], h, updates=[(w, w * 0.5)])
    g = f.graph.to_networkx()
    _check_leaves(g)
    outputs = [data for _, data in g.nodes(data=True) if data.get("output")]
    assert len(outputs) == 1 and outputs[0]["shape"] == (None, 2) and outputs[0]["dtype"] == "float32"


def test_to_dot_names_every_node():
    x = gc.placeholder((None, 3), name="inputs")
    y = gc.tanh(x, name="activation")
    dot = gc.to_dot([y])
    assert dot.lstrip().startswith("digraph") and dot.rstrip().endswith("}")
    assert "inputs" in dot and "activation" in dot and "tanh" in dot


BIG = 2 ** 40  # BIG * BIG elements: more than numpy can index (2**63 - 1)


@pytest.mark.parametrize("build, words", [
    (lambda: gc.placeholder((BIG, BIG), name="big"), ["placeholder 'big'", f"({BIG}, {BIG})"]),
    (lambda: gc.zeros((BIG, BIG)), ["zeros", f"{BIG * BIG} elements"]),
    (lambda: gc.ones((BIG, BIG), name="ones_big"), ["ones_big"]),
    (lambda: gc.random.normal((BIG, BIG)), ["random_normal"]),
    (lambda: gc.placeholder((BIG, 1), name="a") + gc.placeholder((1, BIG), name="b"),
     ["add", f"'a' has shape ({BIG}, 1)", f"'b' has shape (1, {BIG})"]),
    (lambda: gc.placeholder((None, BIG, 1), name="a") * gc.placeholder((BIG,), name="b"), ["multiply"]),
    (lambda: gc.matmul(gc.placeholder((BIG, 3), name="a"), gc.placeholder((3, BIG), name="b")), ["matmul"]),
    (lambda: gc.concat([gc.placeholder((2 ** 62,), name="a")] * 2, 0), ["concat", f"({2 ** 63},)"]),
    (lambda: gc.reshape(gc.placeholder((None, BIG), name="a"), (-1, BIG, BIG)), ["reshape", f"(None, {BIG}, {BIG})"]),
    (lambda: gc.reshape(gc.placeholder((2 ** 20, 2 ** 20), name="a"), (BIG, BIG)), [f"{BIG * BIG} elements"]),
    (lambda: gc.one_hot(gc.placeholder((BIG,), "int32", name="labels"), BIG), ["one_hot", "'labels'"]),
])
def test_a_static_shape_numpy_cannot_index_is_a_clear_error(build, words):
    with pytest.raises(ValueError) as info:
        build()
    message = str(info.value)
    for w in words:
        assert w in message, message


def test_large_static_shapes_numpy_can_index_still_build():
    x = gc.placeholder((2 ** 31, 2 ** 31), "int8", name="x")
    assert gc.reshape(x, -1).shape == (2 ** 62,)
    with pytest.raises(ValueError, match="cannot reshape"):
        gc.reshape(x, (0,))
