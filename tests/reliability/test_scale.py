"""Scale and load: huge graphs, deep chains, long training runs, threads."""
import gc as python_gc
import threading
import time
import tracemalloc

import numpy as np

import graphc as gc
from tests.reference import Reference


def test_100k_node_graph_compiles_at_level_0_and_runs():
    x = gc.placeholder((None, 4), dtype="float64", name="x")
    # > 100 000 nodes: 250 chains of 300 elementwise ops (150 with a constant), summed in a tree
    terms = []
    for c in range(250):
        t = x
        for k in range(300):
            t = gc.tanh(t) if k % 2 else t * (1.0 + 1e-3 * c)
        terms.append(gc.reduce_sum(t))
    while len(terms) > 1:
        terms = [terms[i] + terms[i + 1] if i + 1 < len(terms) else terms[i] for i in range(0, len(terms), 2)]
    y = terms[0]
    graph = gc.Graph([x], [y])
    assert len(graph) > 100_000
    start = time.perf_counter()
    f = gc.function([x], y, optimize=0)
    seconds = time.perf_counter() - start
    print(f"\n100k-node graph ({len(graph)} nodes): compiled at optimize=0 in {seconds:.1f} s")
    value = np.array([[0.1, -0.2, 0.3, 0.05], [1.0, 2.0, -1.0, 0.0]])
    expected = 0.0
    for c in range(250):
        t = value.copy()
        for k in range(300):
            t = np.tanh(t) if k % 2 else t * (1.0 + 1e-3 * c)
        expected += t.sum()
    np.testing.assert_allclose(f(value), expected, rtol=1e-10)


def test_10k_deep_chain_differentiates_twice():
    x = gc.placeholder((3,), dtype="float64", name="x")
    t = x
    for k in range(10_000):
        t = gc.sin(t) if k % 2 == 0 else t * 0.999
    y = gc.reduce_sum(t)
    g = gc.grad(y, x)
    h = gc.grad(gc.reduce_sum(g), x)  # grad of grad: diagonal of the Hessian (elementwise map)
    assert len(gc.Graph([x], [h])) > 50_000
    v = np.array([0.3, -0.5, 1.0])
    # forward-mode numpy: value, first and second derivative through the chain
    a, d1, d2 = v.copy(), np.ones(3), np.zeros(3)
    for k in range(10_000):
        if k % 2 == 0:
            a, d1, d2 = np.sin(a), np.cos(a) * d1, np.cos(a) * d2 - np.sin(a) * d1 ** 2
        else:
            a, d1, d2 = a * 0.999, d1 * 0.999, d2 * 0.999
    # the 55 000-node second-derivative graph, run by the reference interpreter
    # (compiling it is measured in the report; tests/test_higher_order.py compiles 10 000-op chains)
    got = Reference().evaluate([y, g, h], {x: v})
    np.testing.assert_allclose(got[0], a.sum(), rtol=1e-10)
    np.testing.assert_allclose(got[1], d1, rtol=1e-8, atol=1e-300)
    np.testing.assert_allclose(got[2], d2, rtol=1e-6, atol=1e-300)


def _training_step():
    rng = np.random.default_rng(0)
    w1 = gc.Variable(rng.normal(size=(8, 16)) * 0.3, name="w1")
    b1 = gc.Variable(np.zeros(16), name="b1")
    w2 = gc.Variable(rng.normal(size=(16, 1)) * 0.3, name="w2")
    x = gc.placeholder((None, 8), dtype="float64", name="x")
    y = gc.placeholder((None, 1), dtype="float64", name="y")
    pred = gc.tanh(x @ w1 + b1) @ w2
    loss = gc.reduce_mean(gc.square(pred - y))
    params = [w1, b1, w2]
    grads = gc.grad(loss, params)
    f = gc.function([x, y], loss, updates=[(p, p - 0.05 * g) for p, g in zip(params, grads)])
    return f, params, rng


def test_10k_training_steps_run_in_flat_memory():
    f, params, rng = _training_step()
    xs = rng.normal(size=(32, 8))
    ys = np.sin(xs.sum(axis=1, keepdims=True))
    first = f(xs, ys)
    for _ in range(500):  # warm up: caches, buffers
        f(xs, ys)
    python_gc.collect()
    tracemalloc.start()
    samples = []
    try:
        for step in range(10_000):
            loss = f(xs, ys)
            if step % 1000 == 999:
                python_gc.collect()
                samples.append(tracemalloc.get_traced_memory()[0])
    finally:
        tracemalloc.stop()
    growth = samples[-1] - samples[0]
    print(f"\ntraced memory every 1000 steps (bytes): {samples}; growth {growth} bytes")
    assert growth < 256 * 1024, samples  # flat: no per-step leak (a 1-byte-per-step leak would be 9 kB)
    assert max(samples) - min(samples) < 512 * 1024
    assert float(loss) < float(first)  # and it trained


def test_a_function_called_from_8_threads_gives_each_its_own_results():
    x = gc.placeholder((None, 6), dtype="float64", name="x")
    w = gc.constant(np.linspace(-1, 1, 18).reshape(6, 3))
    h = gc.tanh(x @ w)
    out = [gc.softmax(h, -1), gc.reduce_sum(gc.square(h), axis=1)]
    f = gc.function([x], out, optimize=2)
    wv = np.linspace(-1, 1, 18).reshape(6, 3)
    errors, barrier = [], threading.Barrier(8)

    def work(k):
        rng = np.random.default_rng(k)
        barrier.wait()
        try:
            for i in range(300):
                v = rng.normal(size=(int(rng.integers(1, 40)), 6))
                soft, energy = f(v)
                hv = np.tanh(v @ wv)
                e = np.exp(hv - hv.max(axis=1, keepdims=True))
                np.testing.assert_allclose(soft, e / e.sum(axis=1, keepdims=True), rtol=1e-12)
                np.testing.assert_allclose(energy, (hv ** 2).sum(axis=1), rtol=1e-12)
        except Exception as exc:  # noqa: BLE001  (reported by the main thread)
            errors.append((k, i, repr(exc)[:500]))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_a_300_deep_chain_of_fusable_ops_compiles_at_level_2():
    """Fusion once inlined the whole chain into one expression 300 calls deep: RecursionError in SymPy."""
    x = gc.placeholder((None, 4), dtype="float64", name="x")
    t = x
    for k in range(300):
        t = gc.tanh(t) if k % 2 else t * 1.001
    f = gc.function([x], gc.reduce_sum(t), optimize=2)
    v = np.array([[0.1, 0.2, -0.3, 0.4], [1.0, -2.0, 0.5, 0.0]])
    r = v.copy()
    for k in range(300):
        r = np.tanh(r) if k % 2 else r * 1.001
    np.testing.assert_allclose(f(v), r.sum(), rtol=1e-12)
