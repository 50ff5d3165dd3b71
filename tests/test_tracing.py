"""``@gc.function``: Python functions traced into one compiled step (graphc/tracing.py)."""
from __future__ import annotations

import numpy as np
import pytest

import graphc as gc


def f32(*values):
    return np.array(values, dtype=np.float32)


def test_traced_once_per_signature():
    calls = []

    @gc.function
    def scaled(x, factor=2.0):
        calls.append(1)  # runs only while tracing
        return x * factor

    np.testing.assert_array_equal(scaled(f32(1, 2)).numpy(), [2, 4])
    np.testing.assert_array_equal(scaled(f32(3, 4)).numpy(), [6, 8])
    assert scaled.tracing_count == 1 and len(calls) == 1
    np.testing.assert_array_equal(scaled(f32(1, 2, 3)).numpy(), [2, 4, 6])  # a new shape
    np.testing.assert_array_equal(scaled(f32(1, 2), 3.0).numpy(), [3, 6])   # a new Python value
    np.testing.assert_array_equal(scaled(f32(1, 2), factor=3.0).numpy(), [3, 6])  # the same, by keyword
    assert scaled.experimental_get_tracing_count() == 3


def test_assignments_are_updates_and_later_reads_see_them():
    counter = gc.Variable(0.0, name="counter")

    @gc.function
    def tick():
        counter.assign_add(1.0)
        twice = counter * 2.0      # reads the value assigned just before
        counter.assign_add(1.0)
        return twice, counter

    twice, now = tick()
    assert float(twice) == 2.0 and float(now) == 2.0 and float(counter) == 2.0
    twice, now = tick()
    assert float(twice) == 6.0 and float(now) == 4.0 and float(counter) == 4.0
    assert tick.tracing_count == 1


def test_a_traced_training_step_gives_the_eager_numbers():
    # p = w*x + b, loss = mean((p - t)^2); the same steps in plain numpy.
    rng = np.random.default_rng(1)
    x = rng.random((32, 2), dtype=np.float32)
    t = rng.random((32, 1), dtype=np.float32)
    w = gc.Variable(np.full((2, 1), 0.3, np.float32), name="w")
    b = gc.Variable(np.zeros(1, np.float32), name="b")

    @gc.function
    def step(x, t):
        with gc.GradientTape() as tape:
            loss = gc.reduce_mean(gc.square(gc.matmul(x, w) + b - t))
        gw, gb = tape.gradient(loss, [w, b])
        w.assign_sub(gw * 0.1)
        b.assign_sub(gb * 0.1)
        return loss

    wn, bn = np.full((2, 1), 0.3), np.zeros(1)
    for _ in range(5):
        loss = step(x, t)
        p = x @ wn + bn
        expected = np.mean((p - t) ** 2)
        dp = 2 * (p - t) / len(p)
        wn, bn = wn - 0.1 * x.T @ dp, bn - 0.1 * dp.sum(0)
        assert float(loss) == pytest.approx(expected, rel=1e-5)
    np.testing.assert_allclose(w.numpy(), wn, rtol=1e-5)
    np.testing.assert_allclose(b.numpy(), bn, rtol=1e-5, atol=1e-7)
    source = step.get_concrete_function(x, t).source
    assert "def step(x, t" in source and "write the variables" in source


def test_structures_in_and_out():
    @gc.function
    def combine(pair, table, label="sum"):
        a, b = pair
        return {"label": label, "sum": a + b, "scaled": [table["k"] * 2.0, None]}

    out = combine((f32(1), f32(2)), {"k": f32(5, 6)})
    assert out["label"] == "sum" and out["scaled"][1] is None
    np.testing.assert_array_equal(out["sum"].numpy(), [3])
    np.testing.assert_array_equal(out["scaled"][0].numpy(), [10, 12])
    source = combine.get_concrete_function((f32(1), f32(2)), {"k": f32(5, 6)}).source
    assert "pair_0" in source and "table_0" in source  # placeholders named after the parameters


def test_input_signature_with_a_run_time_dimension():
    @gc.function(input_signature=[gc.TensorSpec((None, 2), "float32")])
    def row_sums(x):
        return gc.reduce_sum(x, axis=1)

    np.testing.assert_array_equal(row_sums(np.ones((3, 2), np.float32)).numpy(), [2, 2, 2])
    np.testing.assert_array_equal(row_sums(np.ones((5, 2))).numpy(), [2] * 5)  # float64 cast to the spec
    assert row_sums.tracing_count == 1
    with pytest.raises(ValueError, match="input_signature"):
        row_sums(np.ones((3, 4), np.float32))


def test_an_eager_value_is_captured_as_it_was_when_traced():
    v = gc.Variable(f32(1), name="v")
    offset = v * 10.0  # an eager value: 10

    @gc.function
    def shifted(x):
        return x + offset

    assert float(shifted(f32(1))[0]) == 11.0
    v.assign(f32(5))
    assert float(shifted(f32(1))[0]) == 11.0  # offset's value was fixed when it was built
    assert float(offset[0]) == 10.0


def test_variables_are_read_at_call_time():
    v = gc.Variable(f32(1), name="v")

    @gc.function
    def read(x):
        return x * v

    assert float(read(f32(2))[0]) == 2.0
    v.assign(f32(4))
    assert float(read(f32(2))[0]) == 8.0


def test_a_traced_call_inside_a_trace_is_inlined():
    @gc.function
    def inner(x):
        return x * 3.0

    @gc.function
    def outer(x):
        return inner(x) + 1.0

    assert float(outer(f32(2))[0]) == 7.0
    assert inner.tracing_count == 0


def test_a_decorated_method_is_traced_per_instance():
    class Scaler:
        def __init__(self, k):
            self.k = gc.Variable(np.float32(k))

        @gc.function
        def __call__(self, x):
            return x * self.k

    two, five = Scaler(2), Scaler(5)
    assert float(two(f32(1))[0]) == 2.0 and float(five(f32(1))[0]) == 5.0
    assert float(two(f32(3))[0]) == 6.0


def test_sliced_assignment_in_a_trace():
    v = gc.Variable(np.zeros((2, 3), np.float32), name="v")

    @gc.function
    def poke(value):
        v[1, 2].assign(value)
        v[0].assign_add(1.0)
        return v * 1.0

    out = poke(np.float32(7))
    np.testing.assert_array_equal(out.numpy(), [[1, 1, 1], [0, 0, 7]])
    np.testing.assert_array_equal(v.numpy(), [[1, 1, 1], [0, 0, 7]])
    poke(np.float32(8))
    np.testing.assert_array_equal(v.numpy(), [[2, 2, 2], [0, 0, 8]])


def test_an_assignment_of_the_wrong_shape_fails_while_tracing():
    v = gc.Variable(np.zeros(3, np.float32), name="weights")

    @gc.function
    def bad(x):
        v.assign(x)
        return x

    with pytest.raises(ValueError, match="'weights'.*shape"):
        bad(np.ones(4, np.float32))
    np.testing.assert_array_equal(v.numpy(), np.zeros(3))


def test_decorator_errors_are_clear():
    with pytest.raises(TypeError, match="outputs"):
        gc.function([gc.placeholder((1,))])

    @gc.function
    def takes_one(x):
        return x

    with pytest.raises(TypeError, match="takes_one"):
        takes_one(f32(1), f32(2))
    with pytest.raises(TypeError, match="neither an array nor hashable"):
        takes_one({1.0, 2.0})  # a set: no structure graphc reads, and not hashable
