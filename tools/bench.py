"""Benchmark: one training step of the Keras MNIST MLP, graphc vs hand-written numpy.

    python tools/bench.py [--repeats 600] [--out tools/bench_results.md]

Model: 784 -> Dense 512 relu -> Dense 10 softmax, sparse categorical
cross-entropy, SGD lr 0.01, float32. In ONE process, after warm-up, it
times the median of many repetitions of
- graphc's compiled training step (gc API, level 2) at batch 32, 128, 1024;
- a careful hand-written numpy step of the same model (preallocated
  buffers, in-place updates), checked to compute the same update;
- inference on a batch of 10 000;
- an eager GradientTape loop step (the textbook's hand-written Dense
  layers, keras loss and SGD ``apply_gradients``), against the numpy step
  and against graphc.keras's compiled ``train_function``;
- PyTorch (eager) and JAX (jit) versions of the same step where installed;
- graphc's compile time for the step.
It prints a table of medians and ratios to hand-written numpy and writes it
to a results file.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import graphc as gc  # noqa: E402

IN, HIDDEN, OUT, LR = 784, 512, 10, 0.01


def initial_weights(seed=0):
    rng = np.random.default_rng(seed)
    limit1 = np.sqrt(6 / (IN + HIDDEN))
    limit2 = np.sqrt(6 / (HIDDEN + OUT))
    return [rng.uniform(-limit1, limit1, (IN, HIDDEN)).astype(np.float32),
            np.zeros(HIDDEN, np.float32),
            rng.uniform(-limit2, limit2, (HIDDEN, OUT)).astype(np.float32),
            np.zeros(OUT, np.float32)]


# ------------------------------------------------------------------ graphc

def graphc_step(weights):
    x = gc.placeholder((None, IN), "float32", name="x")
    y = gc.placeholder((None,), "int32", name="y")
    w1, b1, w2, b2 = [gc.Variable(w.copy(), name=n) for w, n in zip(weights, ["w1", "b1", "w2", "b2"])]
    with gc.name_scope("dense"):
        h = gc.relu(x @ w1 + b1)
    with gc.name_scope("dense_1"):
        p = gc.softmax(h @ w2 + b2)
    loss = gc.reduce_mean(-gc.log(gc.reduce_sum(gc.one_hot(y, OUT) * p, axis=-1)))
    params = [w1, b1, w2, b2]
    grads = gc.grad(loss, params)
    start = time.perf_counter()
    step = gc.function([x, y], loss, updates=[(v, v - LR * g) for v, g in zip(params, grads)], name="train_step")
    compile_seconds = time.perf_counter() - start
    predict = gc.function([x], p, name="predict")
    return step, predict, params, compile_seconds


def keras_model(weights):
    from graphc import keras
    model = keras.Sequential([keras.Input(shape=(IN,)), keras.layers.Dense(HIDDEN, activation="relu"),
                              keras.layers.Dense(OUT, activation="softmax")])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=LR), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.set_weights(weights)
    return model


def tape_loop_step(weights):
    """One step of an eager training loop, as the TensorFlow textbook writes it."""
    from graphc import keras
    w1, b1, w2, b2 = [gc.Variable(w.copy()) for w in weights]
    optimizer = keras.optimizers.SGD(learning_rate=LR)
    params = [w1, b1, w2, b2]

    def step(x, y):
        with gc.GradientTape() as tape:
            h = gc.nn.relu(gc.matmul(x, w1) + b1)
            p = gc.nn.softmax(gc.matmul(h, w2) + b2)
            loss = gc.reduce_mean(keras.losses.sparse_categorical_crossentropy(y, p))
        optimizer.apply_gradients(zip(tape.gradient(loss, params), params))
        return loss
    return step


# ------------------------------------------------------- hand-written numpy

class NumpyStep:
    """A careful hand-written step: preallocated buffers, in-place updates,
    the learning rate folded into the small (batch x units) gradients."""

    def __init__(self, weights):
        self.w1, self.b1, self.w2, self.b2 = [w.copy() for w in weights]
        self.batch = None

    def _buffers(self, n):
        if self.batch != n:
            self.batch = n
            self.h = np.empty((n, HIDDEN), np.float32)
            self.z = np.empty((n, OUT), np.float32)
            self.m = np.empty((n, 1), np.float32)
            self.dh = np.empty((n, HIDDEN), np.float32)
            self.gw1 = np.empty((IN, HIDDEN), np.float32)
            self.gw2 = np.empty((HIDDEN, OUT), np.float32)
            self.rows = np.arange(n)

    def __call__(self, x, y):
        n = x.shape[0]
        self._buffers(n)
        h, z, m = self.h, self.z, self.m
        np.matmul(x, self.w1, out=h)
        h += self.b1
        np.maximum(h, 0, out=h)
        np.matmul(h, self.w2, out=z)
        z += self.b2
        np.max(z, axis=1, keepdims=True, out=m)
        z -= m
        np.exp(z, out=z)
        np.sum(z, axis=1, keepdims=True, out=m)
        z /= m                                   # softmax
        loss = -np.mean(np.log(z[self.rows, y]))
        z[self.rows, y] -= 1.0
        z *= LR / n                              # lr * dlogits
        np.matmul(z, self.w2.T, out=self.dh)
        self.dh *= h > 0
        np.matmul(h.T, z, out=self.gw2)
        self.b2 -= z.sum(axis=0)
        self.w2 -= self.gw2
        np.matmul(x.T, self.dh, out=self.gw1)
        self.b1 -= self.dh.sum(axis=0)
        self.w1 -= self.gw1
        return loss

    def predict(self, x):
        h = np.maximum(x @ self.w1 + self.b1, 0)
        z = h @ self.w2 + self.b2
        z = np.exp(z - z.max(axis=1, keepdims=True))
        return z / z.sum(axis=1, keepdims=True)


# ------------------------------------------------------------------- peers

def torch_step(weights):
    import torch
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    params = [torch.tensor(w.copy(), requires_grad=True) for w in weights]
    opt = torch.optim.SGD(params, lr=LR)

    def step(x, y):
        w1, b1, w2, b2 = params
        opt.zero_grad(set_to_none=True)
        logits = torch.relu(x @ w1 + b1) @ w2 + b2
        loss = torch.nn.functional.cross_entropy(logits, y)
        loss.backward()
        opt.step()
        return loss
    return step, torch


def jax_step(weights):
    import jax
    import jax.numpy as jnp

    def loss_fn(params, x, y):
        w1, b1, w2, b2 = params
        logits = jax.nn.relu(x @ w1 + b1) @ w2 + b2
        return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(logits), y[:, None], axis=1))

    @jax.jit
    def step(params, x, y):
        loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
        return loss, [p - LR * g for p, g in zip(params, grads)]
    return step, [jnp.asarray(w) for w in weights], jnp


# ------------------------------------------------------------------ timing

def paired_medians(fn_a, fn_b, repeats, block=10, warmup=5) -> tuple:
    """(median seconds per call of ``fn_a``, of ``fn_b``, median ratio a/b).

    The two are timed in alternating blocks of ``block`` calls (within a
    block each runs with its own data in cache, as in a training loop), and
    the ratio is the median over block pairs of the ratio of their medians,
    so a drift of the machine's speed hits both sides of each ratio alike.
    """
    for _ in range(warmup):
        fn_a()
        fn_b()
    times_a, times_b, ratios = [], [], []
    clock = time.perf_counter
    while len(times_a) < repeats:
        pair = []
        for fn, times in ((fn_a, times_a), (fn_b, times_b)):
            block_times = []
            for _ in range(block):
                start = clock()
                fn()
                block_times.append(clock() - start)
            times.extend(block_times)
            pair.append(statistics.median(block_times))
        ratios.append(pair[0] / pair[1])
    return statistics.median(times_a), statistics.median(times_b), statistics.median(ratios)


def allocated_per_call(fn, calls=20) -> float:
    """Peak bytes traced by tracemalloc during one call, after warm-up (median)."""
    import tracemalloc
    for _ in range(3):
        fn()
    peaks = []
    tracemalloc.start()
    try:
        for _ in range(calls):
            tracemalloc.reset_peak()
            base = tracemalloc.get_traced_memory()[0]
            fn()
            peaks.append(tracemalloc.get_traced_memory()[1] - base)
    finally:
        tracemalloc.stop()
    return statistics.median(peaks)


def check_same_update(weights):
    """graphc's step and the numpy step give the same new weights."""
    step, _, params, _ = graphc_step(weights)
    ref = NumpyStep(weights)
    rng = np.random.default_rng(1)
    x = rng.random((64, IN), dtype=np.float32)
    y = rng.integers(0, OUT, 64).astype(np.int32)
    loss_g = step(x, y)
    loss_n = ref(x, y)
    assert np.allclose(loss_g, loss_n, rtol=1e-4), (loss_g, loss_n)
    for p, w in zip(params, [ref.w1, ref.b1, ref.w2, ref.b2]):
        assert np.allclose(p.numpy(), w, rtol=1e-4, atol=1e-6), np.abs(p.numpy() - w).max()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=600)
    parser.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                      "bench_results.md"))
    args = parser.parse_args(argv)

    weights = initial_weights()
    check_same_update(weights)
    rng = np.random.default_rng(0)
    rows = []

    def row(what, graphc_s, numpy_s, ratio=None, extra=""):
        ratio = ratio if ratio is not None else (graphc_s / numpy_s if numpy_s else None)
        rows.append((what, graphc_s, numpy_s, ratio))
        ratio = f"{ratio:6.3f}" if ratio is not None else "   -  "
        print(f"{what:<34}{graphc_s * 1e3:>10.3f}{(numpy_s or 0) * 1e3:>12.3f}{ratio:>9}  {extra}", flush=True)

    print(f"{'measurement (median ms)':<34}{'graphc':>10}{'numpy':>12}{'ratio':>9}")
    step, predict, _, compile_s = graphc_step(weights)
    ref = NumpyStep(weights)
    for batch in (32, 128, 1024):
        x = rng.random((batch, IN), dtype=np.float32)
        y = rng.integers(0, OUT, batch).astype(np.int32)
        repeats = args.repeats if batch < 1024 else max(20, args.repeats // 5)
        row(f"train step, batch {batch}", *paired_medians(lambda: step(x, y), lambda: ref(x, y), repeats))
    # The same model through graphc.keras: its step also updates the running
    # loss and accuracy metrics, which the hand-written step does not.
    model = keras_model(weights)
    x = rng.random((128, IN), dtype=np.float32)
    y = rng.integers(0, OUT, 128).astype(np.int32)
    train_function = model.train_function
    row("keras train_function, batch 128",
        *paired_medians(lambda: train_function(x, y), lambda: ref(x, y), args.repeats), extra="(with metrics)")
    # A hand-written eager loop: builds its graph each step, compiled once per structure.
    tape_step = tape_loop_step(weights)
    row("eager tape loop step, batch 128", *paired_medians(lambda: tape_step(x, y), lambda: ref(x, y),
                                                          args.repeats // 3))
    _, _, versus_fit = paired_medians(lambda: tape_step(x, y), lambda: train_function(x, y), args.repeats // 3)
    print(f"{'  eager tape loop / keras train_function':<34}{'':>22}{versus_fit:>9.3f}")
    x = rng.random((10000, IN), dtype=np.float32)
    row("inference, batch 10000", *paired_medians(lambda: predict(x), lambda: ref.predict(x), 20, block=1))
    row("compile train step (level 2)", compile_s, None)
    x = rng.random((128, IN), dtype=np.float32)
    y = rng.integers(0, OUT, 128).astype(np.int32)
    graphc_bytes = allocated_per_call(lambda: step(x, y))
    numpy_bytes = allocated_per_call(lambda: ref(x, y))
    print(f"{'allocated per step, batch 128 (KiB)':<34}{graphc_bytes / 1024:>10.1f}{numpy_bytes / 1024:>12.1f}")

    x = rng.random((128, IN), dtype=np.float32)
    y = rng.integers(0, OUT, 128)
    y32 = y.astype(np.int32)
    try:
        tstep, torch = torch_step(weights)
        tx, ty = torch.tensor(x), torch.tensor(y)
        row("PyTorch eager, batch 128", *paired_medians(lambda: tstep(tx, ty), lambda: ref(x, y32), args.repeats))
    except ImportError:
        print("PyTorch not installed: skipped")
    try:
        jstep, jparams, jnp = jax_step(weights)
        jx, jy = jnp.asarray(x), jnp.asarray(y)
        row("JAX jit, batch 128", *paired_medians(lambda: jstep(jparams, jx, jy)[0].block_until_ready(),
                                                  lambda: ref(x, y32), args.repeats))
    except ImportError:
        print("JAX not installed: skipped")

    with open(args.out, "w") as f:
        f.write(f"# graphc benchmark\n\nCommand: `python tools/bench.py --repeats {args.repeats}`  \n")
        f.write(f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
                f"numpy {np.__version__}\n\n")
        f.write("| measurement | graphc (ms) | numpy by hand (ms) | ratio |\n|---|---:|---:|---:|\n")
        for what, g, n, ratio in rows:
            f.write(f"| {what} | {g * 1e3:.3f} | {'' if n is None else f'{n * 1e3:.3f}'} | "
                    f"{'' if ratio is None else f'{ratio:.3f}'} |\n")
        f.write("\nratio: graphc / numpy, the median over alternating blocks (10 calls each; inference: 1) "
                "of the ratio of the two blocks' medians.\n")
        f.write(f"\nEager tape loop step / keras train_function (the same step compiled by fit): "
                f"{versus_fit:.3f}.\n")
        f.write(f"\nPeak memory allocated during one training step at batch 128 (tracemalloc, after "
                f"warm-up): graphc {graphc_bytes / 1024:.1f} KiB, hand-written numpy "
                f"{numpy_bytes / 1024:.1f} KiB.\n")
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
