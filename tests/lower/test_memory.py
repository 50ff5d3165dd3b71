"""Memory planning: reused buffers, in-place updates, threads, allocations."""
import re
import threading
import tracemalloc

import numpy as np
import pytest

import graphc as gc


def mlp_step(seed=0, optimizer="sgd", hidden=32, classes=5, features=12):
    rng = np.random.default_rng(seed)
    x = gc.placeholder((None, features), name="x")
    y = gc.placeholder((None,), "int32", name="y")
    w1 = gc.Variable(rng.standard_normal((features, hidden)).astype(np.float32) * 0.3, name="w1")
    b1 = gc.Variable(np.zeros(hidden, np.float32), name="b1")
    w2 = gc.Variable(rng.standard_normal((hidden, classes)).astype(np.float32) * 0.3, name="w2")
    b2 = gc.Variable(np.zeros(classes, np.float32), name="b2")
    h = gc.tanh(x @ w1 + b1)
    logits = h @ w2 + b2
    loss = gc.reduce_mean(-gc.reduce_sum(gc.one_hot(y, classes) * gc.log_softmax(logits), axis=-1))
    params = [w1, b1, w2, b2]
    grads = gc.grad(loss, params)
    updates = []
    if optimizer == "sgd":
        updates = [(p, p - 0.05 * g) for p, g in zip(params, grads)]
    else:  # RMSprop, with its state in variables
        for p, g in zip(params, grads):
            v = gc.Variable(np.zeros(p.shape, np.float32), name=f"{p.name}_velocity")
            new_v = 0.9 * v + 0.1 * gc.square(g)
            updates += [(v, new_v), (p, p - 0.01 * g / gc.sqrt(new_v + 1e-7))]
    return [x, y], loss, updates, params


def run_steps(plan_memory, optimizer, batches):
    inputs, loss, updates, params = mlp_step(optimizer=optimizer)
    f = gc.function(inputs, loss, updates=updates, plan_memory=plan_memory)
    losses = [f(x, y) for x, y in batches]
    return losses, [v.numpy() for v, _ in updates]


def batches(sizes, seed=1):
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal((n, 12)).astype(np.float32), rng.integers(0, 5, n).astype(np.int32))
            for n in sizes]


@pytest.mark.parametrize("optimizer", ["sgd", "rmsprop"])
def test_planned_equals_unplanned_across_batch_sizes(optimizer):
    data = batches([8, 8, 8, 3, 8, 3, 3])  # new signatures, then reuse of both
    planned_losses, planned_state = run_steps(True, optimizer, data)
    plain_losses, plain_state = run_steps(False, optimizer, data)
    np.testing.assert_allclose(planned_losses, plain_losses, rtol=1e-6)
    for a, b in zip(planned_state, plain_state):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


def test_the_step_reuses_buffers_and_updates_in_place():
    inputs, loss, updates, params = mlp_step()
    f = gc.function(inputs, loss, updates=updates)
    assert "buffers" in f.source and "out=buf" in f.source
    # W <- W - lr * x.T @ dh is written straight into W's storage
    assert "out=w1)" in f.source
    storage = [p.value for p in params]
    for x, y in batches([6, 6, 6]):
        f(x, y)
    assert all(p.value is s for p, s in zip(params, storage))


def test_returned_arrays_are_not_overwritten_by_later_calls():
    x = gc.placeholder((None, 4), name="x")
    w = gc.Variable(np.eye(4, dtype=np.float32), name="w")
    h = gc.exp(x @ w) + 1.0
    out = gc.reduce_sum(h * h, axis=1)
    f = gc.function([x], [out, h @ w])
    a = np.ones((3, 4), np.float32)
    first = [r.copy() for r in f(a)]
    kept = f(a)
    f(a * 2)
    f(a * 3)
    for r, expected in zip(kept, first):
        np.testing.assert_array_equal(r, expected)


def test_random_elementwise_graphs_planned_vs_unplanned():
    rng = np.random.default_rng(0)
    unary = [gc.exp, gc.tanh, gc.sigmoid, gc.relu, gc.square, gc.softplus, gc.abs]
    for trial in range(25):
        a = gc.placeholder((None, 5), "float64", name="a")
        b = gc.placeholder((5,), "float64", name="b")
        values = [a, b, a * 0.5]
        for _ in range(8):
            kind = rng.integers(3)
            p, q = values[rng.integers(len(values))], values[rng.integers(len(values))]
            if kind == 0:
                values.append(unary[rng.integers(len(unary))](p))
            elif kind == 1:
                values.append([gc.add, gc.subtract, gc.multiply, gc.maximum][rng.integers(4)](p, q))
            else:
                values.append(gc.where(p > q, p, q * 2.0))
        outputs = [values[-1], gc.reduce_sum(values[-2], axis=0)]
        planned = gc.function([a, b], outputs)
        plain = gc.function([a, b], outputs, plan_memory=False)
        for n in (4, 4, 2, 4):
            av, bv = rng.standard_normal((n, 5)), rng.standard_normal(5)
            for got, want in zip(planned(av, bv), plain(av, bv)):
                np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12, err_msg=planned.source)


def _out_buffer(source, name):
    """The buffer the statement defining ``name`` writes into."""
    return re.search(rf"^\s*{name} = .*out=(buf\d+)\)", source, re.M).group(1)


def test_an_elementwise_node_writes_over_an_input_that_dies_there():
    x = gc.placeholder((None, 6), "float64", name="x")
    w = gc.Variable(np.random.default_rng(2).standard_normal((6, 6)), name="w")
    b = gc.Variable(np.arange(6.0), name="b")
    h = gc.relu(gc.matmul(x, w, name="product") + b, name="h")
    y = gc.reduce_sum(gc.matmul(h, w), axis=1)
    f = gc.function([x], y)
    assert _out_buffer(f.source, "h") == _out_buffer(f.source, "product")
    xv = np.random.default_rng(3).standard_normal((5, 6))
    for _ in range(2):
        np.testing.assert_allclose(f(xv), np.maximum(xv @ w.numpy() + b.numpy(), 0) @ w.numpy() @ np.ones(6),
                                   rtol=1e-12)


def test_an_input_read_after_the_first_write_keeps_its_buffer():
    # tanh(p) * p + 3 sin(p): p is read again after the sum's first write
    x = gc.placeholder((None, 4), "float64", name="x")
    w = gc.Variable(np.random.default_rng(4).standard_normal((4, 4)), name="w")
    p = gc.matmul(x, w, name="product")
    y = gc.add(gc.tanh(p) * p, gc.sin(p) * 3.0, name="y")
    out = gc.reduce_sum(gc.matmul(y, w), axis=1)
    f = gc.function([x], out)
    assert _out_buffer(f.source, "y") != _out_buffer(f.source, "product")
    xv = np.random.default_rng(5).standard_normal((3, 4))
    pv = xv @ w.numpy()
    expected = (np.tanh(pv) * pv + 3 * np.sin(pv)) @ w.numpy() @ np.ones(4)
    for _ in range(2):
        np.testing.assert_allclose(f(xv), expected, rtol=1e-12)


def test_random_chains_through_matmuls_planned_vs_unplanned():
    # matmuls keep fusion from merging everything, so elementwise nodes meet
    # inputs that die at them: in-place reuse is tried at every link
    rng = np.random.default_rng(6)
    unary = [gc.exp, gc.tanh, gc.sigmoid, gc.relu, gc.square, gc.softplus, gc.abs, gc.sin]
    for trial in range(25):
        x = gc.placeholder((None, 5), "float64", name="x")
        w = gc.constant(rng.standard_normal((5, 5)) * 0.5)
        values = [x]
        for _ in range(5):
            p = gc.matmul(values[rng.integers(len(values))], w)
            q = values[rng.integers(len(values))]
            f1, f2 = unary[rng.integers(len(unary))], unary[rng.integers(len(unary))]
            values.append([lambda: f1(p) * p + f2(q), lambda: f1(p) + q, lambda: f1(f2(p)),
                           lambda: gc.where(p > q, p, f1(q))][rng.integers(4)]())
        outputs = [gc.reduce_sum(values[-1], axis=1), values[-2]]
        planned = gc.function([x], outputs)
        plain = gc.function([x], outputs, plan_memory=False)
        for n in (3, 3, 1):
            xv = rng.standard_normal((n, 5))
            for got, want in zip(planned(xv), plain(xv)):
                np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12, err_msg=planned.source)


def test_a_failing_call_leaves_variables_unchanged():
    inputs, loss, updates, params = mlp_step()
    f = gc.function(inputs, loss, updates=updates)
    good = batches([5])[0]
    f(*good)
    before = [p.numpy() for p in params]
    x, y = good
    bad_labels = y.copy()
    bad_labels[-1] = 7  # out of range: the computation fails midway
    with pytest.raises(IndexError):
        f(x, bad_labels)
    for p, b in zip(params, before):
        np.testing.assert_array_equal(p.numpy(), b)
    f(*good)  # and the function still works afterwards


def test_threads_get_correct_results():
    x = gc.placeholder((None, 16), "float64", name="x")
    w = gc.Variable(np.random.default_rng(0).standard_normal((16, 16)), name="w")
    out = gc.reduce_sum(gc.tanh(x @ w) * 2.0 + 1.0, axis=1)
    f = gc.function([x], out)
    errors = []

    def work(seed):
        rng = np.random.default_rng(seed)
        for _ in range(200):
            a = rng.standard_normal((int(rng.integers(1, 9)), 16))
            want = np.sum(np.tanh(a @ w.value) * 2.0 + 1.0, axis=1)
            got = f(a)
            if not np.allclose(got, want):
                errors.append(seed)

    run_concurrently(work, range(8))
    assert errors == []


def run_concurrently(work, args) -> None:
    """``work(arg)`` for every arg, each in its own thread, all at once."""
    threads = [threading.Thread(target=work, args=(a,)) for a in args]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def test_threads_calling_one_gemm_function_get_their_own_results(monkeypatch):
    from graphc.passes import gemm as gemm_pass
    monkeypatch.setattr(gemm_pass.blas, "available", lambda dtype: np.dtype(dtype).kind == "f")
    n = 300  # above the gemm pass's size threshold
    rng = np.random.default_rng(10)
    a, b = gc.placeholder((None, n), "float64", name="a"), gc.placeholder((n, n), "float64", name="b")
    y = b - 0.5 * gc.matmul(gc.transpose(a), a)
    f = gc.function([a, b], [y, gc.reduce_sum(y, axis=0)])
    assert "gemm" in [node.op.name for node in f.graph.nodes()]
    feeds = [(rng.standard_normal((4, n)), rng.standard_normal((n, n))) for _ in range(8)]
    expected = [bv - 0.5 * av.T @ av for av, bv in feeds]
    errors = []

    def work(k):
        for _ in range(10):
            got = f(*feeds[k])
            if not (np.allclose(got[0], expected[k], rtol=1e-10, atol=1e-10)
                    and np.allclose(got[1], expected[k].sum(axis=0), rtol=1e-10, atol=1e-10)):
                errors.append(k)

    run_concurrently(work, range(8))
    assert errors == []


def test_steady_state_step_allocates_little():
    inputs, loss, updates, params = mlp_step(hidden=256, features=64, classes=10)
    f = gc.function(inputs, loss, updates=updates)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((128, 64)).astype(np.float32)
    y = rng.integers(0, 10, 128).astype(np.int32)
    for _ in range(3):
        f(x, y)
    tracemalloc.start()
    try:
        start, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        for _ in range(20):
            f(x, y)
        current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # the hidden activations alone are 128 KiB: they must come from buffers
    assert peak - start < 64 * 1024, (peak - start)
    assert current - start < 16 * 1024


def test_a_repeated_scalar_subexpression_is_not_written_in_place():
    # (s**2 + 0.5) appears twice: its common value is a numpy scalar, which
    # no ufunc can write into (found by tools/fuzz.py, seed 425035664)
    x = gc.placeholder((None, 3), "float64", name="x")
    s = gc.reduce_mean(x)
    d = gc.square(s) + 0.5
    y = gc.add(x / d, gc.square(x) / gc.square(d), name="y")
    f = gc.function([x], gc.reduce_sum(y, axis=1))
    xv = np.random.default_rng(8).standard_normal((4, 3))
    dv = np.mean(xv) ** 2 + 0.5
    for _ in range(2):
        np.testing.assert_allclose(f(xv), np.sum(xv / dv + xv ** 2 / dv ** 2, axis=1), rtol=1e-12)


def test_an_update_value_read_before_the_final_block_keeps_its_buffer_until_copied():
    # a's new value is read by another op (so it is not computed in place) and then
    # copied into a in the final block: its buffer must not be lent to a later value
    a = gc.Variable(np.zeros(5, np.float32), trainable=False, name="a")
    b = gc.Variable(np.zeros(5, np.float32), trainable=False, name="b")
    x = gc.placeholder((3, 5), name="x")
    new_a = a + gc.reduce_sum(x, axis=0)
    total = gc.reduce_sum(new_a * 1.0)
    new_b = b + gc.reduce_sum(x * x, axis=0)
    f = gc.function([x], total, updates=[(a, new_a), (b, new_b)])
    batch = np.arange(15, dtype=np.float32).reshape(3, 5)
    for step in range(1, 4):
        f(batch)
        np.testing.assert_array_equal(a.numpy(), step * batch.sum(axis=0))
        np.testing.assert_array_equal(b.numpy(), step * (batch * batch).sum(axis=0))
