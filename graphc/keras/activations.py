"""Activation functions by name, built from graphc ops.

``get("relu")`` gives the function; ``serialize(fn)`` gives its name back
(only named activations can be saved).
"""
from __future__ import annotations

import graphc as gc


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
    return x / (1.0 + gc.abs(x))


def exponential(x):
    return gc.exp(x)


def relu6(x):
    return gc.minimum(gc.relu(x), 6.0)


def elu(x, alpha=1.0):
    return gc.where(x > 0.0, x, alpha * (gc.exp(gc.minimum(x, 0.0)) - 1.0))


def selu(x):
    alpha, scale = 1.6732632423543772, 1.0507009873554805
    return scale * elu(x, alpha)


def silu(x):
    return x * gc.sigmoid(x)


swish = silu


def leaky_relu(x, negative_slope=0.2):
    return gc.where(x > 0.0, x, negative_slope * x)


def hard_sigmoid(x):
    return relu6(x + 3.0) / 6.0


def gelu(x):
    # tanh approximation (graphc has no erf op)
    return 0.5 * x * (1.0 + gc.tanh(0.7978845608028654 * (x + 0.044715 * x ** 3)))


ALL = {f.__name__: f for f in (linear, relu, sigmoid, tanh, softmax, log_softmax, softplus,
                               softsign, exponential, relu6, elu, selu, silu, leaky_relu,
                               hard_sigmoid, gelu)}
ALL["swish"] = silu


def get(identifier):
    """An activation function from a name, a function, or None (linear)."""
    if identifier is None:
        return linear
    if isinstance(identifier, str):
        try:
            return ALL[identifier]
        except KeyError:
            raise ValueError(f"Unknown activation function: {identifier!r}; "
                             f"known: {', '.join(sorted(ALL))}") from None
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret activation function identifier: {identifier!r}")


def serialize(fn) -> str:
    for name, f in ALL.items():
        if f is fn:
            return "silu" if f is silu else name
    raise ValueError(f"activation {getattr(fn, '__name__', fn)!r} is not one of the named activations "
                     f"({', '.join(sorted(ALL))}), so it cannot be saved")
