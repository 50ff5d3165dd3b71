"""Central finite differences against graphc's symbolic gradients (float64).

Shared by the autodiff tests. ``check_grad(build, arrays)`` builds a graph on
float64 placeholders, weights the output by fixed random cotangents (so the
check covers a general vector-Jacobian product, not only the gradient of a
sum), and compares ``gc.grad`` against central differences of the same
compiled graph evaluated at perturbed inputs.
"""
from __future__ import annotations

import inspect

import numpy as np

import graphc as gc

# gc.function may optimize (optimize=0|1|2); the autodiff checks compile the
# graph as written, so a failure points at the gradient, not at a pass.
HAS_OPTIMIZE = "optimize" in inspect.signature(gc.function).parameters


def compile_plain(inputs, outputs):
    if HAS_OPTIMIZE:
        return gc.function(inputs, outputs, optimize=0)
    return gc.function(inputs, outputs)


def numeric_grad(f, arrays, eps=1e-6):
    """Central differences of the scalar function ``f(*arrays)`` w.r.t. each array."""
    grads = []
    for k, a in enumerate(arrays):
        g = np.zeros_like(a, dtype=np.float64)
        flat = g.reshape(-1)
        for j in range(a.size):
            plus = [b.copy() for b in arrays]
            minus = [b.copy() for b in arrays]
            plus[k].reshape(-1)[j] += eps
            minus[k].reshape(-1)[j] -= eps
            flat[j] = (float(f(*plus)) - float(f(*minus))) / (2 * eps)
        grads.append(g)
    return grads


def check_grad(build, arrays, shapes=None, rtol=1e-5, atol=1e-6, eps=1e-6, seed=0, optimized=False):
    """Assert gc.grad of ``build(*placeholders)`` matches finite differences.

    ``shapes`` gives the placeholders' static shapes (None dims allowed); by
    default they are the arrays' shapes. With ``optimized`` the gradient is
    also compiled at gc.function's default optimization and checked against
    the same differences. Returns the symbolic gradients (unoptimized).
    """
    arrays = [np.asarray(a, dtype=np.float64) for a in arrays]
    shapes = shapes or [a.shape for a in arrays]
    phs = [gc.placeholder(s, "float64", name=f"in{i}") for i, s in enumerate(shapes)]
    y = build(*phs)
    value = compile_plain(phs, y)(*arrays)
    weights = np.random.default_rng(seed).uniform(0.5, 1.5, size=np.shape(value))
    w = gc.constant(weights, dtype="float64")
    loss = gc.reduce_sum(y * w) if y.ndim else y * w
    grads = gc.grad(y, phs, grad_ys=w)
    for g, p in zip(grads, phs):
        assert g.dtype == np.float64, (g.dtype, p.name)
    symbolic = compile_plain(phs, grads)(*arrays)
    numeric = numeric_grad(compile_plain(phs, loss), arrays, eps)
    for i, (s, n) in enumerate(zip(symbolic, numeric)):
        assert np.shape(s) == arrays[i].shape, (i, np.shape(s), arrays[i].shape)
        np.testing.assert_allclose(s, n, rtol=rtol, atol=atol, err_msg=f"input {i}")
    if optimized and HAS_OPTIMIZE:
        fast = gc.function(phs, grads)(*arrays)
        for i, (s, n) in enumerate(zip(fast, numeric)):
            np.testing.assert_allclose(s, n, rtol=rtol, atol=atol, err_msg=f"input {i}, optimized")
    return symbolic
