"""Confusion-matrix metrics (Keras 3's): weighted counts of true and false
positives and negatives at thresholds, and what is computed from them:
precision, recall, one of sensitivity/specificity/precision/recall at a
given value of its partner, and the area under the ROC or PR curve (AUC).

A prediction is positive at threshold t when ``y_pred > t``; a label is
positive when it is nonzero. Every count is accumulated in a Variable with
one entry per threshold (per threshold and label for a multi-label AUC).
For evenly spaced thresholds (AUC's, and the ``...At...`` metrics') Keras
sorts each prediction into the bucket ``ceil(y_pred * (n - 1)) - 1`` of
predictions clipped to [0, 1]; graphc does the same, so predictions that
fall exactly on a threshold count as Keras counts them.
"""
from __future__ import annotations

from enum import Enum

import numpy as np

import graphc as gc
from graphc.keras.losses import EPSILON, squeeze_or_expand_to_same_rank
from graphc.keras.reduction_metrics import Metric, _tensor, divide_no_nan
from graphc.ops.array import broadcast_like
from graphc.types import format_shape

NEG_INF = -1e10  # the score given to predictions outside the top k


class AUCCurve(Enum):
    ROC = "ROC"
    PR = "PR"
    PRGAIN = "PRGAIN"

    @staticmethod
    def from_str(key):
        for curve in AUCCurve:
            if key in (curve.value, curve.value.lower()):
                return curve
        raise ValueError(f'Invalid AUC curve value: "{key}". Expected values are ["PR", "ROC", "PRGAIN"] '
                         "(argument `curve`)")


class AUCSummationMethod(Enum):
    INTERPOLATION = "interpolation"
    MAJORING = "majoring"
    MINORING = "minoring"

    @staticmethod
    def from_str(key):
        for method in AUCSummationMethod:
            if key in (method.value, method.value.capitalize()):
                return method
        raise ValueError(f'Invalid AUC summation method value: "{key}". Expected values are ["interpolation", '
                         '"majoring", "minoring"] (argument `summation_method`)')


# ------------------------------------------------------------ thresholds

def parse_thresholds(thresholds, default) -> list:
    """``thresholds`` (a number or a list of numbers in [0, 1]) as a list; ``default`` when None."""
    if thresholds is None:
        return [default]
    values = list(thresholds) if isinstance(thresholds, (list, tuple, np.ndarray)) else [thresholds]
    invalid = [t for t in values if isinstance(t, bool) or not isinstance(t, (int, float, np.number))
               or not 0 <= t <= 1]
    if invalid:
        raise ValueError(f"Invalid argument `thresholds`. Threshold values must be in [0, 1]. Received: {invalid}")
    return values


def evenly_spaced(thresholds) -> bool:
    """Whether the thresholds are 0, 1/(n-1), ..., 1 (n >= 3), up to epsilon."""
    n = len(thresholds)
    return n >= 3 and bool(np.allclose(thresholds, np.arange(n, dtype=np.float32) / (n - 1), atol=EPSILON))


def _check_count(value, what: str, least: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < least:
        raise ValueError(f"Argument `{what}` must be an integer > {least - 1}. Received: {what}={value}")
    return int(value)


def _check_class_id(class_id):
    if class_id is not None and (isinstance(class_id, bool) or not isinstance(class_id, (int, np.integer))
                                 or class_id < 0):
        raise ValueError(f"Argument `class_id` must be a non-negative integer (a class index). Received: "
                         f"class_id={class_id!r}")
    return class_id


def _check_unit(value, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not 0 <= value <= 1:
        raise ValueError(f"Argument `{what}` must be in the range [0, 1]. Received: {what}={value}")
    return value


# ------------------------------------------------------------ counting

def filter_top_k(x, k: int):
    """``x`` where an entry is among the ``k`` largest of its last axis, NEG_INF elsewhere.
    Ties go to the lower index, as top_k orders them."""
    classes = x.shape[-1]
    if classes is None:
        raise ValueError(f"top_k: the last axis of y_pred (shape {format_shape(x.shape)}) must be known when the "
                         "graph is built")
    entry, other = gc.expand_dims(x, -1), gc.expand_dims(x, -2)
    earlier = gc.constant(np.tril(np.ones((classes, classes), np.int32), -1))  # [j, m]: m comes before j
    ahead = gc.cast(other > entry, "int32") + gc.cast(gc.equal(other, entry), "int32") * earlier
    # Keras's x * mask + NEG_INF * (1 - mask), written as a where: graphc's fusion would
    # distribute NEG_INF over (1 - mask) and cancel x away in float32
    return gc.where(gc.reduce_sum(ahead, axis=-1) < k, x, NEG_INF)


def update_confusion_matrix(counts: dict, y_true, y_pred, thresholds, evenly=False, top_k=None, class_id=None,
                            sample_weight=None, multi_label=False, label_weights=None) -> None:
    """Add this batch's weighted counts to ``counts`` (keys "tp", "fp", "tn", "fn": Variables
    of shape (thresholds,), or (thresholds, labels) for ``multi_label``)."""
    dtype = next(iter(counts.values())).dtype
    y_pred, y_true = squeeze_or_expand_to_same_rank(_tensor(y_pred, dtype), _tensor(y_true, dtype))
    if sample_weight is not None:
        # a weight per sample (a trailing axis) lines up with the labels' first axes
        sample_weight = gc.expand_dims(_tensor(sample_weight, dtype), -1)
        _, sample_weight = squeeze_or_expand_to_same_rank(y_true, sample_weight, expand_rank_1=False)
    if top_k is not None:
        y_pred = filter_top_k(y_pred, top_k)
    if class_id is not None:
        if y_pred.ndim == 1:
            raise ValueError("When class_id is provided, y_pred must be a 2D array with shape (num_samples, "
                             f"num_classes), found shape: {format_shape(y_pred.shape)}")
        y_true, y_pred = y_true[..., class_id, None], y_pred[..., class_id, None]
    weights = None if sample_weight is None else broadcast_like(sample_weight, y_pred)
    if label_weights is not None and not multi_label:
        label_weights = broadcast_like(gc.constant(np.asarray(label_weights, dtype)), y_pred)
        weights = label_weights if weights is None else weights * label_weights
    positive_label = gc.not_equal(y_true, 0.0)
    if not multi_label:  # every entry is one more prediction of one class
        y_pred, positive_label = gc.reshape(y_pred, (-1,)), gc.reshape(positive_label, (-1,))
        weights = None if weights is None else gc.reshape(weights, (-1,))
    n = len(thresholds)
    along = (n,) + (1,) * y_pred.ndim  # thresholds on a new first axis
    if evenly:
        _count_in_buckets(counts, y_pred, positive_label, weights, n, along,
                          with_epsilon=thresholds[0] < 0.0 or thresholds[-1] > 1.0)
        return
    positive = gc.cast(y_pred[None] > gc.constant(np.asarray(thresholds, dtype).reshape(along)), dtype)
    label = gc.cast(positive_label, dtype)[None]
    cells = {"tp": label * positive, "fn": label * (1.0 - positive), "fp": (1.0 - label) * positive,
             "tn": (1.0 - label) * (1.0 - positive)}
    for key, variable in counts.items():
        cell = cells[key]  # 1 where the prediction falls in this cell of the matrix
        if weights is not None:  # a where, not a product: a weight counts only where its cell is 1
            cell = gc.where(cell > 0.0, weights[None], 0.0)
        variable.assign(variable + gc.reduce_sum(cell, axis=1))


def _count_in_buckets(counts, y_pred, positive_label, weights, n, along, with_epsilon) -> None:
    """The counts for evenly spaced thresholds, as Keras computes them: a prediction is
    positive at threshold i when its bucket ``ceil(p * (n - 1)) - 1`` is at least i."""
    dtype = y_pred.dtype
    label = gc.cast(positive_label, dtype)
    true_weight = label if weights is None else label * weights
    false_weight = 1.0 - label if weights is None else (1.0 - label) * weights
    bucket = gc.ceil(gc.clip(y_pred, 0.0, 1.0) * float(n - 1)) - 1.0
    if with_epsilon:  # the first threshold is just below 0: a prediction of 0 is above it
        bucket = gc.relu(bucket)
    positive = gc.cast(bucket[None] >= gc.constant(np.arange(n, dtype=dtype).reshape(along)), dtype)
    tp = gc.reduce_sum(positive * true_weight[None], axis=1)
    fp = gc.reduce_sum(positive * false_weight[None], axis=1)
    found = {"tp": tp, "fp": fp}
    if "tn" in counts or "fn" in counts:
        found["fn"] = gc.reduce_sum(true_weight, axis=0) - tp
        found["tn"] = gc.reduce_sum(false_weight, axis=0) - fp
    for key, variable in counts.items():
        variable.assign(variable + found[key])


# ------------------------------------------------------------ counts

class _ConditionCount(Metric):
    """One cell of the confusion matrix, counted at each of ``thresholds`` (default 0.5)."""
    _cell = ""

    def __init__(self, thresholds=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds = thresholds
        self.thresholds = parse_thresholds(thresholds, 0.5)
        self._evenly = evenly_spaced(self.thresholds)
        self.accumulator = self.add_variable((len(self.thresholds),), name="accumulator")

    def update_state(self, y_true, y_pred, sample_weight=None):
        update_confusion_matrix({self._cell: self.accumulator}, y_true, y_pred, self.thresholds, self._evenly,
                                sample_weight=sample_weight)

    def result(self):
        return self.accumulator[0] if len(self.thresholds) == 1 else self.accumulator * 1.0

    def get_config(self):
        return dict(super().get_config(), thresholds=self.init_thresholds)


class TruePositives(_ConditionCount):
    """The weighted number of positive labels predicted positive."""
    _cell = "tp"


class FalsePositives(_ConditionCount):
    """The weighted number of negative labels predicted positive."""
    _cell = "fp"


class TrueNegatives(_ConditionCount):
    """The weighted number of negative labels predicted negative."""
    _cell = "tn"


class FalseNegatives(_ConditionCount):
    """The weighted number of positive labels predicted negative."""
    _cell = "fn"


class _PrecisionOrRecall(Metric):
    """``tp / (tp + other)`` at each threshold; ``top_k`` keeps only the k highest
    predictions of a row positive, ``class_id`` looks at one class's column."""
    _other = ""

    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        if top_k is not None:
            _check_count(top_k, "top_k", 1)
        _check_class_id(class_id)
        self.init_thresholds = thresholds
        self.top_k = top_k
        self.class_id = class_id
        # with top_k alone, every one of the k highest predictions counts as positive
        self.thresholds = parse_thresholds(thresholds, 0.5 if top_k is None else NEG_INF)
        self._evenly = evenly_spaced(self.thresholds)
        names = {"fp": "false_positives", "fn": "false_negatives"}
        self.true_positives = self.add_variable((len(self.thresholds),), name="true_positives")
        setattr(self, names[self._other], self.add_variable((len(self.thresholds),), name=names[self._other]))
        self._counts = {"tp": self.true_positives, self._other: getattr(self, names[self._other])}

    def update_state(self, y_true, y_pred, sample_weight=None):
        update_confusion_matrix(self._counts, y_true, y_pred, self.thresholds, self._evenly, top_k=self.top_k,
                                class_id=self.class_id, sample_weight=sample_weight)

    def result(self):
        tp = self.true_positives
        ratio = divide_no_nan(tp, tp + self._counts[self._other])
        return ratio[0] if len(self.thresholds) == 1 else ratio

    def get_config(self):
        return dict(super().get_config(), thresholds=self.init_thresholds, top_k=self.top_k, class_id=self.class_id)


class Precision(_PrecisionOrRecall):
    """``tp / (tp + fp)``: how many of the predicted positives are positive."""
    _other = "fp"


class Recall(_PrecisionOrRecall):
    """``tp / (tp + fn)``: how many of the positives are predicted positive."""
    _other = "fn"


# ------------------------------------------------ one rate at a given other

class SensitivitySpecificityBase(Metric):
    """The four counts at ``num_thresholds`` evenly spaced thresholds in [0, 1]; the
    result is the best ``_reported`` rate at a threshold where the ``_constrained``
    rate reaches ``value`` (the argument named ``_argument``)."""

    _argument = _constrained = _reported = None  # set by each subclass

    def __init__(self, value, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        _check_count(num_thresholds, "num_thresholds", 1)
        _check_class_id(class_id)
        self.value = _check_unit(value, self._argument) if self._argument else value
        if self._argument:
            setattr(self, self._argument, self.value)  # metric.recall, ... as Keras has them
        self.num_thresholds = num_thresholds
        self.class_id = class_id
        if num_thresholds == 1:
            self.thresholds = [0.5]
            self._evenly = False
        else:
            self.thresholds = [0.0] + [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)] + [1.0]
            self._evenly = True
        shape = (len(self.thresholds),)
        self.true_positives = self.add_variable(shape, name="true_positives")
        self.false_positives = self.add_variable(shape, name="false_positives")
        self.true_negatives = self.add_variable(shape, name="true_negatives")
        self.false_negatives = self.add_variable(shape, name="false_negatives")

    def update_state(self, y_true, y_pred, sample_weight=None):
        counts = {"tp": self.true_positives, "fp": self.false_positives, "tn": self.true_negatives,
                  "fn": self.false_negatives}
        update_confusion_matrix(counts, y_true, y_pred, self.thresholds, self._evenly, class_id=self.class_id,
                                sample_weight=sample_weight)

    def _rates(self):
        tp, fp, tn, fn = self.true_positives, self.false_positives, self.true_negatives, self.false_negatives
        return {"sensitivity": divide_no_nan(tp, tp + fn), "specificity": divide_no_nan(tn, tn + fp),
                "precision": divide_no_nan(tp, tp + fp)}

    def result(self):
        rates = self._rates()
        reached = rates[self._constrained] >= self.value
        # the largest reported rate where the constrained one reaches value (0 if none)
        return gc.maximum(gc.reduce_max(gc.where(reached, rates[self._reported], 0.0)), 0.0)

    def get_config(self):
        config = dict(super().get_config(), class_id=self.class_id)
        if self._argument:
            config.update({"num_thresholds": self.num_thresholds, self._argument: self.value})
        return config


class SensitivityAtSpecificity(SensitivitySpecificityBase):
    """The best sensitivity (recall) at a threshold where specificity is at least ``specificity``."""
    _argument, _constrained, _reported = "specificity", "specificity", "sensitivity"

    def __init__(self, specificity, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(specificity, num_thresholds=num_thresholds, class_id=class_id, name=name, dtype=dtype)


class SpecificityAtSensitivity(SensitivitySpecificityBase):
    """The best specificity at a threshold where sensitivity is at least ``sensitivity``."""
    _argument, _constrained, _reported = "sensitivity", "sensitivity", "specificity"

    def __init__(self, sensitivity, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(sensitivity, num_thresholds=num_thresholds, class_id=class_id, name=name, dtype=dtype)


class PrecisionAtRecall(SensitivitySpecificityBase):
    """The best precision at a threshold where recall is at least ``recall``."""
    _argument, _constrained, _reported = "recall", "sensitivity", "precision"

    def __init__(self, recall, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(recall, num_thresholds=num_thresholds, class_id=class_id, name=name, dtype=dtype)


class RecallAtPrecision(SensitivitySpecificityBase):
    """The best recall at a threshold where precision is at least ``precision``."""
    _argument, _constrained, _reported = "precision", "precision", "sensitivity"

    def __init__(self, precision, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(precision, num_thresholds=num_thresholds, class_id=class_id, name=name, dtype=dtype)


# ------------------------------------------------------------------- AUC

class AUC(Metric):
    """The area under the ROC curve (recall against false positive rate), the PR
    curve (precision against recall) or the PR-gain curve, as a Riemann sum over
    ``num_thresholds`` thresholds (or the given ``thresholds`` plus 0 and 1).

    ``summation_method`` "interpolation" uses the trapezoid rule (for PR, the
    interpolation of Davis & Goadrich 2006), "minoring" and "majoring" the lower
    and upper step sums. With ``multi_label``, each label (column) has its own
    curve and the result is their mean (weighted by ``label_weights`` if given);
    otherwise every entry is one prediction and ``label_weights`` weight the columns.
    ``from_logits``: y_pred is passed through a sigmoid first.
    """

    def __init__(self, num_thresholds=200, curve="ROC", summation_method="interpolation", name=None, dtype=None,
                 thresholds=None, multi_label=False, num_labels=None, label_weights=None, from_logits=False):
        self.curve = curve if isinstance(curve, AUCCurve) else AUCCurve.from_str(curve)
        self.summation_method = summation_method if isinstance(summation_method, AUCSummationMethod) else \
            AUCSummationMethod.from_str(summation_method)
        self._init_from_thresholds = thresholds is not None
        if thresholds is not None:
            inner = sorted(float(t) for t in parse_thresholds(thresholds, None))
            self.num_thresholds = len(inner) + 2
            self._evenly = evenly_spaced([0.0] + inner + [1.0])
        else:
            self.num_thresholds = _check_count(num_thresholds, "num_thresholds", 2)
            inner = [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
            self._evenly = True
        # just outside [0, 1]: predictions of exactly 0 and 1 are counted at the ends
        self._thresholds = np.array([0.0 - EPSILON] + inner + [1.0 + EPSILON])
        super().__init__(name=name, dtype=dtype)
        self.multi_label = bool(multi_label)
        self.num_labels = num_labels
        self.label_weights = None
        if label_weights is not None:
            self.label_weights = np.asarray(label_weights, dtype=self.dtype)
            if self.label_weights.ndim != 1:
                raise ValueError(f"Argument `label_weights` must be one weight per label (a list), got shape "
                                 f"{format_shape(self.label_weights.shape)}")
        self._from_logits = bool(from_logits)
        self._built = False
        if self.multi_label:
            if num_labels:
                self._build((None, _check_count(num_labels, "num_labels", 1)))
        else:
            if num_labels:
                raise ValueError("`num_labels` is needed only when `multi_label` is True.")
            self._build(None)

    @property
    def thresholds(self) -> list:
        """The thresholds, the first just below 0 and the last just above 1."""
        return list(self._thresholds)

    def _build(self, shape):
        # a multi-label AUC counts per label: its variables wait for y_pred's shape
        if self.multi_label:
            if len(shape) != 2:
                raise ValueError(f"`y_pred` must have rank 2 when `multi_label=True`. Found rank {len(shape)}. "
                                 f"Full shape received for `y_pred`: {format_shape(shape)}")
            if shape[1] is None:
                raise ValueError(f"`y_pred` of shape {format_shape(shape)}: with `multi_label=True` the number of "
                                 "labels must be known when the graph is built (or give `num_labels`)")
            self._num_labels = shape[1]
            variable_shape = (self.num_thresholds, self._num_labels)
        else:
            variable_shape = (self.num_thresholds,)
        self._build_input_shape = shape
        self.true_positives = self.add_variable(variable_shape, name="true_positives")
        self.false_positives = self.add_variable(variable_shape, name="false_positives")
        self.true_negatives = self.add_variable(variable_shape, name="true_negatives")
        self.false_negatives = self.add_variable(variable_shape, name="false_negatives")
        self._built = True

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = _tensor(y_pred, self.dtype)
        if not self._built:
            self._build(y_pred.shape)
        if self._from_logits:
            y_pred = gc.sigmoid(y_pred)
        counts = {"tp": self.true_positives, "fp": self.false_positives, "tn": self.true_negatives,
                  "fn": self.false_negatives}
        update_confusion_matrix(counts, y_true, y_pred, self._thresholds, self._evenly, sample_weight=sample_weight,
                                multi_label=self.multi_label,
                                label_weights=None if self.multi_label else self.label_weights)

    def _over_labels(self, by_threshold):
        """The area: summed over the thresholds' intervals, then averaged over the labels."""
        if not self.multi_label:
            return gc.reduce_sum(by_threshold)
        by_label = gc.reduce_sum(by_threshold, axis=0)
        if self.label_weights is None:
            return gc.reduce_mean(by_label)
        weights = gc.constant(self.label_weights)
        return divide_no_nan(gc.reduce_sum(by_label * weights), gc.reduce_sum(weights))

    def interpolate_pr_auc(self):
        """PR AUC with precision interpolated between thresholds (Davis & Goadrich 2006):
        on each interval precision is tp / (tp + fp) with tp linear in tp + fp."""
        n = self.num_thresholds
        tp, fp, fn = self.true_positives, self.false_positives, self.false_negatives
        dtp = tp[:n - 1] - tp[1:]
        p = tp + fp
        dp = p[:n - 1] - p[1:]
        slope = divide_no_nan(dtp, gc.maximum(dp, 0.0))
        intercept = tp[1:] - slope * p[1:]
        both_positive = gc.where(p[:n - 1] > 0.0, p[1:] > 0.0, False)
        safe_p_ratio = gc.where(both_positive, divide_no_nan(p[:n - 1], gc.maximum(p[1:], 0.0)), 1.0)
        increments = divide_no_nan(slope * (dtp + intercept * gc.log(safe_p_ratio)),
                                   gc.maximum(tp[1:] + fn[1:], 0.0))
        return self._over_labels(increments)

    def result(self):
        if self.curve == AUCCurve.PR and self.summation_method == AUCSummationMethod.INTERPOLATION:
            return self.interpolate_pr_auc()
        tp, fp, tn, fn = self.true_positives, self.false_positives, self.true_negatives, self.false_negatives
        recall = divide_no_nan(tp, tp + fn)
        if self.curve == AUCCurve.ROC:
            x, y = divide_no_nan(fp, fp + tn), recall
        elif self.curve == AUCCurve.PR:
            x, y = recall, divide_no_nan(tp, tp + fp)
        else:  # PR gain (Flach & Kull 2015): gains relative to the ratio of positives to negatives
            scale = divide_no_nan(tp + fn, tn + fp)
            no_tp = gc.equal(tp, 0.0)
            recall_gain = gc.where(no_tp, 0.0, 1.0 - scale * divide_no_nan(fn, tp))
            precision_gain = gc.where(no_tp, 1.0, 1.0 - scale * divide_no_nan(fp, tp))
            x, y = gc.maximum(recall_gain, 0.0), precision_gain
        n = self.num_thresholds
        if self.summation_method == AUCSummationMethod.INTERPOLATION:
            heights = (y[:n - 1] + y[1:]) / 2.0
        elif self.summation_method == AUCSummationMethod.MINORING:
            heights = gc.minimum(y[:n - 1], y[1:])
        else:
            heights = gc.maximum(y[:n - 1], y[1:])
        return self._over_labels((x[:n - 1] - x[1:]) * heights)

    def get_config(self):
        config = dict(super().get_config(), num_thresholds=self.num_thresholds, curve=self.curve.value,
                      summation_method=self.summation_method.value, multi_label=self.multi_label,
                      num_labels=self.num_labels,
                      label_weights=None if self.label_weights is None else self.label_weights.tolist(),
                      from_logits=self._from_logits)
        if self._init_from_thresholds:
            config["thresholds"] = [float(t) for t in self.thresholds[1:-1]]
        return config
