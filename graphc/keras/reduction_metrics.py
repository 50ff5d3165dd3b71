"""The metric base class and the metrics that reduce values: ``Sum``, ``Mean``, ``MeanMetricWrapper``.

A metric's ``update_state(...)`` assigns to its variables and ``result()``
computes from them, with graphc ops. Called eagerly (on arrays) they run
at once and ``result()`` is a tensor with a value; called inside a traced
step (the Keras steps are traced, see trainer.py) the assignments become
updates of the compiled step and ``result()`` reads the updated values.
``reset_state()`` zeroes the variables. So the numbers shown during fit are
means over the epoch so far, weighted by samples, as in Keras.
"""
from __future__ import annotations

import numpy as np

import graphc as gc
from graphc.graph import Tensor
from graphc.keras import initializers, losses, utils
from graphc.keras.losses import squeeze_or_expand_to_same_rank
from graphc.ops.array import broadcast_like
from graphc.ops.reduce import num_elements
from graphc.types import format_shape


def _tensor(value, dtype=None) -> Tensor:
    """``value`` (array, list, number or tensor) as a tensor, cast to ``dtype`` if given."""
    t = value if isinstance(value, Tensor) else gc.constant(np.asarray(value))
    return t if dtype is None or t.dtype == np.dtype(dtype) else gc.cast(t, dtype)


def _count(t: Tensor, axes) -> Tensor:
    """Number of elements of ``t`` along ``axes`` as a float32 tensor (run-time dims allowed)."""
    n = num_elements(t, tuple(axes))
    return n if isinstance(n, Tensor) else gc.constant(np.float32(n))


def _mean(t: Tensor, axes) -> Tensor:
    return gc.reduce_mean(t, axis=tuple(axes)) if axes else t


def _sum(t, axes):
    return gc.reduce_sum(t, axis=tuple(axes))


def divide_no_nan(x, y) -> Tensor:
    """x / y, and 0 where y == 0 (Keras's ``ops.divide_no_nan``)."""
    zero = gc.equal(y, 0.0)
    return gc.where(zero, 0.0, x / gc.where(zero, 1.0, y))


# ---------------------------------------------------------------- base class

def check_2d(what: str, y_true_shape, y_pred_shape) -> None:
    """Metrics with one variable per output column need (batch, known width) inputs."""
    shapes = f"y_pred.shape={format_shape(y_pred_shape)} and y_true.shape={format_shape(y_true_shape)}"
    if len(y_pred_shape) != 2 or len(y_true_shape) != 2:
        raise ValueError(f"{what} expects 2D inputs with shape (batch_size, output_dim). Received input "
                         f"shapes: {shapes}.")
    if y_pred_shape[-1] is None or y_true_shape[-1] is None:
        raise ValueError(f"{what} expects 2D inputs with shape (batch_size, output_dim), with output_dim "
                         f"fully defined (not None). Received input shapes: {shapes}.")


class Metric:
    """Base class: ``add_variable`` in ``__init__``, then ``update_state`` and ``result``."""

    def __init__(self, name=None, dtype=None):
        # as Keras's auto_name: a metric named after its class is numbered when the name is taken
        self.name = utils.check_name(name, type(self).__name__) if name is not None else \
            utils.unique_name(utils.snake_case(type(self).__name__))
        self.dtype = np.dtype(dtype or "float32").name
        self._variables: list = []

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"

    def add_variable(self, shape=(), initializer="zeros", dtype=None, aggregation="sum", name=None):
        """A non-trainable state Variable of this metric (``name`` scoped under the metric's)."""
        dtype = dtype or self.dtype
        value = np.asarray(initializers.get(initializer)(tuple(shape), dtype), dtype=dtype)
        with gc.name_scope(self.name):
            variable = gc.Variable(value, trainable=False, name=name or "variable", dtype=dtype)
        self._variables.append(variable)
        return variable

    add_weight = add_variable

    @property
    def variables(self) -> list:
        return list(self._variables)

    def reset_state(self):
        for variable in self._variables:
            variable.assign(np.zeros(variable.shape, dtype=variable.dtype))

    def update_state(self, *args, **kwargs):
        raise NotImplementedError(f"metric {self.name!r}: a Metric subclass must define update_state")

    def result(self):
        raise NotImplementedError(f"metric {self.name!r}: a Metric subclass must define result")

    def __call__(self, *args, **kwargs):
        self.update_state(*args, **kwargs)
        return self.result()

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


# ---------------------------------------------------------------- reductions

def reduce_to_samplewise_values(values, sample_weight, reduce_fn, dtype):
    """Keras's weighting: values reduced to one per sample, weighted by ``sample_weight``
    (broadcast after matching ranks). Returns (values, per-sample weights or None).

    Values a loss function marked as not counting (sparse crossentropy's
    ignore_class) get weight 0, as in Keras only when weights are given:
    without weights they count as zeros in the mean."""
    mask = losses.get_mask(values)
    values = _tensor(values, dtype)
    if sample_weight is not None:
        sample_weight = _tensor(sample_weight, dtype)
        if mask is not None:
            sample_weight = losses.apply_mask(sample_weight, mask, dtype, "sum", "metric")
        values, sample_weight = squeeze_or_expand_to_same_rank(values, sample_weight)
        weight_ndim = sample_weight.ndim
        if values.ndim > weight_ndim:
            values = reduce_fn(values, range(weight_ndim, values.ndim))
        sample_weight = broadcast_like(sample_weight, values)
        values = values * sample_weight
        if weight_ndim > 1:
            sample_weight = reduce_fn(sample_weight, range(1, weight_ndim))
    if values.ndim > 1:
        values = reduce_fn(values, range(1, values.ndim))
    return values, sample_weight


class Sum(Metric):
    """The (weighted) sum of the values seen."""

    def __init__(self, name="sum", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable(name="total")

    def update_state(self, values, sample_weight=None):
        values, _ = reduce_to_samplewise_values(values, sample_weight, _sum, self.dtype)
        self.total.assign_add(gc.reduce_sum(values))

    def result(self):
        return self.total * 1


class Mean(Metric):
    """The (weighted) mean of the values seen: ``total / count``."""

    def __init__(self, name="mean", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable(name="total")
        self.count = self.add_variable(name="count")

    def update_state(self, values, sample_weight=None):
        if (isinstance(sample_weight, Tensor) and sample_weight.ndim == 0 or isinstance(sample_weight, (int, float))) \
                and isinstance(values, Tensor) and values.ndim == 0:
            # one value of a given weight (the loss tracker: the batch's mean loss, weight batch size)
            weight = _tensor(sample_weight, self.dtype)
            self.total.assign_add(_tensor(values, self.dtype) * weight)
            self.count.assign_add(weight)
            return
        values, sample_weight = reduce_to_samplewise_values(values, sample_weight, _mean, self.dtype)
        self.total.assign_add(gc.reduce_sum(values))
        if sample_weight is not None:
            samples = gc.reduce_sum(sample_weight)
        elif values.ndim:
            samples = _count(values, (0,))
        else:
            samples = 1.0
        self.count.assign_add(_tensor(samples, self.dtype))

    def result(self):
        return divide_no_nan(self.total, self.count)  # 0 before any update, as Keras


class MeanMetricWrapper(Mean):
    """The mean over samples of ``fn(y_true, y_pred, **kwargs)`` (one value per sample)."""

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        super().__init__(name=name or getattr(fn, "__name__", "metric"), dtype=dtype)
        self._fn = fn
        self._fn_kwargs = kwargs

    def update_state(self, y_true, y_pred, sample_weight=None):
        values = self._fn(y_true, y_pred, **self._fn_kwargs)
        return super().update_state(values, sample_weight=sample_weight)

    def get_config(self):
        return dict(super().get_config(), **self._fn_kwargs)
