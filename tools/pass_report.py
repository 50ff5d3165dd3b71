"""Figures for the optimization passes: graph sizes, compile times, speed.

    python tools/pass_report.py [--quick]

Prints tables: the MNIST training step (784-512-10, RMSprop) at level 0 and
2; n-th derivatives of tanh; compile time of the training step in a fresh
process; compile time of random graphs of 1 000 to 100 000 nodes; speed of
the 8th derivative of tanh on 10**6 float32 points (level 2 vs level 0, and
jax.jit when JAX is installed). Timing runs set OPENBLAS_NUM_THREADS=1 in
the fresh-process measurement only (it makes that number steadier on a
shared machine; the other figures do no BLAS work worth threading).
"""
from __future__ import annotations

import os
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import graphc as gc  # noqa: E402
from graphc.graph import Graph  # noqa: E402
from graphc.passes import graph_size  # noqa: E402


def table(title, header, rows):
    print(f"\n## {title}\n")
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) for i, h in enumerate(header)]
    print("  ".join(str(h).rjust(w) for h, w in zip(header, widths)))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print("  ".join(str(c).rjust(w) for c, w in zip(r, widths)), flush=True)


# ------------------------------------------------------------- MNIST step

MNIST_STEP = '''
def build_mnist_step(gc, np, level, batch=None):
    """The Keras MNIST model's training step written with the gc API."""
    rng = np.random.default_rng(0)
    x = gc.placeholder((batch, 784), "float32", name="images")
    y = gc.placeholder((batch,), "int32", name="labels")
    with gc.name_scope("dense"):
        w1 = gc.Variable(rng.normal(0, 0.05, (784, 512)).astype(np.float32), name="kernel")
        b1 = gc.Variable(np.zeros(512, np.float32), name="bias")
        h = gc.relu(x @ w1 + b1)
    with gc.name_scope("dense_1"):
        w2 = gc.Variable(rng.normal(0, 0.05, (512, 10)).astype(np.float32), name="kernel")
        b2 = gc.Variable(np.zeros(10, np.float32), name="bias")
        probs = gc.softmax(h @ w2 + b2)
    with gc.name_scope("loss"):
        loss = gc.reduce_mean(-gc.reduce_sum(gc.one_hot(y, 10) * gc.log(probs), -1))
    params = [w1, b1, w2, b2]
    updates = []
    with gc.name_scope("rmsprop"):
        lr, rho, eps = 0.001, 0.9, 1e-7
        for p, g in zip(params, gc.grad(loss, params)):
            v = gc.Variable(np.zeros(p.shape, np.float32), trainable=False, name="velocity")
            v_new = rho * v + (1.0 - rho) * gc.square(g)
            updates += [(v, v_new), (p, p - lr * g / gc.sqrt(v_new + eps))]
    return gc.function([x, y], loss, updates=updates, optimize=level)
'''
exec(MNIST_STEP)


def mnist_sizes():
    rows = []
    for level in (0, 2):
        f = build_mnist_step(gc, np, level)  # noqa: F821 (defined by exec above)
        if level == 0:
            rows.append(("as written", *graph_size(f.written_graph)))
        rows.append((f"level {level}", *graph_size(f.graph)))
    table("MNIST training step (784-512-10, sparse CE, RMSprop): graph size", ["graph", "nodes", "ops"], rows)
    return f


FRESH = MNIST_STEP + '''
import time
t0 = time.perf_counter()
import numpy as np
import graphc as gc
t1 = time.perf_counter()
f = build_mnist_step(gc, np, 2)
rng = np.random.default_rng(1)
f(rng.random((128, 784), dtype=np.float32), rng.integers(0, 10, 128).astype(np.int32))
t2 = time.perf_counter()
print(t1 - t0, t2 - t1, f.stats.seconds)
'''


def fresh_compile(repeats=3):
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", PYTHONPATH=ROOT)
    rows = []
    for i in range(repeats):
        out = subprocess.run([sys.executable, "-c", FRESH], env=env, capture_output=True, text=True,
                             check=True).stdout.split()
        imp, first, passes = map(float, out)
        rows.append((i + 1, f"{imp:.2f}", f"{first:.2f}", f"{passes:.2f}"))
    table("Level-2 training step in a fresh process (seconds)",
          ["run", "import graphc", "build+compile+first call", "of which passes"], rows)


# ------------------------------------------------------- tanh derivatives

def tanh_table():
    x = gc.placeholder((None,), "float64", name="x")
    d, rows = gc.tanh(x), []
    for n in range(1, 9):
        d = gc.grad(d, x)
        start = time.perf_counter()
        f = gc.function([x], d, optimize=2)
        seconds = time.perf_counter() - start
        rows.append((n, *graph_size(f.written_graph), *graph_size(f.graph), f"{seconds:.3f}"))
    table("n-th derivative of tanh (gc.grad applied n times), level 2",
          ["n", "nodes written", "ops written", "nodes level 2", "ops level 2", "compile s"], rows)


# ---------------------------------------------------------- random graphs

def random_graph(n_nodes, seed=0):
    """A random DAG of about ``n_nodes`` nodes: elementwise ops over a sliding
    window of earlier values, with a matmul or reduction every ~25 nodes."""
    rng = np.random.default_rng(seed)
    x = gc.placeholder((None, 8), "float32", name="x")
    w = gc.constant(rng.normal(0, 0.3, (8, 8)).astype(np.float32), name="w")
    pool, outputs = [x], []
    unary = [gc.tanh, gc.sigmoid, gc.relu, gc.exp, lambda t: t * 0.5, lambda t: -t]
    binary = [gc.add, gc.subtract, gc.multiply, gc.maximum]
    count = 2
    while count < n_nodes:
        a = pool[-1]  # a chain through every node: all of them are reachable
        r = rng.random()
        if r < 0.04:
            t = a @ w
        elif r < 0.06:
            t = a - gc.reduce_max(a, 1, keepdims=True)
        elif r < 0.5:
            t = unary[int(rng.integers(len(unary)))](a)
        else:
            b = pool[-1 - int(rng.integers(0, min(len(pool), 8)))]
            t = binary[int(rng.integers(len(binary)))](a, b)
        pool.append(t)
        count += 1 + sum(1 for i in t.inputs if i.op.name == "constant" and i not in (w,))
        if rng.random() < 0.01:
            outputs.append(t)
    outputs.append(pool[-1])
    return x, outputs


def random_graph_table(sizes=(1_000, 10_000, 100_000)):
    header = ["target", "nodes written", "nodes L0", "compile L0 s", "nodes L2", "compile L2 s",
              "of which passes L2"]
    widths = [len(h) for h in header]
    print("\n## Compile time of random graphs (rows print as they finish)\n")
    print("  ".join(header))
    print("  ".join("-" * w for w in widths))
    for n in sizes:
        x, outs = random_graph(n)
        row = [n, graph_size(Graph([x], outs))[0]]
        for level in (0, 2):
            start = time.perf_counter()
            f = gc.function([x], outs, optimize=level)
            seconds = time.perf_counter() - start
            row += [graph_size(f.graph)[0], f"{seconds:.2f}"]
        row.append(f"{f.stats.seconds:.2f}")
        print("  ".join(str(c).rjust(w) for c, w in zip(row, widths)), flush=True)


# ----------------------------------------------------- evaluation speed

def median_time(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def derivative_speed(points=10 ** 6):
    x = gc.placeholder((None,), "float32", name="x")
    d = gc.tanh(x)
    for _ in range(8):
        d = gc.grad(d, x)
    xs = np.linspace(-3, 3, points, dtype=np.float32)
    f2, f0 = gc.function([x], d, optimize=2), gc.function([x], d, optimize=0)
    np.testing.assert_allclose(f2(xs), f0(xs), rtol=1e-3, atol=1e-1)  # same values (float32, |d8| ~ 1e3)
    t2 = median_time(lambda: f2(xs), 11)
    t0 = median_time(lambda: f0(xs), 3)
    rows = [("graphc level 2", f"{t2 * 1e3:.1f}", "1.0"), ("graphc level 0", f"{t0 * 1e3:.1f}", f"{t0 / t2:.1f}")]
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        rows.append(("jax.jit", "not installed", "-"))
    else:
        fn = jnp.tanh
        for _ in range(8):
            fn = jax.grad(lambda v, fn=fn: jnp.sum(fn(v)))
        jitted = jax.jit(fn)
        xj = jnp.asarray(xs)
        jitted(xj).block_until_ready()
        tj = median_time(lambda: jitted(xj).block_until_ready(), 11)
        rows.append(("jax.jit", f"{tj * 1e3:.1f}", f"{tj / t2:.1f}"))
    table(f"8th derivative of tanh on {points:,} float32 points (median ms)",
          ["version", "ms", "time / level 2"], rows)


def main(argv):
    quick = "--quick" in argv
    print("$ " + " ".join(["python", "tools/pass_report.py"] + argv))
    print(f"numpy {np.__version__}, python {sys.version.split()[0]}, {os.cpu_count()} cpus, "
          f"load average {os.getloadavg()[0]:.1f}", flush=True)
    mnist_sizes()
    tanh_table()
    fresh_compile(1 if quick else 3)
    derivative_speed(10 ** 5 if quick else 10 ** 6)
    random_graph_table((1_000, 10_000) if quick else (1_000, 10_000, 100_000))


if __name__ == "__main__":
    main(sys.argv[1:])
