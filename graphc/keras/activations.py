"""Activation functions by name, built from graphc ops.

``get("relu")`` gives the function; ``serialize(fn)`` gives its name back
(only named and registered activations can be saved).
"""
from __future__ import annotations

import graphc as gc
from graphc.keras import registry


def linear(x):
    return x


def relu(x):
    return gc.relu(x)


def sigmoid(x):
    return gc.sigmoid(x)


def tanh(x):
    return gc.tanh(x)


def softmax(x, axis=-1):
    return gc.softmax(x, axis=axis)


def log_softmax(x, axis=-1):
    return gc.log_softmax(x, axis=axis)


def softplus(x):
    return gc.softplus(x)


def softsign(x):
    return gc.nn.softsign(x)


def exponential(x):
    return gc.exp(x)


def relu6(x):
    return gc.nn.relu6(x)


def elu(x, alpha=1.0):
    return gc.nn.elu(x, alpha)


def selu(x):
    return gc.nn.selu(x)


def silu(x):
    return gc.nn.silu(x)


swish = silu


def leaky_relu(x, negative_slope=0.2):
    return gc.nn.leaky_relu(x, negative_slope)


def hard_sigmoid(x):
    return relu6(x + 3.0) / 6.0


def gelu(x):
    return gc.nn.gelu(x)


ALL = {f.__name__: f for f in (linear, relu, sigmoid, tanh, softmax, log_softmax, softplus,
                               softsign, exponential, relu6, elu, selu, silu, leaky_relu,
                               hard_sigmoid, gelu)}
ALL["swish"] = silu


def get(identifier):
    """An activation function from a name, a function, or None (linear)."""
    if identifier is None:
        return linear
    if isinstance(identifier, str):
        found = ALL.get(identifier) or registry.lookup(identifier)
        if not callable(found) or isinstance(found, type):
            raise ValueError(f"Unknown activation function: {identifier!r}; known: {', '.join(sorted(ALL))} "
                             "(or one registered with keras.saving.register_keras_serializable)")
        return found
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret activation function identifier: {identifier!r}")


def serialize(fn) -> str:
    """The name ``get`` takes back: a built-in's, or a registered function's "package>name"."""
    for name, f in ALL.items():
        if f is fn:
            return "silu" if f is silu else name
    if registry.is_registered(fn):
        return registry.get_registered_name(fn)
    raise ValueError(f"activation {getattr(fn, '__name__', fn)!r} is not one of the named activations "
                     f"({', '.join(sorted(ALL))}): register it with keras.saving.register_keras_serializable() "
                     "to save it")
