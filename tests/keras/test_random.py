"""keras.random and gc.random inside compiled steps: new values at every run,
reproducible from a seed, with the moments of their distribution."""
import numpy as np
import pytest

import graphc as gc
from graphc import keras

ops = keras.ops


class Sampling(keras.layers.Layer):
    """The Keras VAE example's reparameterization layer."""

    def __init__(self, seed=1337, **kwargs):
        super().__init__(**kwargs)
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs):
        z_mean, z_log_var = inputs
        batch, dim = ops.shape(z_mean)[0], ops.shape(z_mean)[1]
        epsilon = keras.random.normal(shape=(batch, dim), seed=self.seed_generator)
        return z_mean + ops.exp(0.5 * z_log_var) * epsilon


def sampler(seed):
    mean, log_var = keras.Input((3,)), keras.Input((3,))
    return keras.Model([mean, log_var], Sampling(seed)([mean, log_var]))


def test_a_draw_in_a_layer_is_new_at_every_step_and_follows_the_batch():
    model = sampler(seed=7)
    zeros = np.zeros((4, 3), "float32")
    first, second = (model.predict([zeros, zeros], verbose=0) for _ in range(2))
    assert first.shape == (4, 3) and not np.array_equal(first, second)
    assert model.predict([np.zeros((9, 3)), np.zeros((9, 3))], verbose=0).shape == (9, 3)
    # the same seed gives the same stream
    again = sampler(seed=7)
    np.testing.assert_array_equal(again.predict([zeros, zeros], verbose=0), first)
    # mean + exp(log_var / 2) * eps: shifted and scaled
    shifted = model.predict([np.full((4, 3), 5.0), np.full((4, 3), np.log(4.0))], verbose=0)
    assert np.abs(shifted - 5.0).max() > 0 and np.all(np.isfinite(shifted))


def test_draws_have_the_moments_of_their_distribution():
    normal = keras.random.normal((200_000,), mean=2.0, stddev=3.0, seed=1).numpy()
    assert abs(normal.mean() - 2.0) < 0.05 and abs(normal.std() - 3.0) < 0.05
    uniform = keras.random.uniform((200_000,), minval=-1.0, maxval=3.0, seed=1).numpy()
    assert uniform.min() >= -1.0 and uniform.max() < 3.0 and abs(uniform.mean() - 1.0) < 0.02
    kept = keras.random.dropout(gc.ones((100_000,)), rate=0.25, seed=2).numpy()
    assert set(np.unique(kept)) == {0.0, np.float32(1 / 0.75)} and abs((kept == 0).mean() - 0.25) < 0.01


def test_gc_random_is_drawn_once_eagerly_and_at_every_call_when_traced():
    eager = gc.random.normal((3,), seed=0)
    np.testing.assert_array_equal(eager.numpy(), eager.numpy())

    @gc.function
    def noisy(x):
        return x + gc.random.normal((3,), stddev=0.5, seed=0)

    a, b = noisy(np.zeros(3, "float32")).numpy(), noisy(np.zeros(3, "float32")).numpy()
    assert not np.array_equal(a, b) and noisy.tracing_count == 1

    @gc.function
    def captured(x):
        return x + eager  # a value made outside is captured as it is

    np.testing.assert_array_equal(captured(np.zeros(3, "float32")).numpy(), eager.numpy())


def test_bad_shapes_and_seeds_are_named():
    with pytest.raises(ValueError, match="each dimension of the shape must be a non-negative int"):
        keras.random.normal((None, 3))
    with pytest.raises(ValueError, match="SeedGenerator: seed must be a non-negative int"):
        keras.random.SeedGenerator(-1)
