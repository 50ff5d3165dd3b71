"""Core layers: Input, Dense, Activation, Dropout, Flatten, Reshape.

Weights are made lazily on the first call, when the input shape is known,
inside ``gc.name_scope(layer.name)``, so the graph (and the generated code)
shows ``dense/kernel``, ``dense/matmul``, ``dense_1/softmax``...
"""
from __future__ import annotations

import numpy as np

import graphc as gc
from graphc.graph import Tensor
from graphc.keras import activations, constraints, initializers, regularizers, utils
from graphc.keras.layers.base import CallRecord, Layer, history, record_of
from graphc.ops.stochastic import random_uniform_like
from graphc.types import format_shape

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
        history[self.output] = (CallRecord(self, (), {}, 0), 0)
        self.built = True
        self.output_shape_seen = self.batch_shape

    def __call__(self, inputs=None, training=None):
        return self.output

    def get_config(self):
        return {"batch_shape": list(self.batch_shape), "dtype": self.dtype, "name": self.name}


def Input(shape=None, batch_size=None, dtype=None, name=None, batch_shape=None) -> Tensor:
    """A symbolic model input: a gc.placeholder of shape ``(batch_size,) + shape``."""
    return InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, name=name, batch_shape=batch_shape).output


def input_layer_of(tensor) -> InputLayer | None:
    """The InputLayer whose placeholder ``tensor`` is, or None."""
    found = record_of(tensor)
    return found[0].layer if found and isinstance(found[0].layer, InputLayer) else None


# ---------------------------------------------------------------- dense

class Dense(Layer):
    """``activation(inputs @ kernel + bias)``."""

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(units, (int, np.integer)) or isinstance(units, bool) or units <= 0:
            raise ValueError(f"Received an invalid value for `units`, expected a positive integer. "
                             f"Received: units={units!r}")
        self.units = int(units)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.kernel = self.bias = None

    def build(self, input_shape):
        if len(input_shape) < 1 or input_shape[-1] is None:
            raise ValueError(f"The last dimension of the inputs to Dense layer {self.name!r} should be "
                             f"defined. Found input shape {format_shape(tuple(input_shape))}")
        self.kernel = self.add_weight((input_shape[-1], self.units), self.kernel_initializer, name="kernel",
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)
        if self.use_bias:
            self.bias = self.add_weight((self.units,), self.bias_initializer, name="bias",
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint)

    def _check_input(self, x):
        if not isinstance(x, Tensor):
            raise TypeError(f"layer {self.name!r} takes one tensor, got {type(x).__name__}")
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
                      bias_initializer=initializers.serialize(self.bias_initializer),
                      kernel_regularizer=regularizers.serialize(self.kernel_regularizer),
                      bias_regularizer=regularizers.serialize(self.bias_regularizer),
                      kernel_constraint=constraints.serialize(self.kernel_constraint),
                      bias_constraint=constraints.serialize(self.bias_constraint))
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
        if not isinstance(x, Tensor):
            raise TypeError(f"layer {self.name!r} takes one tensor, got {type(x).__name__}")
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
