"""``keras.ops``: Keras 3's backend-agnostic ops, as graphc ops.

Custom layers written for Keras 3 (``from keras import ops``;
``ops.matmul(x, self.w) + self.b``) build graphc graph with these. Names,
argument names and defaults are Keras's (``sum(x, axis=None,
keepdims=False)``, ``argmax(x, axis=None)`` over the flattened tensor, ...).
``shape(x)`` gives ints, and for a dimension known only at run time (the
batch) a scalar tensor, which ``reshape`` and ``keras.random`` accept.
"""
from __future__ import annotations

import numpy as np

import graphc as gc
from graphc.graph import Tensor
from graphc.keras import losses
from graphc.ops.array import Dim, dim

# ------------------------------------------------------------ elementwise
add, subtract, multiply, divide, power, negative = gc.add, gc.subtract, gc.multiply, gc.divide, gc.power, gc.negative
true_divide = divide
abs = absolute = gc.abs
square, sqrt, rsqrt, reciprocal = gc.square, gc.sqrt, gc.rsqrt, gc.reciprocal
exp, log, sign, floor, ceil, sin, cos, tanh = gc.exp, gc.log, gc.sign, gc.floor, gc.ceil, gc.sin, gc.cos, gc.tanh
maximum, minimum, where = gc.maximum, gc.minimum, gc.where
equal, not_equal, less, less_equal, greater, greater_equal = (gc.equal, gc.not_equal, gc.less, gc.less_equal,
                                                               gc.greater, gc.greater_equal)
matmul, stop_gradient = gc.matmul, gc.stop_gradient

# ------------------------------------------------------------ activations (keras.ops.nn, also top level)
relu, sigmoid, softplus = gc.relu, gc.sigmoid, gc.softplus
relu6, elu, selu, silu, softsign = gc.nn.relu6, gc.nn.elu, gc.nn.selu, gc.nn.silu, gc.nn.softsign
swish = silu


def leaky_relu(x, negative_slope=0.2):
    return gc.nn.leaky_relu(x, negative_slope)


def gelu(x, approximate=True):
    return gc.nn.gelu(x, approximate)


def softmax(x, axis=-1):
    return gc.softmax(x, axis=axis)


def log_softmax(x, axis=-1):
    return gc.log_softmax(x, axis=axis)


def clip(x, x_min, x_max):
    return gc.clip(x, x_min, x_max)


# ------------------------------------------------------------ reductions
def _axis(axis):
    return tuple(axis) if isinstance(axis, list) else axis


def sum(x, axis=None, keepdims=False):
    return gc.reduce_sum(x, axis=_axis(axis), keepdims=keepdims)


def mean(x, axis=None, keepdims=False):
    return gc.reduce_mean(x, axis=_axis(axis), keepdims=keepdims)


def max(x, axis=None, keepdims=False):
    return gc.reduce_max(x, axis=_axis(axis), keepdims=keepdims)


def min(x, axis=None, keepdims=False):
    return gc.reduce_min(x, axis=_axis(axis), keepdims=keepdims)


def var(x, axis=None, keepdims=False):
    centered = x - gc.reduce_mean(x, axis=_axis(axis), keepdims=True)
    return gc.reduce_mean(gc.square(centered), axis=_axis(axis), keepdims=keepdims)


def std(x, axis=None, keepdims=False):
    return gc.sqrt(var(x, axis, keepdims))


def moments(x, axes, keepdims=False):
    """(mean, variance) over ``axes``."""
    return mean(x, axes, keepdims), var(x, axes, keepdims)


def logsumexp(x, axis=None, keepdims=False):
    """``log(sum(exp(x)))`` without overflow: the maximum is taken out first."""
    x = gc.as_tensor(x)
    top = gc.stop_gradient(gc.reduce_max(x, axis=_axis(axis), keepdims=True))
    out = gc.log(gc.reduce_sum(gc.exp(x - top), axis=_axis(axis), keepdims=True)) + top
    return out if keepdims else gc.squeeze(out, _axis(axis))


def argmax(x, axis=None, keepdims=False):
    x = gc.as_tensor(x)
    if axis is None:
        x, axis = gc.reshape(x, (-1,)), 0
    out = gc.argmax(x, axis=axis)
    return gc.expand_dims(out, axis) if keepdims else out


def norm(x, ord=None, axis=None, keepdims=False):
    """numpy.linalg.norm's vector norms (``ord`` None/2, 1, p, inf, -inf, 0) over one
    axis, and matrix norms (None/"fro", 1, -1, inf, -inf) over two. The matrix norms
    of singular values (2, -2, "nuc") need an SVD, which graphc has no op for."""
    x = gc.as_tensor(x)
    if axis is None:
        if ord is None:  # the 2-norm of all elements, whatever the rank
            return gc.sqrt(gc.reduce_sum(gc.square(x), keepdims=keepdims))
        if x.ndim not in (1, 2):
            raise ValueError(f"keras.ops.norm: ord={ord!r} without an axis needs a vector or a matrix, got "
                             f"shape {x.shape}")
        axis = tuple(range(x.ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    axes = tuple(a % x.ndim for a in axes)
    if len(axes) == 1:
        out = _vector_norm(x, ord, axes[0])
    elif len(axes) == 2:
        out = _matrix_norm(x, ord, *axes)
    else:
        raise ValueError(f"keras.ops.norm: axis must be one axis or two, got {axis!r}")
    return out if keepdims else gc.squeeze(out, axes)


def _vector_norm(x, ord, axis):
    magnitude = gc.abs(x)
    if ord is None or ord == 2:
        return gc.sqrt(gc.reduce_sum(gc.square(x), axis=axis, keepdims=True))
    if ord == np.inf:
        return gc.reduce_max(magnitude, axis=axis, keepdims=True)
    if ord == -np.inf:
        return gc.reduce_min(magnitude, axis=axis, keepdims=True)
    if ord == 0:
        return gc.reduce_sum(gc.cast(gc.not_equal(x, 0.0), x.dtype), axis=axis, keepdims=True)
    if isinstance(ord, (int, float)) and not isinstance(ord, bool):
        return gc.reduce_sum(magnitude ** float(ord), axis=axis, keepdims=True) ** (1.0 / ord)
    raise ValueError(f"keras.ops.norm: invalid ord {ord!r} for a vector norm")


def _matrix_norm(x, ord, rows, columns):
    magnitude = gc.abs(x)
    if ord is None or ord == "fro":
        return gc.sqrt(gc.reduce_sum(gc.square(x), axis=(rows, columns), keepdims=True))
    if ord in (1, -1):  # the largest (smallest) column sum
        sums = gc.reduce_sum(magnitude, axis=rows, keepdims=True)
        return (gc.reduce_max if ord == 1 else gc.reduce_min)(sums, axis=columns, keepdims=True)
    if ord in (np.inf, -np.inf):  # the largest (smallest) row sum
        sums = gc.reduce_sum(magnitude, axis=columns, keepdims=True)
        return (gc.reduce_max if ord == np.inf else gc.reduce_min)(sums, axis=rows, keepdims=True)
    if ord in (2, -2, "nuc"):
        raise NotImplementedError(f"keras.ops.norm: the matrix norm ord={ord!r} is made of singular values, and "
                                  "graphc has no SVD op; use 'fro', 1, -1, inf or -inf")
    raise ValueError(f"keras.ops.norm: invalid ord {ord!r} for a matrix norm")


def normalize(x, axis=-1, order=2, epsilon=None):
    """``x`` divided by its ``order``-norm along ``axis``, at least ``epsilon`` (Keras's 1e-7)."""
    epsilon = losses.EPSILON if epsilon is None else epsilon
    if order == 2:
        return gc.nn.l2_normalize(x, axis=axis, epsilon=epsilon * epsilon)
    return x / gc.maximum(norm(x, ord=order, axis=axis, keepdims=True), epsilon)


# ------------------------------------------------------------ shapes and construction
def shape(x) -> tuple:
    """The shape of ``x``: ints, and a scalar tensor for each dimension known only at run time."""
    x = gc.as_tensor(x)
    return tuple(dim(x, axis) if d is None else d for axis, d in enumerate(x.shape))


def ndim(x) -> int:
    return gc.as_tensor(x).ndim


def size(x):
    count = 1
    for d in shape(x):
        count = count * d
    return count


def _static(sizes, what: str) -> tuple:
    """A shape given to an op: a run-time size (from ``shape``) becomes -1 for reshape."""
    if isinstance(sizes, (int, np.integer)):
        return (int(sizes),)
    out = []
    for d in sizes:
        if isinstance(d, Tensor) and isinstance(d.op, Dim):
            out.append(-1)
        elif isinstance(d, Tensor):
            raise ValueError(f"keras.ops.{what}: dimension {d.name!r} is a computed tensor; graphc takes ints and "
                             "run-time sizes from keras.ops.shape")
        else:
            out.append(d)
    return tuple(out)


def reshape(x, newshape):
    return gc.reshape(x, _static(newshape, "reshape"))


def transpose(x, axes=None):
    return gc.transpose(x, axes)


def expand_dims(x, axis):
    return gc.expand_dims(x, axis)


def squeeze(x, axis=None):
    return gc.squeeze(x, axis)


def concatenate(xs, axis=0):
    return gc.concat(list(xs), axis=axis)


def stack(x, axis=0):
    return gc.stack(list(x), axis=axis)


def dot(x1, x2):
    """``x1 @ x2`` (vectors and matrices, as numpy's dot for those ranks)."""
    x1, x2 = gc.as_tensor(x1), gc.as_tensor(x2)
    if x1.ndim == x2.ndim == 1:
        return gc.reduce_sum(x1 * x2)
    return gc.matmul(x1, x2)


def cast(x, dtype):
    return gc.cast(x, dtype)


def convert_to_tensor(x, dtype=None, sparse=None):
    return gc.convert_to_tensor(x, dtype=dtype)


def convert_to_numpy(x):
    return np.asarray(x.numpy() if isinstance(x, Tensor) else x)


def zeros(shape, dtype=None):
    return gc.zeros(_static(shape, "zeros"), dtype=dtype or "float32")


def ones(shape, dtype=None):
    return gc.ones(_static(shape, "ones"), dtype=dtype or "float32")


def full(shape, fill_value, dtype=None):
    return gc.ones(_static(shape, "full"), dtype=dtype or "float32") * fill_value


def zeros_like(x, dtype=None):
    out = gc.zeros_like(x)
    return out if dtype is None else gc.cast(out, dtype)


def ones_like(x, dtype=None):
    out = gc.ones_like(x)
    return out if dtype is None else gc.cast(out, dtype)


def one_hot(x, num_classes, axis=-1, dtype=None):
    """One-hot rows of integer ``x``, the classes along ``axis`` of the result."""
    out = gc.one_hot(gc.cast(x, "int64"), num_classes, dtype=dtype or "float32")
    axis = axis % out.ndim
    if axis == out.ndim - 1:
        return out
    order = list(range(out.ndim - 1))
    order.insert(axis, out.ndim - 1)
    return gc.transpose(out, order)


# ------------------------------------------------------------ losses (keras.ops.nn)
def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    return losses.categorical_crossentropy(target, output, from_logits=from_logits, axis=axis)


def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1):
    return losses.sparse_categorical_crossentropy(target, output, from_logits=from_logits, axis=axis)


def binary_crossentropy(target, output, from_logits=False):
    # elementwise, as keras.ops has it (the loss function also averages the last axis)
    output = gc.as_tensor(output)
    target = gc.cast(gc.as_tensor(target), output.dtype)
    if from_logits:
        return gc.nn.sigmoid_cross_entropy_with_logits(labels=target, logits=output)
    p = gc.clip(output, losses.EPSILON, 1.0 - losses.EPSILON)
    return -(target * gc.log(p) + (1.0 - target) * gc.log(1.0 - p))
