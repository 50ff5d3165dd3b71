"""Metrics (Keras 3's API and numbers): state in gc.Variables.

This module is ``keras.metrics``: the accuracy family is defined here, the
rest in one module per family, re-exported (reduction_metrics: the base
class, Sum, Mean, MeanMetricWrapper). ``get`` and ``check`` resolve the
names that ``compile(metrics=[...])`` takes.
"""
from __future__ import annotations

import difflib
import inspect

import graphc as gc
from graphc.keras import utils
from graphc.keras.confusion_metrics import (AUC, FalseNegatives, FalsePositives, Precision, PrecisionAtRecall,
                                            Recall, RecallAtPrecision, SensitivityAtSpecificity,
                                            SpecificityAtSensitivity, TrueNegatives, TruePositives)
from graphc.keras.f_score_metrics import F1Score, FBetaScore
from graphc.keras.hinge_metrics import CategoricalHinge, Hinge, SquaredHinge
from graphc.keras.losses import (binary_crossentropy, binary_focal_crossentropy, categorical_crossentropy,  # noqa: F401
                                 categorical_focal_crossentropy, categorical_hinge, hinge, huber, kl_divergence,
                                 log_cosh, mean_absolute_error, mean_absolute_percentage_error, mean_squared_error,
                                 mean_squared_logarithmic_error, poisson, sparse_categorical_crossentropy,
                                 squared_hinge, squeeze_or_expand_to_same_rank)
from graphc.keras.probabilistic_metrics import (BinaryCrossentropy, CategoricalCrossentropy, KLDivergence,
                                                Poisson, SparseCategoricalCrossentropy)
from graphc.keras.reduction_metrics import (Mean, MeanMetricWrapper, Metric, Sum, _tensor,  # noqa: F401
                                            reduce_to_samplewise_values)
from graphc.keras.regression_metrics import (CosineSimilarity, LogCoshError, MeanAbsoluteError,  # noqa: F401
                                             MeanAbsolutePercentageError, MeanSquaredError,
                                             MeanSquaredLogarithmicError, R2Score, RootMeanSquaredError,
                                             cosine_similarity)


# ------------------------------------------------- accuracy functions (per sample)

def accuracy(y_true, y_pred):
    y_pred = _tensor(y_pred)
    y_true, y_pred = squeeze_or_expand_to_same_rank(_tensor(y_true, y_pred.dtype), y_pred)
    return gc.reduce_mean(gc.cast(gc.equal(y_true, y_pred), "float32"), axis=-1)


def binary_accuracy(y_true, y_pred, threshold=0.5):
    y_true, y_pred = _tensor(y_true), _tensor(y_pred)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    predicted = gc.cast(y_pred > gc.cast(gc.constant(threshold), y_pred.dtype), y_true.dtype)
    return gc.reduce_mean(gc.cast(gc.equal(y_true, predicted), "float32"), axis=-1)


def _matches(labels, y_pred):
    """1.0 where integer ``labels`` equal argmax(y_pred), shaped like ``labels``
    (a trailing axis of size 1 squeezed, as Keras does)."""
    squeezed = labels.ndim == y_pred.ndim and labels.shape[-1] == 1
    if squeezed:
        labels = gc.squeeze(labels, -1)
    predicted = gc.argmax(y_pred, axis=-1)
    if labels.dtype != predicted.dtype:
        predicted = gc.cast(predicted, labels.dtype)
    return gc.cast(gc.equal(labels, predicted), "float32")


def categorical_accuracy(y_true, y_pred):
    return _matches(gc.argmax(_tensor(y_true), axis=-1), _tensor(y_pred))


def sparse_categorical_accuracy(y_true, y_pred):
    return _matches(_tensor(y_true), _tensor(y_pred))


def _in_top_k(labels, y_pred, k):
    """Whether the score of each label is among the ``k`` largest of its row
    (ties at the boundary count as in, as in TensorFlow's in_top_k)."""
    labels = gc.cast(labels, "int32")
    if y_pred.ndim > 2:
        y_pred = gc.reshape(y_pred, (-1, y_pred.shape[-1]))
    if labels.ndim > 1:
        labels = gc.reshape(labels, (-1,))
    score = gc.reduce_sum(gc.one_hot(labels, y_pred.shape[-1], dtype=y_pred.dtype) * y_pred, axis=-1,
                          keepdims=True)
    higher = gc.reduce_sum(gc.cast(y_pred > score, "int32"), axis=-1)
    return gc.cast(higher < k, "float32")


def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5):
    labels = _tensor(y_true)
    matches = _in_top_k(labels, _tensor(y_pred), k)
    return gc.reshape(matches, labels.shape) if labels.ndim > 1 else matches


def top_k_categorical_accuracy(y_true, y_pred, k=5):
    return sparse_top_k_categorical_accuracy(gc.argmax(_tensor(y_true), axis=-1), y_pred, k)


# ------------------------------------------------------------ metric classes

class Accuracy(MeanMetricWrapper):
    """How often predictions equal labels."""

    def __init__(self, name="accuracy", dtype=None):
        super().__init__(accuracy, name=name, dtype=dtype)


class BinaryAccuracy(MeanMetricWrapper):
    """How often predictions (above ``threshold`` means 1) match binary labels."""

    def __init__(self, name="binary_accuracy", dtype=None, threshold=0.5):
        if threshold is not None and not 0 < threshold < 1:
            raise ValueError(f"Invalid value for argument `threshold`. Expected a value in interval (0, 1). "
                             f"Received: threshold={threshold}")
        super().__init__(binary_accuracy, name=name, dtype=dtype, threshold=threshold)


class CategoricalAccuracy(MeanMetricWrapper):
    """How often argmax(predictions) matches one-hot labels."""

    def __init__(self, name="categorical_accuracy", dtype=None):
        super().__init__(categorical_accuracy, name=name, dtype=dtype)


class SparseCategoricalAccuracy(MeanMetricWrapper):
    """How often argmax(predictions) matches integer labels."""

    def __init__(self, name="sparse_categorical_accuracy", dtype=None):
        super().__init__(sparse_categorical_accuracy, name=name, dtype=dtype)


class TopKCategoricalAccuracy(MeanMetricWrapper):
    """How often one-hot targets are among the ``k`` top predictions."""

    def __init__(self, k=5, name="top_k_categorical_accuracy", dtype=None):
        super().__init__(top_k_categorical_accuracy, name=name, dtype=dtype, k=int(k))


class SparseTopKCategoricalAccuracy(MeanMetricWrapper):
    """How often integer targets are among the ``k`` top predictions."""

    def __init__(self, k=5, name="sparse_top_k_categorical_accuracy", dtype=None):
        super().__init__(sparse_top_k_categorical_accuracy, name=name, dtype=dtype, k=int(k))


# ------------------------------------------------------------ lookup

# keras.metrics' functions: one value per sample, usable as compile(metrics=[name])
FUNCTIONS = {fn.__name__: fn for fn in (
    accuracy, binary_accuracy, categorical_accuracy, sparse_categorical_accuracy, top_k_categorical_accuracy,
    sparse_top_k_categorical_accuracy, mean_squared_error, mean_absolute_error, mean_absolute_percentage_error,
    mean_squared_logarithmic_error, log_cosh, huber, binary_crossentropy, binary_focal_crossentropy,
    categorical_crossentropy, categorical_focal_crossentropy, sparse_categorical_crossentropy, kl_divergence,
    poisson, hinge, squared_hinge, categorical_hinge)}
# every metric class (saving's allow-list); a string may name one, or its snake_case name
CLASSES = {cls.__name__: cls for cls in (
    Mean, Sum, MeanMetricWrapper, Accuracy, BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy,
    TopKCategoricalAccuracy, SparseTopKCategoricalAccuracy, MeanSquaredError, MeanAbsoluteError,
    MeanAbsolutePercentageError, MeanSquaredLogarithmicError, RootMeanSquaredError, CosineSimilarity, LogCoshError,
    R2Score, KLDivergence, Poisson, BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy,
    Hinge, SquaredHinge, CategoricalHinge, TruePositives, FalsePositives, TrueNegatives, FalseNegatives, Precision,
    Recall, SensitivityAtSpecificity, SpecificityAtSensitivity, PrecisionAtRecall, RecallAtPrecision, AUC,
    FBetaScore, F1Score)}
ALIASES = {"mse": "mean_squared_error", "MSE": "mean_squared_error", "mae": "mean_absolute_error",
           "MAE": "mean_absolute_error", "mape": "mean_absolute_percentage_error",
           "MAPE": "mean_absolute_percentage_error", "msle": "mean_squared_logarithmic_error",
           "MSLE": "mean_squared_logarithmic_error", "kld": "kl_divergence", "KLD": "kl_divergence",
           "bce": "binary_crossentropy", "BCE": "binary_crossentropy", "logcosh": "log_cosh", "acc": "accuracy"}
# the class that computes a function's mean with its default arguments (the object a name gives)
_CLASS_OF = {"binary_accuracy": BinaryAccuracy, "categorical_accuracy": CategoricalAccuracy,
             "sparse_categorical_accuracy": SparseCategoricalAccuracy,
             "top_k_categorical_accuracy": TopKCategoricalAccuracy,
             "sparse_top_k_categorical_accuracy": SparseTopKCategoricalAccuracy,
             "mean_squared_error": MeanSquaredError, "mean_absolute_error": MeanAbsoluteError,
             "mean_absolute_percentage_error": MeanAbsolutePercentageError,
             "mean_squared_logarithmic_error": MeanSquaredLogarithmicError, "log_cosh": LogCoshError,
             "binary_crossentropy": BinaryCrossentropy, "categorical_crossentropy": CategoricalCrossentropy,
             "sparse_categorical_crossentropy": SparseCategoricalCrossentropy, "kl_divergence": KLDivergence,
             "poisson": Poisson, "hinge": Hinge, "squared_hinge": SquaredHinge,
             "categorical_hinge": CategoricalHinge}
# classes a string may name: metrics of (y_true, y_pred) (Mean and Sum take values)
_NAMED = {name: cls for name, cls in CLASSES.items() if cls not in (Mean, Sum, MeanMetricWrapper)}
_NAMED.update({utils.snake_case(name): cls for name, cls in list(_NAMED.items())})
mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
kld = KLD = kl_divergence
bce = BCE = binary_crossentropy
logcosh = log_cosh


def _required_arguments(cls) -> list:
    return [p.name for p in inspect.signature(cls).parameters.values()
            if p.default is p.empty and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]


def check(identifier) -> None:
    """Raise now (at compile) for a metric name that cannot be resolved later."""
    if isinstance(identifier, str):
        name = ALIASES.get(identifier, identifier)
        cls = _NAMED.get(name)
        if name in FUNCTIONS or (cls is not None and not _required_arguments(cls)):
            return
        if cls is not None:
            raise ValueError(f"metric {identifier!r} needs arguments ({', '.join(_required_arguments(cls))}): "
                             f"pass keras.metrics.{cls.__name__}(...) instead of its name")
        known = sorted(set(FUNCTIONS) | set(ALIASES))
        close = difflib.get_close_matches(identifier, known + list(_NAMED), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"Unknown metric function: {identifier[:100]!r}; known: {', '.join(known)} "
                         f"(or a class name such as 'AUC'){hint}")
    if inspect.isclass(identifier) and issubclass(identifier, Metric) and _required_arguments(identifier):
        raise ValueError(f"metric class {identifier.__name__} needs arguments "
                         f"({', '.join(_required_arguments(identifier))}): pass an instance")
    if not (isinstance(identifier, Metric) or callable(identifier)):
        raise ValueError(f"Could not interpret metric identifier: {identifier!r}")


def get(identifier, loss=None, output_shape=None) -> Metric:
    """A metric object, named after ``identifier`` when it is a string (as Keras's compile
    names them): a function's name gives the mean of that function, a class name (or its
    snake_case) an instance. "accuracy" becomes binary, sparse or categorical accuracy as
    in Keras: sparse for a sparse loss, binary for one output unit or binary crossentropy,
    else categorical."""
    check(identifier)
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Metric):
        return identifier()
    if callable(identifier) and not isinstance(identifier, str):
        return MeanMetricWrapper(identifier, getattr(identifier, "__name__", "metric"))
    name = ALIASES.get(identifier, identifier)
    if name == "accuracy":
        loss_name = getattr(loss, "name", "")
        if getattr(loss, "sparse", False):
            name = "sparse_categorical_accuracy"
        elif loss_name == "binary_crossentropy" or (output_shape and output_shape[-1] == 1):
            name = "binary_accuracy"
        else:
            name = "categorical_accuracy"
    cls = _CLASS_OF.get(name) or (None if name in FUNCTIONS else _NAMED[name])
    if cls is None:  # a function no class computes with its defaults (huber, the focal crossentropies)
        return MeanMetricWrapper(FUNCTIONS[name], name=identifier)
    return cls(name=identifier)
