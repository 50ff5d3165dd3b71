"""Chapters 2-3 of the TensorFlow/Keras textbook (Deep Learning with Python), with only the import changed.

Each pattern runs as the book writes it, ``import graphc as tf``; the numbers
it must give are worked by hand (closed forms) or by the same arithmetic in
plain numpy, step by step.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

import graphc as tf
from graphc import keras


# ------------------------------------------------------------ tensors and variables

def test_constant_tensors_are_immutable_and_variables_are_assignable():
    x = tf.ones(shape=(2, 2))
    with pytest.raises(TypeError, match="item assignment"):
        x[0, 0] = 0.0
    v = tf.Variable(initial_value=tf.random.normal(shape=(3, 1)))
    v.assign(tf.ones((3, 1)))
    v[0, 0].assign(3.0)
    v.assign_add(tf.ones((3, 1)))
    np.testing.assert_array_equal(v.numpy(), [[4.0], [2.0], [2.0]])


def test_tensor_math():
    a = tf.ones((2, 2))
    b = tf.square(a)
    c = tf.sqrt(a)
    d = b + c           # 2 everywhere
    e = tf.matmul(a, b)  # 2 everywhere
    e *= d
    np.testing.assert_array_equal(e.numpy(), np.full((2, 2), 4.0))
    assert e.dtype == tf.float32 and str(e).startswith("graphc.Tensor(\n[[4. 4.]")


# ------------------------------------------------------------ GradientTape

def test_gradient_of_a_variable_and_of_a_watched_constant():
    input_var = tf.Variable(initial_value=3.0)
    with tf.GradientTape() as tape:
        result = tf.square(input_var)
    assert float(tape.gradient(result, input_var)) == 6.0   # d(x^2)/dx = 2x

    input_const = tf.constant(3.0)
    with tf.GradientTape() as tape:
        tape.watch(input_const)
        result = tf.square(input_const)
    assert float(tape.gradient(result, input_const)) == 6.0


def test_second_order_gradients_speed_and_acceleration():
    time = tf.Variable(0.0)
    with tf.GradientTape() as outer_tape:
        with tf.GradientTape() as inner_tape:
            position = 4.9 * time ** 2
        speed = inner_tape.gradient(position, time)
    acceleration = outer_tape.gradient(speed, time)
    assert float(speed) == 0.0                       # 9.8 t at t = 0
    assert float(acceleration) == pytest.approx(9.8)


# ------------------------------------------------------------ linear classifier

def two_blobs(n=1000, seed=0):
    rng = np.random.default_rng(seed)
    cov = [[1, 0.5], [0.5, 1]]
    negative_samples = rng.multivariate_normal(mean=[0, 3], cov=cov, size=n)
    positive_samples = rng.multivariate_normal(mean=[3, 0], cov=cov, size=n)
    inputs = np.vstack((negative_samples, positive_samples)).astype(np.float32)
    targets = np.vstack((np.zeros((n, 1), dtype="float32"), np.ones((n, 1), dtype="float32")))
    return inputs, targets


def test_linear_classifier_trained_with_a_tape_gives_the_numbers_of_its_arithmetic():
    inputs, targets = two_blobs()
    input_dim, output_dim = 2, 1
    W = tf.Variable(initial_value=tf.random.uniform(shape=(input_dim, output_dim), seed=3))
    b = tf.Variable(initial_value=tf.zeros(shape=(output_dim,)))
    w_ref, b_ref = W.numpy().astype(np.float64), b.numpy().astype(np.float64)

    def model(inputs):
        return tf.matmul(inputs, W) + b

    def square_loss(targets, predictions):
        per_sample_losses = tf.square(targets - predictions)
        return tf.reduce_mean(per_sample_losses)

    learning_rate = 0.1

    def training_step(inputs, targets):
        with tf.GradientTape() as tape:
            predictions = model(inputs)
            loss = square_loss(predictions, targets)
        grad_loss_wrt_W, grad_loss_wrt_b = tape.gradient(loss, [W, b])
        W.assign_sub(grad_loss_wrt_W * learning_rate)
        b.assign_sub(grad_loss_wrt_b * learning_rate)   # the gradient at the old W, as TensorFlow gives it
        return loss

    printed, expected_printed = [], []
    for step in range(40):
        loss = training_step(inputs, targets)
        printed.append(f"Loss at step {step}: {loss:.4f}")
        # the same step by hand: loss = mean((xW + b - t)^2), dloss/dp = 2 (p - t) / n
        p = inputs @ w_ref + b_ref
        expected_loss = np.mean((p - targets) ** 2)
        dp = 2 * (p - targets) / len(p)
        w_ref, b_ref = w_ref - learning_rate * inputs.T @ dp, b_ref - learning_rate * dp.sum(0)
        assert float(loss) == pytest.approx(expected_loss, rel=1e-4)
        expected_printed.append(f"Loss at step {step}: {expected_loss:.4f}")
    assert printed == expected_printed
    np.testing.assert_allclose(W.numpy(), w_ref, rtol=1e-4)
    np.testing.assert_allclose(b.numpy(), b_ref, rtol=1e-4)

    predictions = model(inputs)
    accuracy = float(np.mean((predictions[:, 0] > 0.5).numpy() == targets[:, 0]))
    assert accuracy > 0.95  # the two blobs are separated by the learned line
    x = np.linspace(-1, 4, 100)
    y = - W[0] / W[1] * x + (0.5 - b) / W[1]   # the book's line, tensors mixed with numpy
    wv, bv = W.numpy()[:, 0], b.numpy()
    np.testing.assert_allclose(np.asarray(y), -wv[0] / wv[1] * x + (0.5 - bv) / wv[1], rtol=1e-5)
    assert y.dtype == tf.float32


# ------------------------------------------------------------ hand-written Dense layers

class NaiveDense:
    def __init__(self, input_size, output_size, activation, seed):
        self.activation = activation
        w_initial_value = tf.random.uniform((input_size, output_size), minval=0, maxval=1e-1, seed=seed)
        self.W = tf.Variable(w_initial_value)
        self.b = tf.Variable(tf.zeros((output_size,)))

    def __call__(self, inputs):
        return self.activation(tf.matmul(inputs, self.W) + self.b)

    @property
    def weights(self):
        return [self.W, self.b]


class NaiveSequential:
    def __init__(self, layers):
        self.layers = layers

    def __call__(self, inputs):
        x = inputs
        for layer in self.layers:
            x = layer(x)
        return x

    @property
    def weights(self):
        return [w for layer in self.layers for w in layer.weights]


def naive_model():
    return NaiveSequential([NaiveDense(64, 32, tf.nn.relu, seed=1), NaiveDense(32, 10, tf.nn.softmax, seed=2)])


def numpy_step(weights, images, labels, learning_rate):
    """One SGD step of the two-layer model on sparse cross-entropy, by hand (float64)."""
    w1, b1, w2, b2 = weights
    h = np.maximum(images @ w1 + b1, 0)
    z = h @ w2 + b2
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    loss = -np.mean(np.log(p[np.arange(len(labels)), labels]))
    dz = p.copy()
    dz[np.arange(len(labels)), labels] -= 1
    dz /= len(labels)
    dh = (dz @ w2.T) * (h > 0)
    grads = [images.T @ dh, dh.sum(0), h.T @ dz, dz.sum(0)]
    return [w - learning_rate * g for w, g in zip(weights, grads)], loss


@pytest.mark.parametrize("update", ["assign_sub", "optimizer"])
def test_naive_dense_model_trains_as_its_arithmetic_says(update):
    rng = np.random.default_rng(0)
    images = rng.random((6 * 16, 64), dtype=np.float32)
    labels = rng.integers(0, 10, len(images)).astype(np.uint8)
    model = naive_model()
    reference = [w.numpy().astype(np.float64) for w in model.weights]
    learning_rate = 1e-1
    optimizer = keras.optimizers.SGD(learning_rate=learning_rate)

    def update_weights(gradients, weights):
        if update == "assign_sub":
            for g, w in zip(gradients, weights):
                w.assign_sub(g * learning_rate)
        else:
            optimizer.apply_gradients(zip(gradients, weights))

    def one_training_step(model, images_batch, labels_batch):
        with tf.GradientTape() as tape:
            predictions = model(images_batch)
            per_sample_losses = tf.keras.losses.sparse_categorical_crossentropy(labels_batch, predictions)
            average_loss = tf.reduce_mean(per_sample_losses)
        gradients = tape.gradient(average_loss, model.weights)
        update_weights(gradients, model.weights)
        return average_loss

    for start in range(0, len(images), 16):
        batch, batch_labels = images[start:start + 16], labels[start:start + 16]
        loss = one_training_step(model, batch, batch_labels)
        reference, expected_loss = numpy_step(reference, batch.astype(np.float64), batch_labels, learning_rate)
        assert f"{loss:.2f}" == f"{expected_loss:.2f}"
        assert float(loss) == pytest.approx(expected_loss, rel=1e-4)
    for w, want in zip(model.weights, reference):
        np.testing.assert_allclose(w.numpy(), want, rtol=1e-4, atol=1e-6)
    predictions = model(images).numpy()
    predicted_labels = np.argmax(predictions, axis=1)
    assert predictions.shape == (len(images), 10) and 0.0 <= np.mean(predicted_labels == labels) <= 1.0
    if update == "optimizer":
        assert optimizer.iterations == 6


# ------------------------------------------------------------ the Keras version

def test_keras_linear_classifier_with_binary_accuracy():
    inputs, targets = two_blobs(n=500, seed=1)
    keras.utils.set_random_seed(0)  # the initial weights
    model = keras.Sequential([keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=0.01), loss=keras.losses.MeanSquaredError(),
                  metrics=[keras.metrics.BinaryAccuracy()])
    indices_permutation = np.random.default_rng(0).permutation(len(inputs))
    shuffled_inputs, shuffled_targets = inputs[indices_permutation], targets[indices_permutation]
    num_validation_samples = int(0.3 * len(inputs))
    val_inputs, val_targets = shuffled_inputs[:num_validation_samples], shuffled_targets[:num_validation_samples]
    training_inputs = shuffled_inputs[num_validation_samples:]
    training_targets = shuffled_targets[num_validation_samples:]
    history = model.fit(training_inputs, training_targets, epochs=5, batch_size=16,
                        validation_data=(val_inputs, val_targets), verbose=0)
    assert set(history.history) == {"loss", "binary_accuracy", "val_loss", "val_binary_accuracy"}
    loss, accuracy = model.evaluate(val_inputs, val_targets, batch_size=128, verbose=0)
    predictions = model.predict(val_inputs, batch_size=128, verbose=0)
    assert loss == pytest.approx(float(np.mean((predictions - val_targets) ** 2)), rel=1e-5)
    assert accuracy == pytest.approx(float(np.mean((predictions > 0.5) == val_targets)))
    assert accuracy > 0.9 and math.isclose(history.history["val_binary_accuracy"][-1], accuracy, rel_tol=1e-6)
