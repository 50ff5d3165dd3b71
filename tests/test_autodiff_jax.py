"""Gradients and Hessians against JAX (float64), where JAX is installed."""
from __future__ import annotations

import numpy as np
import pytest

jax = pytest.importorskip("jax")
jax.config.update("jax_enable_x64", True)
jnp = jax.numpy

import graphc as gc  # noqa: E402
from tests.autodiff_gradcheck import compile_plain  # noqa: E402

RNG = np.random.default_rng(3)
W = RNG.normal(size=(3, 4))
B = RNG.normal(size=(4,))


def _mlp(np_, x, softmax, log_softmax, relu):
    h = np_.tanh(x @ W + B)
    return np_.sum(softmax(h) * log_softmax(h * 2.0)) + np_.sum(relu(x) ** 2) / 6.0


def jax_softmax(t):
    return jax.nn.softmax(t, axis=-1)


def jax_log_softmax(t):
    return jax.nn.log_softmax(t, axis=-1)


# name -> (graphc function of a tensor, jax function of an array, input shape)
FUNCTIONS = {
    "mlp": (lambda x: _mlp(gc, x, gc.softmax, gc.log_softmax, gc.relu),
            lambda x: _mlp(jnp, x, jax_softmax, jax_log_softmax, jax.nn.relu), (2, 3)),
    "logsumexp_sin": (lambda x: gc.log(gc.reduce_sum(gc.exp(gc.sin(x) * x))),
                      lambda x: jnp.log(jnp.sum(jnp.exp(jnp.sin(x) * x))), (5,)),
    "sigmoid_softplus": (lambda x: gc.reduce_mean(gc.sigmoid(x) * gc.softplus(x @ gc.transpose(x))),
                         lambda x: jnp.mean(jax.nn.sigmoid(x) * jax.nn.softplus(x @ x.T)), (3, 3)),
    "max_sqrt": (lambda x: gc.reduce_sum(gc.reduce_max(x, axis=1) * gc.sqrt(x[:, 0] ** 2 + 1.0)),
                 lambda x: jnp.sum(jnp.max(x, axis=1) * jnp.sqrt(x[:, 0] ** 2 + 1.0)), (4, 3)),
    "where_log": (lambda x: gc.reduce_sum(gc.where(x > 0, gc.log(gc.abs(x) + 1.0), x ** 3)),
                  lambda x: jnp.sum(jnp.where(x > 0, jnp.log(jnp.abs(x) + 1.0), x ** 3)), (6,)),
}


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_grad_matches_jax(name):
    build, reference, shape = FUNCTIONS[name]
    v = RNG.normal(size=shape)
    x = gc.placeholder(shape, "float64")
    y = build(x)
    value, got = compile_plain([x], [y, gc.grad(y, x)])(v)
    np.testing.assert_allclose(value, reference(jnp.asarray(v)), rtol=1e-12)
    np.testing.assert_allclose(got, np.asarray(jax.grad(reference)(jnp.asarray(v))), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", ["mlp", "logsumexp_sin", "sigmoid_softplus", "where_log"])
def test_hessian_matches_jax(name):
    build, reference, shape = FUNCTIONS[name]
    v = RNG.normal(size=shape)
    x = gc.placeholder(shape, "float64")
    H = gc.hessian(build(x), x)
    assert H.shape == shape + shape
    np.testing.assert_allclose(compile_plain([x], H)(v), np.asarray(jax.hessian(reference)(jnp.asarray(v))),
                               rtol=1e-9, atol=1e-11)


def test_third_derivative_matches_jax():
    x = gc.placeholder((), "float64")
    d = gc.sin(x) * gc.sigmoid(x * x)
    for _ in range(3):
        d = gc.grad(d, x)

    def f(t):
        return jnp.sin(t) * jax.nn.sigmoid(t * t)
    for v in (-0.7, 0.2, 1.5):
        np.testing.assert_allclose(compile_plain([x], d)(v), jax.grad(jax.grad(jax.grad(f)))(v), rtol=1e-10)
