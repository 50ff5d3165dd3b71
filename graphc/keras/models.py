"""Models: Sequential, functional Model(inputs, outputs), and subclassed Model.

A model is a layer that knows how to run its layers on a symbolic input
(``_run(x, training)``) plus the training loop (``Trainer``). Each compiled
step re-runs the layers on a fresh placeholder, so Dropout can be on in the
training step and off in the others while the weights are shared.
"""
from __future__ import annotations

import numpy as np

import graphc as gc
from graphc.graph import Tensor, absolute_scope, make_tensor
from graphc.keras import layers as layers_module
from graphc.keras import utils
from graphc.keras.layers import InputLayer, Layer, history, input_layer_of
from graphc.keras.trainer import Trainer
from graphc.ops.leaves import PlaceholderOp
from graphc.types import format_shape


class Model(Trainer, Layer):
    """Base model. ``Model(inputs, outputs)`` builds a functional model; subclass it
    (layers as attributes, a ``call(inputs, training=None)``) for a custom one."""

    def __new__(cls, *args, **kwargs):
        if cls is Model and (args or "inputs" in kwargs):
            return object.__new__(Functional)
        return object.__new__(cls)

    def __init__(self, *args, name=None, trainable=True, **kwargs):
        if args or kwargs:
            raise TypeError(f"Model: unexpected arguments {args or ''}{kwargs or ''}; use "
                            "keras.Model(inputs, outputs) or subclass Model")
        object.__setattr__(self, "_tracked", [])
        Layer.__init__(self, name=name or utils.unique_name(utils.snake_case(type(self).__name__)),
                       trainable=trainable)
        self._init_trainer()
        self._input_batch_shape = None
        self._output_tensor_shape = None
        self._input_name = "input_layer"

    def __setattr__(self, key, value):
        tracked = self.__dict__.get("_tracked")
        if tracked is not None and isinstance(value, Layer) and value is not self and value not in tracked:
            tracked.append(value)
        elif tracked is not None and isinstance(value, (list, tuple)):
            tracked.extend(v for v in value if isinstance(v, Layer) and v not in tracked)
        object.__setattr__(self, key, value)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"

    # ------------------------------------------------------------ layers
    @property
    def layers(self) -> list:
        return list(self._tracked)

    def get_layer(self, name=None, index=None):
        if index is not None:
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"No such layer: {name!r}. Existing layers are: {[l.name for l in self.layers]}")

    def _layer_weights(self, kind: str) -> list:
        """The layers' ``kind`` weights in order, each once (layers may share one)."""
        seen, result = set(), []
        for layer in self.layers:
            for w in getattr(layer, kind):
                if id(w) not in seen:
                    seen.add(id(w))
                    result.append(w)
        return result

    @property
    def weights(self) -> list:
        return self._layer_weights("weights")

    @property
    def trainable_weights(self) -> list:
        return self._layer_weights("trainable_weights") if self.trainable else []

    @property
    def non_trainable_weights(self) -> list:
        trainable = {id(w) for w in self.trainable_weights}
        return [w for w in self.weights if id(w) not in trainable]

    trainable_variables = trainable_weights
    non_trainable_variables = non_trainable_weights

    def set_weights(self, weights) -> None:
        Layer.set_weights(self, weights)

    # ------------------------------------------------------------ shapes
    @property
    def input_shape(self):
        self._require_built("input_shape")
        return self._input_batch_shape

    @property
    def output_shape(self):
        self._require_built("output_shape")
        return self._output_tensor_shape

    @property
    def _input_dtype(self):
        return "float32"

    @property
    def _output_dtype(self):
        return "float32"

    # ------------------------------------------------------------ running
    def build(self, input_shape=None):
        """Make the weights by running the layers once on a placeholder of ``input_shape``."""
        if self.built:
            return
        if input_shape is None:
            raise ValueError(f"model {self.name!r}: build needs an input shape, e.g. build((None, 784))")
        input_shape = tuple(input_shape)
        batch_shape = (None,) + tuple(None if d is None else int(d) for d in input_shape[1:])
        x = gc.placeholder(batch_shape, dtype=self._input_dtype, name=self._input_name)
        out = self._run(x, training=None)
        self._input_batch_shape = batch_shape
        self._output_tensor_shape = out.shape
        self.built = True

    def _run(self, x, training=None):
        if "training" in layers_module._call_parameters(type(self)):
            return self.call(x, training=training)
        return self.call(x)

    def call(self, inputs, training=None):
        raise NotImplementedError(f"model {self.name!r}: a subclassed Model must define call(inputs, training=None)")

    def __call__(self, inputs, training=None):
        symbolic = isinstance(inputs, Tensor)
        x = inputs if symbolic else gc.constant(np.asarray(inputs, dtype=self._input_dtype))
        if not self.built:
            self.build(x.shape)
        out = self._run(x, training=training)
        self.output_shape_seen = out.shape
        if symbolic:
            history[out] = (self, (x,))
        return out

    # ------------------------------------------------------------ summary
    def _summary_rows(self) -> list:
        return [(f"{layer.name} ({type(layer).__name__})",
                 format_shape(layer.output_shape_seen) if layer.output_shape_seen is not None else "?",
                 layer.count_params() if layer.built else 0) for layer in self.layers]

    def summary(self, line_length=None, positions=None, print_fn=None):
        """Print a Keras-style table: layers, output shapes, parameter counts."""
        (print_fn or print)(self._summary_text(line_length))

    def _summary_text(self, line_length=None) -> str:
        if not self.built:
            raise ValueError(f"model {self.name!r} has not yet been built. Build the model first by calling "
                             "`build()` or by calling the model on a batch of data (or start it with keras.Input).")
        # names may hold terminal escape sequences, carriage returns, ...: shown escaped
        rows = [(utils.display_text(name), shape, params) for name, shape, params in self._summary_rows()]
        heads = ("Layer (type)", "Output Shape", "Param #")
        widths = [max(31, *(len(r[0]) for r in rows)), max(22, *(len(r[1]) for r in rows)), 13]
        if line_length:
            widths[0] = max(widths[0], line_length - widths[1] - widths[2] - 10)
        fancy = _can_print("┏━┳┓┃┡╇┩│├┼┤└┴┘")
        box = dict(zip("tl t tm tr v hl hm hr sv ml mm mr bl bm br".split(),
                       "┏ ━ ┳ ┓ ┃ ┡ ╇ ┩ │ ├ ┼ ┤ └ ┴ ┘".split() if fancy else
                       "+ = + + | + + + | + + + + + +".split()))
        dash = "─" if fancy else "-"

        def rule(left, fill, mid, right):
            return left + mid.join(fill * (w + 2) for w in widths) + right

        def line(cells, bar):
            texts = [f" {cells[0]:<{widths[0]}} ", f" {cells[1]:<{widths[1]}} ", f" {cells[2]:>{widths[2]}} "]
            return bar + bar.join(texts) + bar

        out = [f'Model: "{utils.display_text(self.name)}"', rule(box["tl"], box["t"], box["tm"], box["tr"]),
               line(heads, box["v"]), rule(box["hl"], box["t"], box["hm"], box["hr"])]
        for i, (name, shape, params) in enumerate(rows):
            out.append(line((name, shape, f"{params:,}"), box["sv"]))
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
        self.built = False
        self._reset_functions()
        if self._input_layer is not None:
            self.build(self._input_layer.batch_shape)

    def pop(self):
        if not self._stack:
            raise TypeError("There are no layers in the model.")
        layer = self._stack.pop()
        self._reset_functions()
        self.built = False
        if self._stack and self._input_batch_shape is not None:
            self.build(self._input_batch_shape)
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

    def _summary_rows(self):
        return Model._summary_rows(self)

    def get_config(self) -> dict:
        layer_configs = []
        if self.built:
            shape = self._input_layer.batch_shape if self._input_layer else self._input_batch_shape
            layer_configs.append({"class_name": "InputLayer",
                                  "config": {"batch_shape": list(shape), "dtype": "float32",
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

    The layer calls that lead from inputs to outputs were recorded; running
    the model replays them (and any plain graphc ops between them) on new
    inputs.
    """

    def __init__(self, inputs, outputs, name=None, trainable=True):
        Model.__init__(self, name=name or utils.unique_name("functional"), trainable=trainable)
        inputs_list = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        outputs_list = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
        if len(inputs_list) != 1 or len(outputs_list) != 1:
            raise NotImplementedError("graphc.keras models have one input and one output for now")
        for t in inputs_list:
            if input_layer_of(t) is None:
                raise ValueError(f"Model inputs must come from keras.Input(), got {t!r}")
        for t in outputs_list:
            if not isinstance(t, Tensor):
                raise TypeError(f"Model outputs must be symbolic tensors, got {type(t).__name__}")
        self._inputs, self._outputs = inputs_list, outputs_list
        self._steps = self._trace()
        seen = []
        for kind, t, record in self._steps:
            if kind in ("input", "layer") and record[0] not in seen:
                seen.append(record[0])
        names = [layer.name for layer in seen]
        if len(set(names)) != len(names):
            raise ValueError(f"The layer names in a model must be unique, got {names}")
        self._tracked[:] = seen
        self._input_name = input_layer_of(inputs_list[0]).name
        self._input_batch_shape = inputs_list[0].shape
        self._output_tensor_shape = outputs_list[0].shape
        self.built = True

    @property
    def inputs(self):
        return list(self._inputs)

    @property
    def outputs(self):
        return list(self._outputs)

    @property
    def input(self):
        return self._inputs[0]

    @property
    def output(self):
        return self._outputs[0]

    def _trace(self) -> list:
        """Steps from inputs to outputs: ("input"|"layer"|"op"|"leaf", tensor, record), inputs first."""
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
            if id(t) in input_ids:
                steps[id(t)] = ("input", t, history[t])
                children = ()
            elif t in history and not isinstance(history[t][0], InputLayer):
                steps[id(t)] = ("layer", t, history[t])
                children = history[t][1]
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

    def _run(self, x, training=None):
        mapped = {id(self._inputs[0]): x}
        for kind, t, record in self._steps:
            if kind == "input":
                continue
            if kind == "leaf":
                mapped[id(t)] = t
            elif kind == "layer":
                layer, ins = record
                mapped[id(t)] = layer(*[mapped[id(i)] for i in ins], training=training)
            else:
                new_inputs = [mapped[id(i)] for i in t.inputs]
                if all(a is b for a, b in zip(new_inputs, t.inputs)):
                    mapped[id(t)] = t
                else:
                    with absolute_scope(t.scope):
                        mapped[id(t)] = make_tensor(t.op, new_inputs, t.name.rpartition("/")[2])
        return mapped[id(self._outputs[0])]

    def build(self, input_shape=None):
        pass  # built from its symbolic inputs

    def get_config(self) -> dict:
        layers, index_of_layer, nodes, node_of = [], {}, [], {}
        for kind, t, record in self._steps:
            if kind in ("op", "leaf"):
                raise ValueError(f"model {self.name!r} applies graphc op {t.op.name!r} ({t.name!r}) outside a "
                                 "layer, so its architecture cannot be saved; wrap it in a layer")
            layer = record[0]
            if id(layer) not in index_of_layer:
                index_of_layer[id(layer)] = len(layers)
                layers.append(layers_module.serialize(layer))
            node_of[id(t)] = len(nodes)
            nodes.append({"layer": index_of_layer[id(layer)], "inputs": [node_of[id(i)] for i in record[1]]})
        return {"name": self.name, "trainable": self.trainable, "layers": layers, "nodes": nodes,
                "inputs": [node_of[id(t)] for t in self._inputs], "outputs": [node_of[id(t)] for t in self._outputs]}

    @classmethod
    def from_config(cls, config, depth=0):
        layer_configs, nodes = config.get("layers"), config.get("nodes")
        if not isinstance(layer_configs, list) or not isinstance(nodes, list):
            raise ValueError("a Functional config needs lists 'layers' and 'nodes'")
        built_layers = [layers_module.deserialize(c, depth) for c in layer_configs]
        tensors = []
        for i, node in enumerate(nodes):
            if not isinstance(node, dict):
                raise ValueError(f"node {i} of the functional config is not a dict")
            li, inputs = node.get("layer"), node.get("inputs")
            if not _is_index(li, len(built_layers)) or not isinstance(inputs, list) or not all(
                    _is_index(j, i) for j in inputs):
                raise ValueError(f"node {i} of the functional config refers to a missing layer or node")
            layer = built_layers[li]
            if isinstance(layer, InputLayer):
                if inputs:
                    raise ValueError(f"node {i}: an InputLayer takes no inputs")
                tensors.append(layer.output)
            else:
                if len(inputs) != 1:
                    raise ValueError(f"node {i}: layer {layer.name!r} takes exactly one input")
                tensors.append(layer(tensors[inputs[0]]))
        ins, outs = config.get("inputs"), config.get("outputs")
        for refs in (ins, outs):
            if not isinstance(refs, list) or not refs or not all(_is_index(j, len(tensors)) for j in refs):
                raise ValueError("the functional config's inputs/outputs refer to missing nodes")
        return cls([tensors[j] for j in ins], [tensors[j] for j in outs], name=config.get("name"),
                   trainable=bool(config.get("trainable", True)))


def _is_index(value, bound) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < bound


def model_from_config(config, depth=0) -> Model:
    if not isinstance(config, dict) or not isinstance(config.get("config"), dict):
        raise ValueError("a model config must be {'class_name': ..., 'config': {...}}")
    cls = {"Sequential": Sequential, "Functional": Functional}.get(config.get("class_name"))
    if cls is None:
        raise ValueError(f"model class {config.get('class_name')!r} is not allowed (Sequential, Functional)")
    return cls.from_config(config["config"], depth)


def load_model(filepath, compile=True):
    """Load a model written by ``model.save``: architecture, weights, optimizer state."""
    from graphc.keras import saving
    return saving.load_model(filepath, compile=compile)


def clone_model(model):
    return model_from_config({"class_name": type(model).__name__, "config": model.get_config()})

