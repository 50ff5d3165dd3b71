"""Keras's variational autoencoder example (keras.io/examples/generative/vae),
with the import changed and Dense layers for its convolutions, on the 8x8
digits: a Sampling layer drawing with keras.random, a subclassed Model with
its own train_step and metrics, fit on x alone."""
import numpy as np
import pytest

import graphc as gc
from graphc import keras
from graphc.keras import layers, ops


class Sampling(layers.Layer):
    """Uses (z_mean, z_log_var) to sample z, the vector encoding a digit."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seed_generator = keras.random.SeedGenerator(1337)

    def call(self, inputs):
        z_mean, z_log_var = inputs
        batch = ops.shape(z_mean)[0]
        dim = ops.shape(z_mean)[1]
        epsilon = keras.random.normal(shape=(batch, dim), seed=self.seed_generator)
        return z_mean + ops.exp(0.5 * z_log_var) * epsilon


class VAE(keras.Model):
    def __init__(self, encoder, decoder, **kwargs):
        super().__init__(**kwargs)
        self.encoder = encoder
        self.decoder = decoder
        self.total_loss_tracker = keras.metrics.Mean(name="total_loss")
        self.reconstruction_loss_tracker = keras.metrics.Mean(name="reconstruction_loss")
        self.kl_loss_tracker = keras.metrics.Mean(name="kl_loss")

    @property
    def metrics(self):
        return [self.total_loss_tracker, self.reconstruction_loss_tracker, self.kl_loss_tracker]

    def train_step(self, data):
        with gc.GradientTape() as tape:
            z_mean, z_log_var, z = self.encoder(data)
            reconstruction = self.decoder(z)
            # (the example's images are (28, 28, 1): a crossentropy per pixel, summed per image)
            per_pixel = keras.losses.binary_crossentropy(ops.expand_dims(data, -1), ops.expand_dims(reconstruction, -1))
            reconstruction_loss = ops.mean(ops.sum(per_pixel, axis=1))
            kl_loss = -0.5 * (1 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var))
            kl_loss = ops.mean(ops.sum(kl_loss, axis=1))
            total_loss = reconstruction_loss + kl_loss
        grads = tape.gradient(total_loss, self.trainable_weights)
        self.optimizer.apply_gradients(zip(grads, self.trainable_weights))
        self.total_loss_tracker.update_state(total_loss)
        self.reconstruction_loss_tracker.update_state(reconstruction_loss)
        self.kl_loss_tracker.update_state(kl_loss)
        return {"loss": self.total_loss_tracker.result(),
                "reconstruction_loss": self.reconstruction_loss_tracker.result(),
                "kl_loss": self.kl_loss_tracker.result()}


def build(latent_dim=2):
    encoder_inputs = keras.Input(shape=(64,))
    x = layers.Dense(32, activation="relu")(encoder_inputs)
    z_mean = layers.Dense(latent_dim, name="z_mean")(x)
    z_log_var = layers.Dense(latent_dim, name="z_log_var")(x)
    z = Sampling()([z_mean, z_log_var])
    encoder = keras.Model(encoder_inputs, [z_mean, z_log_var, z], name="encoder")
    latent_inputs = keras.Input(shape=(latent_dim,))
    x = layers.Dense(32, activation="relu")(latent_inputs)
    decoder_outputs = layers.Dense(64, activation="sigmoid")(x)
    decoder = keras.Model(latent_inputs, decoder_outputs, name="decoder")
    return VAE(encoder, decoder)


def test_the_vae_example_trains_on_x_alone():
    sklearn = pytest.importorskip("sklearn.datasets")
    digits = (sklearn.load_digits().data / 16.0).astype("float32")
    vae = build()
    vae.compile(optimizer=keras.optimizers.Adam())
    history = vae.fit(digits, epochs=8, batch_size=128, verbose=0).history
    assert set(history) == {"loss", "reconstruction_loss", "kl_loss"}
    assert history["loss"][-1] < 0.8 * history["loss"][0]
    np.testing.assert_allclose(history["loss"], np.add(history["reconstruction_loss"], history["kl_loss"]),
                               rtol=1e-5)
    assert len(vae.weights) == 10 and vae.optimizer.iterations == 8 * 15  # 5 Dense layers; 1797 digits / 128
    # the encoder's draw is new at every call; its mean is not
    mean_1, _, z_1 = vae.encoder.predict(digits[:4], verbose=0)
    mean_2, _, z_2 = vae.encoder.predict(digits[:4], verbose=0)
    np.testing.assert_array_equal(mean_1, mean_2)
    assert not np.array_equal(z_1, z_2)
    assert vae.decoder.predict(mean_1, verbose=0).shape == (4, 64)


class LowerLevel(keras.Model):
    """Keras's guide "Customizing what happens in fit()", going lower-level: no compiled
    loss, own trackers, a functional model made by a subclass."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.mae_metric = keras.metrics.MeanAbsoluteError(name="mae")
        self.loss_fn = keras.losses.MeanSquaredError()

    def train_step(self, data):
        x, y = data
        with gc.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.loss_fn(y, y_pred)
        gradients = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply(gradients, self.trainable_variables)
        self.loss_tracker.update_state(loss)
        self.mae_metric.update_state(y, y_pred)
        return {"loss": self.loss_tracker.result(), "mae": self.mae_metric.result()}

    @property
    def metrics(self):
        return [self.loss_tracker, self.mae_metric]


def test_a_subclass_built_from_inputs_and_outputs_trains_with_its_own_step(tmp_path):
    inputs = keras.Input(shape=(32,))
    model = LowerLevel(inputs, keras.layers.Dense(1)(inputs))
    assert isinstance(model, LowerLevel) and isinstance(model, keras.Model) and type(model).__name__ == "LowerLevel"
    model.compile(optimizer="adam")
    rng = np.random.default_rng(0)
    x, y = rng.random((1000, 32)).astype("float32"), rng.random((1000, 1)).astype("float32")
    history = model.fit(x, y, epochs=5, verbose=0).history
    assert set(history) == {"loss", "mae"} and history["loss"][-1] < history["loss"][0]
    model.save(tmp_path / "lower.keras")
    loaded = keras.models.load_model(tmp_path / "lower.keras", custom_objects={"LowerLevel": LowerLevel})
    assert isinstance(loaded, LowerLevel)
    np.testing.assert_array_equal(loaded.predict(x[:5], verbose=0), model.predict(x[:5], verbose=0))
