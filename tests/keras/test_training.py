"""fit / evaluate / predict: accuracy, step counts, logs, callbacks, and bad input caught early."""
import io
import runpy
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from graphc import keras

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "mnist_mlp.py"


def small_classifier(classes=3, features=4, loss="sparse_categorical_crossentropy", metrics=("accuracy",)):
    model = keras.Sequential([keras.Input((features,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(classes, activation="softmax")])
    model.compile(optimizer="adam", loss=loss, metrics=list(metrics))
    return model


def blobs(n=120, features=4, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    x = rng.normal(size=(n, features)).astype("float32") + y[:, None]
    return x, y


def test_example_model_reaches_95_percent_on_digits_in_seconds():
    pytest.importorskip("sklearn")
    namespace = runpy.run_path(str(EXAMPLE))  # module level: compiled, not trained
    model = namespace["model"]
    assert model.compiled and int(model.optimizer.iterations) == 0
    (x_train, y_train), (x_test, y_test) = namespace["load_digits"]()
    start = time.perf_counter()
    model.fit(x_train, y_train, epochs=5, batch_size=namespace["DIGITS_BATCH_SIZE"], verbose=0)
    _, accuracy = model.evaluate(x_test, y_test, verbose=0)
    assert accuracy >= 0.95
    assert time.perf_counter() - start < 30


def test_the_two_headed_example_learns_both_outputs_and_reloads(capsys):
    pytest.importorskip("sklearn")
    namespace = runpy.run_path(str(EXAMPLE.with_name("two_headed_digits.py")))
    logs = namespace["main"](epochs=6)
    assert logs["digit_accuracy"] >= 0.9 and logs["even_accuracy"] >= 0.85
    assert logs["loss"] > logs["digit_loss"] + 0.5 * logs["even_loss"]  # plus the L2 penalty
    out = capsys.readouterr().out
    assert "Connected to" in out and "the same predictions: True" in out


def test_mnist_sized_model_summary_has_407050_params():
    model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(512, activation="relu"),
                              keras.layers.Dense(10, activation="softmax")])
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert "407,050" in text and "401,920" in text and "5,130" in text
    assert "dense (Dense)" in text and "(None, 512)" in text and "Non-trainable params: 0" in text
    assert model.count_params() == 407050


def test_iterations_count_gradient_updates():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60000, 2)).astype("float32")
    y = x @ np.array([[1.0], [-2.0]], dtype="float32")
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, y, epochs=5, batch_size=128, verbose=0)
    assert model.optimizer.iterations == 2345
    assert int(model.optimizer.iterations) == 2345


def test_one_compiled_step_for_every_batch_size_and_history():
    x, y = blobs()
    model = small_classifier()
    history = model.fit(x, y, epochs=3, batch_size=50, validation_split=0.25, verbose=0)  # batches 50, 40
    assert model.history is history
    train = model.train_function
    model.fit(x, y, epochs=1, batch_size=7, verbose=0)
    assert model.train_function is train
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(v) == 3 for v in history.history.values())
    assert history.epoch == [0, 1, 2]
    assert "def train_function(" in train.source and "gradients" not in train.source.split("\n")[0]
    assert model.predict_function.source.count("np.copyto") == 0


def test_logs_are_running_means_over_the_epoch():
    x, y = blobs(n=100)
    model = small_classifier()
    seen = []
    cb = keras.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: seen.append(dict(logs)))
    weights = model.get_weights()
    history = model.fit(x, y, epochs=1, batch_size=30, shuffle=False, verbose=0, callbacks=[cb])
    # replay: per-batch losses of the same steps, weighted by batch size
    model.set_weights(weights)
    model2 = small_classifier()
    model2.set_weights(weights)
    losses = []
    for start in range(0, 100, 30):
        before = model2.get_weights()
        losses.append((model2.test_on_batch(x[start:start + 30], y[start:start + 30])[0], len(x[start:start + 30])))
        model2.set_weights(before)
        model2.train_on_batch(x[start:start + 30], y[start:start + 30])
    expected = sum(l * n for l, n in losses) / 100
    assert history.history["loss"][0] == pytest.approx(expected, rel=1e-5)
    assert len(seen) == 4 and seen[-1]["loss"] == history.history["loss"][0]


def test_evaluate_and_predict_batch():
    x, y = blobs(n=70)
    model = small_classifier()
    model.fit(x, y, epochs=2, verbose=0)
    full = model.predict(x, batch_size=70, verbose=0)
    np.testing.assert_allclose(model.predict(x, batch_size=9, verbose=0), full, rtol=1e-6)
    loss, acc = model.evaluate(x, y, batch_size=9, verbose=0)
    probs = full[np.arange(70), y]
    assert loss == pytest.approx(float(np.mean(-np.log(probs))), rel=1e-5)
    assert acc == pytest.approx(float(np.mean(full.argmax(1) == y)))
    assert model.evaluate(x, y, verbose=0, return_dict=True).keys() == {"loss", "accuracy"}


def test_accuracy_resolution_follows_the_loss():
    x, y = blobs(n=40)
    cat = small_classifier(loss="categorical_crossentropy")
    cat.fit(x, keras.utils.to_categorical(y, 3), verbose=0)
    assert isinstance(cat.metrics[1], keras.metrics.CategoricalAccuracy)
    sparse = small_classifier()
    sparse.fit(x, y, verbose=0)
    assert isinstance(sparse.metrics[1], keras.metrics.SparseCategoricalAccuracy)
    binary = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])
    binary.compile("adam", "binary_crossentropy", ["accuracy", "mae", "mse"])
    h = binary.fit(x, (y > 0).astype("float32"), verbose=0)
    assert isinstance(binary.metrics[1], keras.metrics.BinaryAccuracy)
    assert {"accuracy", "mae", "mse", "loss"} == set(h.history)


def test_progress_bar_plain_lines_when_not_a_terminal(capsys):
    x, y = blobs(n=64)
    model = small_classifier()
    model.fit(x, y, epochs=2, batch_size=16, verbose=1)
    out = capsys.readouterr().out
    assert "Epoch 1/2" in out and "Epoch 2/2" in out
    assert "\r" not in out and "\x1b" not in out
    assert "4/4 - " in out and "loss: " in out and "accuracy: " in out
    model.fit(x, y, epochs=3, batch_size=16, verbose=2)
    lines = [l for l in capsys.readouterr().out.splitlines() if l.startswith("4/4")]
    assert len(lines) == 3
    model.fit(x, y, epochs=1, verbose=0)
    assert capsys.readouterr().out == ""


def test_progress_bar_redraws_one_line_on_a_terminal():
    class Tty(io.StringIO):
        def isatty(self):
            return True
    stream = Tty()
    bar = keras.progbar.Progbar(3, stream=stream)
    for i in range(1, 4):
        bar.update(i, [("loss", 1.0 / i)])
    text = stream.getvalue()
    assert text.count("\r") >= 2 and text.endswith("\n") and "3/3" in text and "━" in text or "=" in text


# ------------------------------------------------------------------ callbacks

def test_early_stopping_restores_best_weights():
    x, y = blobs(n=60)
    model = small_classifier()
    best = {}

    class Record(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            best[epoch] = (logs["loss"], self.model.get_weights())

    model.compile(optimizer=keras.optimizers.SGD(learning_rate=5.0), loss="sparse_categorical_crossentropy")
    stop = keras.callbacks.EarlyStopping(monitor="loss", patience=1, restore_best_weights=True)
    history = model.fit(x, y, epochs=30, verbose=0, callbacks=[stop, Record()])
    ran = len(history.history["loss"])
    assert ran < 30 and stop.stopped_epoch == ran - 1
    losses = history.history["loss"]
    best_epoch = int(np.argmin(losses))
    for got, want in zip(model.get_weights(), best[best_epoch][1]):
        np.testing.assert_array_equal(got, want)


def test_model_checkpoint_and_terminate_on_nan(tmp_path):
    x, y = blobs(n=40)
    model = small_classifier()
    path = tmp_path / "ckpt-{epoch:02d}.keras"
    model.fit(x, y, epochs=2, verbose=0, validation_split=0.25,
              callbacks=[keras.callbacks.ModelCheckpoint(str(path))])
    assert (tmp_path / "ckpt-01.keras").exists() and (tmp_path / "ckpt-02.keras").exists()
    best = tmp_path / "best.keras"
    model.fit(x, y, epochs=3, verbose=0, validation_split=0.25,
              callbacks=[keras.callbacks.ModelCheckpoint(str(best), monitor="val_loss", save_best_only=True)])
    assert best.exists()

    saved = []
    every = keras.callbacks.ModelCheckpoint(str(tmp_path / "step.keras"), save_freq=3)
    every._save = lambda epoch, logs: saved.append((epoch, int(model.optimizer.iterations)))
    model.fit(x, y, epochs=2, batch_size=8, verbose=0, callbacks=[every])  # 5 batches an epoch
    iterations = int(model.optimizer.iterations)
    assert [it for _, it in saved] == [iterations - 10 + k for k in (3, 6, 9)]
    assert [epoch for epoch, _ in saved] == [0, 1, 1]
    with pytest.raises(ValueError, match="save_freq"):
        keras.callbacks.ModelCheckpoint(str(best), save_freq=0)

    bad = x.copy()
    bad[5, 0] = np.nan
    model = small_classifier()
    history = model.fit(bad, y, epochs=5, batch_size=8, shuffle=False, verbose=0,
                        callbacks=[keras.callbacks.TerminateOnNaN()])
    assert len(history.history["loss"]) == 1 and np.isnan(history.history["loss"][0])
    assert int(model.optimizer.iterations) == 1


def test_callback_hook_order():
    x, y = blobs(n=20)
    model = small_classifier()
    calls = []
    hooks = {name: (lambda name: lambda *a: calls.append(name))(name)
             for name in ("on_train_begin", "on_epoch_begin", "on_train_batch_begin", "on_train_batch_end",
                          "on_epoch_end", "on_train_end", "on_test_begin", "on_test_end")}
    model.fit(x, y, epochs=1, batch_size=20, verbose=0, validation_data=(x, y),
              callbacks=[keras.callbacks.LambdaCallback(**hooks)])
    assert calls == ["on_train_begin", "on_epoch_begin", "on_train_batch_begin", "on_train_batch_end",
                     "on_test_begin", "on_test_end", "on_epoch_end", "on_train_end"]


# ------------------------------------------------------------------ bad input

def _unchanged(model, fn):
    before = [w.numpy() for w in model.weights + model.optimizer.variables]
    fn()
    after = [w.numpy() for w in model.weights + model.optimizer.variables]
    assert all(np.array_equal(a, b) for a, b in zip(before, after))


def test_bad_inputs_fail_before_training():
    x, y = blobs(n=30)
    model = small_classifier()
    with pytest.raises(ValueError, match="30 samples.*29 samples"):
        _unchanged(model, lambda: model.fit(x, y[:29], verbose=0))
    with pytest.raises(ValueError, match=r"shape \(30, 5\).*\(None, 4\)"):
        _unchanged(model, lambda: model.fit(np.ones((30, 5)), y, verbose=0))
    bad = y.copy()
    bad[17] = 3
    with pytest.raises(ValueError, match=r"labels must be in \[0, 3\).*sample 17"):
        _unchanged(model, lambda: model.fit(x, bad, verbose=0))
    with pytest.raises(ValueError, match=r"labels must be in \[0, 3\)"):
        _unchanged(model, lambda: model.fit(x, y - 1, verbose=0))
    with pytest.raises(ValueError, match="integer"):
        _unchanged(model, lambda: model.fit(x, y + 0.5, verbose=0))
    with pytest.raises(ValueError, match="validation_data"):
        _unchanged(model, lambda: model.fit(x, y, verbose=0, validation_data=(x[:, :3], y)))
    with pytest.raises(ValueError, match="batch_size"):
        _unchanged(model, lambda: model.fit(x, y, batch_size=0, verbose=0))
    assert int(model.optimizer.iterations) == 0


def test_unknown_names_and_fit_before_compile():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    with pytest.raises(RuntimeError, match="compile"):
        model.fit(np.ones((4, 4)), np.ones((4, 3)), verbose=0)
    with pytest.raises(ValueError, match="optimizer"):
        model.compile(optimizer="adamm", loss="mse")
    with pytest.raises(ValueError, match="loss"):
        model.compile(optimizer="adam", loss="msee")
    with pytest.raises(ValueError, match="metric"):
        model.compile(optimizer="adam", loss="mse", metrics=["acuracy"])
    with pytest.raises(TypeError, match="list"):
        model.compile(optimizer="adam", loss="mse", metrics="accuracy")
    assert not model.compiled
    with pytest.raises(ValueError, match="activation"):
        keras.layers.Dense(3, activation="relux")
    with pytest.raises(TypeError, match="Unrecognized keyword"):
        keras.layers.Dense(3, unitz=4)


def test_categorical_loss_with_integer_labels_gets_a_hint():
    x, y = blobs(n=10)
    model = small_classifier(loss="categorical_crossentropy")
    with pytest.raises(ValueError, match="sparse_categorical_crossentropy"):
        model.fit(x, y, verbose=0)


def test_deferred_build_from_data_and_unbuilt_errors():
    model = keras.Sequential([keras.layers.Dense(4, activation="relu"), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match="not yet been built"):
        model.summary()
    model.compile("sgd", "mse")
    with pytest.raises(ValueError, match="not yet been built"):
        model.train_function  # noqa: B018
    model.fit(np.ones((8, 3)), np.zeros((8, 2)), verbose=0)
    assert model.input_shape == (None, 3) and model.output_shape == (None, 2)


def test_keras_style_api_surface():
    assert sys.modules["graphc.keras"] is keras
    model = small_classifier()
    assert [l.name for l in model.layers] == ["dense", "dense_1"]
    assert len(model.weights) == 4 and len(model.trainable_weights) == 4
    model.layers[0].trainable = False
    assert len(model.trainable_weights) == 2 and len(model.non_trainable_weights) == 2


def test_an_overridden_train_step_is_traced_into_the_training_function():
    # Keras's guide pattern: tape, compute_loss, optimizer.apply, metrics by hand.
    import graphc as gc

    class CustomModel(keras.Sequential):
        def train_step(self, data):
            x, y = data
            with gc.GradientTape() as tape:
                y_pred = self(x, training=True)
                loss = self.compute_loss(y=y, y_pred=y_pred)
            self.optimizer.apply(tape.gradient(loss, self.trainable_variables), self.trainable_variables)
            for metric in self.metrics:
                if metric.name == "loss":
                    metric.update_state(loss)
                else:
                    metric.update_state(y, y_pred)
            return {m.name: m.result() for m in self.metrics} | {"twice_loss": loss * 2.0}

    x, y = blobs(n=64)
    weights = small_classifier().get_weights()
    custom = CustomModel([keras.Input((4,)), keras.layers.Dense(8, activation="relu"),
                          keras.layers.Dense(3, activation="softmax")])
    plain = small_classifier()
    for model in (custom, plain):
        model.compile(optimizer=keras.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        model.set_weights(weights)
    history = custom.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0).history
    plain.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    for a, b in zip(custom.get_weights(), plain.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)   # the same updates as the built-in step
    assert set(history) == {"loss", "accuracy", "twice_loss"}
    # the loss tracker averaged per step here (update_state(loss) has weight 1), as in Keras
    assert history["twice_loss"][-1] > 0 and custom.optimizer.iterations == 8
    assert "write the variables" in custom.train_function.source


def test_a_train_step_must_return_a_dict_of_tensors():
    class Broken(keras.Sequential):
        def train_step(self, data):
            return [1.0]

    model = Broken([keras.Input((4,)), keras.layers.Dense(3)])
    model.compile("sgd", "mse")
    with pytest.raises(TypeError, match="train_step must return a dict"):
        model.fit(np.zeros((4, 4), np.float32), np.zeros((4, 3), np.float32), verbose=0)


def test_a_metric_with_a_result_per_class_is_logged_as_an_array(capsys):
    x, y = blobs(n=60)
    model = small_classifier(loss="categorical_crossentropy", metrics=())
    model.compile("adam", "categorical_crossentropy", metrics=[keras.metrics.F1Score(average=None)])
    onehot = keras.utils.to_categorical(y, 3)
    history = model.fit(x, onehot, epochs=1, verbose=2).history
    assert history["f1_score"][0].shape == (3,)
    loss, f1 = model.evaluate(x, onehot, verbose=0)
    predicted = np.eye(3)[model.predict(x, verbose=0).argmax(1)]  # F1Score thresholds at the row's max
    tp = (predicted * onehot).sum(0)
    expected = 2 * tp / (predicted.sum(0) + onehot.sum(0))
    np.testing.assert_allclose(f1, expected, rtol=1e-5)
    assert "f1_score: [" in capsys.readouterr().out
