"""Fused softmax cross-entropies (graphc.nn) against numpy's log-sum-exp."""
import numpy as np
import pytest

import graphc as gc
import graphc.nn

RNG = np.random.default_rng(7)


def log_softmax(z):
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


@pytest.mark.parametrize("shape", [(5,), (4, 5), (2, 3, 5)])
@pytest.mark.parametrize("plan_memory", [True, False])
def test_dense_cross_entropy_and_its_gradient(shape, plan_memory):
    logits = gc.placeholder(shape, "float64", name="logits")
    labels = gc.placeholder(shape, "float64", name="labels")
    loss = gc.nn.softmax_cross_entropy_with_logits(labels, logits)
    grad = gc.grad(gc.reduce_sum(loss), logits)
    f = gc.function([logits, labels], [loss, grad], plan_memory=plan_memory)
    z = RNG.normal(size=shape) * 3
    p = RNG.random(shape)
    p /= p.sum(axis=-1, keepdims=True)
    for _ in range(2):  # the second call runs on reused buffers
        value, g = f(z, p)
        np.testing.assert_allclose(value, -(p * log_softmax(z)).sum(axis=-1), rtol=1e-12)
        softmax = np.exp(log_softmax(z))
        np.testing.assert_allclose(g, softmax * p.sum(axis=-1, keepdims=True) - p, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("shape", [(5,), (4, 5), (2, 3, 5)])
@pytest.mark.parametrize("plan_memory", [True, False])
def test_sparse_cross_entropy_and_its_gradient(shape, plan_memory):
    logits = gc.placeholder(shape, "float32", name="logits")
    labels = gc.placeholder(shape[:-1], "int32", name="labels")
    loss = gc.nn.sparse_softmax_cross_entropy_with_logits(labels, logits)
    grad = gc.grad(gc.reduce_sum(loss), logits)
    f = gc.function([logits, labels], [loss, grad], plan_memory=plan_memory)
    z = (RNG.normal(size=shape) * 1000).astype(np.float32)  # far past exp's range: still finite
    y = RNG.integers(0, shape[-1], shape[:-1]).astype(np.int32)
    onehot = np.eye(shape[-1])[y]
    for _ in range(2):
        value, g = f(z, y)
        assert value.dtype == np.float32 and g.dtype == np.float32
        expected = -(onehot * log_softmax(z.astype(np.float64))).sum(axis=-1)
        np.testing.assert_allclose(value, expected, rtol=1e-5, atol=1e-3)
        np.testing.assert_allclose(g, np.exp(log_softmax(z.astype(np.float64))) - onehot, atol=1e-6)
