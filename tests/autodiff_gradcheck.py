"""Central finite differences against graphc's symbolic gradients (float64).

Shared by the autodiff tests. ``check_grad(build, arrays)`` builds a graph on
float64 placeholders, weights the output by fixed random cotangents (so the
check covers a general vector-Jacobian product, not only the gradient of a
sum), and compares ``gc.grad`` against central differences of the same
compiled graph evaluated at perturbed inputs.
"""
from __future__ import annotations

import numpy as np

import graphc as gc


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


def check_grad(build, arrays, shapes=None, rtol=1e-5, atol=1e-6, eps=1e-6, seed=0):
    """Assert gc.grad of ``build(*placeholders)`` matches finite differences.

    ``shapes`` gives the placeholders' static shapes (None dims allowed); by
    default they are the arrays' shapes. Returns the symbolic gradients.
    """
    arrays = [np.asarray(a, dtype=np.float64) for a in arrays]
    shapes = shapes or [a.shape for a in arrays]
    phs = [gc.placeholder(s, "float64", name=f"in{i}") for i, s in enumerate(shapes)]
    y = build(*phs)
    value = gc.function(phs, y)(*arrays)
    weights = np.random.default_rng(seed).uniform(0.5, 1.5, size=np.shape(value))
    w = gc.constant(weights, dtype="float64")
    loss = gc.reduce_sum(y * w) if y.ndim else y * w
    grads = gc.grad(y, phs, grad_ys=w)
    for g, p in zip(grads, phs):
        assert g.dtype == np.float64, (g.dtype, p.name)
    symbolic = gc.function(phs, grads)(*arrays)
    f = gc.function(phs, loss)
    numeric = numeric_grad(f, arrays, eps)
    for i, (s, n) in enumerate(zip(symbolic, numeric)):
        assert np.shape(s) == arrays[i].shape, (i, np.shape(s), arrays[i].shape)
        np.testing.assert_allclose(s, n, rtol=rtol, atol=atol, err_msg=f"input {i}")
    return symbolic
