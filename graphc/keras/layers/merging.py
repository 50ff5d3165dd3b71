"""Merge layers: several tensors in, one out (Keras 3's ``layers/merging``).

``Add()([a, b])``, ``Concatenate()([a, b])``, ... and their function forms
``add([a, b])``, ``concatenate([a, b], axis=-1)``. The elementwise ones
broadcast the non-batch dimensions as numpy does (a size 1 stretches);
shapes that cannot meet are an error naming the layer and every shape.
"""
from __future__ import annotations

import functools

import graphc as gc
from graphc.graph import Tensor
from graphc.keras.layers.base import Layer
from graphc.types import format_shape, normalize_axis


def _shapes_text(inputs) -> str:
    return ", ".join(format_shape(t.shape) for t in inputs)


class Merge(Layer):
    """Base class: ``call`` takes a list of tensors and folds them with ``_merge``."""

    min_inputs, max_inputs = 1, None

    def _check_input(self, inputs):
        if not isinstance(inputs, (list, tuple)) or not all(isinstance(t, Tensor) for t in inputs):
            raise ValueError(f"A merge layer ({type(self).__name__} {self.name!r}) should be called on a list "
                             f"of tensors. Received: {inputs!r:.200}")
        count = len(inputs)
        if count < self.min_inputs or (self.max_inputs is not None and count > self.max_inputs):
            wanted = (f"exactly {self.min_inputs}" if self.min_inputs == self.max_inputs
                      else f"at least {self.min_inputs}")
            raise ValueError(f"A `{type(self).__name__}` layer ({self.name!r}) should be called on {wanted} "
                             f"inputs. Received: {count} inputs")
        batch = {t.shape[0] for t in inputs if t.ndim and t.shape[0] is not None}
        if len(batch) > 1:
            raise ValueError(f"{type(self).__name__} {self.name!r}: cannot merge tensors with different batch "
                             f"sizes. Received shapes {_shapes_text(inputs)}")
        self._check_shapes(inputs)

    def _check_shapes(self, inputs):
        try:
            functools.reduce(_broadcast, [t.shape[1:] for t in inputs])
        except ValueError:
            raise ValueError(f"{type(self).__name__} {self.name!r}: inputs have incompatible shapes. Received "
                             f"shapes {_shapes_text(inputs)}") from None

    def call(self, inputs):
        return functools.reduce(self._merge, inputs)

    def _merge(self, a, b):
        raise NotImplementedError(f"{type(self).__name__}: a Merge subclass must define _merge(a, b) (or call)")


def _broadcast(a: tuple, b: tuple) -> tuple:
    """Numpy's broadcast of two static shapes (None is unknown), or ValueError."""
    if len(a) < len(b):
        a, b = b, a
    b = (1,) * (len(a) - len(b)) + tuple(b)
    out = []
    for x, y in zip(a, b):
        if x == y or y == 1:
            out.append(x)
        elif x == 1:
            out.append(y)
        elif x is None or y is None:
            out.append(x if y is None else y)
        else:
            raise ValueError(f"{a} and {b}")
    return tuple(out)


class Add(Merge):
    """The sum of the inputs."""
    _merge = staticmethod(gc.add)


class Subtract(Merge):
    """``inputs[0] - inputs[1]`` (exactly two inputs)."""
    min_inputs = max_inputs = 2
    _merge = staticmethod(gc.subtract)


class Multiply(Merge):
    """The elementwise product of the inputs."""
    _merge = staticmethod(gc.multiply)


class Maximum(Merge):
    """The elementwise maximum of the inputs."""
    _merge = staticmethod(gc.maximum)


class Minimum(Merge):
    """The elementwise minimum of the inputs."""
    _merge = staticmethod(gc.minimum)


class Average(Merge):
    """The elementwise mean of the inputs."""

    def call(self, inputs):
        return functools.reduce(gc.add, inputs) / float(len(inputs))


class Concatenate(Merge):
    """The inputs joined along ``axis`` (their other dimensions must match)."""

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = int(axis)

    def _check_shapes(self, inputs):
        ranks = {t.ndim for t in inputs}
        axis = None
        if len(ranks) == 1:
            try:
                axis = normalize_axis(self.axis, inputs[0].ndim, "Concatenate")
            except ValueError:
                axis = None
        if axis is None or axis == 0 or any(
                len({t.shape[i] for t in inputs} - {None}) > 1 for i in range(1, inputs[0].ndim) if i != axis):
            raise ValueError(f"A `Concatenate` layer ({self.name!r}) requires inputs with matching shapes except "
                             f"for the concatenation axis {self.axis}. Received: input shapes "
                             f"{_shapes_text(inputs)}")

    def call(self, inputs):
        return gc.concat(list(inputs), axis=self.axis)

    def get_config(self):
        return dict(super().get_config(), axis=self.axis)


class Dot(Merge):
    """Dot products of two batches of vectors (rank 2) or matrices (rank 3),
    over ``axes`` (one axis for both, or one each); ``normalize=True`` takes
    cosine similarities."""

    min_inputs = max_inputs = 2

    def __init__(self, axes, normalize=False, **kwargs):
        super().__init__(**kwargs)
        pair = (axes, axes) if isinstance(axes, int) else tuple(axes)
        if len(pair) != 2 or not all(isinstance(a, int) and not isinstance(a, bool) for a in pair):
            raise ValueError(f"Dot: `axes` must be an int or a pair of ints, got {axes!r}")
        self.axes = axes if isinstance(axes, int) else list(pair)
        self._pair = pair
        self.normalize = bool(normalize)

    def _contracted(self, inputs) -> tuple:
        return tuple(normalize_axis(axis, t.ndim, "Dot") for axis, t in zip(self._pair, inputs))

    def _check_shapes(self, inputs):
        a, b = inputs
        if a.ndim != b.ndim or a.ndim not in (2, 3):
            raise ValueError(f"Dot {self.name!r}: takes two inputs of rank 2 or 3 (batch first), got shapes "
                             f"{_shapes_text(inputs)}")
        try:
            i, j = self._contracted(inputs)
        except ValueError:
            i = j = None
        if i is None or 0 in (i, j) or None not in (a.shape[i], b.shape[j]) and a.shape[i] != b.shape[j]:
            raise ValueError(f"Dot {self.name!r}: the axes {self.axes} of shapes {_shapes_text(inputs)} must be "
                             "non-batch axes of the same size")

    def call(self, inputs):
        a, b = inputs
        i, j = self._contracted(inputs)
        if self.normalize:
            a, b = gc.nn.l2_normalize(a, axis=i, epsilon=1e-14), gc.nn.l2_normalize(b, axis=j, epsilon=1e-14)
        if a.ndim == 2:
            return gc.reduce_sum(a * b, axis=1, keepdims=True)
        # (batch, m, k) @ (batch, k, n): the contracted axis last in a, first (after batch) in b
        if i == 1:
            a = gc.transpose(a, (0, 2, 1))
        if j == 2:
            b = gc.transpose(b, (0, 2, 1))
        return gc.matmul(a, b)

    def get_config(self):
        return dict(super().get_config(), axes=self.axes, normalize=self.normalize)


def _function_form(cls):
    def merge(inputs, **kwargs):
        return cls(**kwargs)(inputs)
    merge.__name__ = merge.__qualname__ = cls.__name__.lower()
    merge.__doc__ = f"``{cls.__name__}(**kwargs)(inputs)``."
    return merge


add, subtract, multiply, maximum, minimum, average, concatenate, dot = (
    _function_form(cls) for cls in (Add, Subtract, Multiply, Maximum, Minimum, Average, Concatenate, Dot))

LAYERS = (Add, Subtract, Multiply, Maximum, Minimum, Average, Concatenate, Dot)
