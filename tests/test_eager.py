"""Values of tensors outside compiled functions (graphc/eager.py): TensorFlow's eager semantics."""
from __future__ import annotations

import gc as python_gc

import numpy as np
import pytest

import graphc as gc
from graphc import eager
from graphc.graph import pending


def f32(*values):
    return np.array(values, dtype=np.float32)


@pytest.fixture
def compiles(monkeypatch):
    """The number of functions eager evaluation compiles from now on."""
    calls = []
    real = eager._Plan.compile
    monkeypatch.setattr(eager._Plan, "compile", lambda *a: calls.append(1) or real(*a))
    return calls


# ------------------------------------------------------------ fixed values

def test_a_value_is_the_one_of_the_state_it_was_built_on():
    v = gc.Variable(f32(1, 2), name="v")
    before = v * 2.0
    v.assign(f32(5, 6))
    after = v * 2.0
    np.testing.assert_array_equal(before.numpy(), [2.0, 4.0])   # built before the assignment
    np.testing.assert_array_equal(after.numpy(), [10.0, 12.0])
    np.testing.assert_array_equal(np.asarray(before), [2.0, 4.0])
    assert float(gc.reduce_sum(after)) == 22.0


def test_gradients_keep_the_weights_they_were_taken_at():
    # p = w*x + b, loss = p**2 at w = b = 1, x = 1: both gradients are 2p = 4.
    # TensorFlow: w = b = 1 - 0.5 * 4 = -1. Recomputing db after w changed
    # would give p = 0 there, so b would stay 1.
    w = gc.Variable(1.0, name="w")
    b = gc.Variable(1.0, name="b")
    with gc.GradientTape() as tape:
        loss = gc.square(w * 1.0 + b)
    gw, gb = tape.gradient(loss, [w, b])
    w.assign_sub(gw * 0.5)
    b.assign_sub(gb * 0.5)
    assert w.numpy() == -1.0 and b.numpy() == -1.0
    assert float(loss) == 4.0 and float(gb) == 4.0


def test_a_compiled_update_fixes_pending_values_first():
    v = gc.Variable(f32(3), name="v")
    doubled = v * 2.0  # never asked for before the update
    step = gc.function([], [], updates=[(v, v + 1.0)])
    step()
    step()
    np.testing.assert_array_equal(doubled.numpy(), [6.0])
    np.testing.assert_array_equal((v * 2.0).numpy(), [10.0])


def test_a_slice_of_a_variable_does_not_follow_later_writes():
    v = gc.Variable(np.arange(6, dtype=np.float32).reshape(2, 3), name="v")
    row = v[1]  # numpy would make this a view of the variable's storage
    np.testing.assert_array_equal(row.numpy(), [3, 4, 5])
    v.assign(np.zeros((2, 3), np.float32))
    np.testing.assert_array_equal(row.numpy(), [3, 4, 5])


def test_a_fed_array_changed_afterwards_does_not_change_a_kept_value():
    v = gc.Variable(f32(1, 1), name="v")
    x = gc.placeholder((2,), name="x")
    shifted = v + 0.0          # eager, reads state: kept
    total = x * shifted        # needs x: symbolic
    fed = f32(2, 3)
    np.testing.assert_array_equal(total.eval({x: fed}), [2.0, 3.0])
    fed[:] = 7
    np.testing.assert_array_equal(shifted.numpy(), [1.0, 1.0])


def test_a_random_draw_is_the_same_every_time_it_is_read():
    from graphc.ops.stochastic import random_uniform_like
    draw = random_uniform_like(gc.zeros((50,)), seed=3)
    first = draw.numpy()
    np.testing.assert_array_equal((draw * 1.0).numpy(), first)
    np.testing.assert_array_equal(draw.numpy(), first)
    assert len(set(first.tolist())) > 40  # really a draw, not a fill


def test_numpy_returns_a_copy_the_caller_may_change():
    v = gc.Variable(f32(1, 2), name="v")
    y = v * 3.0
    value = y.numpy()
    value[:] = -1
    np.testing.assert_array_equal(y.numpy(), [3.0, 6.0])


def test_the_pending_set_holds_no_tensor_alive():
    v = gc.Variable(f32(1), name="v")
    y = (v + 1.0) * 2.0
    ident = id(y)
    assert ident in pending
    del y
    python_gc.collect()
    assert ident not in pending


def test_pure_tensors_and_compiled_graphs_are_not_pending():
    v = gc.Variable(f32(1, 2), name="v")
    pure = gc.exp(gc.constant(f32(1, 2))) * 2.0
    x = gc.placeholder((None, 2), name="x")
    symbolic = x * v
    gc.function([x], gc.reduce_sum(symbolic) * 3.0)  # the passes build nodes from v too
    assert id(pure) not in pending and id(symbolic) not in pending
    assert all(not t._flags & gc.graph.GRAPH for t in pending.values())


# ------------------------------------------------------------ compiling once

def test_a_loop_that_builds_the_same_graph_compiles_it_once(compiles):
    w = gc.Variable(np.full((3, 1), 0.5, np.float32), name="w")
    rng = np.random.default_rng(0)
    losses = []
    for _ in range(6):
        x = rng.random((16, 3), dtype=np.float32)  # new data each step: an argument, not structure
        with gc.GradientTape() as tape:
            loss = gc.reduce_mean(gc.square(x @ w - 1.0))
        w.assign_sub(tape.gradient(loss, w) * 0.1)
        losses.append(float(loss))
    assert len(compiles) <= 2  # the step's values, then the update's (once each)
    assert losses[-1] < losses[0]


def test_equal_structures_share_one_compiled_function(compiles):
    a = gc.constant(np.linspace(0, 1, 100, dtype=np.float32))
    b = gc.constant(np.linspace(1, 2, 100, dtype=np.float32))
    first = (gc.tanh(a) * 7.25).numpy()
    second = (gc.tanh(b) * 7.25).numpy()
    np.testing.assert_allclose(first, np.tanh(np.linspace(0, 1, 100)) * 7.25, rtol=1e-6)
    np.testing.assert_allclose(second, np.tanh(np.linspace(1, 2, 100)) * 7.25, rtol=1e-6)
    assert len(compiles) == 1
    # Another scalar in the same place compiles once more, taking that scalar
    # as an argument from then on (a learning rate that changes every step).
    for scale in (7.5, 7.75, 8.0, 8.25):
        np.testing.assert_allclose((gc.tanh(b) * scale).numpy(), np.tanh(np.linspace(1, 2, 100)) * scale,
                                   rtol=1e-6)
    assert len(compiles) == 2


def test_eval_with_a_feed_is_compiled_once_per_structure(compiles):
    x = gc.placeholder((None,), name="x")
    z = x * 3.0 + 0.125
    np.testing.assert_array_equal(z.eval({x: f32(1, 2)}), [3.125, 6.125])
    np.testing.assert_array_equal(z.eval({x: f32(4, 5, 6)}), [12.125, 15.125, 18.125])
    assert len(compiles) == 1


def test_eval_without_a_needed_placeholder_names_it():
    x = gc.placeholder((None,), name="features")
    with pytest.raises(ValueError, match="features"):
        gc.reduce_sum(x * 2.0).numpy()


# ------------------------------------------------------------ printing

def test_print_and_format_show_values_like_tensorflow():
    c = gc.constant([[1.0, 2.0], [3.0, 4.0]])
    assert str(c) == "graphc.Tensor(\n[[1. 2.]\n [3. 4.]], shape=(2, 2), dtype=float32)"
    loss = gc.reduce_mean(c)
    assert str(loss) == "graphc.Tensor(2.5, shape=(), dtype=float32)"
    assert f"{loss:.4f}" == "2.5000"
    assert "numpy=2.5" in repr(loss)
    assert format(gc.constant(3), "d") == "3"


def test_a_symbolic_tensor_prints_its_type_not_a_value():
    x = gc.placeholder((None, 3), name="x")
    assert str(x * 2.0) == "graphc.Tensor('multiply', shape=(None, 3), dtype=float32)"
    assert "numpy" not in repr(x)
    with pytest.raises(TypeError, match="symbolic"):
        f"{gc.reduce_sum(x):.2f}"


def test_an_eager_scalar_has_a_truth_value_a_symbolic_one_does_not():
    v = gc.Variable(2.0)
    assert (v > 1.0) and not (v > 3.0)
    with pytest.raises(TypeError, match="truth value"):
        bool(gc.constant([1.0, 2.0]) > 0)  # several values: ambiguous, as in numpy
    with pytest.raises(TypeError, match="truth value"):
        bool(gc.placeholder((), name="x") > 0)


# ------------------------------------------------------------ sliced assignment

def test_assign_to_a_slice_of_a_variable():
    v = gc.Variable(np.zeros((3, 2), np.float32), name="v")
    before = v * 1.0
    v[0, 0].assign(3.0)
    v[1].assign_add(f32(1, 2))
    v[2, :].assign_sub(5.0)
    v[:, 1].assign(gc.constant(f32(7, 8, 9)))
    np.testing.assert_array_equal(v.numpy(), [[3, 7], [1, 8], [-5, 9]])
    np.testing.assert_array_equal(before.numpy(), np.zeros((3, 2)))


def test_assign_to_a_slice_checks_its_shape_and_target():
    v = gc.Variable(np.zeros((3, 2), np.float32), name="v")
    with pytest.raises(ValueError, match="slice"):
        v[0].assign(f32(1, 2, 3))
    np.testing.assert_array_equal(v.numpy(), np.zeros((3, 2)))
    with pytest.raises(TypeError, match="not a Variable or a slice of one"):
        gc.constant(f32(1, 2))[0].assign(1.0)
    with pytest.raises(TypeError, match="not a Variable or a slice of one"):
        (v * 2.0)[0].assign(1.0)


def test_a_failed_assignment_changes_nothing():
    v = gc.Variable(f32(1, 2), name="v")
    with pytest.raises(ValueError, match="shape"):
        v.assign_add(f32(1, 2, 3))
    with pytest.raises(TypeError, match="dtype"):
        gc.Variable(np.array([1, 2], np.int32)).assign(f32(0.5, 1))
    np.testing.assert_array_equal(v.numpy(), [1, 2])


def test_gradients_through_stable_rewrites_keep_the_old_weights():
    # autodiff rebuilds the users of a rewritten log-softmax cross-entropy;
    # those nodes, and the gradients built on them, are eager values too,
    # fixed before a weight changes. The gradient of w reads the variable
    # ``scale`` directly (d(a * scale)/da = scale), and scale changes first.
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 4))
    labels = rng.integers(0, 3, 6)
    w0, s0 = rng.standard_normal((4, 3)), rng.uniform(0.5, 2, 3)
    w, scale = gc.Variable(w0, name="w"), gc.Variable(s0, name="scale")
    with gc.GradientTape() as tape:
        logits = gc.matmul(x, w) * scale
        per_sample = -gc.reduce_sum(gc.one_hot(labels, 3, dtype="float64") * gc.log_softmax(logits), axis=-1)
        loss = gc.reduce_mean(per_sample)
    gw, gs = tape.gradient(loss, [w, scale])
    scale.assign_sub(gs * 0.5)
    w.assign_sub(gw * 0.5)
    # by hand, at the old weights
    a = x @ w0
    z = a * s0
    q = np.exp(z - z.max(1, keepdims=True))
    q /= q.sum(1, keepdims=True)
    dz = q.copy()
    dz[np.arange(6), labels] -= 1
    dz /= 6
    np.testing.assert_allclose(scale.numpy(), s0 - 0.5 * (dz * a).sum(0), rtol=1e-10)
    np.testing.assert_allclose(w.numpy(), w0 - 0.5 * x.T @ (dz * s0), rtol=1e-10)
