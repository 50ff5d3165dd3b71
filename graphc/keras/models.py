"""Models: Sequential, functional Model(inputs, outputs), and subclassed Model.

A model is a layer whose call runs other layers, plus the training loop
(``Trainer``). Its inputs and outputs are structures (one tensor, a list,
or a dict), described once it is built by ``input_specs`` and
``output_specs``: TensorSpecs named after the inputs and the outputs (an
output is named after the layer that made it, or its key in a dict). Each
compiled step calls the model on fresh placeholders, so Dropout can be on
in the training step and off in the others while the weights are shared.
"""
from __future__ import annotations

import numpy as np

import graphc as gc
from graphc import nest
from graphc.graph import Tensor, absolute_scope, make_tensor
from graphc.keras import layers as layers_module
from graphc.keras import registry, utils
from graphc.keras.layers import InputLayer, Layer, input_layer_of, record_of
from graphc.keras.layers.base import _training_stack, accepts_training, decode_specs, encode_specs, spec_of
from graphc.keras.trainer import Trainer
from graphc.ops.leaves import PlaceholderOp
from graphc.tracing import TensorSpec
from graphc.types import format_shape


def _is_shape(value) -> bool:
    return isinstance(value, (list, tuple)) and all(
        d is None or isinstance(d, (int, np.integer)) and not isinstance(d, bool) for d in value)


def shape_text(shapes) -> str:
    """A shape, or a structure of shapes (a layer with several outputs), as text."""
    if shapes is None:
        return "?"
    if _is_shape(shapes):
        return format_shape(tuple(shapes))
    if isinstance(shapes, dict):
        return "{" + ", ".join(f"{k}: {shape_text(v)}" for k, v in shapes.items()) + "}"
    return "[" + ", ".join(shape_text(s) for s in shapes) + "]"


def _unique(names: list) -> list:
    seen: dict = {}
    result = []
    for name in names:
        count = seen.get(name, 0)
        seen[name] = count + 1
        result.append(name if count == 0 else f"{name}_{count}")
    return result


class Model(Trainer, Layer):
    """Base model. ``Model(inputs, outputs)`` builds a functional model; subclass it
    (layers as attributes, a ``call(inputs, training=None)``) for a custom one."""

    _scoped = False  # the layers of a model keep their own names (dense/kernel), as in Keras

    def __new__(cls, *args, **kwargs):
        if cls is Model and (args or "inputs" in kwargs):
            cls = Functional
        return Layer.__new__(cls, *args, **kwargs)

    def __init__(self, *args, name=None, trainable=True, dtype=None, **kwargs):
        if args or "inputs" in kwargs or "outputs" in kwargs:
            # a subclass built from inputs and outputs (super().__init__(inputs, outputs)) is a
            # functional model with the subclass's methods, as in Keras
            if not isinstance(self, Functional):
                self.__class__ = _functional_variant(type(self))
            Functional.__init__(self, *args, name=name, trainable=trainable, **kwargs)
            return
        if kwargs:
            raise TypeError(f"Model: unexpected arguments {kwargs}; use keras.Model(inputs, outputs) or "
                            "subclass Model")
        Layer.__init__(self, name=name or utils.unique_name(utils.snake_case(type(self).__name__)),
                       trainable=trainable, dtype=dtype)
        self._init_trainer()
        self._output_specs = None
        self._input_name = "input_layer"

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"

    # ------------------------------------------------------------ layers
    @property
    def layers(self) -> list:
        return list(self._sublayers)

    def _tracked_layers(self) -> list:
        return self.layers

    def get_layer(self, name=None, index=None):
        if index is not None:
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"No such layer: {name!r}. Existing layers are: {[l.name for l in self.layers]}")

    # ------------------------------------------------------------ structure
    @property
    def input_specs(self):
        """A TensorSpec per input (batch dimension None), in the structure the model takes."""
        self._require_built("input_specs")
        return self._build_specs

    @property
    def output_specs(self):
        """A TensorSpec per output, named as the losses and metrics of that output are."""
        self._require_built("output_specs")
        return self._output_specs

    @property
    def output_names(self) -> list:
        return [spec.name for spec in nest.flatten(self.output_specs)]

    @property
    def input_shape(self):
        return nest.map_structure(lambda s: s.shape, self.input_specs)

    @property
    def output_shape(self):
        return nest.map_structure(lambda s: s.shape, self.output_specs)

    def _input_names(self, structure) -> object:
        """Names for inputs given as ``structure`` (dict keys, else input_layer, input_layer_1, ...)."""
        if isinstance(structure, dict):
            return {key: str(key) for key in structure}
        count = len(nest.flatten(structure))
        names = iter(_unique([self._input_name] * count))
        return nest.map_structure(lambda _: next(names), structure)

    def _specs_from_shapes(self, input_shape):
        """Input specs from a shape, or a list or dict of shapes (the batch dimension becomes None)."""
        def spec(shape, name):
            if not _is_shape(shape):
                raise ValueError(f"model {self.name!r}: build needs input shapes such as (None, 784) or a list "
                                 f"or dict of them, got {input_shape!r:.200}")
            shape = tuple(shape)
            return TensorSpec(((None,) + shape[1:]) if shape else (), "float32", name=name)

        if _is_shape(input_shape):
            return spec(input_shape, self._input_name)
        if isinstance(input_shape, dict):
            return {key: spec(shape, str(key)) for key, shape in input_shape.items()}
        if isinstance(input_shape, (list, tuple)) and input_shape:
            names = _unique([self._input_name] * len(input_shape))
            return [spec(shape, name) for shape, name in zip(input_shape, names)]
        return spec(input_shape, self._input_name)

    # ------------------------------------------------------------ building
    def build(self, input_shape=None):
        """Make the weights by calling the model once on placeholders of ``input_shape``."""
        if self.built:
            return
        if input_shape is None:
            raise ValueError(f"model {self.name!r}: build needs an input shape, e.g. build((None, 784))")
        self._build_from_specs(self._specs_from_shapes(input_shape))

    def _build_for(self, args):
        first = args[0]
        specs = [spec_of(t, name) for t, name in zip(nest.flatten(first), nest.flatten(self._input_names(first)))]
        self._build_from_specs(nest.pack_sequence_as(first, specs))

    def _build_from_specs(self, specs):
        placeholders = nest.map_structure(
            lambda s: gc.placeholder(s.shape, s.dtype, name=s.name or self._input_name), specs)
        self._build_specs = specs  # the call below checks its inputs against these
        if type(self).call is Model.call:
            # no call of its own: a model used through its own train_step (Keras's VAE
            # example), with no outputs for compiled losses and metrics
            self._output_specs = []
        else:
            try:
                outputs = self._call_layers(placeholders, training=None)
            except BaseException:
                self._build_specs = None
                raise
            self._output_specs = self._specs_of_outputs(outputs)
        self.built = True

    def _call_layers(self, inputs, training):
        """``call`` with ``training`` passed on to the layers it calls."""
        stack = _training_stack()
        stack.append(training)
        try:
            if accepts_training(type(self)):
                return self.call(inputs, training=training)
            return self.call(inputs)
        finally:
            stack.pop()

    def _specs_of_outputs(self, outputs):
        """Output specs named after their dict key, else the layer that made them (unique)."""
        leaves = nest.flatten(outputs)
        if not leaves or not all(isinstance(t, Tensor) for t in leaves):
            raise TypeError(f"model {self.name!r}: call must return a tensor or a structure of tensors, "
                            f"got {outputs!r:.200}")
        if isinstance(outputs, dict) and all(not nest.is_nested(v) for v in outputs.values()):
            names = [str(key) for key in outputs]
        else:
            names = []
            for i, t in enumerate(leaves):
                found = record_of(t)
                names.append(found[0].layer.name if found else f"output_{i}")
            names = _unique(names)
        specs = [spec_of(t, name) for t, name in zip(leaves, names)]
        return nest.pack_sequence_as(outputs, specs)

    def _check_input(self, inputs):
        specs = self._build_specs
        if specs is None:
            return
        flat = self._flatten_inputs(inputs, "call")
        for t, spec in zip(flat, nest.flatten(specs)):
            if not isinstance(t, Tensor):
                raise TypeError(f"model {self.name!r}: input {spec.name!r} must be a tensor, got {t!r:.100}")
            if t.ndim != len(spec.shape) or any(d is not None and s is not None and d != s
                                                 for d, s in zip(spec.shape[1:], t.shape[1:])):
                raise ValueError(f"Input {spec.name!r} of model {self.name!r} is incompatible with the model: "
                                 f"expected shape {format_shape(spec.shape)}, got {t.name!r} of shape "
                                 f"{format_shape(t.shape)}")

    def _flatten_inputs(self, inputs, what: str) -> list:
        """The leaves of ``inputs`` in the order of the input specs: a dict by input
        name, a list or tuple in order, a single tensor or array for one input."""
        specs = nest.flatten(self._build_specs)
        names = [spec.name for spec in specs]
        if isinstance(inputs, dict):
            unknown = [k for k in inputs if k not in names]
            missing = [n for n in names if n not in inputs]
            if unknown or missing:
                raise ValueError(f"{what}: model {self.name!r} has inputs {names}; got a dict with keys "
                                 f"{list(inputs)}" + (f" (missing {missing})" if missing else "")
                                 + (f" (unknown {unknown})" if unknown else ""))
            return [inputs[n] for n in names]
        flat = nest.flatten(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        if len(flat) != len(specs):
            raise ValueError(f"{what}: model {self.name!r} expects {len(specs)} input(s) {names}, got "
                             f"{len(flat)}: {nest.describe(inputs) if nest.is_nested(inputs) else 'one'}")
        return flat

    def _run(self, inputs, training=None):
        return self(inputs, training=training)

    def call(self, inputs, training=None):
        raise NotImplementedError(f"model {self.name!r}: a subclassed Model must define call(inputs, training=None)")

    # ------------------------------------------------------------ summary
    def _summary_rows(self) -> list:
        return [(f"{layer.name} ({type(layer).__name__})", shape_text(layer.output_shape_seen),
                 layer.count_params() if layer.built else 0) for layer in self.layers]

    def summary(self, line_length=None, positions=None, print_fn=None):
        """Print a Keras-style table: layers, output shapes, parameter counts."""
        (print_fn or print)(self._summary_text(line_length))

    def _summary_text(self, line_length=None) -> str:
        if not self.built:
            raise ValueError(f"model {self.name!r} has not yet been built. Build the model first by calling "
                             "`build()` or by calling the model on a batch of data (or start it with keras.Input).")
        # names may hold terminal escape sequences, carriage returns, ...: shown escaped
        rows = [tuple(utils.display_text(cell) if isinstance(cell, str) else cell for cell in row)
                for row in self._summary_rows()]
        heads = ("Layer (type)", "Output Shape", "Param #", "Connected to")[:max(3, *(len(r) for r in rows))]
        widths = [max(31, *(len(r[0]) for r in rows)), max(22, *(len(r[1]) for r in rows)), 13]
        if len(heads) > 3:
            widths.append(max(20, *(len(r[3]) for r in rows)))
        if line_length:
            widths[0] = max(widths[0], line_length - sum(widths[1:]) - 3 * len(widths) - 1)
        fancy = _can_print("┏━┳┓┃┡╇┩│├┼┤└┴┘")
        box = dict(zip("tl t tm tr v hl hm hr sv ml mm mr bl bm br".split(),
                       "┏ ━ ┳ ┓ ┃ ┡ ╇ ┩ │ ├ ┼ ┤ └ ┴ ┘".split() if fancy else
                       "+ = + + | + + + | + + + + + +".split()))
        dash = "─" if fancy else "-"

        def rule(left, fill, mid, right):
            return left + mid.join(fill * (w + 2) for w in widths) + right

        def line(cells, bar):
            texts = [f" {cells[0]:<{widths[0]}} ", f" {cells[1]:<{widths[1]}} ", f" {cells[2]:>{widths[2]}} "]
            texts += [f" {cell:<{width}} " for cell, width in zip(cells[3:], widths[3:])]
            return bar + bar.join(texts) + bar

        out = [f'Model: "{utils.display_text(self.name)}"', rule(box["tl"], box["t"], box["tm"], box["tr"]),
               line(heads, box["v"]), rule(box["hl"], box["t"], box["hm"], box["hr"])]
        for i, row in enumerate(rows):
            out.append(line((row[0], row[1], f"{row[2]:,}") + tuple(row[3:]), box["sv"]))
            if i < len(rows) - 1:
                out.append(rule(box["ml"], dash, box["mm"], box["mr"]))
        out.append(rule(box["bl"], dash, box["bm"], box["br"]))
        trainable = sum(int(np.prod(w.shape)) for w in self.trainable_weights)
        total = sum(int(np.prod(w.shape)) for w in self.weights)
        bytes_trainable = sum(w.value.nbytes for w in self.trainable_weights)
        bytes_total = sum(w.value.nbytes for w in self.weights)
        out.append(f" Total params: {total:,} ({_memory(bytes_total)})")
        out.append(f" Trainable params: {trainable:,} ({_memory(bytes_trainable)})")
        out.append(f" Non-trainable params: {total - trainable:,} ({_memory(bytes_total - bytes_trainable)})")
        if self.optimizer is not None and self.optimizer._built_for is not None:
            opt_vars = self.optimizer.variables
            count = sum(int(np.prod(v.shape)) for v in opt_vars)
            out.append(f" Optimizer params: {count:,} ({_memory(sum(v.value.nbytes for v in opt_vars))})")
        return "\n".join(out)

    # ------------------------------------------------------------ saving
    @classmethod
    def from_config(cls, config, depth=0):
        """A subclass saved as a functional model (built from inputs and outputs) is rebuilt
        from its layers and nodes, then made by its own class; else ``cls(**config)``."""
        if {"layers", "nodes"} <= set(config):
            return Functional.from_config.__func__(cls, config, depth)
        return super().from_config(config)

    def get_build_config(self):
        return None if not self.built else encode_specs(self._build_specs)

    def build_from_config(self, config) -> None:
        self._build_from_specs(decode_specs(config))

    def save(self, filepath, overwrite=True):
        """Write architecture (JSON), weights and optimizer state (arrays) to one zip file, atomically."""
        from graphc.keras import saving
        saving.save_model(self, filepath, overwrite=overwrite)

    def save_weights(self, filepath, overwrite=True):
        from graphc.keras import saving
        saving.save_weights(self, filepath, overwrite=overwrite)

    def load_weights(self, filepath):
        from graphc.keras import saving
        saving.load_weights(self, filepath)

    def to_json(self) -> str:
        from graphc.keras import saving
        return saving.model_to_json(self)


def _can_print(text) -> bool:
    import sys
    try:
        text.encode(getattr(sys.stdout, "encoding", None) or "ascii")
        return True
    except (UnicodeEncodeError, LookupError):
        return False


def _memory(nbytes: int) -> str:
    for unit, size in (("GB", 1024 ** 3), ("MB", 1024 ** 2), ("KB", 1024)):
        if nbytes >= size:
            return f"{nbytes / size:.2f} {unit}"
    return f"{nbytes:.2f} B"


# ===================================================================== Sequential

class Sequential(Model):
    """A plain stack of layers: ``Sequential([Dense(512, activation="relu"), Dense(10)])``."""

    def __init__(self, layers=None, trainable=True, name=None):
        super().__init__(name=name or utils.unique_name("sequential"), trainable=trainable)
        self._input_layer = None
        self._stack = []
        for layer in layers or []:
            self.add(layer)

    @property
    def layers(self) -> list:
        return list(self._stack)

    def add(self, layer):
        if isinstance(layer, Tensor) and input_layer_of(layer) is not None:
            layer = input_layer_of(layer)
        if not isinstance(layer, Layer):
            raise TypeError(f"The added layer must be an instance of class Layer. Received: layer={layer!r} "
                            f"of type {type(layer).__name__}.")
        if isinstance(layer, InputLayer):
            if self._input_layer is not None or self._stack:
                raise ValueError("Sequential: an InputLayer can only be the first layer")
            self._input_layer = layer
            self._input_name = layer.name
            return
        if any(existing.name == layer.name for existing in self._stack):
            raise ValueError(f"All layers added to a Sequential model should have unique names. "
                             f"Name {layer.name!r} is already the name of a layer in this model.")
        declared = getattr(layer, "_declared_input_shape", None)
        if not self._stack and self._input_layer is None and declared is not None:
            self._input_layer = InputLayer(shape=declared)
            self._input_name = self._input_layer.name
        self._stack.append(layer)
        self._unbuild()
        if self._input_layer is not None:
            self.build(self._input_layer.batch_shape)

    def _unbuild(self):
        self.built = False
        self._build_specs = self._output_specs = None
        self._reset_functions()

    def pop(self):
        if not self._stack:
            raise TypeError("There are no layers in the model.")
        specs = self._build_specs
        layer = self._stack.pop()
        self._unbuild()
        if self._stack and specs is not None:
            self._build_from_specs(specs)
        return layer

    def build(self, input_shape=None):
        if input_shape is None and self._input_layer is not None:
            input_shape = self._input_layer.batch_shape
        if input_shape is None:
            raise ValueError(f"model {self.name!r}: build needs an input shape, e.g. build((None, 784))")
        if not self._stack:
            raise ValueError(f"Sequential model {self.name!r} has no layers")
        super().build(input_shape)

    def call(self, inputs, training=None):
        x = inputs
        for layer in self._stack:
            x = layer(x, training=training)
        return x

    def get_config(self) -> dict:
        layer_configs = []
        if self.built:
            spec = self._build_specs
            layer_configs.append({"class_name": "InputLayer",
                                  "config": {"batch_shape": list(spec.shape), "dtype": spec.dtype.name,
                                             "name": self._input_name}})
        layer_configs += [layers_module.serialize(layer) for layer in self._stack]
        return {"name": self.name, "trainable": self.trainable, "layers": layer_configs}

    @classmethod
    def from_config(cls, config, depth=0):
        layer_configs = config.get("layers")
        if not isinstance(layer_configs, list):
            raise ValueError("a Sequential config needs a list of layers")
        model = cls(name=config.get("name"), trainable=bool(config.get("trainable", True)))
        for layer_config in layer_configs:
            model.add(layers_module.deserialize(layer_config, depth))
        return model


# ===================================================================== Functional

class Functional(Model):
    """A model from symbolic tensors: ``Model(inputs=keras.Input((784,)), outputs=y)``.

    ``inputs`` and ``outputs`` are a tensor, a list or a dict of them. The
    layer calls that lead from inputs to outputs were recorded; calling the
    model replays them (and any plain graphc ops between them) on new inputs.
    """

    def __init__(self, inputs, outputs, name=None, trainable=True):
        Model.__init__(self, name=name or utils.unique_name("functional"), trainable=trainable)
        flat_inputs, flat_outputs = nest.flatten(inputs), nest.flatten(outputs)
        if not flat_inputs or not flat_outputs:
            raise ValueError(f"Model {self.name!r}: needs at least one input and one output")
        for t in flat_inputs:
            if input_layer_of(t) is None:
                raise ValueError(f"Model inputs must come from keras.Input(), got {t!r:.200}")
        if len({id(t) for t in flat_inputs}) != len(flat_inputs):
            raise ValueError(f"Model {self.name!r}: an input appears more than once in inputs")
        for t in flat_outputs:
            if not isinstance(t, Tensor):
                raise TypeError(f"Model outputs must be symbolic tensors, got {type(t).__name__}")
        self._inputs_struct, self._outputs_struct = inputs, outputs
        self._inputs, self._outputs = flat_inputs, flat_outputs
        self._steps = self._trace()
        self._record_of = {id(t): found for kind, t, found in self._steps if found is not None}
        seen = []
        for kind, t, found in self._steps:
            if kind in ("input", "layer") and not any(found[0].layer is layer for layer in seen):
                seen.append(found[0].layer)
        names = [layer.name for layer in seen]
        if len(set(names)) != len(names):
            raise ValueError(f"The layer names in a model must be unique, got {names}")
        self._sublayers[:] = seen
        self._input_name = input_layer_of(flat_inputs[0]).name
        # an input is named by its key in a dict of inputs, else by its Input's name
        names = [str(key) for key in inputs] if isinstance(inputs, dict) else [
            input_layer_of(t).name for t in flat_inputs]
        self._build_specs = nest.pack_sequence_as(inputs, [
            TensorSpec(t.shape, t.dtype, name=name) for t, name in zip(flat_inputs, names)])
        self._output_specs = self._specs_of_outputs(outputs)
        self.built = True

    @property
    def inputs(self) -> list:
        return list(self._inputs)

    @property
    def outputs(self) -> list:
        return list(self._outputs)

    @property
    def input(self):
        return self._inputs_struct

    @property
    def output(self):
        return self._outputs_struct

    def _trace(self) -> list:
        """Steps from inputs to outputs: ("input"|"layer"|"op"|"leaf", tensor, (record, index)), inputs first."""
        input_ids = {id(t) for t in self._inputs}
        order, done, steps = [], set(), {}
        stack = [(t, False) for t in reversed(self._outputs)]
        while stack:
            t, expanded = stack.pop()
            if id(t) in done:
                continue
            if expanded:
                done.add(id(t))
                order.append(t)
                continue
            found = record_of(t)
            if id(t) in input_ids:
                steps[id(t)] = ("input", t, found)
                children = ()
            elif found and not isinstance(found[0].layer, InputLayer):
                steps[id(t)] = ("layer", t, found)
                children = found[0].input_tensors()
            elif t.op.is_leaf:
                if isinstance(t.op, PlaceholderOp):
                    raise ValueError(f"Graph disconnected: the outputs depend on input {t.name!r}, which is not "
                                     "among the model's inputs")
                steps[id(t)] = ("leaf", t, None)
                children = ()
            else:
                steps[id(t)] = ("op", t, None)
                children = t.inputs
            stack.append((t, True))
            stack.extend((c, False) for c in reversed(children) if id(c) not in done)
        return [steps[id(t)] for t in order]

    def call(self, inputs, training=None):
        mapped = {id(p): t for p, t in zip(self._inputs, self._flatten_inputs(inputs, "call"))}
        replayed: dict = {}  # id(record) -> the replayed call's outputs, flat
        for kind, t, found in self._steps:
            if kind == "input":
                continue
            if kind == "leaf":
                mapped[id(t)] = t
            elif kind == "layer":
                record, index = found
                outputs = replayed.get(id(record))
                if outputs is None:
                    args, kwargs = nest.map_structure(
                        lambda a: mapped[id(a)] if isinstance(a, Tensor) else a, (record.args, record.kwargs))
                    outputs = replayed[id(record)] = nest.flatten(record.layer(*args, **kwargs))
                mapped[id(t)] = outputs[index]
            else:
                new_inputs = [mapped[id(i)] for i in t.inputs]
                if all(a is b for a, b in zip(new_inputs, t.inputs)):
                    mapped[id(t)] = t
                else:
                    with absolute_scope(t.scope):
                        mapped[id(t)] = make_tensor(t.op, new_inputs, t.name.rpartition("/")[2])
        return nest.pack_sequence_as(self._outputs_struct, [mapped[id(t)] for t in self._outputs])

    def build(self, input_shape=None):
        pass  # built from its symbolic inputs

    def _summary_rows(self) -> list:
        rows = Model._summary_rows(self)
        if all(len(self._inbound(layer)) <= 1 for layer in self.layers) and len(self._inputs) == 1:
            return rows
        return [row + (", ".join(self._inbound(layer)) or "-",) for row, layer in zip(rows, self.layers)]

    def _inbound(self, layer) -> list:
        """Names of the layers whose outputs ``layer`` takes, as ``name[call][output]``."""
        calls = []
        for kind, t, found in self._steps:
            if kind == "layer" and found[0].layer is layer and not any(found[0] is c for c in calls):
                calls.append(found[0])
        names = []
        for record in calls:
            for t in record.input_tensors():
                source = self._record_of.get(id(t))
                if source is not None:
                    names.append(f"{source[0].layer.name}[0][{source[1]}]")
        return names

    # ------------------------------------------------------------ config
    def get_config(self) -> dict:
        layers, index_of_layer, nodes, node_of_record = [], {}, [], {}

        def ref(t):
            record, index = self._record_of[id(t)]
            return {"tensor": [node_of_record[id(record)], index]}

        for kind, t, found in self._steps:
            if kind in ("op", "leaf"):
                raise ValueError(f"model {self.name!r} applies graphc op {t.op.name!r} ({t.name!r}) outside a "
                                 "layer, so its architecture cannot be saved; wrap it in a layer")
            record = found[0]
            if id(record) in node_of_record:
                continue
            if id(record.layer) not in index_of_layer:
                index_of_layer[id(record.layer)] = len(layers)
                layers.append(layers_module.serialize(record.layer))
            call = _encode((record.args, record.kwargs), ref, f"a call of layer {record.layer.name!r}")
            node_of_record[id(record)] = len(nodes)
            nodes.append({"layer": index_of_layer[id(record.layer)], "call": call})
        return {"name": self.name, "trainable": self.trainable, "layers": layers, "nodes": nodes,
                "inputs": _encode(self._inputs_struct, ref, "inputs"),
                "outputs": _encode(self._outputs_struct, ref, "outputs")}

    @classmethod
    def from_config(cls, config, depth=0):
        layer_configs, nodes = config.get("layers"), config.get("nodes")
        if not isinstance(layer_configs, list) or not isinstance(nodes, list):
            raise ValueError("a Functional config needs lists 'layers' and 'nodes'")
        built_layers = [layers_module.deserialize(c, depth) for c in layer_configs]
        outputs_of_node: list = []

        def tensor_of(reference):
            node, index = reference
            if not _is_index(node, len(outputs_of_node)) or not _is_index(index, len(outputs_of_node[node])):
                raise ValueError(f"the functional config refers to a missing node output {reference!r:.100}")
            return outputs_of_node[node][index]

        for i, node in enumerate(nodes):
            if not isinstance(node, dict) or not _is_index(node.get("layer"), len(built_layers)):
                raise ValueError(f"node {i} of the functional config refers to a missing layer")
            layer = built_layers[node["layer"]]
            if isinstance(layer, InputLayer):
                outputs_of_node.append([layer.output])
                continue
            if "call" in node:
                args, kwargs = _decode(node["call"], tensor_of)
            else:  # graphc 0.1's layout: "inputs" lists the one input node of a one-input call
                inputs = node.get("inputs")
                if not isinstance(inputs, list) or len(inputs) != 1:
                    raise ValueError(f"node {i}: layer {layer.name!r} takes exactly one input")
                args, kwargs = [tensor_of([inputs[0], 0])], {}
            if not isinstance(args, list) or not args or not isinstance(kwargs, dict):
                raise ValueError(f"node {i}: a layer call needs positional arguments")
            outputs_of_node.append(nest.flatten(layer(*args, **kwargs)))
        ins, outs = config.get("inputs"), config.get("outputs")
        if isinstance(ins, list) and isinstance(outs, list):  # graphc 0.1's layout: lists of node indices
            inputs, outputs = [tensor_of([j, 0]) for j in ins], [tensor_of([j, 0]) for j in outs]
        else:
            inputs, outputs = _decode(ins, tensor_of), _decode(outs, tensor_of)
        return cls(inputs, outputs, name=config.get("name"), trainable=bool(config.get("trainable", True)))


def _encode(structure, ref, what: str) -> dict:
    """A structure of tensors and plain values as JSON: the structure with
    numbered leaves, and the leaves ({"tensor": [node, output]} or {"value": ...})."""
    leaves = nest.flatten(structure)
    encoded = []
    for leaf in leaves:
        if isinstance(leaf, Tensor):
            encoded.append(ref(leaf))
        elif leaf is None or isinstance(leaf, (bool, int, float, str)):
            encoded.append({"value": leaf})
        else:
            raise ValueError(f"{what}: argument {leaf!r:.100} is neither a tensor nor a plain value, so the "
                             "model cannot be saved")
    return {"structure": nest.pack_sequence_as(structure, range(len(leaves))), "leaves": encoded}


def _decode(encoded, tensor_of):
    """The structure ``_encode`` wrote, tensors found with ``tensor_of``."""
    try:
        structure, leaves = encoded["structure"], encoded["leaves"]
        values = []
        for leaf in leaves:
            if "tensor" in leaf:
                reference = leaf["tensor"]
                if not isinstance(reference, list) or len(reference) != 2:
                    raise ValueError(f"bad tensor reference {reference!r:.100}")
                values.append(tensor_of(reference))
            else:
                values.append(leaf["value"])
        numbers = nest.flatten(structure)
        if sorted(numbers) != list(range(len(values))):
            raise ValueError("its structure does not number its leaves")
        return nest.pack_sequence_as(structure, [values[i] for i in numbers])
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"a damaged call or input entry in the functional config: {exc}") from None


_FUNCTIONAL_VARIANTS: dict = {}  # subclass of Model -> the same class, made a Functional too


def _functional_variant(cls):
    """``cls`` with Functional's graph replay under its own methods (train_step, metrics, ...)."""
    variant = _FUNCTIONAL_VARIANTS.get(cls)
    if variant is None:
        variant = _FUNCTIONAL_VARIANTS[cls] = type(cls.__name__, (cls, Functional), {
            "__module__": cls.__module__, "__qualname__": cls.__qualname__, "__doc__": cls.__doc__,
            "_subclass_of": cls})
    return variant


def _is_index(value, bound) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < bound


def model_from_config(config, depth=0, custom_objects=None) -> Model:
    """A model from ``{"class_name", "config"}``: Sequential, Functional, or a
    registered (or custom_objects) Model subclass, built from its build_config."""
    if not isinstance(config, dict) or not isinstance(config.get("config"), dict):
        raise ValueError("a model config must be {'class_name': ..., 'config': {...}}")
    name, registered = config.get("class_name"), config.get("registered_name")
    cls = {"Sequential": Sequential, "Functional": Functional}.get(name) if registered is None else None
    if cls is not None:
        return cls.from_config(config["config"], depth)
    layer = layers_module.deserialize(config, depth, custom_objects)
    if not isinstance(layer, Model):
        raise ValueError(f"class {str(registered or name)[:100]!r} is not a Model")
    return layer


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """Load a model written by ``model.save``: architecture, weights, optimizer state."""
    from graphc.keras import saving
    return saving.load_model(filepath, custom_objects=custom_objects, compile=compile, safe_mode=safe_mode)


def clone_model(model):
    return model_from_config({"class_name": type(model).__name__, "config": model.get_config()})


__all__ = ["Model", "Sequential", "Functional", "load_model", "clone_model", "model_from_config", "registry"]
