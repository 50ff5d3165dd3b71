"""Regularizers, constraints and add_loss: Keras 3's documented numbers and closed-form updates."""
import numpy as np
import pytest

import graphc as gc
from graphc import keras

R, C = keras.regularizers, keras.constraints


def total(losses):
    return float(sum(float(loss.numpy()) for loss in losses))


def test_the_documented_example_of_weight_and_activity_penalties():
    # keras.regularizers docs: kernel term 0.25, activity term 5.0 after dividing by the batch of 5
    layer = keras.layers.Dense(5, input_dim=5, kernel_initializer="ones", kernel_regularizer=R.L1(0.01),
                               activity_regularizer=R.L2(0.01))
    layer(np.ones((5, 5), "float32") * 2.0)
    assert total(layer.losses) == pytest.approx(5.25)
    assert float(R.L2(2.0)(gc.ones((5, 5))).numpy()) == pytest.approx(50.0)
    assert float(R.L1L2(l1=0.5, l2=0.25)(gc.constant([[-1.0, 2.0]])).numpy()) == pytest.approx(1.5 + 1.25)


def test_a_function_is_a_regularizer_and_names_resolve():
    def l1_reg(weight_matrix):
        return 0.01 * gc.reduce_sum(gc.abs(weight_matrix))

    layer = keras.layers.Dense(5, input_dim=5, kernel_initializer="ones", kernel_regularizer=l1_reg)
    layer(np.ones((5, 5), "float32"))
    assert total(layer.losses) == pytest.approx(0.25)
    assert R.get("l2").l2 == 0.01 and R.get("l1").l1 == 0.01
    assert (R.get("l1_l2").l1, R.get("l1_l2").l2) == (0.01, 0.01) and R.get("l1l2").l1 == 0.0
    with pytest.raises(ValueError, match="Invalid value for argument l2: expected a non-negative float"):
        R.L2(-1.0)
    with pytest.raises(ValueError, match="Could not interpret regularizer identifier: 'l3'"):
        R.get("l3")


def test_an_sgd_step_follows_the_penalty_gradient():
    # x = 0: the mse does not move the kernel, so the step is -lr * d/dW (lam * sum W^2) = -lr * 2 lam W
    lam, lr = 0.1, 0.5
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(
        2, use_bias=False, kernel_initializer="ones", kernel_regularizer=R.L2(lam))])
    model.compile(keras.optimizers.SGD(lr), "mse")
    y = np.full((4, 2), 3.0, "float32")
    logs = model.train_on_batch(np.zeros((4, 3), "float32"), y, return_dict=True)
    assert logs["loss"] == pytest.approx(9.0 + lam * 6.0)  # mse of 0 vs 3, plus the penalty of the ones
    np.testing.assert_allclose(model.get_weights()[0], np.ones((3, 2)) * (1 - lr * 2 * lam), rtol=1e-6)


def test_add_loss_in_a_layer_is_trained_on_and_cleared_at_each_call():
    class ActivityRegularization(keras.layers.Layer):
        def __init__(self, rate=1e-2):
            super().__init__()
            self.rate = rate

        def call(self, inputs):
            self.add_loss(self.rate * gc.reduce_mean(inputs))
            return inputs

    class Outer(keras.layers.Layer):
        def __init__(self):
            super().__init__()
            self.activity = ActivityRegularization(1e-2)

        def call(self, inputs):
            return self.activity(inputs)

    layer = Outer()
    layer(np.full((2, 2), 3.0, "float32"))
    assert len(layer.losses) == 1 and total(layer.losses) == pytest.approx(0.03)
    layer(np.full((2, 2), 5.0, "float32"))
    assert len(layer.losses) == 1 and total(layer.losses) == pytest.approx(0.05)  # the last call's only

    # a model trained on add_loss alone: no compiled loss, no targets
    inputs = keras.Input((2,))
    out = ActivityRegularization(1.0)(keras.layers.Dense(1, kernel_initializer="ones", use_bias=False)(inputs))
    model = keras.Model(inputs, out)
    model.compile(keras.optimizers.SGD(0.1))
    x = np.ones((4, 2), "float32")
    history = model.fit(x, epochs=3, batch_size=4, verbose=0).history
    # loss = mean(x @ w) = w1 + w2; each step moves each weight by -0.1
    assert history["loss"] == pytest.approx([2.0, 1.8, 1.6], rel=1e-5)
    np.testing.assert_allclose(model.get_weights()[0], [[0.7], [0.7]], rtol=1e-5)
    model.compile(keras.optimizers.SGD(0.1), "mse")
    with pytest.raises(ValueError, match="y \\(the targets\\) is required"):
        model.fit(x, verbose=0)


def test_a_model_with_nothing_to_train_on_says_so():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile("sgd")
    with pytest.raises(ValueError, match="has no loss to train on: pass compile\\(loss=...\\), or add a loss"):
        model.fit(np.ones((2, 2)), verbose=0)


@pytest.mark.parametrize("constraint, expected", [
    (C.NonNeg(), lambda w: np.maximum(w, 0)),
    (C.MaxNorm(1.0), lambda w: w * np.minimum(np.linalg.norm(w, axis=0), 1.0) / (1e-7 + np.linalg.norm(w, axis=0))),
    (C.UnitNorm(axis=1), lambda w: w / (1e-7 + np.linalg.norm(w, axis=1, keepdims=True))),
    (C.MinMaxNorm(0.5, 1.5, rate=0.5), lambda w: w * (0.5 * np.clip(np.linalg.norm(w, axis=0), 0.5, 1.5)
                                                      + 0.5 * np.linalg.norm(w, axis=0))
     / (1e-7 + np.linalg.norm(w, axis=0))),
])
def test_constraints_against_their_formulas(constraint, expected):
    w = np.random.default_rng(0).normal(size=(4, 3)).astype("float32") * 2
    np.testing.assert_allclose(constraint(gc.constant(w)).numpy(), expected(w), rtol=1e-5, atol=1e-7)


def test_an_optimizer_applies_a_weight_constraint_after_each_update():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(
        4, kernel_constraint=C.MaxNorm(0.5), bias_constraint="non_neg")])
    model.compile(keras.optimizers.SGD(1.0), "mse")
    rng = np.random.default_rng(1)
    model.fit(rng.normal(size=(32, 3)), rng.normal(size=(32, 4)) * 10, epochs=2, verbose=0)
    kernel, bias = model.get_weights()
    assert np.linalg.norm(kernel, axis=0).max() <= 0.5 + 1e-5
    assert bias.min() >= 0.0
    assert model.layers[0].kernel.constraint is model.layers[0].kernel_constraint


def test_regularizers_and_constraints_are_saved_with_the_model(tmp_path):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(
        2, kernel_regularizer=R.L1L2(0.1, 0.2), bias_regularizer="l2", activity_regularizer=R.L1(0.3),
        kernel_constraint=C.UnitNorm(0))])
    model.save(tmp_path / "r.keras")
    dense = keras.models.load_model(tmp_path / "r.keras").layers[0]
    assert (dense.kernel_regularizer.l1, dense.kernel_regularizer.l2) == (0.1, 0.2)
    assert dense.bias_regularizer.l2 == 0.01 and dense.activity_regularizer.l1 == 0.3
    assert isinstance(dense.kernel_constraint, C.UnitNorm) and dense.kernel.constraint is dense.kernel_constraint
    x = np.ones((2, 3), "float32")
    model(x)
    dense(x)
    assert total(dense.losses) == pytest.approx(total(model.layers[0].losses), rel=1e-6)
