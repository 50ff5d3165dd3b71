"""Models with several inputs and outputs: data as lists or dicts, a loss,
loss weight and metrics per output, sample and class weights. Expected
numbers are computed with numpy from the model's own predictions or from
closed-form gradients."""
import numpy as np
import pytest

from graphc import keras

L = keras.layers
RNG = np.random.default_rng(11)
N = 12
A = RNG.normal(size=(N, 3)).astype("float32")
B = RNG.normal(size=(N, 2)).astype("float32")
Y_REG = RNG.normal(size=(N, 2)).astype("float32")
Y_CLS = RNG.integers(0, 3, N)


def two_headed(initializer="glorot_uniform"):
    """Inputs "a" and "b", outputs "reg" (2 units) and "cls" (3-way softmax), on their concatenation."""
    a, b = keras.Input((3,), name="a"), keras.Input((2,), name="b")
    joined = L.Concatenate()([a, b])
    reg = L.Dense(2, name="reg", use_bias=False, kernel_initializer=initializer)(joined)
    cls = L.Dense(3, name="cls", activation="softmax", use_bias=False, kernel_initializer=initializer)(joined)
    return keras.Model({"a": a, "b": b}, [reg, cls])


def mse(pred, true):
    return np.mean((pred - true) ** 2)


def sparse_ce(prob, labels):
    return -np.mean(np.log(prob[np.arange(len(labels)), labels]))


def test_output_names_shapes_and_predict_structure():
    model = two_headed()
    assert model.output_names == ["reg", "cls"]
    assert model.input_shape == {"a": (None, 3), "b": (None, 2)}
    assert model.output_shape == [(None, 2), (None, 3)]
    reg, cls = model.predict({"a": A, "b": B}, verbose=0)
    assert reg.shape == (N, 2) and cls.shape == (N, 3)
    np.testing.assert_allclose(cls.sum(1), 1.0, rtol=1e-5)


def test_losses_metrics_and_weights_per_output_by_name():
    model = two_headed()
    model.compile("sgd", loss={"reg": "mse", "cls": "sparse_categorical_crossentropy"},
                  loss_weights={"reg": 0.5, "cls": 2.0}, metrics={"cls": ["accuracy"], "reg": ["mae"]})
    logs = model.evaluate({"a": A, "b": B}, {"reg": Y_REG, "cls": Y_CLS}, return_dict=True, verbose=0)
    reg, cls = model.predict({"a": A, "b": B}, verbose=0)
    expected = {"reg_loss": mse(reg, Y_REG), "cls_loss": sparse_ce(cls, Y_CLS),
                "reg_mae": np.mean(np.abs(reg - Y_REG)), "cls_accuracy": np.mean(cls.argmax(1) == Y_CLS)}
    expected["loss"] = 0.5 * expected["reg_loss"] + 2.0 * expected["cls_loss"]
    assert set(logs) == set(expected)
    for name, value in expected.items():
        assert logs[name] == pytest.approx(value, rel=1e-5), name
    # Keras's order for the list: the loss, the per-output losses, then the rest by name
    values = model.evaluate([A, B], [Y_REG, Y_CLS], verbose=0)
    assert values == pytest.approx([logs[k] for k in ("loss", "reg_loss", "cls_loss", "cls_accuracy", "reg_mae")])
    history = model.fit({"a": A, "b": B}, {"reg": Y_REG, "cls": Y_CLS}, epochs=1, verbose=0).history
    assert set(history) == set(expected)


def test_one_sgd_step_follows_the_weighted_gradient():
    # zero kernels: the gradients are closed forms in the inputs and targets
    model = two_headed(initializer="zeros")
    lr, w_reg, w_cls = 0.1, 0.5, 2.0
    model.compile(keras.optimizers.SGD(lr), loss=["mse", "sparse_categorical_crossentropy"],
                  loss_weights=[w_reg, w_cls])
    model.train_on_batch([A, B], [Y_REG, Y_CLS])
    x = np.concatenate([A, B], axis=1).astype(np.float64)
    grad_reg = x.T @ (2 * (0 - Y_REG) / Y_REG.size)
    grad_cls = x.T @ ((np.full((N, 3), 1 / 3) - np.eye(3)[Y_CLS]) / N)
    np.testing.assert_allclose(model.get_layer("reg").kernel.numpy(), -lr * w_reg * grad_reg, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(model.get_layer("cls").kernel.numpy(), -lr * w_cls * grad_cls, rtol=1e-5, atol=1e-7)


def test_one_loss_for_every_output_and_none_for_some():
    model = two_headed()
    model.compile("sgd", loss="mse")  # mse on both: cls compared with one-hot rows
    onehot = np.eye(3, dtype="float32")[Y_CLS]
    logs = model.evaluate([A, B], [Y_REG, onehot], return_dict=True, verbose=0)
    reg, cls = model.predict([A, B], verbose=0)
    assert logs["loss"] == pytest.approx(mse(reg, Y_REG) + mse(cls, onehot), rel=1e-5)

    model.compile("sgd", loss=["mse", None], metrics=[None, ["accuracy"]])
    logs = model.evaluate([A, B], [Y_REG, onehot], return_dict=True, verbose=0)
    assert set(logs) == {"loss", "cls_accuracy"}  # one loss: no per-output loss logs
    assert logs["loss"] == pytest.approx(mse(reg, Y_REG), rel=1e-5)
    assert logs["cls_accuracy"] == pytest.approx(np.mean(cls.argmax(1) == Y_CLS))
    with pytest.raises(ValueError, match="this output has no loss, and its metrics take targets shaped like the "
                                         "output"):
        model.evaluate([A, B], [Y_REG, Y_CLS], verbose=0)
    model.compile("sgd", loss=["mse", None], metrics=[None, ["sparse_categorical_accuracy"]])
    logs = model.evaluate([A, B], [Y_REG, Y_CLS], return_dict=True, verbose=0)
    assert logs["cls_sparse_categorical_accuracy"] == pytest.approx(np.mean(cls.argmax(1) == Y_CLS))
    with pytest.raises(ValueError, match="no target for output 'cls', which has a loss or metrics"):
        model.evaluate([A, B], {"reg": Y_REG}, verbose=0)


def test_dict_outputs_are_named_by_their_keys():
    a = keras.Input((3,), name="a")
    hidden = L.Dense(4, activation="relu")(a)
    model = keras.Model(a, {"score": L.Dense(1)(hidden), "label": L.Dense(2, activation="softmax")(hidden)})
    assert model.output_names == ["score", "label"]
    model.compile("adam", {"score": "mse", "label": "sparse_categorical_crossentropy"},
                  metrics={"label": "accuracy"})
    history = model.fit(A, {"score": Y_REG[:, :1], "label": Y_CLS % 2}, epochs=2, verbose=0).history
    assert set(history) == {"loss", "score_loss", "label_loss", "label_accuracy"}
    out = model.predict(A, verbose=0)
    assert set(out) == {"score", "label"} and out["label"].shape == (N, 2)


def test_structure_mistakes_are_named():
    model = two_headed()
    with pytest.raises(ValueError, match=r"loss has keys \['regression'\] that are not outputs of model .* "
                                         r"\(its outputs: \['reg', 'cls'\]\)"):
        model.compile("sgd", loss={"regression": "mse"})
    with pytest.raises(ValueError, match=r"for a model with 2 output\(s\) \['reg', 'cls'\], metrics given as a list "
                                         r"needs one entry per output; got 1"):
        model.compile("sgd", "mse", metrics=["mae"])
    with pytest.raises(ValueError, match="Unknown loss function: 'msee'"):
        model.compile("sgd", loss={"reg": "msee"})
    model.compile("sgd", loss={"reg": "mse", "cls": "sparse_categorical_crossentropy"})
    with pytest.raises(ValueError, match=r"model '.*' has inputs \['a', 'b'\]; got a dict with keys \['a', 'c'\] "
                                         r"\(missing \['b'\]\) \(unknown \['c'\]\)"):
        model.fit({"a": A, "c": B}, [Y_REG, Y_CLS], verbose=0)
    with pytest.raises(ValueError, match=r"x\['b'\] has shape \(12, 3\), but the model expects input 'b' of shape "
                                         r"\(None, 2\)"):
        model.fit({"a": A, "b": A}, [Y_REG, Y_CLS], verbose=0)
    with pytest.raises(ValueError, match=r"has 2 outputs \['reg', 'cls'\]: give y as a list of 2 arrays or a dict"):
        model.fit([A, B], Y_REG, verbose=0)
    with pytest.raises(ValueError, match=r"y\['cls'\] has 11 samples|x has 12 samples, y\['cls'\] has 11"):
        model.fit([A, B], [Y_REG, Y_CLS[:-1]], verbose=0)
    with pytest.raises(ValueError, match=r"x\['a'\]: 12, x\['b'\]: 5"):
        model.fit([A, B[:5]], [Y_REG, Y_CLS], verbose=0)
    assert model.optimizer.iterations == 0  # nothing trained


def test_sample_weight_weights_each_sample_of_the_loss():
    model = keras.Sequential([keras.Input((3,)), L.Dense(2)])
    model.compile("sgd", "mse", metrics=["mae"], weighted_metrics=["mae"])
    weight = RNG.uniform(0, 2, N).astype("float32")
    logs = model.evaluate(A, Y_REG, sample_weight=weight, return_dict=True, verbose=0)
    pred = model.predict(A, verbose=0)
    per_sample = ((pred - Y_REG) ** 2).mean(1)
    assert logs["loss"] == pytest.approx((per_sample * weight).sum() / N, rel=1e-5)  # sum_over_batch_size
    assert logs["mae"] == pytest.approx(np.abs(pred - Y_REG).mean(), rel=1e-5)  # metrics are not weighted
    abs_per_sample = np.abs(pred - Y_REG).mean(1)
    assert logs["weighted_mae"] == pytest.approx((abs_per_sample * weight).sum() / weight.sum(), rel=1e-5)
    # a weight of zero: that sample does not train
    zero = np.zeros(N, "float32")
    before = model.get_weights()
    model.fit(A, Y_REG, sample_weight=zero, verbose=0)
    for old, new in zip(before, model.get_weights()):
        np.testing.assert_array_equal(old, new)
    assert "sample_weight" in model.train_function.source


def test_class_weight_is_a_sample_weight_per_class():
    model = keras.Sequential([keras.Input((3,)), L.Dense(3, activation="softmax")])
    model.compile("sgd", "sparse_categorical_crossentropy")
    class_weight = {0: 1.0, 1: 3.0, 2: 0.5}
    by_class = keras.models.clone_model(model)
    by_class.set_weights(model.get_weights())
    by_class.compile("sgd", "sparse_categorical_crossentropy")
    by_sample = np.array([class_weight[c] for c in Y_CLS], "float32")
    model.fit(A, Y_CLS, sample_weight=by_sample, batch_size=N, shuffle=False, verbose=0)
    by_class.fit(A, Y_CLS, class_weight=class_weight, batch_size=N, shuffle=False, verbose=0)
    for x, y in zip(model.get_weights(), by_class.get_weights()):
        np.testing.assert_allclose(x, y, rtol=1e-6)
    with pytest.raises(ValueError, match="give sample_weight or class_weight, not both"):
        model.fit(A, Y_CLS, sample_weight=by_sample, class_weight=class_weight, verbose=0)


def test_a_subclassed_model_with_dict_inputs_and_two_outputs():
    class Towers(keras.Model):
        def __init__(self):
            super().__init__()
            self.left = L.Dense(4, activation="relu")
            self.right = L.Dense(4, activation="relu")
            self.head_a = L.Dense(2, name="head_a")
            self.head_b = L.Dense(1, name="head_b")

        def call(self, inputs):
            joined = L.concatenate([self.left(inputs["a"]), self.right(inputs["b"])])
            return [self.head_a(joined), self.head_b(joined)]

    model = Towers()
    model.compile("adam", ["mse", "mse"])
    history = model.fit({"a": A, "b": B}, [Y_REG, Y_REG[:, :1]], epochs=3, verbose=0).history
    assert model.output_names == ["head_a", "head_b"]
    assert set(history) == {"loss", "head_a_loss", "head_b_loss"}
    assert history["loss"][-1] < history["loss"][0]
    assert model.input_shape == {"a": (None, 3), "b": (None, 2)}


def test_multi_output_models_save_and_load_with_their_compile_settings(tmp_path):
    model = two_headed()
    model.compile("adam", loss={"reg": "mse", "cls": keras.losses.SparseCategoricalCrossentropy()},
                  loss_weights={"reg": 0.25, "cls": 1.0}, metrics={"cls": ["accuracy"]},
                  weighted_metrics={"reg": [keras.metrics.MeanAbsoluteError()]})
    model.fit({"a": A, "b": B}, [Y_REG, Y_CLS], verbose=0)
    model.save(tmp_path / "two.keras")
    loaded = keras.models.load_model(tmp_path / "two.keras")
    for x, y in zip(model.predict({"a": A, "b": B}, verbose=0), loaded.predict({"a": A, "b": B}, verbose=0)):
        np.testing.assert_array_equal(x, y)
    original = model.evaluate({"a": A, "b": B}, [Y_REG, Y_CLS], return_dict=True, verbose=0)
    again = loaded.evaluate({"a": A, "b": B}, [Y_REG, Y_CLS], return_dict=True, verbose=0)
    assert original == pytest.approx(again)
    assert set(again) == {"loss", "reg_loss", "cls_loss", "cls_accuracy", "reg_mean_absolute_error"}


def test_a_functional_file_of_graphc_0_1_still_loads(tmp_path):
    # 0.1 wrote one node per tensor with the indices of its input nodes
    model = keras.Sequential([keras.Input((3,), name="x"), L.Dense(2, name="d")])
    inputs = keras.Input((3,), name="x")
    functional = keras.Model(inputs, model.layers[0](inputs))
    config = functional.get_config()
    config["nodes"] = [{"layer": 0, "inputs": []}, {"layer": 1, "inputs": [0]}]
    config["inputs"], config["outputs"] = [0], [1]
    rebuilt = keras.models.model_from_config({"class_name": "Functional", "config": config})
    rebuilt.set_weights(functional.get_weights())
    np.testing.assert_array_equal(rebuilt.predict(A, verbose=0), functional.predict(A, verbose=0))


def test_calling_a_model_on_the_wrong_inputs_names_the_input_and_the_model():
    model = two_headed()
    with pytest.raises(ValueError, match=r"Input 'b' of model '.*' is incompatible with the model: expected shape "
                                         r"\(None, 2\), got .* of shape \(None, 3\)"):
        model({"a": keras.Input((3,)), "b": keras.Input((3,))})
    with pytest.raises(ValueError, match=r"expects 2 input\(s\) \['a', 'b'\], got 1"):
        model(keras.Input((3,)))
    with pytest.raises(TypeError, match="layer 'reg' takes one tensor, got list"):
        model.get_layer("reg")([A, B])


def test_a_shared_layer_and_nested_models_replay_save_and_load(tmp_path):
    a, b = keras.Input((3,), name="a"), keras.Input((3,), name="b")
    shared = L.Dense(2, name="shared")
    model = keras.Model([a, b], L.Add()([shared(a), shared(b)]))
    kernel, bias = shared.get_weights()
    np.testing.assert_allclose(model.predict([A, A[::-1]], verbose=0),
                               A @ kernel + A[::-1] @ kernel + 2 * bias, rtol=1e-5)
    assert [l.name for l in model.layers] == ["a", "shared", "b", "add"] and len(model.weights) == 2
    model.save(tmp_path / "shared.keras")
    loaded = keras.models.load_model(tmp_path / "shared.keras")
    assert len(loaded.weights) == 2
    np.testing.assert_array_equal(loaded.predict([A, B[:, :1].repeat(3, 1)], verbose=0),
                                  model.predict([A, B[:, :1].repeat(3, 1)], verbose=0))

    inner_in = keras.Input((3,))
    encoder = keras.Model(inner_in, L.Dense(2, name="code")(inner_in), name="encoder")
    code_in = keras.Input((2,))
    decoder = keras.Model(code_in, L.Dense(3, name="back")(code_in), name="decoder")
    outer_in = keras.Input((3,))
    autoencoder = keras.Model(outer_in, decoder(encoder(outer_in)))
    assert [l.name for l in autoencoder.layers][1:] == ["encoder", "decoder"] and len(autoencoder.weights) == 4
    autoencoder.compile("adam", "mse")
    autoencoder.fit(A, A, epochs=2, verbose=0)
    np.testing.assert_allclose(autoencoder.predict(A, verbose=0), decoder.predict(encoder.predict(A, verbose=0),
                                                                                   verbose=0), rtol=1e-6)
    autoencoder.save(tmp_path / "ae.keras")
    again = keras.models.load_model(tmp_path / "ae.keras")
    np.testing.assert_array_equal(again.predict(A, verbose=0), autoencoder.predict(A, verbose=0))
