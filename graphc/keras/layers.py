"""Layers: Input, Dense, Activation, Dropout, Flatten, Reshape.

A layer owns its weights (gc.Variables) and maps symbolic tensors to
symbolic tensors with graphc ops; it never runs anything. Weights are made
lazily on the first call, when the input shape is known, inside
``gc.name_scope(layer.name)``, so the graph (and the generated code) shows
``dense/kernel``, ``dense/matmul``, ``dense_1/softmax``...

Every call on symbolic tensors is recorded (``history``), which lets a
functional ``Model`` re-run the same layers on new inputs, for instance
with ``training=True`` for the training step.
"""
from __future__ import annotations

import inspect
import weakref

import numpy as np

import graphc as gc
from graphc.graph import Tensor, current_scope
from graphc.keras import activations, initializers, utils
from graphc.ops.stochastic import random_uniform_like
from graphc.types import format_shape

# output tensor -> (layer, input tensors): how a symbolic tensor was made.
history: "weakref.WeakKeyDictionary[Tensor, tuple]" = weakref.WeakKeyDictionary()

_BASE_KWARGS = ("name", "trainable", "dtype", "input_shape", "input_dim", "batch_size")


class Layer:
    """Base class: ``build(input_shape)`` makes weights, ``call(inputs, training)`` computes."""

    def __init__(self, trainable=True, name=None, dtype=None, **kwargs):
        utils.check_kwargs(kwargs, ("input_shape", "input_dim", "batch_size"), type(self).__name__)
        self.name = (utils.unique_name(utils.snake_case(type(self).__name__)) if name is None
                     else utils.check_name(name, type(self).__name__))
        self.dtype = np.dtype(dtype or "float32").name
        self.trainable = bool(trainable)
        self.built = False
        self._weights: list = []
        self.input_spec_shape = None  # input shape seen at build, batch dim as None
        self.output_shape_seen = None
        input_shape = kwargs.get("input_shape")
        if input_shape is None and kwargs.get("input_dim") is not None:
            input_shape = (kwargs["input_dim"],)
        # Keras lets the first layer of a Sequential name its input shape.
        self._declared_input_shape = None if input_shape is None else tuple(input_shape)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"

    # ------------------------------------------------------------- weights
    def add_weight(self, shape, initializer="glorot_uniform", dtype=None, trainable=True, name=None):
        shape = tuple(int(d) for d in shape)
        value = initializers.get(initializer)(shape, dtype or self.dtype)
        value = np.asarray(value, dtype=dtype or self.dtype)
        if value.shape != shape:
            raise ValueError(f"layer {self.name!r}: initializer gave shape {value.shape} for weight "
                             f"{name!r} of shape {shape}")
        name = name or "weight"
        if current_scope().rpartition("/")[2] == self.name:
            var = gc.Variable(value, trainable=trainable, name=name)
        else:
            with gc.name_scope(self.name):
                var = gc.Variable(value, trainable=trainable, name=name)
        self._weights.append(var)
        return var

    @property
    def weights(self) -> list:
        return list(self._weights)

    @property
    def variables(self) -> list:
        return self.weights

    @property
    def trainable_weights(self) -> list:
        return [w for w in self.weights if w.trainable] if self.trainable else []

    @property
    def non_trainable_weights(self) -> list:
        if not self.trainable:
            return self.weights
        return [w for w in self.weights if not w.trainable]

    trainable_variables = trainable_weights
    non_trainable_variables = non_trainable_weights

    def get_weights(self) -> list:
        return [w.numpy() for w in self.weights]

    def set_weights(self, weights) -> None:
        own = self.weights
        weights = list(weights)
        if len(weights) != len(own):
            raise ValueError(f"layer {self.name!r}: set_weights got {len(weights)} arrays, "
                             f"the layer has {len(own)} weights")
        arrays = []
        for var, value in zip(own, weights):
            array = np.asarray(value)
            if array.shape != var.shape:
                raise ValueError(f"layer {self.name!r}: weight {var.name!r} has shape {format_shape(var.shape)}, "
                                 f"got an array of shape {format_shape(array.shape)}")
            arrays.append(array)
        for var, array in zip(own, arrays):  # all checked first: nothing half-set
            var.assign(array.astype(var.dtype))

    def count_params(self) -> int:
        if not self.built:
            raise ValueError(f"You tried to call `count_params` on layer {self.name!r}, but the layer "
                             "isn't built. Call it on some data (or `build()` it) first.")
        return int(sum(int(np.prod(w.shape)) for w in self.weights))

    # ---------------------------------------------------------------- call
    def build(self, input_shape):
        pass

    def call(self, inputs, training=None):
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def _check_input(self, x: Tensor):
        pass

    def __call__(self, inputs, training=None):
        symbolic = isinstance(inputs, Tensor)
        x = inputs if symbolic else gc.constant(np.asarray(inputs, dtype=self.dtype))
        with gc.name_scope(self.name):
            if not self.built:
                self.build(x.shape)
                self.input_spec_shape = (None,) + tuple(x.shape[1:]) if x.ndim else ()
                self.built = True
            self._check_input(x)
            if "training" in _call_parameters(type(self)):
                out = self.call(x, training=training)
            else:
                out = self.call(x)
        self.output_shape_seen = out.shape
        if symbolic:
            history[out] = (self, (x,))
        return out

    # -------------------------------------------------------------- config
    def get_config(self) -> dict:
        config = {"name": self.name, "trainable": self.trainable, "dtype": self.dtype}
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)


_call_params_cache: dict = {}


def _call_parameters(cls) -> tuple:
    params = _call_params_cache.get(cls)
    if params is None:
        params = _call_params_cache[cls] = tuple(inspect.signature(cls.call).parameters)
    return params


# ---------------------------------------------------------------- input

class InputLayer(Layer):
    """Holds the model's input placeholder (batch dimension None)."""

    def __init__(self, shape=None, batch_size=None, dtype=None, name=None, batch_shape=None, **kwargs):
        utils.check_kwargs(kwargs, ("trainable",), "InputLayer")
        super().__init__(name=name, dtype=dtype)
        if batch_shape is None:
            if shape is None:
                raise ValueError("InputLayer: pass `shape` (without the batch dimension)")
            shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
            batch_shape = (batch_size,) + shape
        self.batch_shape = tuple(None if d is None else int(d) for d in batch_shape)
        self.output = gc.placeholder(self.batch_shape, dtype=self.dtype, name=self.name)
        history[self.output] = (self, ())
        self.built = True
        self.input_spec_shape = self.batch_shape
        self.output_shape_seen = self.batch_shape

    def __call__(self, inputs=None, training=None):
        return self.output

    def get_config(self):
        return {"batch_shape": list(self.batch_shape), "dtype": self.dtype, "name": self.name}


def Input(shape=None, batch_size=None, dtype=None, name=None, batch_shape=None) -> Tensor:
    """A symbolic model input: a gc.placeholder of shape ``(batch_size,) + shape``."""
    return InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, name=name, batch_shape=batch_shape).output


def input_layer_of(tensor) -> InputLayer | None:
    record = history.get(tensor) if isinstance(tensor, Tensor) else None
    return record[0] if record and isinstance(record[0], InputLayer) else None


# ---------------------------------------------------------------- dense

class Dense(Layer):
    """``activation(inputs @ kernel + bias)``."""

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", **kwargs):
        super().__init__(**kwargs)
        if not isinstance(units, (int, np.integer)) or isinstance(units, bool) or units <= 0:
            raise ValueError(f"Received an invalid value for `units`, expected a positive integer. "
                             f"Received: units={units!r}")
        self.units = int(units)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel = self.bias = None

    def build(self, input_shape):
        if len(input_shape) < 1 or input_shape[-1] is None:
            raise ValueError(f"The last dimension of the inputs to Dense layer {self.name!r} should be "
                             f"defined. Found input shape {format_shape(tuple(input_shape))}")
        self.kernel = self.add_weight((input_shape[-1], self.units), self.kernel_initializer, name="kernel")
        if self.use_bias:
            self.bias = self.add_weight((self.units,), self.bias_initializer, name="bias")

    def _check_input(self, x):
        if x.ndim < 1 or x.shape[-1] != self.kernel.shape[0]:
            raise ValueError(f"Input of layer {self.name!r} is incompatible with the layer: expected axis -1 "
                             f"of input shape to have value {self.kernel.shape[0]}, but received input "
                             f"{x.name!r} with shape {format_shape(x.shape)}")

    def call(self, inputs):
        y = gc.matmul(inputs, self.kernel)
        if self.use_bias:
            y = y + self.bias
        return self.activation(y)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        config = super().get_config()
        config.update(units=self.units, activation=activations.serialize(self.activation),
                      use_bias=self.use_bias,
                      kernel_initializer=initializers.serialize(self.kernel_initializer),
                      bias_initializer=initializers.serialize(self.bias_initializer))
        return config


class Activation(Layer):
    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)

    def call(self, inputs):
        return self.activation(inputs)

    def get_config(self):
        config = super().get_config()
        config["activation"] = activations.serialize(self.activation)
        return config


class Dropout(Layer):
    """Zeroes a fraction ``rate`` of the inputs in training, scaling the rest by 1/(1-rate).

    Identity at inference (predict, evaluate, or training=False/None).
    """

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(rate, bool) or not isinstance(rate, (int, float, np.floating)) or not 0 <= rate < 1:
            raise ValueError(f"Invalid value received for argument `rate`. Expected a float value "
                             f"between 0 and 1 (1 excluded). Received: rate={rate!r}")
        if noise_shape is not None:
            noise_shape = tuple(None if d is None else int(d) for d in noise_shape)
        self.noise_shape = noise_shape
        if seed is not None and (not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0):
            raise ValueError(f"Dropout: seed must be a non-negative int or None, got {seed!r}")
        self.rate = float(rate)
        self.seed = seed

    def call(self, inputs, training=None):
        if not training or self.rate == 0:
            return inputs
        # Each compiled function gets its own draw stream; a fixed seed makes it repeatable.
        seed = self.seed if self.seed is not None else utils.draw_seed()
        keep = random_uniform_like(self._noise_like(inputs), dtype=inputs.dtype, seed=seed,
                                   name="uniform") >= self.rate
        # a mask of noise_shape (1 along some axes) broadcasts: those axes share one draw
        return gc.where(keep, inputs / (1.0 - self.rate), 0.0, name="dropout")

    def _noise_like(self, inputs):
        """A tensor with the mask's shape: ``inputs`` cut to size 1 along the
        axes where ``noise_shape`` has 1 (None keeps the input's size)."""
        if self.noise_shape is None:
            return inputs
        if len(self.noise_shape) != inputs.ndim or any(
                d not in (None, 1, n) for d, n in zip(self.noise_shape, inputs.shape)):
            raise ValueError(f"Dropout {self.name!r}: noise_shape {self.noise_shape} does not fit inputs "
                             f"{inputs.name!r} of shape {format_shape(inputs.shape)} (each entry must be "
                             "None, 1 or the input's size)")
        index = tuple(slice(0, 1) if d == 1 and n != 1 else slice(None)
                      for d, n in zip(self.noise_shape, inputs.shape))
        return inputs[index]

    def get_config(self):
        config = super().get_config()
        config.update(rate=self.rate, seed=self.seed, noise_shape=self.noise_shape)
        return config


class Flatten(Layer):
    """Reshape ``(batch, d1, d2, ...)`` to ``(batch, d1 * d2 * ...)``."""

    def _check_input(self, x):
        if x.ndim < 1 or None in x.shape[1:]:
            raise ValueError(f"Flatten {self.name!r}: the non-batch dimensions of {x.name!r} must be known, "
                             f"got shape {format_shape(x.shape)}")

    def call(self, inputs):
        if inputs.ndim == 1:
            return gc.reshape(inputs, (-1, 1))
        size = int(np.prod(inputs.shape[1:]))
        return gc.reshape(inputs, (-1, size))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], int(np.prod(input_shape[1:])))


class Reshape(Layer):
    """Reshape the non-batch dimensions to ``target_shape``."""

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        self.target_shape = tuple(int(d) for d in target_shape)

    def call(self, inputs):
        return gc.reshape(inputs, (-1,) + self.target_shape)

    def get_config(self):
        config = super().get_config()
        config["target_shape"] = list(self.target_shape)
        return config


# Classes a saved file may name (nothing else is ever instantiated on load).
ALLOWED = {cls.__name__: cls for cls in (InputLayer, Dense, Activation, Dropout, Flatten, Reshape)}


def serialize(layer: Layer) -> dict:
    cls_name = type(layer).__name__
    if ALLOWED.get(cls_name) is not type(layer) and cls_name not in ("Sequential", "Functional"):
        raise ValueError(f"layer {layer.name!r} of class {cls_name} is not a built-in layer, so it cannot be "
                         f"saved (saveable: {', '.join(sorted(ALLOWED))}, Sequential, Functional)")
    return {"class_name": cls_name, "config": layer.get_config()}


def deserialize(config: dict, depth: int = 0) -> Layer:
    """A layer from ``{"class_name", "config"}``; only allow-listed classes are made."""
    if not isinstance(config, dict):
        raise ValueError(f"a layer config must be a dict, got {type(config).__name__}")
    cls_name = config.get("class_name")
    inner = config.get("config")
    if not isinstance(inner, dict):
        raise ValueError(f"the config of layer class {cls_name!r} must be a dict")
    if cls_name in ("Sequential", "Functional"):
        if depth > 16:
            raise ValueError("models are nested too deeply")
        from graphc.keras import models
        return models.model_from_config(config, depth + 1)
    cls = ALLOWED.get(cls_name) if isinstance(cls_name, str) else None
    if cls is None:
        raise ValueError(f"layer class {cls_name!r} is not allowed (known: {', '.join(sorted(ALLOWED))}, "
                         "Sequential, Functional)")
    if cls is not InputLayer:
        for key in ("kernel_initializer", "bias_initializer"):
            if key in inner:
                inner = dict(inner, **{key: initializers.deserialize(inner[key])})
    try:
        return cls.from_config(inner)
    except (TypeError, ValueError, NotImplementedError) as exc:
        raise ValueError(f"bad config for layer class {cls_name}: {exc}") from None

