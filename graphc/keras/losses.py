"""Losses: Keras 3's classes and functions, with its names, defaults and numbers.

A loss *function* (``mean_squared_error``, ``categorical_crossentropy``, ...)
maps ``(y_true, y_pred)`` to one loss per sample (the last axis reduced); a
loss *object* (``MeanSquaredError()``, ...) calls its function, weights the
values by ``sample_weight`` and reduces them ("sum_over_batch_size" by
default), all in ``reduce_weighted_values``, the one place where weighting
and reduction happen. Inputs may be numpy arrays, lists, or graphc tensors,
eager or symbolic: an eager call gives a tensor with a value
(``float(loss)``, ``loss.numpy()``), a call on placeholders builds graph (the
trainer's compiled step).

Numerics follow Keras: probabilities are clipped to [1e-7, 1 - 1e-7], and
categorical probabilities are renormalized to sum to 1, before their log.
One difference, where graphc is exact and Keras is not: when ``y_pred`` is
the output of a softmax (or sigmoid) op, the crossentropies are computed
from that op's logits, as Keras's TensorFlow backend does (``_keras_logits``)
and as ``from_logits=True`` does. Then a probability that underflows gives
its true loss (60.0 for a logit gap of 60) where Keras's other backends clip
it to -log(1e-7) = 16.1, and the gradient is the exact ``softmax - labels``
with no clipped region where it vanishes. On probabilities given as numbers
the results are Keras's to float32 rounding.

Deliberate departures from Keras 3, each where Keras is inconsistent:

- ``sample_weight`` of shape (batch,) against losses of shape
  (batch, d1, ...) (segmentation) weights each sample's losses, as Keras
  documents; Keras 3's code broadcasts it against the *last* axis instead
  (an error unless d1 == batch, silently wrong if it is). A sample_weight
  that would make the losses bigger than they are is an error, not a
  silent broadcast.
- configs keep every argument that changes the numbers (Keras drops
  ``delta`` of Huber, ``axis`` of CosineSimilarity and SparseCategorical-
  Crossentropy, and ``dtype``), so a saved loss loads as it was.
- label smoothing spreads over the classes of ``axis`` (Keras counts the
  last axis whatever ``axis`` is); sparse crossentropy takes any ``axis``
  (as Keras's torch backend; its JAX and TensorFlow backends refuse).
"""
from __future__ import annotations

import difflib
import inspect
import math
import warnings
import weakref

import numpy as np

import graphc as gc
from graphc.graph import Tensor
from graphc.keras import registry, utils
from graphc.ops.elementwise import TABLE, Elementwise
from graphc.ops.reduce import Softmax, num_elements
from graphc.types import broadcast_shapes, format_shape, normalize_axis

EPSILON = 1e-7  # keras.config.epsilon()
FLOATX = "float32"  # keras.config.floatx()


class Reduction:
    """The reductions a loss object accepts (Keras 3's strings; ``None`` is "none")."""
    SUM_OVER_BATCH_SIZE = "sum_over_batch_size"
    SUM = "sum"
    MEAN = "mean"
    MEAN_WITH_SAMPLE_WEIGHT = "mean_with_sample_weight"
    NONE = "none"

    @classmethod
    def all(cls) -> tuple:
        return (cls.SUM_OVER_BATCH_SIZE, cls.SUM, cls.MEAN, cls.MEAN_WITH_SAMPLE_WEIGHT, cls.NONE, None)


def standardize_reduction(reduction, what: str = "Loss"):
    if not isinstance(reduction, (str, type(None))) or reduction not in Reduction.all():
        hint = ' ("auto" was tf.keras\'s default: it is "sum_over_batch_size")' if reduction == "auto" else ""
        raise ValueError(f"{what}: Invalid value for argument `reduction`. Expected one of "
                         f"{list(Reduction.all())}. Received: reduction={reduction!r}{hint}")
    return reduction


def standardize_dtype(dtype, what: str = "Loss") -> np.dtype:
    """The compute dtype of ``dtype``: a float dtype name, or a policy with ``compute_dtype``."""
    dtype = FLOATX if dtype is None else getattr(dtype, "compute_dtype", dtype)
    if isinstance(dtype, str) and dtype.startswith("mixed_"):  # Keras's policy names
        dtype = dtype[len("mixed_"):]
    try:
        result = np.dtype(dtype)
    except TypeError:
        result = None
    if result is None or result.kind != "f":
        raise ValueError(f"{what}: dtype {dtype!r} is not supported; use 'float16', 'float32' or 'float64' "
                         "(numpy, and so graphc, has no bfloat16)")
    return result


# --------------------------------------------------------------- conversion

def _tensor(x, dtype=None) -> Tensor:
    """``x`` (array, list, number or tensor) as a tensor, cast to ``dtype`` if given."""
    if isinstance(x, Tensor):
        return x if dtype is None else gc.cast(x, dtype)
    return gc.constant(np.asarray(x), dtype=dtype) if dtype is not None else gc.constant(x)


def _float_tensor(x) -> Tensor:
    """``y_pred`` as a float tensor: integers become float32 (Keras's floatx)."""
    x = _tensor(x)
    return x if x.dtype.kind == "f" else gc.cast(x, FLOATX)


def _integer_labels(y_true, what: str) -> Tensor:
    """Class indices as an integer tensor; given as floats, they must be whole numbers."""
    if isinstance(y_true, Tensor):
        return y_true if y_true.dtype.kind in "iu" else gc.cast(y_true, "int64")
    array = np.asarray(y_true)
    if array.dtype.kind not in "iu":
        if array.dtype.kind not in "bf" or not np.all(np.isfinite(array) & (array == np.round(array))):
            raise ValueError(f"{what}: y_true must hold integer class labels, got {array.dtype} values that are "
                             "not whole numbers")
        array = array.astype(np.int64)
    return gc.constant(array)


def _check_axis(axis, what: str) -> None:
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise ValueError(f"{what}: `axis` must be of type `int`. Received: axis={axis!r} of type {type(axis)}")


def _check_label_smoothing(label_smoothing, what: str) -> None:
    if isinstance(label_smoothing, bool) or not isinstance(label_smoothing, (int, float, np.floating, np.integer)) \
            or not 0 <= label_smoothing <= 1:
        raise ValueError(f"{what}: label_smoothing must be a number in [0, 1], got {label_smoothing!r}")


# ------------------------------------------------------------------- shapes

def squeeze_or_expand_to_same_rank(x1, x2, expand_rank_1=True):
    """Keras's rank rule: when the ranks differ by one and the longer shape
    ends in 1, drop that axis (or, for a rank-1 partner, add it there)."""
    if x1.ndim == x2.ndim + 1 and x1.shape[-1] == 1:
        if x2.ndim == 1 and expand_rank_1:
            x2 = gc.expand_dims(x2, -1)
        else:
            x1 = gc.squeeze(x1, -1)
    elif x2.ndim == x1.ndim + 1 and x2.shape[-1] == 1:
        if x1.ndim == 1 and expand_rank_1:
            x1 = gc.expand_dims(x1, -1)
        else:
            x2 = gc.squeeze(x2, -1)
    return x1, x2


def _same_dims(a: tuple, b: tuple) -> bool:
    """Equal shapes, a dimension known only at run time (None) matching any."""
    return len(a) == len(b) and all(x is None or y is None or x == y for x, y in zip(a, b))


def _shapes_text(y_true, y_pred) -> str:
    return f"y_true of shape {format_shape(y_true.shape)} and y_pred of shape {format_shape(y_pred.shape)}"


def _prepare(y_true, y_pred, what: str, same_shape=False):
    """(y_true, y_pred) as tensors of y_pred's float dtype and of matching rank
    (Keras's squeeze/expand), checked to broadcast (or, for crossentropies, to agree)."""
    y_pred = _float_tensor(y_pred)
    y_true = _tensor(y_true, y_pred.dtype)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    if same_shape and not _same_dims(y_true.shape, y_pred.shape):
        hint = ("; for integer class labels use sparse_categorical_crossentropy"
                if "categorical" in what and y_true.ndim == y_pred.ndim - 1 else "")
        raise ValueError(f"{what}: y_true and y_pred must have the same shape, got {_shapes_text(y_true, y_pred)}"
                         f"{hint}")
    if broadcast_shapes(y_true.shape, y_pred.shape) is None:
        raise ValueError(f"{what}: {_shapes_text(y_true, y_pred)} are incompatible (they do not broadcast)")
    return y_true, y_pred


# -------------------------------------------------------------------- masks
#
# A loss function may mark some of its values as not counting (sparse
# crossentropy's ignore_class), as Keras attaches a ``_keras_mask``. The mark
# lives beside the immutable tensor, for as long as the tensor does.
_MASKS: "weakref.WeakKeyDictionary[Tensor, Tensor]" = weakref.WeakKeyDictionary()


def _with_mask(values: Tensor, mask: Tensor) -> Tensor:
    _MASKS[values] = mask
    return values


def get_mask(values) -> Tensor | None:
    """The bool mask a loss function attached to its values (None: all count)."""
    return _MASKS.get(values) if isinstance(values, Tensor) else None


# ----------------------------------------------------- weighting, reducing

def _element_count(values: Tensor):
    """Number of elements: a Python int when the shape is static, else a tensor (of values' dtype)."""
    if None in values.shape:
        return num_elements(values, tuple(range(values.ndim)))
    return math.prod(values.shape)


def _divide_no_nan(x, y: Tensor) -> Tensor:
    """x / y, and 0 where y == 0 (no division by zero is evaluated)."""
    zero = gc.equal(y, 0.0)
    return gc.where(zero, 0.0, x / gc.where(zero, 1.0, y))


def _align_weight(target: Tensor, weight: Tensor, what: str):
    """(target, weight) with ``weight`` shaped to multiply ``target`` without enlarging it."""
    target, weight = squeeze_or_expand_to_same_rank(target, weight)
    rank = weight.ndim
    if 0 < rank < target.ndim and _same_dims(weight.shape, target.shape[:rank]):
        # one weight per sample (or per leading index): it scales all of that sample's losses
        weight = gc.expand_dims(weight, tuple(range(rank, target.ndim)))
    product = broadcast_shapes(target.shape, weight.shape)
    if product is None or len(product) != target.ndim or \
            any(t is not None and p != t for p, t in zip(product, target.shape)):
        raise ValueError(f"{what}: sample_weight of shape {format_shape(weight.shape)} does not fit the losses of "
                         f"shape {format_shape(target.shape)}; give a scalar, one weight per sample (shape "
                         f"{format_shape(target.shape[:1])}), or weights of a shape that broadcasts to the losses'")
    return target, weight


def apply_mask(sample_weight, mask, dtype, reduction, what: str = "loss"):
    """Fold a values mask into the sample weights. For the averaging reductions a
    valid value weighs total / valid, so the mean is over the valid values only."""
    if mask is None:
        return sample_weight
    float_mask = gc.cast(mask, dtype)
    if reduction in ("sum_over_batch_size", "mean"):
        valid_weight = _divide_no_nan(_element_count(float_mask), gc.reduce_sum(float_mask))
        float_mask = gc.where(mask, valid_weight, 0.0)
    if sample_weight is None:
        return float_mask
    float_mask, sample_weight = _align_weight(float_mask, sample_weight, what)
    return sample_weight * float_mask


def reduce_values(values, sample_weight=None, reduction="sum_over_batch_size"):
    """Sum, or mean (over the elements, or over the sample weights for
    "mean_with_sample_weight"); "none"/None and scalars pass unchanged."""
    if reduction in (None, "none") or values.ndim == 0 or values.shape == (0,):
        return values
    total = gc.reduce_sum(values)
    if reduction == "sum":
        return total
    if reduction == "mean_with_sample_weight" and sample_weight is not None:
        return _divide_no_nan(total, gc.cast(gc.reduce_sum(sample_weight), total.dtype))
    count = _element_count(values)
    if isinstance(count, Tensor):  # known at run time: an empty batch gives 0, as Keras's divide_no_nan
        return total / gc.maximum(count, 1.0)
    return total / count if count else total


def reduce_weighted_values(values, sample_weight=None, mask=None, reduction="sum_over_batch_size", dtype=None,
                           what: str = "loss"):
    """The loss of a batch: ``values`` (the per-sample losses) times the sample
    weights (merged with ``mask``), reduced. Every loss object ends here."""
    reduction = standardize_reduction(reduction, what)
    values = _tensor(values, dtype)
    if sample_weight is not None:
        sample_weight = _tensor(sample_weight, values.dtype)
    sample_weight = apply_mask(sample_weight, mask, values.dtype, reduction, what)
    if sample_weight is not None:
        values, sample_weight = _align_weight(values, sample_weight, what)
        values = values * sample_weight
    return reduce_values(values, sample_weight, reduction)


# ------------------------------------------------------------ probabilities

def _logits_of_softmax(y_pred: Tensor, axis: int):
    """The logits whose softmax over ``axis`` is ``y_pred``, if y_pred is that op's output."""
    if isinstance(y_pred.op, Softmax) and y_pred.op.axis == normalize_axis(axis, y_pred.ndim, "softmax"):
        return y_pred.inputs[0]
    return None


def _logits_of_sigmoid(y_pred: Tensor):
    if isinstance(y_pred.op, Elementwise) and y_pred.op.expr == TABLE["sigmoid"]:
        return y_pred.inputs[0]
    return None


def _categorical_probabilities(y_pred: Tensor, from_logits: bool, axis: int):
    """(probabilities, their logs) along ``axis``. From logits (given, or those of
    the softmax that made y_pred) both are exact; from probabilities they are
    y_pred renormalized and clipped to [eps, 1 - eps], as Keras computes them."""
    if from_logits:
        return gc.softmax(y_pred, axis), gc.log_softmax(y_pred, axis)
    logits = _logits_of_softmax(y_pred, axis)
    if logits is not None:
        return y_pred, gc.log_softmax(logits, axis)
    probabilities = gc.clip(y_pred / gc.reduce_sum(y_pred, axis=axis, keepdims=True), EPSILON, 1.0 - EPSILON)
    return probabilities, gc.log(probabilities)


def _binary_probabilities(y_pred: Tensor, from_logits: bool):
    """(p, log p, log(1 - p)): from logits exact (-log(sigmoid(z)) = softplus(-z));
    from probabilities, the logs of p clipped to [eps, 1 - eps] as in Keras."""
    logits = y_pred if from_logits else _logits_of_sigmoid(y_pred)
    if logits is not None:
        p = gc.sigmoid(logits) if from_logits else y_pred
        return p, -gc.softplus(-logits), -gc.softplus(logits)
    clipped = gc.clip(y_pred, EPSILON, 1.0 - EPSILON)
    return y_pred, gc.log(clipped), gc.log(1.0 - clipped)


def _class_count(y_pred: Tensor, axis: int, what: str) -> int:
    classes = y_pred.shape[axis]
    if classes is None:
        raise ValueError(f"{what}: the number of classes (axis {axis} of y_pred, shape "
                         f"{format_shape(y_pred.shape)}) must be known when the graph is built")
    return classes


def _smooth_categorical(y_true: Tensor, label_smoothing, classes: int) -> Tensor:
    return y_true * (1.0 - label_smoothing) + label_smoothing / classes


def _smooth_binary(y_true: Tensor, label_smoothing) -> Tensor:
    return y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing


def _warn_single_class(y_pred: Tensor, axis: int, what: str) -> None:
    if y_pred.shape[axis] == 1:
        warnings.warn(f"In loss {what}, expected y_pred to have more than one class on axis {axis}. Received: "
                      f"y_pred.shape={format_shape(y_pred.shape)}. Consider using 'binary_crossentropy' if you "
                      "only have 2 classes.", SyntaxWarning, stacklevel=3)


# ------------------------------------------------- loss functions (per sample)

def mean_squared_error(y_true, y_pred):
    """``mean(square(y_true - y_pred), axis=-1)``."""
    y_true, y_pred = _prepare(y_true, y_pred, "mean_squared_error")
    return gc.reduce_mean(gc.square(y_true - y_pred), axis=-1)


def mean_absolute_error(y_true, y_pred):
    """``mean(abs(y_true - y_pred), axis=-1)``."""
    y_true, y_pred = _prepare(y_true, y_pred, "mean_absolute_error")
    return gc.reduce_mean(gc.abs(y_true - y_pred), axis=-1)


def mean_absolute_percentage_error(y_true, y_pred):
    """``100 * mean(abs((y_true - y_pred) / max(abs(y_true), eps)), axis=-1)``."""
    y_true, y_pred = _prepare(y_true, y_pred, "mean_absolute_percentage_error")
    relative = gc.abs((y_true - y_pred) / gc.maximum(gc.abs(y_true), EPSILON))
    return 100.0 * gc.reduce_mean(relative, axis=-1)


def mean_squared_logarithmic_error(y_true, y_pred):
    """``mean(square(log(max(y_pred, eps) + 1) - log(max(y_true, eps) + 1)), axis=-1)``."""
    y_true, y_pred = _prepare(y_true, y_pred, "mean_squared_logarithmic_error")
    difference = gc.log(gc.maximum(y_pred, EPSILON) + 1.0) - gc.log(gc.maximum(y_true, EPSILON) + 1.0)
    return gc.reduce_mean(gc.square(difference), axis=-1)


def _l2_normalize(x: Tensor, axis: int) -> Tensor:
    # Keras: x * minimum(rsqrt(sum(x^2)), 1 / eps): the same value as rsqrt of the sum clamped at eps^2
    return gc.nn.l2_normalize(x, axis=axis, epsilon=EPSILON * EPSILON)


def cosine_similarity(y_true, y_pred, axis=-1):
    """``-sum(l2_normalize(y_true) * l2_normalize(y_pred), axis)``: -1 for parallel
    vectors, 0 for orthogonal ones (and when either is zero)."""
    _check_axis(axis, "cosine_similarity")
    y_true, y_pred = _prepare(y_true, y_pred, "cosine_similarity")
    return -gc.reduce_sum(_l2_normalize(y_true, axis) * _l2_normalize(y_pred, axis), axis=axis)


def huber(y_true, y_pred, delta=1.0):
    """``mean(0.5 * e^2 if |e| <= delta else delta * |e| - 0.5 * delta^2, axis=-1)``, e = y_pred - y_true."""
    y_true, y_pred = _prepare(y_true, y_pred, "huber")
    error = y_pred - y_true
    abs_error = gc.abs(error)
    delta = float(delta)
    values = gc.where(abs_error <= delta, 0.5 * gc.square(error), delta * abs_error - 0.5 * delta * delta)
    return gc.reduce_mean(values, axis=-1)


def log_cosh(y_true, y_pred):
    """``mean(log(cosh(y_pred - y_true)), axis=-1)``, as x + softplus(-2x) - log 2 (no overflow)."""
    y_true, y_pred = _prepare(y_true, y_pred, "log_cosh")
    error = y_pred - y_true
    return gc.reduce_mean(error + gc.softplus(-2.0 * error) - math.log(2.0), axis=-1)


def _hinge_labels(y_true: Tensor) -> Tensor:
    """Keras's rule: labels that are all 0 or 1 become -1 or 1; other labels are used as given."""
    off_binary = gc.cast(gc.not_equal(y_true, 0.0), y_true.dtype) * gc.cast(gc.not_equal(y_true, 1.0), y_true.dtype)
    all_binary = gc.equal(gc.reduce_max(off_binary), 0.0)
    return gc.where(all_binary, 2.0 * y_true - 1.0, y_true)


def hinge(y_true, y_pred):
    """``mean(maximum(1 - y_true * y_pred, 0), axis=-1)``, labels -1 or 1 (0/1 labels are converted)."""
    y_true, y_pred = _prepare(y_true, y_pred, "hinge")
    return gc.reduce_mean(gc.maximum(1.0 - _hinge_labels(y_true) * y_pred, 0.0), axis=-1)


def squared_hinge(y_true, y_pred):
    """``mean(square(maximum(1 - y_true * y_pred, 0)), axis=-1)``, labels as for ``hinge``."""
    y_true, y_pred = _prepare(y_true, y_pred, "squared_hinge")
    return gc.reduce_mean(gc.square(gc.maximum(1.0 - _hinge_labels(y_true) * y_pred, 0.0)), axis=-1)


def categorical_hinge(y_true, y_pred):
    """``maximum(max((1 - y_true) * y_pred) - sum(y_true * y_pred) + 1, 0)`` over the last axis."""
    y_true, y_pred = _prepare(y_true, y_pred, "categorical_hinge")
    positive = gc.reduce_sum(y_true * y_pred, axis=-1)
    negative = gc.reduce_max((1.0 - y_true) * y_pred, axis=-1)
    return gc.maximum(negative - positive + 1.0, 0.0)


def kl_divergence(y_true, y_pred):
    """``sum(y_true * log(y_true / y_pred), axis=-1)``, both clipped to [eps, 1]."""
    y_true, y_pred = _prepare(y_true, y_pred, "kl_divergence")
    y_true = gc.clip(y_true, EPSILON, 1.0)
    y_pred = gc.clip(y_pred, EPSILON, 1.0)
    return gc.reduce_sum(y_true * gc.log(y_true / y_pred), axis=-1)


def poisson(y_true, y_pred):
    """``mean(y_pred - y_true * log(y_pred + eps), axis=-1)``."""
    y_true, y_pred = _prepare(y_true, y_pred, "poisson")
    return gc.reduce_mean(y_pred - y_true * gc.log(y_pred + EPSILON), axis=-1)


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """``-sum(y_true * log(y_pred), axis)`` for one-hot (or probability) labels."""
    what = "categorical_crossentropy"
    _check_axis(axis, what)
    _check_label_smoothing(label_smoothing, what)
    y_true, y_pred = _prepare(y_true, y_pred, what, same_shape=True)
    axis = normalize_axis(axis, y_pred.ndim, what)
    _warn_single_class(y_pred, axis, what)
    if label_smoothing:
        y_true = _smooth_categorical(y_true, label_smoothing, _class_count(y_pred, axis, what))
    _, log_probabilities = _categorical_probabilities(y_pred, from_logits, axis)
    return -gc.reduce_sum(y_true * log_probabilities, axis=axis)


def categorical_focal_crossentropy(y_true, y_pred, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0,
                                   axis=-1):
    """``sum(alpha * (1 - p)^gamma * -y_true * log(p), axis)``: the crossentropy with
    confident predictions weighted down (Lin et al., 2017)."""
    what = "categorical_focal_crossentropy"
    _check_axis(axis, what)
    _check_label_smoothing(label_smoothing, what)
    y_true, y_pred = _prepare(y_true, y_pred, what, same_shape=True)
    axis = normalize_axis(axis, y_pred.ndim, what)
    _warn_single_class(y_pred, axis, what)
    if label_smoothing:
        y_true = _smooth_categorical(y_true, label_smoothing, _class_count(y_pred, axis, what))
    probabilities, log_probabilities = _categorical_probabilities(y_pred, from_logits, axis)
    modulating = gc.power(1.0 - probabilities, float(gamma))
    return gc.reduce_sum(float(alpha) * modulating * -(y_true * log_probabilities), axis=axis)


def _check_sparse_shapes(y_true: Tensor, y_pred: Tensor, axis: int, what: str) -> None:
    expected = tuple(d for i, d in enumerate(y_pred.shape) if i != axis)
    if not _same_dims(y_true.shape, expected):
        hint = "; for one-hot labels use categorical_crossentropy" if _same_dims(y_true.shape, y_pred.shape) else ""
        raise ValueError(f"{what}: y_true (integer class labels) of shape {format_shape(y_true.shape)} must have "
                         f"y_pred's shape {format_shape(y_pred.shape)} without its class axis {axis}, i.e. "
                         f"{format_shape(expected)}{hint}")


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, ignore_class=None, axis=-1):
    """``-log(y_pred[..., y_true])`` for integer class labels; labels equal to
    ``ignore_class`` give 0 and are left out of the mean (a mask on the result)."""
    what = "sparse_categorical_crossentropy"
    _check_axis(axis, what)
    y_pred = _float_tensor(y_pred)
    y_true = _integer_labels(y_true, what)
    if y_pred.ndim == 0:
        raise ValueError(f"{what}: y_pred must have a class axis, got a scalar")
    axis = normalize_axis(axis, y_pred.ndim, what)
    if y_true.ndim == y_pred.ndim and y_true.shape[axis] == 1:
        y_true = gc.squeeze(y_true, axis)
    _check_sparse_shapes(y_true, y_pred, axis, what)
    valid = None
    if ignore_class is not None:
        valid = gc.not_equal(y_true, int(ignore_class))
        y_true = gc.where(valid, y_true, 0)  # a label the pick can index; its loss is zeroed below
    last = y_pred.ndim - 1
    if axis != last:  # the class axis last, the others in order: the loss has their shape
        y_pred = gc.transpose(y_pred, [i for i in range(y_pred.ndim) if i != axis] + [axis])
    classes = _class_count(y_pred, last, what)
    _, log_probabilities = _categorical_probabilities(y_pred, from_logits, last)
    values = -gc.reduce_sum(gc.one_hot(y_true, classes, dtype=y_pred.dtype) * log_probabilities, axis=last)
    if valid is None:
        return values
    return _with_mask(gc.where(valid, values, 0.0), valid)


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """``mean(-(y_true * log(p) + (1 - y_true) * log(1 - p)), axis)``."""
    what = "binary_crossentropy"
    _check_axis(axis, what)
    _check_label_smoothing(label_smoothing, what)
    y_true, y_pred = _prepare(y_true, y_pred, what, same_shape=True)
    if label_smoothing:
        y_true = _smooth_binary(y_true, label_smoothing)
    _, log_p, log_not_p = _binary_probabilities(y_pred, from_logits)
    return gc.reduce_mean(-(y_true * log_p + (1.0 - y_true) * log_not_p), axis=axis)


def binary_focal_crossentropy(y_true, y_pred, apply_class_balancing=False, alpha=0.25, gamma=2.0, from_logits=False,
                              label_smoothing=0.0, axis=-1):
    """``mean((1 - p_t)^gamma * bce, axis)``, p_t the probability given to the true
    label; with ``apply_class_balancing``, positives weigh alpha and negatives 1 - alpha."""
    what = "binary_focal_crossentropy"
    _check_axis(axis, what)
    _check_label_smoothing(label_smoothing, what)
    y_true, y_pred = _prepare(y_true, y_pred, what, same_shape=True)
    if label_smoothing:
        y_true = _smooth_binary(y_true, label_smoothing)
    p, log_p, log_not_p = _binary_probabilities(y_pred, from_logits)
    bce = -(y_true * log_p + (1.0 - y_true) * log_not_p)
    p_true = y_true * p + (1.0 - y_true) * (1.0 - p)
    values = gc.power(1.0 - p_true, float(gamma)) * bce
    if apply_class_balancing:
        values = (y_true * alpha + (1.0 - y_true) * (1.0 - alpha)) * values
    return gc.reduce_mean(values, axis=axis)


mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
kld = KLD = kl_divergence
bce = BCE = binary_crossentropy


# ------------------------------------------------------------- loss objects

class Loss:
    """Base class of losses (``keras.losses.Loss``).

    Subclasses implement ``call(y_true, y_pred)``, returning a loss per sample
    (or per element). ``loss(y_true, y_pred, sample_weight=None)`` converts the
    inputs to the compute ``dtype``, calls ``call``, weights the values and
    reduces them by ``reduction``: "sum_over_batch_size" (the default) and
    "mean" divide the weighted sum by the number of values, "sum" does not,
    "mean_with_sample_weight" divides by the sum of the weights, "none" or
    None keeps one value per sample. The result is a graphc tensor (with a
    value when the inputs have one).
    """
    sparse = False  # y_true holds integer class indices: kept integer, not cast to the compute dtype

    def __init__(self, name=None, reduction="sum_over_batch_size", dtype=None):
        what = type(self).__name__
        self.name = name or utils.unique_name(utils.snake_case(what))
        self.reduction = standardize_reduction(reduction, what)
        self._dtype = standardize_dtype(dtype, what).name

    @property
    def dtype(self) -> str:
        """The compute dtype, and the dtype of the result ("float32" unless given)."""
        return self._dtype

    def __call__(self, y_true, y_pred, sample_weight=None):
        # scope "loss" (not the loss's own name) keeps the generated identifiers short
        with gc.name_scope("loss"):
            y_pred = _tensor(y_pred, self.dtype)
            y_true = _integer_labels(y_true, self.name) if self.sparse else _tensor(y_true, self.dtype)
            values = self.call(y_true, y_pred)
            return reduce_weighted_values(values, sample_weight, mask=get_mask(values), reduction=self.reduction,
                                          dtype=self.dtype, what=self.name)

    def call(self, y_true, y_pred):
        raise NotImplementedError(f"{type(self).__name__}: a Loss subclass must implement call(y_true, y_pred)")

    def get_config(self) -> dict:
        config = {"name": self.name, "reduction": self.reduction}
        if self.dtype != FLOATX:  # Keras leaves dtype out; kept here so a saved loss computes as it did
            config["dtype"] = self.dtype
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r} reduction={self.reduction!r}>"


def _function_name(fn) -> str:
    name = getattr(fn, "__name__", "loss")
    return name if name.isidentifier() else "loss"


class LossFunctionWrapper(Loss):
    """A loss object around ``fn(y_true, y_pred, **kwargs)``, a function of one loss per sample."""

    def __init__(self, fn, reduction="sum_over_batch_size", name=None, dtype=None, **kwargs):
        if not callable(fn):
            raise TypeError(f"LossFunctionWrapper: fn must be a function of (y_true, y_pred), got {fn!r}")
        super().__init__(name=name or _function_name(fn), reduction=reduction, dtype=dtype)
        if "axis" in kwargs:
            _check_axis(kwargs["axis"], self.name)
        if "label_smoothing" in kwargs:
            _check_label_smoothing(kwargs["label_smoothing"], self.name)
        self.fn = fn
        self._fn_kwargs = kwargs
        for key, value in kwargs.items():  # as Keras: loss.from_logits, loss.axis, ...
            setattr(self, key, value)

    @property
    def sparse(self) -> bool:
        return self.fn is sparse_categorical_crossentropy

    def call(self, y_true, y_pred):
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def get_config(self) -> dict:
        config = {**super().get_config(), **self._fn_kwargs}
        if type(self) is LossFunctionWrapper:  # a built-in subclass knows its function
            config["fn"] = serialize(self.fn)
        return config

    @classmethod
    def from_config(cls, config):
        if cls is LossFunctionWrapper:
            config = dict(config, fn=deserialize(config.get("fn")))
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__}({_function_name(self.fn)}, kwargs={self._fn_kwargs}) name={self.name!r}>"


_DEFAULT = "sum_over_batch_size"


class MeanSquaredError(LossFunctionWrapper):
    """``mean(square(y_true - y_pred))`` over the last axis, per sample."""

    def __init__(self, reduction=_DEFAULT, name="mean_squared_error", dtype=None):
        super().__init__(mean_squared_error, reduction=reduction, name=name, dtype=dtype)


class MeanAbsoluteError(LossFunctionWrapper):
    """``mean(abs(y_true - y_pred))`` over the last axis, per sample."""

    def __init__(self, reduction=_DEFAULT, name="mean_absolute_error", dtype=None):
        super().__init__(mean_absolute_error, reduction=reduction, name=name, dtype=dtype)


class MeanAbsolutePercentageError(LossFunctionWrapper):
    """``100 * mean(abs((y_true - y_pred) / y_true))`` over the last axis, per sample."""

    def __init__(self, reduction=_DEFAULT, name="mean_absolute_percentage_error", dtype=None):
        super().__init__(mean_absolute_percentage_error, reduction=reduction, name=name, dtype=dtype)


class MeanSquaredLogarithmicError(LossFunctionWrapper):
    """``mean(square(log(y_true + 1) - log(y_pred + 1)))`` over the last axis, per sample."""

    def __init__(self, reduction=_DEFAULT, name="mean_squared_logarithmic_error", dtype=None):
        super().__init__(mean_squared_logarithmic_error, reduction=reduction, name=name, dtype=dtype)


class CosineSimilarity(LossFunctionWrapper):
    """``-sum(l2_normalize(y_true) * l2_normalize(y_pred))`` over ``axis``: -1 is the best."""

    def __init__(self, axis=-1, reduction=_DEFAULT, name="cosine_similarity", dtype=None):
        super().__init__(cosine_similarity, reduction=reduction, name=name, dtype=dtype, axis=axis)


class Huber(LossFunctionWrapper):
    """Quadratic for errors up to ``delta``, linear beyond; mean over the last axis."""

    def __init__(self, delta=1.0, reduction=_DEFAULT, name="huber_loss", dtype=None):
        super().__init__(huber, reduction=reduction, name=name, dtype=dtype, delta=delta)


class LogCosh(LossFunctionWrapper):
    """``mean(log(cosh(y_pred - y_true)))`` over the last axis, per sample."""

    def __init__(self, reduction=_DEFAULT, name="log_cosh", dtype=None):
        super().__init__(log_cosh, reduction=reduction, name=name, dtype=dtype)


class Hinge(LossFunctionWrapper):
    """``mean(maximum(1 - y_true * y_pred, 0))``; labels -1/1 (0/1 labels are converted)."""

    def __init__(self, reduction=_DEFAULT, name="hinge", dtype=None):
        super().__init__(hinge, reduction=reduction, name=name, dtype=dtype)


class SquaredHinge(LossFunctionWrapper):
    """``mean(square(maximum(1 - y_true * y_pred, 0)))``; labels as for Hinge."""

    def __init__(self, reduction=_DEFAULT, name="squared_hinge", dtype=None):
        super().__init__(squared_hinge, reduction=reduction, name=name, dtype=dtype)


class CategoricalHinge(LossFunctionWrapper):
    """``maximum(max((1 - y_true) * y_pred) - sum(y_true * y_pred) + 1, 0)``."""

    def __init__(self, reduction=_DEFAULT, name="categorical_hinge", dtype=None):
        super().__init__(categorical_hinge, reduction=reduction, name=name, dtype=dtype)


class KLDivergence(LossFunctionWrapper):
    """Kullback-Leibler divergence ``sum(y_true * log(y_true / y_pred))`` over the last axis."""

    def __init__(self, reduction=_DEFAULT, name="kl_divergence", dtype=None):
        super().__init__(kl_divergence, reduction=reduction, name=name, dtype=dtype)


class Poisson(LossFunctionWrapper):
    """``mean(y_pred - y_true * log(y_pred))`` over the last axis, per sample."""

    def __init__(self, reduction=_DEFAULT, name="poisson", dtype=None):
        super().__init__(poisson, reduction=reduction, name=name, dtype=dtype)


class BinaryCrossentropy(LossFunctionWrapper):
    """Crossentropy of 0/1 labels and probabilities (or logits, ``from_logits=True``), mean over ``axis``."""

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1, reduction=_DEFAULT,
                 name="binary_crossentropy", dtype=None):
        super().__init__(binary_crossentropy, reduction=reduction, name=name, dtype=dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)


class BinaryFocalCrossentropy(LossFunctionWrapper):
    """Binary crossentropy weighted by ``(1 - p_t) ** gamma``; ``alpha`` balances the classes if asked."""

    def __init__(self, apply_class_balancing=False, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0,
                 axis=-1, reduction=_DEFAULT, name="binary_focal_crossentropy", dtype=None):
        super().__init__(binary_focal_crossentropy, reduction=reduction, name=name, dtype=dtype,
                         apply_class_balancing=apply_class_balancing, alpha=alpha, gamma=gamma,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)


class CategoricalCrossentropy(LossFunctionWrapper):
    """Crossentropy of one-hot (or probability) labels and predicted class probabilities (or logits)."""

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1, reduction=_DEFAULT,
                 name="categorical_crossentropy", dtype=None):
        super().__init__(categorical_crossentropy, reduction=reduction, name=name, dtype=dtype,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)


class CategoricalFocalCrossentropy(LossFunctionWrapper):
    """Categorical crossentropy weighted by ``alpha * (1 - p) ** gamma``."""

    def __init__(self, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1, reduction=_DEFAULT,
                 name="categorical_focal_crossentropy", dtype=None):
        super().__init__(categorical_focal_crossentropy, reduction=reduction, name=name, dtype=dtype, alpha=alpha,
                         gamma=gamma, from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)


class SparseCategoricalCrossentropy(LossFunctionWrapper):
    """Crossentropy of integer class labels; labels equal to ``ignore_class`` do not count."""

    def __init__(self, from_logits=False, ignore_class=None, reduction=_DEFAULT, axis=-1,
                 name="sparse_categorical_crossentropy", dtype=None):
        super().__init__(sparse_categorical_crossentropy, reduction=reduction, name=name, dtype=dtype,
                         from_logits=from_logits, ignore_class=ignore_class, axis=axis)


# ------------------------------------------------ names, get, (de)serialize

_CLASSES = (MeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError, MeanSquaredLogarithmicError,
            CosineSimilarity, Huber, LogCosh, Hinge, SquaredHinge, CategoricalHinge, KLDivergence, Poisson,
            BinaryCrossentropy, BinaryFocalCrossentropy, CategoricalCrossentropy, CategoricalFocalCrossentropy,
            SparseCategoricalCrossentropy, LossFunctionWrapper)
_FUNCTIONS = (mean_squared_error, mean_absolute_error, mean_absolute_percentage_error,
              mean_squared_logarithmic_error, cosine_similarity, huber, log_cosh, hinge, squared_hinge,
              categorical_hinge, kl_divergence, poisson, binary_crossentropy, binary_focal_crossentropy,
              categorical_crossentropy, categorical_focal_crossentropy, sparse_categorical_crossentropy)
_BUILT_IN = {obj.__name__: obj for obj in _CLASSES + _FUNCTIONS}
_BUILT_IN.update(mse=mse, MSE=mse, mae=mae, MAE=mae, mape=mape, MAPE=mape, msle=msle, MSLE=msle, kld=kld, KLD=kld,
                 bce=bce, BCE=bce)


def _lookup(name, custom_objects=None, registered_name=None):
    """The loss class or function called ``name`` (None if there is none): a custom
    object (registered, in a custom object scope, or in ``custom_objects``), else a
    built-in. Every name is resolved here."""
    found = registry.lookup(name, registered_name, custom_objects)
    if found is not None:
        return found
    return _BUILT_IN.get(name) if registered_name is None else None


def _name_of(obj):
    """The name that ``_lookup`` resolves back to ``obj``, or None."""
    name = getattr(obj, "__name__", None)
    return name if isinstance(name, str) and _lookup(name) is obj else None


def _unknown(name) -> ValueError:
    known = sorted(n for n in _BUILT_IN if n[0].islower())
    close = difflib.get_close_matches(str(name), list(_BUILT_IN), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return ValueError(f"Unknown loss function: {str(name)[:100]!r}; known: {', '.join(known)} "
                      f"(or a class name such as 'MeanSquaredError'){hint}")


def get(identifier):
    """A loss, as ``keras.losses.get``: a name gives the function ("mse" ->
    mean_squared_error) or, for a class name, an instance ("MeanSquaredError");
    a config dict is deserialized; a Loss class is instantiated; a loss object or
    a function comes back as it is; None gives None."""
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        obj = deserialize(identifier)
    elif isinstance(identifier, str):
        obj = _lookup(identifier)
        if obj is None:
            raise _unknown(identifier)
    else:
        obj = identifier
    if inspect.isclass(obj) and issubclass(obj, Loss):
        return obj()
    if callable(obj) and not inspect.isclass(obj):
        return obj
    raise ValueError(f"Could not interpret loss identifier: {identifier!r:.200}")


def loss_object(identifier) -> Loss | None:
    """The Loss that ``compile(loss=...)`` trains with: ``get(identifier)``, a
    function wrapped in a LossFunctionWrapper named after it (as Keras's compile does)."""
    loss = get(identifier)
    if loss is None or isinstance(loss, Loss):
        return loss
    return LossFunctionWrapper(loss, name=_function_name(loss))


def serialize(loss) -> dict:
    """The config of a built-in or registered loss object or function (Keras 3's layout)."""
    if isinstance(loss, Loss):
        if registry.is_registered(type(loss)):
            return {"module": None, "class_name": type(loss).__name__, "config": loss.get_config(),
                    "registered_name": registry.get_registered_name(type(loss))}
        name = _name_of(type(loss))
        if name is not None:
            return {"module": "keras.losses", "class_name": name, "config": loss.get_config(),
                    "registered_name": None}
    elif callable(loss) and registry.is_registered(loss):
        return {"module": None, "class_name": "function", "config": loss.__name__,
                "registered_name": registry.get_registered_name(loss)}
    elif callable(loss) and _name_of(loss) is not None:
        return {"module": "keras.losses", "class_name": "function", "config": _name_of(loss),
                "registered_name": None}
    name = getattr(loss, "name", None) or getattr(loss, "__name__", None) or repr(loss)
    raise ValueError(f"loss {str(name)[:100]!r} is a custom loss: register it with "
                     "@keras.saving.register_keras_serializable() to save it")


def deserialize(config, custom_objects=None):
    """The loss object or function that ``config`` (a dict from ``serialize``,
    or a name) describes. Names resolve through ``custom_objects``, then the
    built-ins: nothing else is ever imported or called."""
    if isinstance(config, str):
        obj = _lookup(config, custom_objects)
        if obj is None:
            raise _unknown(config)
        return obj() if inspect.isclass(obj) else obj
    if not isinstance(config, dict) or not isinstance(config.get("class_name"), str):
        raise ValueError(f"unknown or malformed loss config {str(config)[:200]}")
    registered = config.get("registered_name")
    registered = registered if isinstance(registered, str) else None
    if config["class_name"] == "function":
        name = config.get("config")
        obj = _lookup(name, custom_objects, registered) if isinstance(name, str) else None
        if obj is None or inspect.isclass(obj):
            raise ValueError(f"unknown loss function {str(name)[:100]!r} in config {str(config)[:200]}")
        return obj
    cls = _lookup(config["class_name"], custom_objects, registered)
    if not (inspect.isclass(cls) and issubclass(cls, Loss)):
        raise ValueError(f"unknown loss class {config['class_name'][:100]!r}; known: "
                         f"{', '.join(c.__name__ for c in _CLASSES)}")
    inner = config.get("config") or {}
    if not isinstance(inner, dict):
        raise ValueError(f"the config of loss {cls.__name__} must be a dict, got {str(inner)[:100]}")
    try:
        return cls.from_config(inner)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"bad config for loss {cls.__name__}: {exc}") from None
