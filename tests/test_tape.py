"""GradientTape with TensorFlow's semantics, and the gradient_tape example."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import graphc as gc

ROOT = Path(__file__).resolve().parents[1]


def value(t):
    return None if t is None else np.asarray(t.numpy())


# ------------------------------------------------------------------ watching

def test_trainable_variable_is_watched_automatically():
    x = gc.Variable(3.0, name="x")
    with gc.GradientTape() as tape:
        y = x ** 2
    assert value(tape.gradient(y, x)) == pytest.approx(6.0)
    assert x in tape.watched_variables()


def test_non_trainable_variable_needs_watch():
    v = gc.Variable(2.0, trainable=False)
    with gc.GradientTape() as tape:
        y = v * v * v
    assert tape.gradient(y, v) is None
    with gc.GradientTape() as tape:
        tape.watch(v)
        y = v * v * v
    assert value(tape.gradient(y, v)) == pytest.approx(12.0)


def test_constant_needs_watch():
    c = gc.constant(3.0)
    with gc.GradientTape() as tape:
        y = c * c
    assert tape.gradient(y, c) is None
    with gc.GradientTape() as tape:
        tape.watch(c)
        y = c * c
    assert value(tape.gradient(y, c)) == pytest.approx(6.0)


def test_watch_accessed_variables_false():
    v = gc.Variable(2.0)
    w = gc.Variable(5.0)
    with gc.GradientTape(watch_accessed_variables=False) as tape:
        tape.watch(w)
        y = v * w
    gv, gw = tape.gradient(y, [v, w])
    assert gv is None
    assert value(gw) == pytest.approx(2.0)


def test_watch_after_use_records_nothing_earlier():
    # TensorFlow records an op only if an input is watched when it runs.
    c = gc.constant(3.0)
    with gc.GradientTape(persistent=True) as tape:
        y = c * c
        tape.watch(c)
        z = c * 4.0
    assert tape.gradient(y, c) is None
    assert value(tape.gradient(z, c)) == pytest.approx(4.0)


def test_placeholder_source():
    x = gc.placeholder((None, 2), "float64", name="x")
    with gc.GradientTape() as tape:
        tape.watch(x)
        y = gc.reduce_sum(gc.sin(x))
    g = tape.gradient(y, x)
    v = np.array([[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]])
    np.testing.assert_allclose(g.eval({x: v}), np.cos(v))


def test_gradient_with_respect_to_recorded_intermediate():
    x = gc.Variable(np.array([1.0, 2.0]))
    with gc.GradientTape() as tape:
        h = x * 3.0
        y = gc.reduce_sum(h * h)
    gh, gx = tape.gradient(y, [h, x])
    np.testing.assert_allclose(value(gh), 2 * np.array([3.0, 6.0]))
    np.testing.assert_allclose(value(gx), 18 * np.array([1.0, 2.0]))


# ----------------------------------------------------------- None and zeros

def test_unconnected_source_gives_none_or_zeros():
    a = gc.Variable(np.array([1.0, 2.0]))
    b = gc.Variable(np.array([[1.0, 2.0, 3.0]]))
    with gc.GradientTape(persistent=True) as tape:
        y = gc.reduce_sum(a * a)
        unused = b * 2.0  # b is watched but y does not depend on it
    assert unused is not None and b in tape.watched_variables()
    ga, gb = tape.gradient(y, [a, b])
    np.testing.assert_allclose(value(ga), [2.0, 4.0])
    assert gb is None
    ga, gb = tape.gradient(y, [a, b], unconnected_gradients="zero")
    np.testing.assert_array_equal(value(gb), np.zeros((1, 3)))
    assert gb.shape == (1, 3)
    with pytest.raises(ValueError, match="unconnected_gradients"):
        tape.gradient(y, a, unconnected_gradients="nan")


def test_unwatched_source_gives_none_or_zeros():
    c = gc.constant(np.array([1.0, 2.0]))
    with gc.GradientTape() as tape:
        y = gc.reduce_sum(c * c)
    np.testing.assert_array_equal(value(tape.gradient(y, c, unconnected_gradients="zero")), [0.0, 0.0])


def test_integer_path_and_stop_gradient_give_none():
    v = gc.Variable(np.array([1.5, 2.5]))
    with gc.GradientTape(persistent=True) as tape:
        y_int = gc.reduce_sum(gc.cast(gc.cast(v, "int32"), "float64"))
        y_stop = gc.reduce_sum(gc.stop_gradient(v * v))
    assert tape.gradient(y_int, v) is None
    assert tape.gradient(y_stop, v) is None


def test_ops_built_outside_the_tape_are_not_recorded():
    w = gc.Variable(np.array([1.0, 2.0]))
    h = w * 2.0  # built before the tape: a constant as far as the tape knows
    with gc.GradientTape(persistent=True) as tape:
        y = gc.reduce_sum(h * w)
    # only the recorded use of w counts: d(h * w)/dw with h held fixed = h
    np.testing.assert_allclose(value(tape.gradient(y, w)), [2.0, 4.0])
    assert tape.gradient(y, h) is None
    z = gc.reduce_sum(w * w)  # built after the tape stopped
    assert tape.gradient(z, w) is None


# --------------------------------------------------------------- structures

def test_gradient_through_the_stable_rewrites_of_the_recorded_graph():
    # autodiff differentiates log(softmax) as log_softmax: the tape must
    # follow the nodes that rewrite makes (it once gave None here)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 3))
    labels = np.array([1, 0, 4, 2])
    w0 = rng.standard_normal((3, 5))
    w = gc.Variable(w0, name="w")

    def log_probs(wv):
        z = x @ wv
        z = z - z.max(1, keepdims=True)
        return z - np.log(np.exp(z).sum(1, keepdims=True))

    with gc.GradientTape(persistent=True) as tape:
        probs = gc.softmax(gc.matmul(x, w))
        mean_log = gc.reduce_mean(gc.log(probs))
        picked = gc.reduce_sum(gc.one_hot(labels, 5, dtype="float64") * gc.log(probs), axis=-1)
        nll = -gc.reduce_mean(picked)
    from tests.autodiff_gradcheck import numeric_grad
    for target, reference in ((mean_log, lambda wv: log_probs(wv).mean()),
                              (nll, lambda wv: -log_probs(wv)[np.arange(4), labels].mean())):
        g = tape.gradient(target, w)
        assert g is not None
        np.testing.assert_allclose(g.numpy(), numeric_grad(reference, [w0])[0], rtol=1e-6, atol=1e-8)


def test_sources_structure_is_preserved():
    a = gc.Variable(1.0)
    b = gc.Variable(2.0)
    with gc.GradientTape(persistent=True) as tape:
        y = a * b + b
    single = tape.gradient(y, a)
    as_list = tape.gradient(y, [a, b])
    as_tuple = tape.gradient(y, (a, b))
    as_dict = tape.gradient(y, {"first": a, "second": b})
    assert value(single) == pytest.approx(2.0)
    assert isinstance(as_list, list) and [float(value(g)) for g in as_list] == [2.0, 2.0]
    assert isinstance(as_tuple, tuple) and len(as_tuple) == 2
    assert isinstance(as_dict, dict) and list(as_dict) == ["first", "second"]
    assert float(value(as_dict["first"])) == 2.0 and float(value(as_dict["second"])) == 2.0


def test_several_targets_and_output_gradients():
    x = gc.Variable(np.array([1.0, -2.0]))
    with gc.GradientTape(persistent=True) as tape:
        y1 = x * x
        y2 = gc.reduce_sum(gc.exp(x))
    g = tape.gradient([y1, y2], x)
    np.testing.assert_allclose(value(g), 2 * x.numpy() + np.exp(x.numpy()))
    w = np.array([3.0, 0.5])
    g = tape.gradient(y1, x, output_gradients=gc.constant(w, dtype="float64"))
    np.testing.assert_allclose(value(g), 2 * x.numpy() * w)
    g = tape.gradient(y1, x, output_gradients=w)  # an array for one target is its weight
    np.testing.assert_allclose(value(g), 2 * x.numpy() * w)
    g = tape.gradient([y1, y2], x, output_gradients=[w, 2.0])
    np.testing.assert_allclose(value(g), 2 * x.numpy() * w + 2 * np.exp(x.numpy()))
    with pytest.raises(ValueError, match="output_gradients"):
        tape.gradient([y1, y2], x, output_gradients=[w])


# ------------------------------------------------------------- persistence

def test_non_persistent_tape_raises_on_second_call():
    x = gc.Variable(2.0)
    with gc.GradientTape() as tape:
        y = x * x
    tape.gradient(y, x)
    with pytest.raises(RuntimeError, match="persistent"):
        tape.gradient(y, x)


def test_persistent_tape_allows_several_calls():
    x = gc.Variable(2.0)
    with gc.GradientTape(persistent=True) as tape:
        y = x * x
        z = y * y
    assert value(tape.gradient(y, x)) == pytest.approx(4.0)
    assert value(tape.gradient(z, x)) == pytest.approx(32.0)
    assert value(tape.gradient(z, y)) == pytest.approx(8.0)


def test_tape_reentry_is_refused():
    tape = gc.GradientTape()
    with tape:
        with pytest.raises(RuntimeError):
            tape.__enter__()


# ------------------------------------------------------------- higher order

def test_nested_tapes_give_second_derivatives():
    x = gc.Variable(1.0)
    with gc.GradientTape() as t2:
        with gc.GradientTape() as t1:
            y = x * x * x
        dy = t1.gradient(y, x)
    d2y = t2.gradient(dy, x)
    assert value(dy) == pytest.approx(3.0)
    assert value(d2y) == pytest.approx(6.0)


def test_nested_tapes_with_watched_constant_and_tanh():
    c = gc.constant(np.array([-0.5, 0.3, 1.2]), dtype="float64")
    with gc.GradientTape() as t2:
        t2.watch(c)
        with gc.GradientTape() as t1:
            t1.watch(c)
            y = gc.tanh(c)
        dy = t1.gradient(y, c)
    d2y = t2.gradient(dy, c)
    t = np.tanh(c.numpy())
    np.testing.assert_allclose(value(dy), 1 - t ** 2)
    np.testing.assert_allclose(value(d2y), -2 * t * (1 - t ** 2))


def test_inner_tape_only_does_not_give_second_derivative():
    # the outer tape was not active when the first gradient was built
    x = gc.Variable(1.0)
    with gc.GradientTape() as t2:
        with gc.GradientTape() as t1:
            y = x * x * x
    dy = t1.gradient(y, x)
    assert t2.gradient(dy, x) is None


def test_persistent_tape_third_derivative():
    x = gc.Variable(0.5)
    with gc.GradientTape(persistent=True) as tape:
        y = gc.sin(x)
        d1 = tape.gradient(y, x)
        d2 = tape.gradient(d1, x)
    d3 = tape.gradient(d2, x)
    assert value(d3) == pytest.approx(-np.cos(0.5))


# ----------------------------------------------------------------- jacobian

def test_tape_jacobian():
    x = gc.Variable(np.array([0.2, -0.4, 0.9]))
    with gc.GradientTape() as tape:
        y = gc.softmax(x)
    J = tape.jacobian(y, x)
    assert J.shape == (3, 3)
    s = np.exp(x.numpy()) / np.exp(x.numpy()).sum()
    np.testing.assert_allclose(value(J), np.diag(s) - np.outer(s, s), rtol=1e-12, atol=1e-14)


def test_tape_jacobian_shapes_structures_and_unconnected():
    a = gc.Variable(np.array([[1.0, 2.0], [3.0, 4.0]]))
    b = gc.Variable(np.array([1.0, -1.0, 2.0]))
    u = gc.Variable(np.zeros(2))
    with gc.GradientTape(persistent=True) as tape:
        y = gc.reshape(a, (4,))[:3] * b   # (3,)
        unused = u + 1.0
    assert unused is not None
    ja, jb, ju = tape.jacobian(y, [a, b, u])
    assert ja.shape == (3, 2, 2) and jb.shape == (3, 3)
    expected_a = np.zeros((3, 4))
    expected_a[np.arange(3), np.arange(3)] = b.numpy()
    np.testing.assert_allclose(value(ja), expected_a.reshape(3, 2, 2))
    np.testing.assert_allclose(value(jb), np.diag([1.0, 2.0, 3.0]))
    assert ju is None
    zeros = tape.jacobian(y, {"u": u}, unconnected_gradients="zero")
    np.testing.assert_array_equal(value(zeros["u"]), np.zeros((3, 2)))


def test_tape_jacobian_respects_recording():
    c = gc.constant(3.0)
    outside = c * 5.0
    with gc.GradientTape(persistent=True) as tape:
        tape.watch(c)
        y = outside * c
    assert value(tape.gradient(y, c)) == pytest.approx(15.0)
    assert value(tape.jacobian(y, c)) == pytest.approx(15.0)


def test_tape_jacobian_of_unwatched_is_none():
    c = gc.constant(np.array([1.0, 2.0]))
    with gc.GradientTape() as tape:
        y = c * 2.0
    assert tape.jacobian(y, c) is None


# ------------------------------------------------------------------ example

def _numbers(line):
    return [float(v) for v in re.findall(r"-?\d+\.?\d*(?:e-?\d+)?", line.split(":", 1)[1])]


def test_gradient_tape_example_prints_tensorflow_answers():
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    result = subprocess.run([sys.executable, str(ROOT / "examples" / "gradient_tape.py")],
                            capture_output=True, text=True, env=env, timeout=120, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    lines = {line.split(":", 1)[0].strip(): line for line in result.stdout.splitlines() if ":" in line}
    assert _numbers(lines["dy/dx of x**2 at x = 3"])[-1] == pytest.approx(6.0)
    assert lines["constant, not watched"].split(":", 1)[1].strip() == "None"
    assert _numbers(lines["constant, watched"])[0] == pytest.approx(6.0)
    t = np.array([0.0, 0.5, 1.0, 2.0])
    speed = _numbers(lines["speed 9.8 t"])
    accel = _numbers(lines["acceleration 9.8"])
    np.testing.assert_allclose(speed[:4], 9.8 * t, rtol=1e-6)
    np.testing.assert_allclose(accel[:4], 9.8, rtol=1e-6)
    np.testing.assert_allclose(_numbers(lines["position 4.9 t**2"])[:4], 4.9 * t ** 2, rtol=1e-6)
    # the Dense case: printed gradients equal the closed form computed here
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, 3))
    W = rng.normal(size=(3, 2))
    y = x @ W
    dy = 2 * y / y.size
    np.testing.assert_allclose(_numbers(lines["dloss/dW"])[:6], (x.T @ dy).ravel(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(_numbers(lines["dloss/db"])[:2], dy.sum(axis=0), rtol=1e-5, atol=1e-6)
    assert lines["Dense gradients match the closed form"].strip().endswith("True")
