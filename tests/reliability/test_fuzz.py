"""Property-based fuzzing of whole pipelines against tests/reference.py.

Random graphs over every op (broadcasting, size-0 and size-1 axes, a None
dimension fed at several sizes) are compiled at optimize=0, 1 and 2 and
compared with the reference interpreter; their gradients (gc.grad of a
scalar reduction) with central finite differences in float64. A bounded
number of examples here; ``python tools/fuzz.py --minutes N`` runs the
same generators for longer.
"""
import importlib
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import graphc as gc
from tests.reference import Reference
from tests.reliability import graphgen

FUZZ = settings(max_examples=15, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # mean of empty slices, in the reference
        yield


@FUZZ
@given(st.data(), st.sampled_from(["float32", "float64"]))
def test_random_graphs_match_the_reference_at_every_level(data, dtype):
    case = graphgen.build(graphgen.HypothesisChooser(data), dtype)
    assert graphgen.check_forward(case, sizes=(0, 1, 3)) == 9


@FUZZ
@given(st.data())
def test_gradients_of_random_graphs_match_finite_differences(data):
    case = graphgen.build(graphgen.HypothesisChooser(data), "float64", for_grad=True)
    graphgen.check_forward(case, sizes=(0, 2))
    graphgen.check_gradients(case, sizes=(1, 2))


EDGE_FUZZ = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                     suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@EDGE_FUZZ
@given(st.data(), st.sampled_from(["float32", "float64"]))
def test_at_edge_values_every_level_gives_the_nans_and_infinities_of_the_reference(data, dtype):
    """0, -0.0, +-inf, NaN and negatives fed to unguarded graphs that hold x / x,
    exp(log(x)), x * 0.0, comparisons with NaN, ...: levels 1 and 2 agree with
    level 0 and the reference in NaN, infinities and (closely) finite values."""
    case = graphgen.build(graphgen.HypothesisChooser(data), dtype, edges=True)
    assert graphgen.check_forward(case, sizes=(1, 3)) == 6


def test_the_edge_value_check_catches_inexact_rewrites():
    """With fast_math (x - x -> 0, exp(log x) -> x allowed) the same check fails on these seeds."""
    caught = 0
    for seed in (1, 6, 15, 24, 32):
        case = graphgen.build(graphgen.RandomChooser(seed), "float64" if seed % 2 else "float32", edges=True)
        graphgen.check_forward(case, sizes=(0, 1, 3))
        try:
            graphgen.check_forward(case, sizes=(0, 1, 3), levels=(1, 2), fast_math=True)
        except graphgen.Mismatch:
            caught += 1
    assert caught >= 3


def test_the_fuzzer_reaches_every_op():
    """The generators are not vacuous: over a fixed set of seeds they build every op kind."""
    seen = set()
    for seed in range(150):
        case = graphgen.build(graphgen.RandomChooser(seed), "float64", for_grad=seed % 2 == 0)
        from graphc.graph import topological_order
        for node in topological_order(case.built + case.outputs):
            seen.add(node.op.name)
    wanted = {"add", "subtract", "multiply", "divide", "power", "negative", "square", "sqrt", "rsqrt",
              "reciprocal", "exp", "log", "abs", "sign", "sin", "cos", "tanh", "sigmoid", "softplus", "relu",
              "maximum", "minimum", "clip", "where", "less", "less_equal", "greater", "greater_equal",
              "equal", "not_equal", "matmul", "transpose", "reshape", "concat", "expand_dims", "squeeze",
              "getitem", "reduce_sum", "reduce_mean", "reduce_max", "reduce_min", "softmax", "log_softmax",
              "one_hot", "argmax", "cast", "stop_gradient", "full_like", "softmax_cross_entropy",
              "sparse_softmax_cross_entropy", "placeholder", "constant", "variable"}
    assert wanted <= seen, f"never generated: {sorted(wanted - seen)}"


def test_the_checks_catch_a_wrong_result(monkeypatch):
    """A deliberately broken op (tanh emitted as sin) is caught by the forward check."""
    x = gc.placeholder((None, 3), dtype="float64", name="x")
    y = gc.tanh(x)
    case = graphgen.Case(np.dtype("float64"), [x], [y], ["t0 = gc.placeholder((None, 3), dtype='float64')",
                                                           "t1 = gc.tanh(t0)"], 7,
                         leaves={id(x): graphgen.Leaf(x, (graphgen.B, 3))})
    case.names = {id(x): "t0", id(y): "t1"}
    assert graphgen.check_forward(case) == 9  # correct as it is
    elementwise = importlib.import_module("graphc.ops.elementwise")
    emit = elementwise.Elementwise.emit
    monkeypatch.setattr(elementwise.Elementwise, "emit",
                        lambda self, *a: [line.replace("np.tanh", "np.sin") for line in emit(self, *a)])
    with pytest.raises(graphgen.Mismatch, match="values differ"):
        graphgen.check_forward(case, levels=(0,))


def test_the_gradient_check_catches_a_wrong_derivative(monkeypatch):
    elementwise = importlib.import_module("graphc.ops.elementwise")
    x = gc.placeholder((2, 3), dtype="float64", name="x")
    loss = gc.reduce_sum(gc.tanh(x) * 0.5)
    case = graphgen.Case(np.dtype("float64"), [x], [loss], [], 3, leaves={id(x): graphgen.Leaf(x, (2, 3))})
    case.names = {id(x): "t0", id(loss): "t1"}
    case.loss = loss
    assert graphgen.check_gradients(case, sizes=(1,)) == 3
    monkeypatch.setitem(elementwise.OUTPUT_GRADIENTS, elementwise.TABLE["tanh"],
                        elementwise.ARGS[1] * (1 - elementwise.ARGS[0]))
    with pytest.raises(graphgen.Mismatch, match="finite differences"):
        graphgen.check_gradients(case, sizes=(1,))


def test_reference_is_independent_of_the_code_generator():
    """Spot values the reference must give, computed by hand."""
    x = gc.placeholder((2,), dtype="float64", name="x")
    outs = [gc.sigmoid(x), gc.softplus(x), gc.relu(x), gc.log_softmax(x), gc.reduce_max(x),
            gc.clip(x, -0.5, 0.5), gc.where(x > 0, x, -x)]
    v = np.array([-1.0, 2.0])
    got = Reference().evaluate(outs, {x: v})
    want = [1 / (1 + np.exp(-v)), np.log(1 + np.exp(v)), np.array([0.0, 2.0]),
            v - np.log(np.exp(v).sum()), 2.0, np.array([-0.5, 0.5]), np.abs(v)]
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-14)
