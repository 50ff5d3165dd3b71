"""The classic Keras MNIST MLP, trained by graphc.

    python examples/mnist_mlp.py                 # scikit-learn's 8x8 digits (no download)
    python examples/mnist_mlp.py mnist.npz       # real MNIST, Keras's mnist.npz
    python examples/mnist_mlp.py path/to/mnist/  # real MNIST, a folder of the four IDX files

Dense(512, relu) -> Dense(10, softmax), RMSprop, sparse categorical
cross-entropy, 5 epochs of batches of 128 (on the 1 437 training digits,
batches of 32, so that 5 epochs make enough updates). The whole training step is one
generated numpy function: ``print(model.train_function.source)`` shows it,
and ``graphc inspect examples/mnist_mlp.py:model`` opens it with the graph.

Importing this module builds and compiles ``model`` (for the digits' 64
inputs) without training it; training runs only as a script.
"""
from __future__ import annotations

import gzip
import os
import sys
import time

import numpy as np

import graphc as gc
from graphc import keras

DIGITS_FEATURES = 64        # scikit-learn digits: 8x8 images
MNIST_FEATURES = 28 * 28    # MNIST: 28x28 images
EPOCHS, BATCH_SIZE = 5, 128
DIGITS_BATCH_SIZE = 32      # 45 updates per epoch instead of 12


def build_model(features: int = DIGITS_FEATURES) -> keras.Model:
    model = keras.Sequential([
        keras.Input(shape=(features,)),
        keras.layers.Dense(512, activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


# --------------------------------------------------------------------- data

def load_digits(seed: int = 0):
    """scikit-learn's bundled handwritten digits, scaled to [0, 1], 80/20 split."""
    try:
        from sklearn.datasets import load_digits as sk_load_digits
    except ImportError:
        sys.exit("This example needs scikit-learn for its built-in data: pip install 'graphc[examples]' "
                 "(or pass the path of a local mnist.npz)")
    digits = sk_load_digits()
    x = (digits.data / 16.0).astype("float32")
    y = digits.target.astype("int64")
    order = np.random.default_rng(seed).permutation(len(x))
    x, y = x[order], y[order]
    split = int(0.8 * len(x))
    return (x[:split], y[:split]), (x[split:], y[split:])


def _read_idx(path: str) -> np.ndarray:
    """An IDX file (optionally .gz): magic 0x0000 + dtype code 0x08 (uint8) + rank, big-endian dims."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise ValueError(f"{path}: not an IDX file of unsigned bytes")
    rank = data[3]
    dims = np.frombuffer(data, dtype=">u4", count=rank, offset=4).astype(int)
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * rank)
    if body.size != int(np.prod(dims)):
        raise ValueError(f"{path}: expected {int(np.prod(dims))} values for shape {tuple(dims)}, found {body.size}")
    return body.reshape(dims)


def _find(folder: str, stem: str) -> str:
    for name in sorted(os.listdir(folder)):
        if name.replace(".", "-").startswith(stem.replace(".", "-")):
            return os.path.join(folder, name)
    raise FileNotFoundError(f"no file starting with {stem!r} in {folder}")


def load_mnist(path: str):
    """Real MNIST from Keras's mnist.npz or a folder of the four IDX files, scaled to [0, 1]."""
    if os.path.isdir(path):
        x_train = _read_idx(_find(path, "train-images"))
        y_train = _read_idx(_find(path, "train-labels"))
        x_test = _read_idx(_find(path, "t10k-images"))
        y_test = _read_idx(_find(path, "t10k-labels"))
    else:
        with np.load(path, allow_pickle=False) as f:
            x_train, y_train, x_test, y_test = f["x_train"], f["y_train"], f["x_test"], f["y_test"]
    prepare = lambda x: x.reshape(len(x), -1).astype("float32") / 255.0  # noqa: E731
    return (prepare(x_train), y_train.astype("int64")), (prepare(x_test), y_test.astype("int64"))


# The model the CLI inspects: built and compiled at import, not trained.
model = build_model(DIGITS_FEATURES)


def main(argv) -> None:
    global model
    keras.utils.clear_session()     # names start again at "sequential", "dense"
    keras.utils.set_random_seed(0)  # the same run every time (weights, shuffling)
    model = build_model(DIGITS_FEATURES)
    if len(argv) > 1:
        (x_train, y_train), (x_test, y_test) = load_mnist(argv[1])
        print(f"MNIST from {argv[1]}: {len(x_train)} training and {len(x_test)} test images")
        model = build_model(MNIST_FEATURES)
        batch_size = BATCH_SIZE
    else:
        (x_train, y_train), (x_test, y_test) = load_digits()
        print(f"scikit-learn digits (8x8): {len(x_train)} training and {len(x_test)} test images "
              "(pass the path of mnist.npz for real MNIST)")
        batch_size = DIGITS_BATCH_SIZE
    model.summary()
    start = time.perf_counter()
    model.fit(x_train, y_train, epochs=EPOCHS, batch_size=batch_size, validation_split=0.1)
    elapsed = time.perf_counter() - start
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"\nTest accuracy: {accuracy:.4f}  (test loss {loss:.4f}; trained in {elapsed:.1f} s, "
          f"{int(model.optimizer.iterations)} gradient updates)")
    picture = os.path.abspath("mnist_mlp_graph.html")
    gc.viz.render(model, picture)  # one offline HTML file: the graph beside the generated code
    print(f"\nThe graph of the training step, beside its code: open {picture} in a browser.")
    print("The training step is one generated numpy function. To read it:\n"
          "    python -c \"import runpy; m = runpy.run_path('examples/mnist_mlp.py')['model']; "
          "print(m.train_function.source)\"\n"
          "or, with the pass statistics:\n"
          "    graphc inspect examples/mnist_mlp.py:model")


if __name__ == "__main__":
    main(sys.argv)
