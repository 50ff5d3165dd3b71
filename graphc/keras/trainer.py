"""compile / fit / evaluate / predict: the generic loop and the compiled steps.

The loop knows nothing of graphs: it slices numpy batches, calls one
compiled function per batch and calls callback hooks. The steps are
Keras 3's ``train_step`` / ``test_step`` / ``predict_step`` (override them
in a subclass), traced on placeholders with a batch dimension of None (see
graphc/tracing.py) into graphc Functions, so every batch size reuses them:

- ``train_function``: forward pass (training=True), loss, the gradient from
  a GradientTape, the optimizer's ``apply`` and the metrics'
  ``update_state``; their assignments become the updates of one compiled
  function, which writes every variable at the end.
- ``test_function``: forward (training=False), loss, metrics.
- ``predict_function``: forward (training=False).

A model may have several inputs and outputs (a list or a dict of each):
data comes as the same structure (or a dict by input and output name), the
compiled loss is the weighted sum of one loss per output (``loss`` and
``loss_weights`` as one value, a list or a dict by output name), and
metrics are per output, logged as ``<output>_<metric>`` and
``<output>_loss``, as in Keras 3. Sample weights (``sample_weight`` or
``class_weight`` in fit) give the steps a third input; a step is traced
once with them and once without.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

import graphc as gc
from graphc import nest, tracing
from graphc.graph import Tensor
from graphc.keras import callbacks as callbacks_module
from graphc.keras import losses, metrics as metrics_module, optimizers, utils
from graphc.ops.reduce import num_elements
from graphc.tracing import TensorSpec
from graphc.types import format_shape

_COMPILE_ACCEPTED = ("run_eagerly", "steps_per_execution", "jit_compile", "auto_scale_loss")


def _shape_text(shape) -> str:
    return format_shape(tuple(shape))


@dataclass
class CompiledMetric:
    """A metric of compile(metrics=...) (or weighted_metrics): its log name, output, and
    the object that updates it (the metric itself, or an OutputMetric picking its output)."""
    name: str
    index: int
    metric: metrics_module.Metric
    weighted: bool


@dataclass
class OutputLoss:
    """The compiled loss of one output: ``weight * loss(y_true, y_pred)``."""
    index: int
    name: str
    loss: losses.Loss
    weight: float | None
    tracker: metrics_module.Mean | None  # "<output>_loss" when the model has several losses


class OutputMetric(metrics_module.Metric):
    """A metric of one output of a model with several, named as it is logged
    ("<output>_accuracy"). Its update_state takes the model's whole y, y_pred
    and sample_weight and picks its output's from them."""

    def __init__(self, metric, index: int, output: str, log_name: str):
        self.metric, self.index, self.output = metric, index, output
        self.name, self.dtype = log_name, metric.dtype

    def _pick(self, structure):
        if structure is None or not nest.is_nested(structure):
            return structure
        if isinstance(structure, dict):
            return structure.get(self.output)
        return nest.flatten(structure)[self.index]

    def update_state(self, y_true, y_pred, sample_weight=None):
        self.metric.update_state(self._pick(y_true), self._pick(y_pred), sample_weight=self._pick(sample_weight))

    def result(self):
        return self.metric.result()

    def reset_state(self):
        self.metric.reset_state()

    @property
    def variables(self) -> list:
        return self.metric.variables


def _logs(names, values) -> dict:
    """A step's outputs as logs: floats, and arrays for vector results (F1Score per class, ...)."""
    return {name: float(value) if np.ndim(value) == 0 else np.array(value) for name, value in zip(names, values)}


def _takes_labels(metric) -> bool:
    """Whether a metric compares integer labels with scores (the sparse ones)."""
    metric = getattr(metric, "metric", metric)  # an OutputMetric's own
    name = getattr(getattr(metric, "_fn", None), "__name__", None) or type(metric).__name__
    return name.lower().startswith("sparse")


def _leaves_of_argument(argument) -> list:
    """The identifiers in a loss or metrics argument (one, a list, or a dict of them)."""
    if isinstance(argument, dict):
        argument = list(argument.values())
    if isinstance(argument, (list, tuple)):
        return [leaf for item in argument for leaf in (item if isinstance(item, (list, tuple)) else [item])]
    return [argument]


class Trainer:
    def _init_trainer(self):
        self.compiled = False
        self.optimizer = None
        self.loss = None
        self.stop_training = False
        self.history = None
        self._compile_args = None
        self._loss_tracker = None
        self._output_losses = None    # [OutputLoss], resolved once the outputs are known
        self._compiled_metrics = None  # [CompiledMetric]
        self._reset_functions()

    def _reset_functions(self):
        self._functions = {}   # (step kind, sample weight shapes) -> Function
        self._log_names = {}   # same keys -> names of the logs its outputs are
        self._train_key = ("train_function", None)  # (kind, data signature) of the step fit used last

    # ------------------------------------------------------------- compile
    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None, weighted_metrics=None,
                **kwargs):
        """Choose optimizer, loss(es) and metrics; the compiled steps are (re)built on first use."""
        utils.check_kwargs(kwargs, _COMPILE_ACCEPTED, "compile")
        if metrics is None and loss_weights is not None and not all(
                isinstance(w, (int, float, np.integer, np.floating)) for w in _leaves_of_argument(loss_weights)):
            # tf.keras 2's order, compile(optimizer, loss, metrics): Keras 3 put loss_weights third
            metrics, loss_weights = loss_weights, None
        optimizer_object = optimizers.get(optimizer)
        if not (loss is None or isinstance(loss, (str, dict, list, tuple, losses.Loss)) or callable(loss)):
            raise ValueError(f"compile: could not interpret loss {loss!r:.100}")
        for leaf in _leaves_of_argument(loss):
            losses.get(leaf)  # unknown names fail here
        for argument, value in (("metrics", metrics), ("weighted_metrics", weighted_metrics)):
            if value is not None and not isinstance(value, (list, tuple, dict)):
                raise TypeError(f"Expected `{argument}` argument to be a list, tuple, or dict, got {value!r:.100}; "
                                f"write {argument}=[{value!r:.100}]")
            for leaf in _leaves_of_argument(value or []):
                if leaf is not None:  # None: no metric for that output
                    metrics_module.check(leaf)
        if loss_weights is not None:
            for leaf in _leaves_of_argument(loss_weights):
                if isinstance(leaf, bool) or not isinstance(leaf, (int, float, np.integer, np.floating)):
                    raise ValueError(f"compile: loss_weights must be numbers (one, a list, or a dict by output "
                                     f"name), got {loss_weights!r:.100}")
        self.optimizer = optimizer_object
        self.loss = loss
        self._compile_args = {"optimizer": optimizer, "loss": loss, "loss_weights": loss_weights,
                              "metrics": metrics, "weighted_metrics": weighted_metrics}
        self._loss_tracker = metrics_module.Mean("loss")
        self._output_losses = self._compiled_metrics = None
        self._reset_functions()
        self.compiled = True
        if self.built:
            self._resolve_compile()  # errors about outputs now, not at the first step

    def _resolve_compile(self):
        """Losses and metrics per output, once the outputs are known."""
        if self._output_losses is None:
            self._output_losses = self._resolve_losses()
            self._compiled_metrics = self._resolve_metrics()

    def _per_output(self, value, argument: str, as_list: bool) -> list:
        """``value`` (one for all, a list, or a dict by output name) as one entry per output."""
        names = self.output_names
        if isinstance(value, dict):
            unknown = [key for key in value if key not in names]
            if unknown:
                raise ValueError(f"compile: {argument} has keys {unknown} that are not outputs of model "
                                 f"{self.name!r} (its outputs: {names})")
            return [value.get(name, [] if as_list else None) for name in names]
        if isinstance(value, (list, tuple)) and (len(names) > 1 or not as_list):
            if len(value) != len(names):
                raise ValueError(f"compile: for a model with {len(names)} output(s) {names}, {argument} given as "
                                 f"a list needs one entry per output; got {len(value)}: {value!r:.200}")
            return list(value)
        return [value] * len(names)

    def _resolve_losses(self) -> list:
        names = self.output_names
        per_output = self._per_output(self._compile_args["loss"], "loss", as_list=False)
        weights = self._compile_args["loss_weights"]
        weights = [None] * len(names) if weights is None else self._per_output(weights, "loss_weights", False)
        entries = [(i, losses.loss_object(loss), weight)
                   for i, (loss, weight) in enumerate(zip(per_output, weights)) if loss is not None]
        several = len(entries) > 1
        return [OutputLoss(i, names[i], loss, None if weight is None else float(weight),
                           metrics_module.Mean(f"{names[i]}_loss") if several else None)
                for i, loss, weight in entries]

    def _loss_of(self, index):
        return next((entry.loss for entry in self._output_losses if entry.index == index), None)

    def _resolve_metrics(self) -> list:
        names = self.output_names
        several = len(names) > 1
        shapes = [spec.shape for spec in nest.flatten(self.output_specs)]
        losses_logged = {"loss"} | {f"{entry.name}_loss" for entry in self._output_losses}
        compiled, taken = [], set(losses_logged)
        for argument, weighted in (("metrics", False), ("weighted_metrics", True)):
            value = self._compile_args[argument]
            if value is None:
                continue
            for i, identifiers in enumerate(self._per_output(value, argument, as_list=True)):
                for identifier in identifiers if isinstance(identifiers, (list, tuple)) else [identifiers]:
                    if identifier is None:
                        continue
                    metric = metrics_module.get(identifier, self._loss_of(i), shapes[i])
                    base = identifier if isinstance(identifier, str) else metric.name
                    prefix = f"{names[i]}_" if several else ""
                    name = prefix + base
                    if name in losses_logged:
                        raise ValueError(f"compile: metric name {name!r} is the name of a loss log; name the "
                                         "metric otherwise")
                    if name in taken and weighted:
                        name = f"{prefix}weighted_{base}"
                    unique, count = name, 1
                    while unique in taken:
                        unique, count = f"{name}_{count}", count + 1
                    taken.add(unique)
                    if several:
                        metric = OutputMetric(metric, i, names[i], unique)
                    compiled.append(CompiledMetric(unique, i, metric, weighted))
        return compiled

    @property
    def _loss_object(self):
        """The loss of the first output that has one (a single-output model's loss)."""
        self._require_compiled("loss")
        self._require_built("loss")
        self._resolve_compile()
        return self._output_losses[0].loss if self._output_losses else None

    def _require_compiled(self, what):
        if not self.compiled:
            raise RuntimeError(f"You must call `compile()` before using the model ({what}).")


    def _require_built(self, what):
        if not self.built:
            raise ValueError(f"{what}: this model has not yet been built. Build it by calling it on data, "
                             "calling `build(input_shape)`, starting it with `keras.Input(shape)`, or via fit.")

    @property
    def metrics(self) -> list:
        """The loss tracker, the compiled metrics, and the per-output loss trackers (Keras's order)."""
        if self._loss_tracker is None:
            return []
        if self._output_losses is None:
            return [self._loss_tracker]
        return ([self._loss_tracker] + [m.metric for m in self._compiled_metrics]
                + [entry.tracker for entry in self._output_losses if entry.tracker is not None])

    @property
    def metrics_names(self) -> list:
        return [m.name for m in self.metrics]

    def reset_metrics(self):
        for m in self.metrics:
            m.reset_state()

    # ------------------------------------------------------ steps (Keras 3's API)
    def _flat_by_output(self, value, what: str) -> list:
        """``value`` (one tensor, or a list or dict per output) as one entry per output."""
        names = self.output_names
        if isinstance(value, dict):
            return [value.get(name) for name in names]
        if isinstance(value, (list, tuple)) and (len(names) > 1 or len(value) == 1):
            flat = nest.flatten(value)
            if len(flat) != len(names):
                raise ValueError(f"{what}: {len(flat)} values for the {len(names)} outputs {names} of model "
                                 f"{self.name!r}")
            return flat
        if len(names) > 1 and value is not None:
            raise ValueError(f"{what}: model {self.name!r} has {len(names)} outputs {names}; give a list or a "
                             "dict of them")
        return [value] * len(names)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """The weighted sum of each output's compiled loss, plus the model's ``losses``
        (add_loss terms and weight penalties): a float32 scalar."""
        self._resolve_compile()
        predictions = self._flat_by_output(y_pred, "compute_loss (y_pred)")
        targets = self._flat_by_output(y, "compute_loss (y)")
        weights = self._flat_by_output(sample_weight, "compute_loss (sample_weight)")
        total = None
        for entry in self._output_losses:
            target = targets[entry.index]
            if target is None:
                raise ValueError(f"compute_loss: no target (y) for output {entry.name!r}, which has a loss")
            value = entry.loss(target, predictions[entry.index], sample_weight=weights[entry.index])
            if value.ndim != 0:
                raise ValueError(f"the loss {entry.loss.name!r} of output {entry.name!r} must give a scalar, got "
                                 f"shape {format_shape(value.shape)} (is its reduction 'none'?)")
            value = gc.cast(value, "float32")
            if entry.tracker is not None:
                entry.tracker.update_state(value, sample_weight=self._batch_size(predictions[entry.index]))
            if entry.weight is not None:
                value = value * entry.weight
            total = value if total is None else total + value
        for extra in self.losses:
            value = gc.cast(gc.reduce_sum(extra) if extra.ndim else extra, "float32")
            total = value if total is None else total + value
        if total is None:
            raise ValueError(f"model {self.name!r} has no loss to train on: pass compile(loss=...), or add a loss "
                             "with add_loss in a layer's call")
        return total

    def compute_metrics(self, x, y, y_pred, sample_weight=None) -> dict:
        """Update the compiled metrics with this batch; {name: result} of every metric."""
        for compiled in self._compiled_metrics or ():
            compiled.metric.update_state(y, y_pred, sample_weight=sample_weight if compiled.weighted else None)
        return self.get_metrics_result()

    def get_metrics_result(self) -> dict:
        """{log name: result} of the loss tracker, the compiled metrics, the per-output losses."""
        results = {self._loss_tracker.name: self._loss_tracker.result()}
        results.update((m.name, m.metric.result()) for m in self._compiled_metrics or ())
        results.update((e.tracker.name, e.tracker.result()) for e in self._output_losses or () if e.tracker)
        return results

    def _batch_size(self, y_pred):
        with gc.name_scope("batch_size"):
            return num_elements(nest.flatten(y_pred)[0], (0,))

    def train_step(self, data) -> dict:
        """One step of fit on a batch ``(x, y)`` or ``(x, y, sample_weight)``: override it
        to change what fit does."""
        x, y, sample_weight = utils.unpack_x_y_sample_weight(data)
        with gc.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=True)
        self._loss_tracker.update_state(loss, sample_weight=self._batch_size(y_pred))
        weights = self.trainable_weights
        self.optimizer.apply(tape.gradient(loss, weights), weights)
        return self.compute_metrics(x, y, y_pred, sample_weight)

    def test_step(self, data) -> dict:
        x, y, sample_weight = utils.unpack_x_y_sample_weight(data)
        y_pred = self(x, training=False)
        loss = self.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=False)
        self._loss_tracker.update_state(loss, sample_weight=self._batch_size(y_pred))
        return self.compute_metrics(x, y, y_pred, sample_weight)

    def predict_step(self, data):
        x, _, _ = utils.unpack_x_y_sample_weight(data)
        return self(x, training=False)

    # ------------------------------------------------------ compiled steps
    def _target_specs(self) -> list:
        """Per output, the spec of its targets (None for an output with no loss or metric):
        integer labels for a sparse loss (or, without a loss, for sparse metrics only),
        else the output's shape."""
        used = {entry.index for entry in self._output_losses} | {m.index for m in self._compiled_metrics}
        specs = []
        for i, spec in enumerate(nest.flatten(self.output_specs)):
            loss = self._loss_of(i)
            name = "y_true" if len(self.output_names) == 1 else f"{spec.name}_true"
            if i not in used:
                specs.append(None)
            elif loss.sparse if loss is not None else all(
                    _takes_labels(m.metric) for m in self._compiled_metrics if m.index == i):
                specs.append(TensorSpec(spec.shape[:-1], "int64", name=name))
            else:
                specs.append(TensorSpec(spec.shape, spec.dtype if spec.dtype.kind == "f" else "float32", name=name))
        return specs

    def _pack_by_output(self, flat: list):
        """One entry per output back into the model's output structure (one output: the entry)."""
        if len(flat) == 1:
            return flat[0]
        return nest.pack_sequence_as(self.output_specs, flat)

    def _step_function(self, kind: str, signature=None) -> gc.Function:
        """The compiled ``kind`` step ("train_function", ...), traced on first use.
        ``signature`` (from ``_prepare``) says what else the data holds: sample
        weights (a shape or None per output), and targets given for outputs that
        no compiled loss or metric reads (a TensorSpec or None per target), which
        the step gets as they are, as Keras passes y to a custom train_step."""
        key = (kind, signature)
        weight_shapes, passed = signature or (None, None)
        function = self._functions.get(key)
        if function is not None:
            return function
        if kind != "predict_function":
            self._require_compiled(kind)
        self._require_built(kind)
        if kind == "train_function" and not self.trainable_weights:
            raise ValueError("fit: the model has no trainable weights")
        x = nest.map_structure(lambda s: gc.placeholder(s.shape, s.dtype, name=s.name or "input_layer"),
                               self.input_specs)
        inputs = nest.flatten(x)
        if kind == "predict_function":
            y_pred, trace = tracing.record(self.predict_step, utils.pack_x_y_sample_weight(x))
            function = gc.function(inputs, nest.flatten(y_pred), trace.updates(), name=kind)
            self._functions[key] = function
            return function
        self._resolve_compile()
        specs = self._target_specs()
        if passed is not None:  # a model without outputs may still take one target
            specs = [spec if spec is not None else extra for spec, extra in zip(specs + [None], passed)]
        targets = [None if spec is None else gc.placeholder(spec.shape, spec.dtype, name=spec.name)
                   for spec in specs]
        inputs += [t for t in targets if t is not None]
        weights = None
        if weight_shapes is not None:
            names = self.output_names
            flat = [None if shape is None else gc.placeholder(shape, "float32", name="sample_weight" if len(
                names) == 1 else f"{names[i]}_sample_weight") for i, shape in enumerate(weight_shapes)]
            weights = self._pack_by_output(flat)
            inputs += [w for w in flat if w is not None]
        # the batch as Keras gives it to the step: x alone when there are no targets (fit(x))
        targets = None if all(t is None for t in targets) else self._pack_by_output(targets)
        data = utils.pack_x_y_sample_weight(x, targets, weights)
        step = self.train_step if kind == "train_function" else self.test_step
        logs, trace = tracing.record(step, data)
        if not isinstance(logs, dict) or not all(isinstance(v, Tensor) for v in logs.values()):
            raise TypeError(f"{type(self).__name__}.{step.__name__} must return a dict of tensors (metric "
                            f"name -> value), got {logs!r:.200}")
        function = gc.function(inputs, list(logs.values()), trace.updates(), name=kind)
        self._functions[key] = function
        self._log_names[key] = list(logs)
        return function

    @property
    def train_function(self) -> gc.Function:
        """The whole training step as one graphc Function (``.source`` shows it): the one
        fit used last (with or without sample weights)."""
        return self._step_function(*self._train_key)

    @property
    def test_function(self) -> gc.Function:
        return self._step_function("test_function")

    @property
    def predict_function(self) -> gc.Function:
        return self._step_function("predict_function")

    def make_train_function(self):
        return self.train_function

    def make_test_function(self):
        return self.test_function

    def make_predict_function(self):
        return self.predict_function

    # --------------------------------------------------------- data checks
    def _prepare_x(self, x, what: str) -> list:
        """``x`` as one checked array per input, in input order (builds an unbuilt model)."""
        if x is None:
            raise ValueError(f"{what}: x (the inputs) is required")
        if not self.built:  # built for the data's shapes, as Keras does
            arrays = nest.map_structure(lambda a: self._as_array(a, "x", what), x)
            self._build_for((nest.map_structure(
                lambda a: gc.placeholder((None,) + a.shape[1:] if a.ndim else (), "float32"), arrays),))
            self._reset_functions()
            if self.compiled:
                self._resolve_compile()
        specs = nest.flatten(self.input_specs)
        flat = self._flatten_inputs(x, what)
        several = len(specs) > 1
        arrays = []
        for value, spec in zip(flat, specs):
            label = f"x[{spec.name!r}]" if several else "x"
            array = self._as_array(value, label, what)
            if array.ndim == 0 or len(array) == 0:
                raise ValueError(f"{what}: {label} is empty (shape {_shape_text(array.shape)})")
            if array.ndim != len(spec.shape) or any(e is not None and e != s
                                                     for e, s in zip(spec.shape[1:], array.shape[1:])):
                raise ValueError(f"{what}: {label} has shape {_shape_text(array.shape)}, but the model expects "
                                 f"input {spec.name!r} of shape {_shape_text(spec.shape)} (None is the batch "
                                 "dimension)")
            arrays.append(array.astype(spec.dtype, copy=False))
        self._same_length(arrays, [f"x[{s.name!r}]" for s in specs], what)
        return arrays

    @staticmethod
    def _as_array(value, label: str, what: str) -> np.ndarray:
        if isinstance(value, Tensor):
            value = value.numpy()
        try:
            array = np.asarray(value)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{what}: {label} could not be converted to an array: {exc}") from None
        if array.dtype.kind not in "biuf":
            raise ValueError(f"{what}: {label} must hold numbers, got an array of dtype {array.dtype}")
        return array

    @staticmethod
    def _same_length(arrays, labels, what):
        lengths = {len(a) for a in arrays}
        if len(lengths) > 1:
            listed = ", ".join(f"{label}: {len(a)}" for label, a in zip(labels, arrays))
            raise ValueError(f"{what}: data cardinality is ambiguous: the arrays hold different numbers of samples "
                             f"({listed}); make sure all arrays contain the same number of samples")

    def _prepare_y(self, y, n: int, what: str) -> tuple:
        """(``y`` as one array or None per output, the specs of the targets passed as
        they are or None). A target is checked against the loss or metrics of its
        output; an output without them takes any numbers (a custom train_step reads
        them), and so does a model with no outputs, as one array."""
        names = self.output_names
        specs = self._target_specs()
        if y is None:
            if any(spec is not None for spec in specs):
                raise ValueError(f"{what}: y (the targets) is required: the outputs {names} have losses or metrics")
            return [None] * len(names), None
        if not names:
            return self._passed([self._samples(y, n, what, "y")])
        if isinstance(y, dict):
            unknown = [key for key in y if key not in names]
            if unknown:
                raise ValueError(f"{what}: y has keys {unknown} that are not outputs of model {self.name!r} "
                                 f"(its outputs: {names})")
            flat = [y.get(name) for name in names]
        elif len(names) > 1:
            if not isinstance(y, (list, tuple)) or len(y) != len(names):
                raise ValueError(f"{what}: model {self.name!r} has {len(names)} outputs {names}: give y as a list "
                                 f"of {len(names)} arrays or a dict by output name, got "
                                 f"{nest.describe(y) if nest.is_nested(y) else 'one array'}")
            flat = list(y)
        else:
            if isinstance(y, (list, tuple)) and len(y) == 1 and np.ndim(y[0]) >= 1 and n != 1:
                y = y[0]  # [y] for a one-output model
            flat = [y]
        checked, free = [], []  # targets for losses and metrics; targets passed as they are
        for i, (value, spec) in enumerate(zip(flat, specs)):
            label = "y" if len(names) == 1 else f"y[{names[i]!r}]"
            if spec is None:
                checked.append(None)
                free.append(None if value is None else self._samples(value, n, what, label))
                continue
            if value is None:
                raise ValueError(f"{what}: y has no target for output {names[i]!r}, which has a loss or metrics")
            checked.append(self._check_target(self._samples(value, n, what, label), what, i, spec, label))
            free.append(None)
        free, passed = self._passed(free)
        return [c if f is None else f for c, f in zip(checked, free)], passed

    def _passed(self, targets: list) -> tuple:
        """(the targets as numbers, the spec of each or None; None if there are none)."""
        targets = [None if t is None else t.astype(np.float32 if t.dtype.kind == "f" else np.int64, copy=False)
                   for t in targets]
        names = self.output_names
        specs = tuple(None if t is None else TensorSpec((None,) + t.shape[1:], t.dtype, name="y_true" if len(
            targets) == 1 else f"{names[i]}_true") for i, t in enumerate(targets))
        return targets, specs if any(spec is not None for spec in specs) else None

    def _samples(self, y, n, what, label) -> np.ndarray:
        """``y`` as a numeric array of ``n`` samples."""
        y = self._as_array(y, label, what)
        if y.ndim == 0 or len(y) != n:
            raise ValueError(f"{what}: data cardinality is ambiguous: x has {n} samples, {label} has "
                             f"{len(y) if y.ndim else 'no'} samples (shape {_shape_text(y.shape)}); "
                             "make sure all arrays contain the same number of samples")
        return y

    def _check_target(self, y, what, index, spec, label):
        out = nest.flatten(self.output_specs)[index].shape
        loss = self._loss_of(index)
        if spec.dtype.kind in "iu":  # integer labels of a sparse loss
            if y.ndim == len(out) and y.shape[-1] == 1:
                y = y[..., 0]
            if y.shape[1:] != tuple(out[1:-1]):
                raise ValueError(f"{what}: {loss.name} expects integer labels of shape "
                                 f"{_shape_text((None,) + tuple(out[1:-1]))}, got {label} of shape "
                                 f"{_shape_text(y.shape)}; for one-hot targets use categorical_crossentropy")
            if y.dtype.kind == "f":
                if not np.all(np.isfinite(y)) or not np.all(y == np.round(y)):
                    raise ValueError(f"{what}: {loss.name} expects integer class labels, "
                                     f"got non-integer values in {label}")
            classes = out[-1]
            low, high = y.min(), y.max()
            if low < 0 or high >= classes:
                flat = y.reshape(len(y), -1)
                bad = int(np.flatnonzero((flat < 0).any(1) | (flat >= classes).any(1))[0])
                raise ValueError(f"{what}: labels must be in [0, {classes}) for an output with {classes} units, "
                                 f"got values from {low} to {high} in {label} (first bad label at sample {bad})")
            return y.astype(np.int64)
        if y.ndim == len(out) - 1 and out[-1] == 1:
            y = y[..., None]
        if y.shape[1:] != tuple(out[1:]):
            hint = ""
            if y.ndim == len(out) - 1 and loss is not None and loss.name == "categorical_crossentropy":
                hint = ("; for integer labels use sparse_categorical_crossentropy, or one-hot encode them "
                        "with keras.utils.to_categorical")
            if loss is None and y.ndim == len(out) - 1:
                hint = ("; this output has no loss, and its metrics take targets shaped like the output (for "
                        "integer labels use sparse metrics such as 'sparse_categorical_accuracy')")
            raise ValueError(f"{what}: {label} has shape {_shape_text(y.shape)}, but the model output "
                             f"{self.output_names[index]!r} has shape {_shape_text(out)}{hint}")
        return y.astype(spec.dtype, copy=False)

    def _prepare_sample_weight(self, sample_weight, class_weight, targets, n, what):
        """One float32 array (or None) per output, or None when no weights are given."""
        names = self.output_names
        if class_weight is not None:
            if sample_weight is not None:
                raise ValueError(f"{what}: give sample_weight or class_weight, not both")
            if len(names) > 1:
                raise ValueError(f"{what}: class_weight is only supported for models with one output; "
                                 "give sample_weight per output instead")
            if targets[0] is None:
                raise ValueError(f"{what}: class_weight needs the targets of an output with a loss")
            return [self._class_weights(class_weight, targets[0], what)]
        if sample_weight is None:
            return None
        if isinstance(sample_weight, dict):
            unknown = [key for key in sample_weight if key not in names]
            if unknown:
                raise ValueError(f"{what}: sample_weight has keys {unknown} that are not outputs {names}")
            flat = [sample_weight.get(name) for name in names]
        elif isinstance(sample_weight, (list, tuple)) and len(names) > 1:
            if len(sample_weight) != len(names):
                raise ValueError(f"{what}: sample_weight as a list needs one entry per output {names}, got "
                                 f"{len(sample_weight)}")
            flat = list(sample_weight)
        else:
            flat = [sample_weight] * len(names)
        checked = []
        for i, weight in enumerate(flat):
            if weight is None or targets[i] is None:
                checked.append(None)
                continue
            label = "sample_weight" if len(names) == 1 else f"sample_weight[{names[i]!r}]"
            array = self._as_array(weight, label, what)
            if array.ndim == 0 or len(array) != n:
                raise ValueError(f"{what}: {label} of shape {_shape_text(array.shape)} needs one weight per "
                                 f"sample ({n})")
            checked.append(array.astype(np.float32, copy=False))
        return checked

    def _class_weights(self, class_weight, y, what):
        """Each sample's weight: the weight of its class (1 for classes not named), as Keras."""
        if not isinstance(class_weight, dict) or not all(
                isinstance(k, (int, np.integer)) and not isinstance(k, bool) and k >= 0 for k in class_weight):
            raise ValueError(f"{what}: class_weight must be a dict from class index (>= 0) to weight, got "
                             f"{class_weight!r:.100}")
        if y.dtype.kind in "iu":  # integer labels (a sparse loss)
            labels = y
        elif y.ndim > 1 and y.shape[-1] > 1:  # one-hot rows
            labels = np.argmax(y, axis=-1)
        else:  # binary targets
            labels = np.round(y.reshape(len(y), -1)[:, 0] if y.ndim > 1 else y)
        if labels.ndim != 1:
            raise ValueError(f"{what}: class_weight needs one label per sample, got targets of shape "
                             f"{_shape_text(y.shape)}; use sample_weight")
        labels = labels.astype(np.int64)
        table = np.ones(max(int(labels.max(initial=0)), *class_weight) + 1, np.float32)
        for key, weight in class_weight.items():
            table[int(key)] = weight
        return table[labels]

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

    def _prepare(self, x, y, sample_weight, class_weight, what):
        """(arrays in the order of the step's inputs, the data's signature for ``_step_function``)."""
        self._require_compiled(what)
        xs = self._prepare_x(x, what)
        self._resolve_compile()
        ys, passed = self._prepare_y(y, len(xs[0]), what)
        weights = self._prepare_sample_weight(sample_weight, class_weight, ys, len(xs[0]), what)
        arrays = xs + [a for a in ys if a is not None]
        weight_shapes = None
        if weights is not None:
            arrays += [w for w in weights if w is not None]
            weight_shapes = tuple(None if w is None else (None,) + w.shape[1:] for w in weights)
        return arrays, (weight_shapes, passed) if weight_shapes or passed else None

    # ----------------------------------------------------------------- fit
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None, sample_weight=None,
            initial_epoch=0, validation_batch_size=None, validation_freq=1):
        """Train for ``epochs`` epochs; returns the History (``history.history["loss"]``, ...)."""
        self._require_compiled("fit")
        batch_size = self._check_batch_size(batch_size, "fit")
        verbose = self._check_verbose(verbose)
        for name, value in (("epochs", epochs), ("initial_epoch", initial_epoch), ("validation_freq", validation_freq)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < (1 if name == "validation_freq" else 0):
                raise ValueError(f"fit: {name} must be a {'positive' if name == 'validation_freq' else 'non-negative'} "
                                 f"int, got {value!r}")
        arrays, signature = self._prepare(x, y, sample_weight, class_weight, "fit")
        if not isinstance(validation_split, (int, float)) or not 0 <= validation_split < 1:
            raise ValueError(f"fit: validation_split must be in [0, 1), got {validation_split!r}")
        val_arrays = val_signature = None
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
                raise ValueError("fit: validation_data must be a tuple (x_val, y_val) or (x_val, y_val, "
                                 "val_sample_weight)")
            val_weight = validation_data[2] if len(validation_data) == 3 else None
            val_arrays, val_signature = self._prepare(validation_data[0], validation_data[1], val_weight, None,
                                                      "fit (validation_data)")
        elif validation_split:
            n = len(arrays[0])
            split = int(math.floor(n * (1.0 - validation_split)))
            if split == 0 or split == n:
                raise ValueError(f"fit: validation_split={validation_split} leaves no training or no validation "
                                 f"samples out of {n}")
            arrays, val_arrays = [a[:split] for a in arrays], [a[split:] for a in arrays]
            val_signature = signature
        val_batch_size = self._check_batch_size(validation_batch_size or batch_size, "fit")
        self._train_key = ("train_function", signature)
        train_step = self.train_function  # compile errors surface here, before any update
        if val_arrays is not None:
            self._step_function("test_function", val_signature)  # built now, not after the first epoch

        n = len(arrays[0])
        steps = math.ceil(n / batch_size)
        cbs = callbacks_module.CallbackList(callbacks, add_history=True, add_progbar=verbose != 0, model=self,
                                            verbose=verbose, epochs=epochs, steps=steps, mode="train")
        self.stop_training = False
        cbs.on_train_begin()
        logs = {}
        names = self._log_names[self._train_key]
        for epoch in range(initial_epoch, epochs):
            self.reset_metrics()
            cbs.on_epoch_begin(epoch)
            order = utils.rng().permutation(n) if shuffle else None
            for step in range(steps):
                cbs.on_train_batch_begin(step)
                start, stop = step * batch_size, min(n, (step + 1) * batch_size)
                index = slice(start, stop) if order is None else order[start:stop]
                outputs = train_step(*[a[index] for a in arrays])
                logs = _logs(names, outputs)
                cbs.on_train_batch_end(step, logs)
                if self.stop_training:
                    break
            epoch_logs = dict(logs)
            if val_arrays is not None and (epoch + 1) % validation_freq == 0:
                val_logs = self._test_loop(val_arrays, val_signature, val_batch_size, cbs)
                epoch_logs.update({f"val_{k}": v for k, v in val_logs.items()})
            cbs.on_epoch_end(epoch, epoch_logs)
            logs = epoch_logs
            if self.stop_training:
                break
        cbs.on_train_end(logs)
        return self.history

    def _test_loop(self, arrays, signature, batch_size, cbs) -> dict:
        key = ("test_function", signature)
        test_step = self._step_function(*key)
        self.reset_metrics()
        cbs.on_test_begin()
        logs = {}
        names = self._log_names[key]
        for step in range(math.ceil(len(arrays[0]) / batch_size)):
            cbs.on_test_batch_begin(step)
            outputs = test_step(*[a[step * batch_size:(step + 1) * batch_size] for a in arrays])
            logs = _logs(names, outputs)
            cbs.on_test_batch_end(step, logs)
        cbs.on_test_end(logs)
        return logs

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None, callbacks=None,
                 return_dict=False):
        """Loss and metrics over (x, y): a scalar loss, or [loss, metrics...], or a dict."""
        self._require_compiled("evaluate")
        batch_size = self._check_batch_size(batch_size, "evaluate")
        verbose = self._check_verbose(verbose)
        arrays, signature = self._prepare(x, y, sample_weight, None, "evaluate")
        self._step_function("test_function", signature)
        cbs = callbacks_module.CallbackList(callbacks, add_progbar=verbose != 0, model=self, verbose=verbose,
                                            steps=math.ceil(len(arrays[0]) / batch_size), mode="test")
        logs = self._test_loop(arrays, signature, batch_size, cbs)
        return self._format_logs(logs, return_dict)

    def predict(self, x, batch_size=None, verbose="auto", callbacks=None):
        """Outputs for ``x``, computed in batches (training=False: Dropout is off); one array,
        or a list or dict of them for a model with several outputs."""
        batch_size = self._check_batch_size(batch_size, "predict")
        verbose = self._check_verbose(verbose)
        xs = self._prepare_x(x, "predict")
        step_fn = self.predict_function
        steps = math.ceil(len(xs[0]) / batch_size)
        cbs = callbacks_module.CallbackList(callbacks, add_progbar=verbose != 0, model=self, verbose=verbose,
                                            steps=steps, mode="predict")
        cbs.on_predict_begin()
        batches = []
        for step in range(steps):
            cbs.on_predict_batch_begin(step)
            outputs = step_fn(*[a[step * batch_size:(step + 1) * batch_size] for a in xs])
            outputs = [np.asarray(o) for o in (outputs if isinstance(outputs, list) else [outputs])]
            batches.append(outputs)
            cbs.on_predict_batch_end(step, {"outputs": self._pack_by_output(outputs)})
        cbs.on_predict_end()
        return self._pack_by_output([np.concatenate(parts, axis=0) for parts in zip(*batches)])

    # ---------------------------------------------------------- one batch
    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, return_dict=False):
        arrays, signature = self._prepare(x, y, sample_weight, class_weight, "train_on_batch")
        self._train_key = ("train_function", signature)
        return self._on_batch(self._train_key, arrays, return_dict)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        arrays, signature = self._prepare(x, y, sample_weight, None, "test_on_batch")
        return self._on_batch(("test_function", signature), arrays, return_dict)

    def _on_batch(self, key, arrays, return_dict: bool):
        step = self._step_function(*key)  # built first: it makes the metrics
        self.reset_metrics()
        outputs = step(*arrays)
        logs = _logs(self._log_names[key], outputs)
        return self._format_logs(logs, return_dict)

    def predict_on_batch(self, x):
        outputs = self.predict_function(*self._prepare_x(x, "predict_on_batch"))
        return self._pack_by_output([np.asarray(o) for o in (outputs if isinstance(outputs, list) else [outputs])])

    def _format_logs(self, logs, return_dict):
        """The logs as a dict, or their values in Keras's order: the loss, the metrics
        (of a one-output model), the per-output losses, then the rest by name."""
        if return_dict:
            return logs
        first = ["loss"] + ([m.name for m in self._compiled_metrics or ()] if len(self.output_names) == 1 else [])
        first += [entry.tracker.name for entry in self._output_losses or () if entry.tracker is not None]
        ordered = [name for name in first if name in logs] + sorted(name for name in logs if name not in first)
        values = [logs[name] for name in ordered]
        return values[0] if len(values) == 1 else values
