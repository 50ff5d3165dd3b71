"""compile / fit / evaluate / predict: the generic loop and the compiled steps.

The loop knows nothing of graphs: it slices numpy batches, calls one
compiled function per batch and calls callback hooks. The steps are
Keras 3's ``train_step`` / ``test_step`` / ``predict_step`` (override them
in a subclass), traced once per ``compile`` on placeholders with a batch
dimension of None (see graphc/tracing.py) into graphc Functions, so every
batch size reuses them:

- ``train_function(x, y_true)``: forward pass (training=True), loss, the
  gradient from a GradientTape, the optimizer's ``apply`` and the metrics'
  ``update_state``; their assignments become the updates of one compiled
  function, which writes every variable at the end.
- ``test_function(x, y_true)``: forward (training=False), loss, metrics.
- ``predict_function(x)``: forward (training=False).
"""
from __future__ import annotations

import math

import numpy as np

import graphc as gc
from graphc import tracing
from graphc.graph import Tensor
from graphc.keras import callbacks as callbacks_module
from graphc.keras import losses, metrics as metrics_module, optimizers, utils
from graphc.ops.reduce import num_elements
from graphc.types import format_shape

_COMPILE_ACCEPTED = ("loss_weights", "weighted_metrics", "run_eagerly", "steps_per_execution",
                     "jit_compile", "auto_scale_loss")


def _shape_text(shape) -> str:
    return format_shape(tuple(shape))


class Trainer:
    def _init_trainer(self):
        self.compiled = False
        self.optimizer = None
        self.loss = None
        self.stop_training = False
        self.history = None
        self._loss_object = None
        self._metric_identifiers = []
        self._loss_tracker = None
        self._metrics = None
        self._reset_functions()

    def _reset_functions(self):
        self._train_function = None
        self._test_function = None
        self._predict_function = None
        self._log_names = {}  # step name -> names of the logs its outputs are

    # ------------------------------------------------------------- compile
    def compile(self, optimizer="rmsprop", loss=None, metrics=None, **kwargs):
        """Choose optimizer, loss and metrics; the compiled steps are (re)built on first use."""
        utils.check_kwargs(kwargs, _COMPILE_ACCEPTED, "compile")
        if kwargs.get("loss_weights") is not None or kwargs.get("weighted_metrics") is not None:
            raise NotImplementedError("compile: loss_weights and weighted_metrics are not supported")
        optimizer_object = optimizers.get(optimizer)
        loss_object = losses.loss_object(loss)
        if metrics is None:
            metrics = []
        elif isinstance(metrics, (str, metrics_module.Metric)) or callable(metrics):
            raise TypeError(f"Expected `metrics` argument to be a list or tuple, got {metrics!r}; "
                            f"write metrics=[{metrics!r}]")
        metrics = list(metrics)
        for m in metrics:
            metrics_module.check(m)
        names = [getattr(m, "name", None) or (m if isinstance(m, str) else getattr(m, "__name__", "metric"))
                 for m in metrics]
        if len(set(names)) != len(names) or "loss" in names:
            raise ValueError(f"compile: metric names must be unique and not 'loss', got {names}")
        self.optimizer = optimizer_object
        self.loss = loss
        self._loss_object = loss_object
        self._metric_identifiers = metrics
        self._loss_tracker = metrics_module.Mean("loss")
        self._metrics = None
        self._compile_args = {"optimizer": optimizer, "loss": loss, "metrics": metrics}
        self._reset_functions()
        self.compiled = True

    def _require_compiled(self, what):
        if not self.compiled:
            raise RuntimeError(f"You must call `compile()` before using the model ({what}).")
        if self._loss_object is None and what != "predict":
            raise ValueError(f"{what}: the model was compiled without a loss; pass compile(loss=...)")

    def _require_built(self, what):
        if not self.built:
            raise ValueError(f"{what}: this model has not yet been built. Build it by calling it on data, "
                             "calling `build(input_shape)`, starting it with `keras.Input(shape)`, or via fit.")

    @property
    def metrics(self) -> list:
        if self._metrics is None:
            return [self._loss_tracker] if self._loss_tracker else []
        return [self._loss_tracker] + self._metrics

    @property
    def metrics_names(self) -> list:
        return [m.name for m in self.metrics]

    def reset_metrics(self):
        for m in self.metrics:
            m.reset_state()

    # ------------------------------------------------------ steps (Keras 3's API)
    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """The compiled loss of ``y_pred`` against ``y`` (a float32 scalar)."""
        loss = self._loss_object(y, y_pred)
        if loss.ndim != 0:
            raise ValueError(f"the loss {self._loss_object.name!r} must give a scalar, got shape "
                             f"{format_shape(loss.shape)}")
        return gc.cast(loss, "float32")

    def compute_metrics(self, x, y, y_pred, sample_weight=None) -> dict:
        """Update the compiled metrics with this batch; {name: result} of every metric."""
        for metric in self._metrics or ():
            metric.update_state(y, y_pred)
        return self.get_metrics_result()

    def get_metrics_result(self) -> dict:
        return {metric.name: metric.result() for metric in self.metrics}

    def _batch_size(self, y_pred):
        with gc.name_scope("batch_size"):
            return num_elements(y_pred, (0,))

    def train_step(self, data) -> dict:
        """One step of fit on a batch ``(x, y)``: override it to change what fit does."""
        x, y = data
        with gc.GradientTape() as tape:
            y_pred = self._run(x, training=True)
            loss = self.compute_loss(x=x, y=y, y_pred=y_pred, training=True)
        self._loss_tracker.update_state(loss, sample_weight=self._batch_size(y_pred))
        weights = self.trainable_weights
        self.optimizer.apply(tape.gradient(loss, weights), weights)
        return self.compute_metrics(x, y, y_pred)

    def test_step(self, data) -> dict:
        x, y = data
        y_pred = self._run(x, training=False)
        loss = self.compute_loss(x=x, y=y, y_pred=y_pred, training=False)
        self._loss_tracker.update_state(loss, sample_weight=self._batch_size(y_pred))
        return self.compute_metrics(x, y, y_pred)

    def predict_step(self, data):
        return self._run(data, training=False)

    # ------------------------------------------------------ compiled steps
    def _input_placeholder(self):
        return gc.placeholder(self.input_shape, dtype=self._input_dtype, name=self._input_name)

    def _target_placeholder(self):
        out = self.output_shape
        if self._loss_object.sparse:
            return gc.placeholder(out[:-1], dtype="int64", name="y_true")
        return gc.placeholder(out, dtype=self._output_dtype, name="y_true")

    def _build_metrics(self):
        if self._metrics is None:
            self._metrics = [metrics_module.get(m, self._loss_object, self.output_shape)
                             for m in self._metric_identifiers]

    def _traced_step(self, step, name: str) -> gc.Function:
        """``step`` traced on placeholders for (x, y) into one Function whose outputs
        are the values of the logs dict it returns (their names in ``_log_names``)."""
        self._require_compiled(name)
        self._require_built(name)
        self._build_metrics()
        x, y = self._input_placeholder(), self._target_placeholder()
        logs, trace = tracing.record(step, (x, y))
        if not isinstance(logs, dict) or not all(isinstance(v, Tensor) for v in logs.values()):
            raise TypeError(f"{type(self).__name__}.{step.__name__} must return a dict of tensors (metric "
                            f"name -> value), got {logs!r:.200}")
        function = gc.function([x, y], list(logs.values()), trace.updates(), name=name)
        self._log_names[name] = list(logs)
        return function

    @property
    def train_function(self) -> gc.Function:
        """The whole training step as one graphc Function (``.source`` shows it)."""
        if self._train_function is None:
            self._require_built("train_function")
            if not self.trainable_weights:
                raise ValueError("fit: the model has no trainable weights")
            self._train_function = self._traced_step(self.train_step, "train_function")
        return self._train_function

    @property
    def test_function(self) -> gc.Function:
        if self._test_function is None:
            self._test_function = self._traced_step(self.test_step, "test_function")
        return self._test_function

    @property
    def predict_function(self) -> gc.Function:
        if self._predict_function is None:
            self._require_built("predict_function")
            x = self._input_placeholder()
            y_pred, trace = tracing.record(self.predict_step, x)
            self._predict_function = gc.function([x], y_pred, trace.updates(), name="predict_function")
        return self._predict_function

    # --------------------------------------------------------- data checks
    def _check_x(self, x, what):
        try:
            x = np.asarray(x)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{what}: x could not be converted to an array: {exc}") from None
        if x.dtype.kind not in "biuf":
            raise ValueError(f"{what}: x must hold numbers, got an array of dtype {x.dtype}")
        if x.ndim == 0 or len(x) == 0:
            raise ValueError(f"{what}: x is empty (shape {_shape_text(x.shape)})")
        if not self.built:
            self.build((None,) + x.shape[1:])
        expected = self.input_shape
        if x.ndim != len(expected) or any(e is not None and e != s for e, s in zip(expected[1:], x.shape[1:])):
            raise ValueError(f"{what}: x has shape {_shape_text(x.shape)}, but the model expects inputs of "
                             f"shape {_shape_text(expected)} (None is the batch dimension)")
        return x.astype(self._input_dtype, copy=False)

    def _check_y(self, y, n, what):
        if y is None:
            raise ValueError(f"{what}: y (the targets) is required")
        try:
            y = np.asarray(y)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{what}: y could not be converted to an array: {exc}") from None
        if y.dtype.kind not in "biuf":
            raise ValueError(f"{what}: y must hold numbers, got an array of dtype {y.dtype}")
        if y.ndim == 0 or len(y) != n:
            raise ValueError(f"{what}: data cardinality is ambiguous: x has {n} samples, y has "
                             f"{len(y) if y.ndim else 'no'} samples (shape {_shape_text(y.shape)}); "
                             "make sure all arrays contain the same number of samples")
        out = self.output_shape
        if self._loss_object.sparse:
            if y.ndim == len(out) and y.shape[-1] == 1:
                y = y[..., 0]
            if y.shape[1:] != tuple(out[1:-1]):
                raise ValueError(f"{what}: {self._loss_object.name} expects integer labels of shape "
                                 f"{_shape_text((None,) + tuple(out[1:-1]))}, got y of shape {_shape_text(y.shape)}; "
                                 "for one-hot targets use categorical_crossentropy")
            if y.dtype.kind == "f":
                if not np.all(np.isfinite(y)) or not np.all(y == np.round(y)):
                    raise ValueError(f"{what}: {self._loss_object.name} expects integer class labels, "
                                     "got non-integer values in y")
            classes = out[-1]
            low, high = y.min(), y.max()
            if low < 0 or high >= classes:
                bad = int(np.flatnonzero((y.reshape(len(y), -1) < 0).any(1) | (y.reshape(len(y), -1) >= classes).any(1))[0])
                raise ValueError(f"{what}: labels must be in [0, {classes}) for a model with {classes} outputs, "
                                 f"got values from {low} to {high} (first bad label at sample {bad})")
            return y.astype(np.int64)
        if y.ndim == len(out) - 1 and out[-1] == 1:
            y = y[..., None]
        if y.shape[1:] != tuple(out[1:]):
            hint = ""
            if y.ndim == len(out) - 1 and self._loss_object.name == "categorical_crossentropy":
                hint = ("; for integer labels use sparse_categorical_crossentropy, or one-hot encode them "
                        "with keras.utils.to_categorical")
            raise ValueError(f"{what}: y has shape {_shape_text(y.shape)}, but the model output has shape "
                             f"{_shape_text(out)}{hint}")
        return y.astype(self._output_dtype, copy=False)

    @staticmethod
    def _check_batch_size(batch_size, what):
        if batch_size is None:
            return 32
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size <= 0:
            raise ValueError(f"{what}: batch_size must be a positive int, got {batch_size!r}")
        return int(batch_size)

    @staticmethod
    def _check_verbose(verbose):
        if verbose == "auto":
            return 1
        if verbose not in (0, 1, 2):
            raise ValueError(f"verbose must be 'auto', 0, 1 or 2, got {verbose!r}")
        return int(verbose)

    # ----------------------------------------------------------------- fit
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, initial_epoch=0,
            validation_batch_size=None, validation_freq=1):
        """Train for ``epochs`` epochs; returns the History (``history.history["loss"]``, ...)."""
        self._require_compiled("fit")
        batch_size = self._check_batch_size(batch_size, "fit")
        verbose = self._check_verbose(verbose)
        for name, value in (("epochs", epochs), ("initial_epoch", initial_epoch), ("validation_freq", validation_freq)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < (1 if name == "validation_freq" else 0):
                raise ValueError(f"fit: {name} must be a {'positive' if name == 'validation_freq' else 'non-negative'} "
                                 f"int, got {value!r}")
        x = self._check_x(x, "fit")
        y = self._check_y(y, len(x), "fit")
        if not isinstance(validation_split, (int, float)) or not 0 <= validation_split < 1:
            raise ValueError(f"fit: validation_split must be in [0, 1), got {validation_split!r}")
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
                raise ValueError("fit: validation_data must be a tuple (x_val, y_val)")
            x_val = self._check_x(validation_data[0], "fit (validation_data)")
            y_val = self._check_y(validation_data[1], len(x_val), "fit (validation_data)")
        elif validation_split:
            split = int(math.floor(len(x) * (1.0 - validation_split)))
            if split == 0 or split == len(x):
                raise ValueError(f"fit: validation_split={validation_split} leaves no training or no validation "
                                 f"samples out of {len(x)}")
            x, x_val = x[:split], x[split:]
            y, y_val = y[:split], y[split:]
        else:
            x_val = y_val = None
        val_batch_size = self._check_batch_size(validation_batch_size or batch_size, "fit")
        train_step = self.train_function  # compile errors surface here, before any update
        if x_val is not None:
            self.test_function  # noqa: B018 (built now, not after the first epoch)

        n = len(x)
        steps = math.ceil(n / batch_size)
        cbs = callbacks_module.CallbackList(callbacks, add_history=True, add_progbar=verbose != 0, model=self,
                                            verbose=verbose, epochs=epochs, steps=steps, mode="train")
        self.stop_training = False
        cbs.on_train_begin()
        logs = {}
        names = self._log_names["train_function"]
        for epoch in range(initial_epoch, epochs):
            self.reset_metrics()
            cbs.on_epoch_begin(epoch)
            order = utils.rng().permutation(n) if shuffle else None
            for step in range(steps):
                cbs.on_train_batch_begin(step)
                start, stop = step * batch_size, min(n, (step + 1) * batch_size)
                if order is None:
                    xb, yb = x[start:stop], y[start:stop]
                else:
                    index = order[start:stop]
                    xb, yb = x[index], y[index]
                outputs = train_step(xb, yb)
                logs = {name: float(value) for name, value in zip(names, outputs)}
                cbs.on_train_batch_end(step, logs)
                if self.stop_training:
                    break
            epoch_logs = dict(logs)
            if x_val is not None and (epoch + 1) % validation_freq == 0:
                val_logs = self._test_loop(x_val, y_val, val_batch_size, cbs)
                epoch_logs.update({f"val_{k}": v for k, v in val_logs.items()})
            cbs.on_epoch_end(epoch, epoch_logs)
            logs = epoch_logs
            if self.stop_training:
                break
        cbs.on_train_end(logs)
        return self.history

    def _test_loop(self, x, y, batch_size, cbs) -> dict:
        test_step = self.test_function
        self.reset_metrics()
        cbs.on_test_begin()
        logs = {}
        names = self._log_names["test_function"]
        n = len(x)
        for step in range(math.ceil(n / batch_size)):
            cbs.on_test_batch_begin(step)
            outputs = test_step(x[step * batch_size:(step + 1) * batch_size],
                                y[step * batch_size:(step + 1) * batch_size])
            logs = {name: float(value) for name, value in zip(names, outputs)}
            cbs.on_test_batch_end(step, logs)
        cbs.on_test_end(logs)
        return logs

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", callbacks=None, return_dict=False):
        """Loss and metrics over (x, y): a scalar loss, or [loss, metrics...], or a dict."""
        self._require_compiled("evaluate")
        batch_size = self._check_batch_size(batch_size, "evaluate")
        verbose = self._check_verbose(verbose)
        x = self._check_x(x, "evaluate")
        y = self._check_y(y, len(x), "evaluate")
        self.test_function  # noqa: B018
        cbs = callbacks_module.CallbackList(callbacks, add_progbar=verbose != 0, model=self, verbose=verbose,
                                            steps=math.ceil(len(x) / batch_size), mode="test")
        logs = self._test_loop(x, y, batch_size, cbs)
        return self._format_logs(logs, return_dict)

    def predict(self, x, batch_size=None, verbose="auto", callbacks=None):
        """Outputs for ``x``, computed in batches (training=False: Dropout is off)."""
        batch_size = self._check_batch_size(batch_size, "predict")
        verbose = self._check_verbose(verbose)
        x = self._check_x(x, "predict")
        step_fn = self.predict_function
        steps = math.ceil(len(x) / batch_size)
        cbs = callbacks_module.CallbackList(callbacks, add_progbar=verbose != 0, model=self, verbose=verbose,
                                            steps=steps, mode="predict")
        cbs.on_predict_begin()
        outputs = []
        for step in range(steps):
            cbs.on_predict_batch_begin(step)
            outputs.append(np.asarray(step_fn(x[step * batch_size:(step + 1) * batch_size])))
            cbs.on_predict_batch_end(step, {"outputs": outputs[-1]})
        cbs.on_predict_end()
        return np.concatenate(outputs, axis=0)

    # ---------------------------------------------------------- one batch
    def train_on_batch(self, x, y, return_dict=False):
        return self._on_batch(x, y, "train", return_dict)

    def test_on_batch(self, x, y, return_dict=False):
        return self._on_batch(x, y, "test", return_dict)

    def _on_batch(self, x, y, kind: str, return_dict: bool):
        what = f"{kind}_on_batch"
        self._require_compiled(what)
        x = self._check_x(x, what)
        y = self._check_y(y, len(x), what)
        step = getattr(self, f"{kind}_function")  # built first: it makes the metrics
        self.reset_metrics()
        outputs = step(x, y)
        logs = {n: float(v) for n, v in zip(self._log_names[f"{kind}_function"], outputs)}
        return self._format_logs(logs, return_dict)

    def predict_on_batch(self, x):
        return np.asarray(self.predict_function(self._check_x(x, "predict_on_batch")))

    def _format_logs(self, logs, return_dict):
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values
