"""Constant folding: constant subgraphs become constants of the same dtype;
Variables, placeholders and stateful ops are never folded."""
from __future__ import annotations

import numpy as np
import pytest

import graphc as gc
from graphc.ops.leaves import ConstantOp
from graphc.ops.stochastic import random_uniform_like
from tests.passes.pass_helpers import op_names, run_pass


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32"])
def test_constant_subgraph_folds_with_its_dtype(dtype):
    a = gc.constant(np.arange(6).reshape(2, 3), dtype=dtype)
    b = gc.constant(np.array([1, 2, 3]), dtype=dtype)
    c = gc.transpose(a * b + b) @ gc.constant(np.ones((2, 2)), dtype=dtype)
    x = gc.placeholder((3, 2), dtype, name="x")
    g = run_pass("constant_folding", [x + c], [x])
    out = g.outputs[0]
    folded = out.inputs[1]
    assert isinstance(folded.op, ConstantOp)
    assert folded.dtype == np.dtype(dtype) and folded.op.value.dtype == np.dtype(dtype)
    an, bn = np.arange(6).reshape(2, 3).astype(dtype), np.array([1, 2, 3], dtype)
    expected = (an * bn + bn).T @ np.ones((2, 2), dtype)
    np.testing.assert_array_equal(folded.op.value, expected)
    assert op_names(g) == ["add"]


def test_folded_float32_matches_float32_arithmetic():
    # folding must compute in float32, as the running graph would, not float64
    a = gc.constant(np.float32(0.1))
    c = a * 3.0 + gc.constant(np.float32(1e-8))
    g = run_pass("constant_folding", [c])
    value = g.outputs[0].op.value
    assert value.dtype == np.float32
    assert value == np.float32(0.1) * np.float32(3.0) + np.float32(1e-8)


def test_constant_output_folds():
    c = gc.exp(gc.constant([0.0, 1.0]))
    f = gc.function([], c, optimize=2)
    assert op_names(f.graph) == []
    np.testing.assert_allclose(f(), np.exp([0.0, 1.0]), rtol=1e-6)
    assert f().dtype == np.float32


def test_variables_are_never_folded():
    v = gc.Variable(np.array([1.0, 2.0], np.float32), name="v")
    y = gc.exp(v) * 2.0 + gc.constant([1.0, 1.0])
    g = run_pass("constant_folding", [y])
    assert any(n is v for n in g.nodes())
    assert "exp" in op_names(g)
    f = gc.function([], y, optimize=2)
    np.testing.assert_allclose(f(), np.exp([1.0, 2.0]) * 2 + 1, rtol=1e-6)
    v.assign(np.array([0.0, -1.0], np.float32))  # after compiling
    np.testing.assert_allclose(f(), np.exp([0.0, -1.0]) * 2 + 1, rtol=1e-6)


def test_variable_changed_by_an_update_is_seen_next_call():
    v = gc.Variable(np.float32(1.0), name="v")
    f = gc.function([], v * gc.constant(2.0) * gc.constant(3.0), updates=[(v, v + 1.0)], optimize=2)
    assert [float(f()) for _ in range(3)] == [6.0, 12.0, 18.0]


def test_fill_of_a_static_shape_folds_without_its_input():
    x = gc.placeholder((2, 3), "float32", name="x")
    g = run_pass("constant_folding", [gc.ones_like(x) * 2.0], [x])
    (out,) = g.outputs
    assert isinstance(out.op, ConstantOp)
    np.testing.assert_array_equal(out.op.value, np.full((2, 3), 2.0, np.float32))
    assert out.op.value.dtype == np.float32


def test_fill_of_a_dynamic_shape_is_kept():
    x = gc.placeholder((None, 3), "float32", name="x")
    g = run_pass("constant_folding", [gc.ones_like(x) * 2.0], [x])
    assert "full_like" in op_names(g)
    f = gc.function([x], gc.ones_like(x) * 2.0)
    assert f(np.zeros((4, 3))).shape == (4, 3)


def test_large_results_are_not_folded():
    from graphc.passes.constant_folding import MAX_ELEMENTS
    c = gc.constant(np.float32(1.5))
    big = gc.broadcast_like(c, gc.zeros((MAX_ELEMENTS + 1,)))
    g = run_pass("constant_folding", [big * 2.0])
    assert not isinstance(g.outputs[0].op, ConstantOp)
    small = gc.broadcast_like(c, gc.zeros((16,)))
    g = run_pass("constant_folding", [small * 2.0])
    assert isinstance(g.outputs[0].op, ConstantOp)
    np.testing.assert_array_equal(g.outputs[0].op.value, np.full(16, 3.0, np.float32))


def test_stateful_ops_are_not_folded():
    r = random_uniform_like(gc.zeros((50,)), seed=3)
    f = gc.function([], r * 1.0, optimize=2)
    assert "random_uniform" in op_names(f.graph)
    assert not np.array_equal(f(), f())  # a fresh draw each call
