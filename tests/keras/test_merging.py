"""Merge layers (graphc/keras/layers/merging.py) against numpy, and their errors."""
import numpy as np
import pytest

from graphc import keras

L = keras.layers
RNG = np.random.default_rng(7)
A, B, C = (RNG.normal(size=(4, 3)).astype("float32") for _ in range(3))


@pytest.mark.parametrize("layer, function, expected", [
    (L.Add, L.add, A + B + C),
    (L.Multiply, L.multiply, A * B * C),
    (L.Maximum, L.maximum, np.maximum(np.maximum(A, B), C)),
    (L.Minimum, L.minimum, np.minimum(np.minimum(A, B), C)),
    (L.Average, L.average, (A + B + C) / 3),
    (L.Concatenate, L.concatenate, np.concatenate([A, B, C], axis=-1)),
])
def test_merges_of_three_inputs_eagerly_and_in_a_model(layer, function, expected):
    np.testing.assert_allclose(layer()([A, B, C]).numpy(), expected, rtol=1e-6)
    np.testing.assert_allclose(function([A, B, C]).numpy(), expected, rtol=1e-6)
    inputs = [keras.Input((3,)) for _ in range(3)]
    model = keras.Model(inputs, layer()(inputs))
    np.testing.assert_allclose(model.predict([A, B, C], verbose=0), expected, rtol=1e-6)


def test_subtract_takes_exactly_two():
    np.testing.assert_allclose(L.Subtract()([A, B]).numpy(), A - B, rtol=1e-6)
    with pytest.raises(ValueError, match=r"`Subtract` layer \('subtract.*'\) should be called on exactly 2 inputs"):
        L.Subtract()([A, B, C])


def test_elementwise_merges_broadcast_a_size_one_axis():
    column = RNG.normal(size=(4, 1)).astype("float32")
    np.testing.assert_allclose(L.Add()([A, column]).numpy(), A + column, rtol=1e-6)


def test_concatenate_along_another_axis():
    x, y = RNG.normal(size=(2, 3, 4)), RNG.normal(size=(2, 5, 4))
    out = L.Concatenate(axis=1)([x.astype("float32"), y.astype("float32")]).numpy()
    np.testing.assert_allclose(out, np.concatenate([x, y], axis=1), rtol=1e-6)


@pytest.mark.parametrize("axes", [1, -1, (1, 1)])
def test_dot_of_vectors_and_cosine(axes):
    np.testing.assert_allclose(L.Dot(axes=axes)([A, B]).numpy(), (A * B).sum(1, keepdims=True), rtol=1e-5)
    cosine = (A * B).sum(1, keepdims=True) / np.linalg.norm(A, axis=1, keepdims=True) / np.linalg.norm(
        B, axis=1, keepdims=True)
    np.testing.assert_allclose(L.Dot(axes=axes, normalize=True)([A, B]).numpy(), cosine, rtol=1e-5)


@pytest.mark.parametrize("axes, expected", [
    ((2, 1), lambda x, y: x @ y),
    ((2, 2), lambda x, y: x @ y.transpose(0, 2, 1)),
    ((1, 1), lambda x, y: x.transpose(0, 2, 1) @ y),
    ((1, 2), lambda x, y: x.transpose(0, 2, 1) @ y.transpose(0, 2, 1)),
])
def test_dot_of_batches_of_matrices(axes, expected):
    x = RNG.normal(size=(2, 3, 3)).astype("float32")
    y = RNG.normal(size=(2, 3, 3)).astype("float32")
    np.testing.assert_allclose(L.dot([x, y], axes=axes).numpy(), expected(x, y), rtol=1e-5)


def test_gradients_flow_through_every_input():
    a, b = keras.Input((3,)), keras.Input((3,))
    out = L.Dense(1)(L.Concatenate()([L.Dense(2)(a), L.Multiply()([a, b])]))
    model = keras.Model([a, b], out)
    model.compile("sgd", "mse")
    before = [w.copy() for w in model.get_weights()]
    model.fit([A, B], np.ones((4, 1)), verbose=0)
    assert all(not np.array_equal(x, y) for x, y in zip(before, model.get_weights()))


@pytest.mark.parametrize("make, inputs, message", [
    (L.Add, [A, np.ones((4, 5), "float32")], r"Add 'add.*': inputs have incompatible shapes. Received shapes "
                                             r"\(4, 3\), \(4, 5\)"),
    (L.Add, A, r"merge layer \(Add 'add.*'\) should be called on a list of tensors"),
    (L.Concatenate, [A, np.ones((4, 2, 3), "float32")], r"requires inputs with matching shapes except for the "
                                                        r"concatenation axis -1. Received: input shapes \(4, 3\), "
                                                        r"\(4, 2, 3\)"),
    (L.Multiply, [A, np.ones((5, 3), "float32")], r"different batch sizes. Received shapes \(4, 3\), \(5, 3\)"),
    (lambda: L.Dot(axes=1), [A, np.ones((4, 2), "float32")], r"Dot 'dot.*': the axes 1 of shapes \(4, 3\), "
                                                             r"\(4, 2\) must be non-batch axes of the same size"),
])
def test_bad_inputs_name_the_layer_and_the_shapes(make, inputs, message):
    with pytest.raises(ValueError, match=message):
        make()(inputs)


def test_saved_merge_models_load_and_predict_the_same(tmp_path):
    a, b = keras.Input((3,), name="a"), keras.Input((3,), name="b")
    out = L.Dense(2)(L.Concatenate(axis=-1)([L.Dense(4, activation="relu")(a), L.Dot(axes=1)([a, b])]))
    model = keras.Model([a, b], out)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_array_equal(loaded.predict([A, B], verbose=0), model.predict([A, B], verbose=0))
    assert [type(l).__name__ for l in loaded.layers] == ["InputLayer", "Dense", "InputLayer", "Dot",
                                                         "Concatenate", "Dense"]
