"""check_numerics: the first NaN/Inf raises NumericsError naming node, op and scope."""
import re

import numpy as np
import pytest

import graphc as gc
from graphc import keras
from graphc.debugging import NumericsError


@pytest.fixture
def global_switch():
    gc.debugging.enable_check_numerics()
    try:
        yield
    finally:
        gc.debugging.disable_check_numerics()


def _block(x):
    with gc.name_scope("block"):
        logs = gc.log(x, name="logx")          # NaN for x < 0: the first bad node
        roots = gc.sqrt(logs - 10.0, name="root")  # NaN as well, but later
        return gc.reduce_sum(roots * 2.0, name="total")


def test_first_bad_node_is_named_with_op_and_scope_at_level_0():
    x = gc.placeholder((3,), dtype="float64", name="x")
    f = gc.function([x], _block(x), optimize=0, check_numerics=True)
    with pytest.raises(NumericsError) as info:
        f(np.array([1.0, -1.0, 2.0]))
    message = str(info.value)
    assert "'block/logx'" in message and "op log" in message and "scope 'block'" in message
    assert "NaN" in message and "root" not in message
    assert isinstance(info.value, FloatingPointError)
    # finite input: no error, and the right value
    value = f(np.array([1e6, 1e7, 1e8]))
    np.testing.assert_allclose(value, 2 * np.sqrt(np.log([1e6, 1e7, 1e8]) - 10).sum())


def test_inf_is_reported_as_inf_and_level_2_names_a_node_in_scope():
    x = gc.placeholder((None,), dtype="float32", name="x")
    with gc.name_scope("outer"):
        with gc.name_scope("inner"):
            y = gc.divide(1.0, x, name="inv")
        z = gc.reduce_sum(y * y, name="energy")
    f = gc.function([x], z, optimize=2, check_numerics=True)
    with pytest.raises(NumericsError, match=r"produced Inf") as info:
        f(np.array([1.0, 0.0], np.float32))
    match = re.search(r"node '([^']*)' \(op (\w+), scope '([^']*)'\)", str(info.value))
    assert match, str(info.value)
    name, op, scope = match.groups()
    assert name.startswith("outer/") and scope.startswith("outer") and name.rpartition("/")[0] == scope
    assert op  # the (possibly fused) node's op
    np.testing.assert_allclose(f(np.array([2.0, 4.0], np.float32)), 0.25 + 0.0625, rtol=1e-6)


def test_without_checks_nan_flows_through_silently():
    x = gc.placeholder((3,), dtype="float64", name="x")
    f = gc.function([x], _block(x), optimize=0)
    assert np.isnan(f(np.array([1.0, -1.0, 2.0])))


def test_global_switch_applies_to_functions_compiled_after_it(global_switch):
    x = gc.placeholder((2,), dtype="float64", name="x")
    f = gc.function([x], gc.log(x, name="lg"), optimize=0)
    assert f.check_numerics
    with pytest.raises(NumericsError, match=r"'lg' \(op log, scope '<root>'\)"):
        f(np.array([-1.0, 1.0]))
    g = gc.function([x], gc.log(x), optimize=0, check_numerics=False)  # explicit False wins
    assert np.isnan(g(np.array([-1.0, 1.0]))[0])


def test_global_switch_off_again():
    gc.debugging.enable_check_numerics()
    gc.debugging.disable_check_numerics()
    x = gc.placeholder((1,), dtype="float64", name="x")
    assert np.isnan(gc.function([x], gc.log(x))(np.array([-1.0]))[0])


def test_numerics_error_leaves_variables_unchanged():
    w = gc.Variable(np.array([1.0, 2.0]), name="w")
    x = gc.placeholder((2,), dtype="float64", name="x")
    loss = gc.reduce_sum(gc.log(x * w))
    f = gc.function([x], loss, updates=[(w, w - 0.1 * gc.grad(loss, w))], optimize=2, check_numerics=True)
    before = w.numpy()
    with pytest.raises(NumericsError):
        f(np.array([-1.0, 1.0]))
    np.testing.assert_array_equal(w.numpy(), before)
    f(np.array([1.0, 1.0]))
    np.testing.assert_allclose(w.numpy(), before - 0.1 / before)  # d/dw sum(log(x w)) = 1/w


def test_terminate_on_nan_stops_fit_with_a_clear_message(capsys):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 4)).astype("float32")
    y = (x @ np.array([1.0, -2.0, 3.0, 0.5], np.float32))[:, None] * 100
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=1e6), loss="mse")
    epochs, batch = 20, 32
    history = model.fit(x, y, epochs=epochs, batch_size=batch, verbose=0,
                        callbacks=[keras.callbacks.TerminateOnNaN()])
    out = capsys.readouterr().out
    assert re.search(r"Batch \d+: Invalid loss, terminating training", out), out
    steps_done = int(model.optimizer.iterations.numpy())
    assert 0 < steps_done < epochs * (256 // batch)
    assert len(history.history["loss"]) < epochs
    assert not np.isfinite(history.history["loss"][-1])


def test_a_fused_node_names_the_op_the_user_wrote():
    x = gc.placeholder((3,), dtype="float64", name="x")
    with gc.name_scope("block"):
        y = gc.log(x, name="logx") * 2 + 1
    f = gc.function([x], y, optimize=2, check_numerics=True)
    (fused,) = [n for n in f.graph.nodes() if not n.op.is_leaf]
    assert fused.op.name == "elementwise"  # log, multiply and add are one node
    with pytest.raises(NumericsError) as info:
        f(np.array([1.0, -1.0, 2.0]))
    message = str(info.value)
    assert "node 'block/logx' (op log, scope 'block') produced NaN" in message
    assert f"inside fused node {fused.name!r}" in message
    np.testing.assert_allclose(f(np.array([1.0, 3.0, 2.0])), 2 * np.log([1.0, 3.0, 2.0]) + 1, rtol=1e-12)


@pytest.mark.parametrize("value, culprit, kind", [(-20.0, "root", "NaN"), (1.0, "inverse", "Inf"),
                                                  (50.0, "grow", "Inf")])
def test_the_first_part_of_a_fused_chain_that_goes_bad_is_named(value, culprit, kind):
    x = gc.placeholder((2,), dtype="float32", name="x")
    root = gc.sqrt(x + 10.0, name="root")               # NaN for x < -10
    inverse = gc.reciprocal(root - 3.0, name="inverse")  # Inf where root == 3 (x = -1)
    grow = gc.exp(inverse * gc.square(x) * 10.0, name="grow")  # Inf where it overflows
    y = grow * 0.5 + root
    f = gc.function([x], y, optimize=2, check_numerics=True)
    assert sum(1 for n in f.graph.nodes() if not n.op.is_leaf) == 1
    with pytest.raises(NumericsError, match=rf"node '{culprit}' \(op \w+, scope '<root>'\) produced {kind}"):
        f(np.array([0.5, value if culprit != "inverse" else -1.0], np.float32))
