"""A functional model with two inputs and two outputs, and a custom layer.

    python examples/two_headed_digits.py

On scikit-learn's 8x8 digits: the pixels and each image's amount of ink go
in; the digit (10 classes) and whether it is even (a yes/no output) come
out. ``Residual`` is a layer written as Keras 3 teaches (``build``,
``call``, ``keras.ops``), registered so the saved model loads again. The
losses are weighted per output, the even/odd output reports its own
accuracy, and the whole training step is still one generated function.
"""
from __future__ import annotations

import os
import sys
import tempfile

import numpy as np

from graphc import keras

ops = keras.ops


@keras.saving.register_keras_serializable(package="examples")
class Residual(keras.layers.Layer):
    """``x + relu(x @ w + b)``: a dense block with a skip connection."""

    def build(self, input_shape):
        units = input_shape[-1]
        self.w = self.add_weight(shape=(units, units), initializer="glorot_uniform", name="w",
                                 regularizer=keras.regularizers.L2(1e-4))
        self.b = self.add_weight(shape=(units,), initializer="zeros", name="b")

    def call(self, x):
        return x + ops.relu(ops.matmul(x, self.w) + self.b)


def build_model() -> keras.Model:
    pixels = keras.Input((64,), name="pixels")
    ink = keras.Input((1,), name="ink")
    hidden = keras.layers.Dense(64, activation="relu")(keras.layers.Concatenate()([pixels, ink]))
    hidden = keras.layers.Dropout(0.1)(Residual()(hidden))
    digit = keras.layers.Dense(10, activation="softmax", name="digit")(hidden)
    even = keras.layers.Dense(1, activation="sigmoid", name="even")(hidden)
    model = keras.Model({"pixels": pixels, "ink": ink}, {"digit": digit, "even": even})
    model.compile(optimizer="adam",
                  loss={"digit": "sparse_categorical_crossentropy", "even": "binary_crossentropy"},
                  loss_weights={"digit": 1.0, "even": 0.5},
                  metrics={"digit": ["accuracy"], "even": ["accuracy"]})
    return model


def load_data(seed: int = 0):
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        sys.exit("This example needs scikit-learn for its data: pip install 'graphc[examples]'")
    digits = load_digits()
    pixels = (digits.data / 16.0).astype("float32")
    order = np.random.default_rng(seed).permutation(len(pixels))
    pixels, labels = pixels[order], digits.target[order].astype("int64")
    x = {"pixels": pixels, "ink": pixels.mean(axis=1, keepdims=True)}
    y = {"digit": labels, "even": (labels % 2 == 0).astype("float32")}
    split = int(0.8 * len(pixels))
    return ({k: v[:split] for k, v in x.items()}, {k: v[:split] for k, v in y.items()},
            {k: v[split:] for k, v in x.items()}, {k: v[split:] for k, v in y.items()})


def main(epochs: int = 10) -> dict:
    keras.utils.set_random_seed(0)
    x_train, y_train, x_test, y_test = load_data()
    model = build_model()
    model.summary()
    model.fit(x_train, y_train, epochs=epochs, batch_size=32, validation_split=0.1, verbose=2)
    logs = model.evaluate(x_test, y_test, return_dict=True, verbose=0)
    print("\nTest: " + ", ".join(f"{name} {value:.4f}" for name, value in sorted(logs.items())))
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "two_headed.keras")
        model.save(path)
        again = keras.models.load_model(path)  # Residual is found by its registered name
        same = all(np.array_equal(a, b) for a, b in zip(
            model.predict(x_test, verbose=0).values(), again.predict(x_test, verbose=0).values()))
        print(f"Saved and loaded: the same predictions: {same}")
    return logs


if __name__ == "__main__":
    main()
