"""Keras 3's own tests of its confusion-matrix metrics (keras/src/metrics/
confusion_metrics_test.py, Keras 3.15), ported: TruePositives ... FalseNegatives,
Precision, Recall, SensitivityAtSpecificity, SpecificityAtSensitivity,
PrecisionAtRecall, RecallAtPrecision, AUC and multi-label AUC.

Inputs and expected numbers are Keras's; the tolerances are Keras's
(``assertAllClose``: numpy's with atol and rtol 1e-6 unless the test gives
atol; ``assertAlmostEqual``: numpy's with ``decimal`` 3 unless given;
``assertEqual``: ==). Keras's random 0/1 inputs come from a seeded generator
here. Two adaptations: graphc scopes a variable's name under its metric's
("my_precision/true_positives"), so the last part of the name is compared;
Keras's end-to-end ``fit`` checks are in test_metrics.py.
"""
import json

import numpy as np
import pytest

from graphc import keras
from graphc.keras.confusion_metrics import AUCCurve, AUCSummationMethod

M = keras.metrics
RNG = np.random.default_rng(7)


def all_close(actual, desired, atol=1e-6, rtol=1e-6):
    np.testing.assert_allclose(np.asarray(actual), desired, atol=atol, rtol=rtol)


def almost_equal(actual, desired, decimal=3):
    np.testing.assert_almost_equal(np.asarray(actual), desired, decimal=decimal)


def short_names(metric):
    return [v.name.rpartition("/")[2] for v in metric.variables]


# --------------------------------------------- TruePositives ... FalseNegatives

COUNT_TRUE = np.array(((0, 1, 0, 1, 0), (0, 0, 1, 1, 1), (1, 1, 1, 1, 0), (0, 0, 0, 0, 1)))
COUNT_PRED = np.array(((0, 0, 1, 1, 0), (1, 1, 1, 1, 1), (0, 1, 0, 1, 0), (1, 1, 1, 1, 1)))
COUNT_WEIGHT = np.array((1.0, 1.5, 2.0, 2.5))
THRESH_PRED = np.array(((0.9, 0.2, 0.8, 0.1), (0.2, 0.9, 0.7, 0.6), (0.1, 0.2, 0.4, 0.3), (0, 1, 0.7, 0.3)))
THRESH_TRUE = np.array(((0, 1, 1, 0), (1, 0, 0, 0), (0, 0, 0, 0), (1, 1, 1, 1)))
COUNTS = [M.FalsePositives, M.FalseNegatives, M.TrueNegatives, M.TruePositives]


@pytest.mark.parametrize("cls, unweighted, weighted", [
    (M.FalsePositives, 7.0, 14.0), (M.FalseNegatives, 3.0, 5.0), (M.TrueNegatives, 3.0, 4.0),
    (M.TruePositives, 7.0, 12.0)])
def test_count_at_the_default_threshold(cls, unweighted, weighted):
    metric = cls()
    metric.update_state(COUNT_TRUE, COUNT_PRED)
    all_close(metric.result(), unweighted)
    all_close(cls()(COUNT_TRUE, COUNT_PRED, sample_weight=COUNT_WEIGHT), weighted)


@pytest.mark.parametrize("cls, unweighted, sample_weight, weighted", [
    (M.FalsePositives, [7.0, 4.0, 2.0],
     ((1.0, 2.0, 3.0, 5.0), (7.0, 11.0, 13.0, 17.0), (19.0, 23.0, 29.0, 31.0), (5.0, 15.0, 10.0, 0)),
     [125.0, 42.0, 12.0]),
    (M.FalseNegatives, [1.0, 4.0, 6.0], ((3.0,), (5.0,), (7.0,), (4.0,)), [4.0, 16.0, 23.0]),
    (M.TrueNegatives, [2.0, 5.0, 7.0], ((0.0, 2.0, 3.0, 5.0),), [5.0, 15.0, 23.0]),
    (M.TruePositives, [6.0, 3.0, 1.0], 37.0, [222.0, 111.0, 37.0])])
def test_count_at_thresholds(cls, unweighted, sample_weight, weighted):
    metric = cls(thresholds=[0.15, 0.5, 0.85])
    metric.update_state(THRESH_TRUE, THRESH_PRED)
    all_close(metric.result(), unweighted)
    all_close(cls(thresholds=[0.15, 0.5, 0.85])(THRESH_TRUE, THRESH_PRED, sample_weight=sample_weight), weighted)


@pytest.mark.parametrize("cls", COUNTS)
def test_count_config_and_threshold_limits(cls):
    metric = cls(name="my_metric", thresholds=[0.4, 0.9])
    again = cls.from_config(metric.get_config())
    for m in (metric, again):
        assert m.name == "my_metric" and len(m.variables) == 1 and m.thresholds == [0.4, 0.9]
    with pytest.raises(ValueError, match=r"Threshold values must be in \[0, 1\]. Received: \[-1, 2\]"):
        cls(thresholds=[-1, 0.5, 2])
    with pytest.raises(ValueError, match=r"Threshold values must be in \[0, 1\]. Received: \[None\]"):
        cls(thresholds=[None])


# ------------------------------------------------------------ Precision, Recall

@pytest.mark.parametrize("cls, other", [(M.Precision, "false_positives"), (M.Recall, "false_negatives")])
def test_precision_recall_config(cls, other):
    metric = cls(name="my_metric", thresholds=[0.4, 0.9], top_k=15, class_id=12)
    assert short_names(metric) == ["true_positives", other]
    again = cls.from_config(metric.get_config())
    for m in (metric, again):
        assert m.name == "my_metric" and len(m.variables) == 2
        assert (m.thresholds, m.top_k, m.class_id) == ([0.4, 0.9], 15, 12)


def test_precision_unweighted_and_all_incorrect_and_weighted():
    almost_equal(M.Precision()(np.array([0, 1, 1, 0]), np.array([1, 0, 1, 0])), 0.5)
    inputs = RNG.integers(0, 2, size=(100, 1))
    almost_equal(M.Precision(thresholds=[0.5])(1 - inputs, inputs), 0)
    result = M.Precision()(np.array([[0, 1, 1, 0], [1, 0, 0, 1]]), np.array([[1, 0, 1, 0], [1, 0, 1, 0]]),
                           sample_weight=np.array([[1, 2, 3, 4], [4, 3, 2, 1]]))
    almost_equal(result, (3.0 + 4.0) / ((1.0 + 3.0) + (4.0 + 2.0)))
    assert float(M.Precision()(np.array([0, 0, 0, 0]), np.array([0, 0, 0, 0]))) == 0


def test_precision_with_thresholds_and_multiple_updates():
    almost_equal(M.Precision(thresholds=[0.5, 0.7])(np.array([0, 1, 1, 0]), np.array([1, 0, 0.6, 0])), [0.5, 0.0],
                 0)
    y_true = np.array([[0, 1], [1, 0]])
    y_pred = np.array([[1, 0], [0.6, 0]], dtype="float32")
    weights = np.array([[4, 0], [3, 1]], dtype="float32")
    almost_equal(M.Precision(thresholds=[0.5, 1.0])(y_true, y_pred, sample_weight=weights), [3.0 / 7.0, 0])
    metric = M.Precision(thresholds=[0.5, 1.0])
    for _ in range(2):
        metric.update_state(y_true, y_pred, sample_weight=weights)
    almost_equal(metric.result(), [6.0 / 14.0, 0])


def test_precision_top_k():
    almost_equal(M.Precision(top_k=3)(np.array([0, 1, 1, 0, 0]), np.array([0.2, 0.1, 0.5, 0, 0.2])), 1.0 / 3)
    metric = M.Precision(top_k=3)
    metric(np.array([[0, 1, 1, 0, 1]]), np.array([[0.2, 0.1, 0.4, 0, 0.2]]), sample_weight=np.array([[1, 4, 2, 3, 5]]))
    result = metric(np.array([1, 0, 1, 1, 1]), np.array([0.2, 0.6, 0.4, 0.2, 0.2]), sample_weight=np.array(3))
    almost_equal(result, ((2 + 5) + (3 + 3)) / ((1 + 2 + 5) + (3 + 3 + 3)))
    metric = M.Precision(thresholds=0.7, top_k=2)
    almost_equal(metric(np.array([0, 1, 1, 0, 1]), np.array([0.2, 0.8, 0.6, 0, 0.2])), 1)
    almost_equal(metric.true_positives, 1)
    almost_equal(metric.false_positives, 0)


CLASS_PRED = np.array([[0.1, 0.2, 0.7], [0.5, 0.3, 0.2], [0.2, 0.6, 0.2], [0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])
CLASS_TRUE = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])


@pytest.mark.parametrize("cls, other", [(M.Precision, "false_positives"), (M.Recall, "false_negatives")])
def test_precision_recall_class_id(cls, other):
    with pytest.raises(ValueError, match=r"When class_id is provided, y_pred must be a 2D array with shape "
                                         r"\(num_samples, num_classes\), found shape:.*"):
        cls(class_id=2)(np.array([0, 1, 1, 0, 0]), np.array([0.2, 0.1, 0.6, 0, 0.2]))
    metric = cls(class_id=1)
    almost_equal(metric(CLASS_TRUE, CLASS_PRED), 1.0)
    almost_equal(metric.true_positives, 1.0)
    almost_equal(getattr(metric, other), 0.0)


def test_recall_unweighted_and_all_incorrect_and_weighted():
    almost_equal(M.Recall()(np.array([0, 1, 1, 0]), np.array([1, 0, 1, 0])), 0.5)
    inputs = RNG.integers(0, 2, size=(100, 1))
    almost_equal(M.Recall(thresholds=[0.5])(1 - inputs, inputs), 0)
    result = M.Recall()(np.array([[0, 1, 1, 0], [1, 0, 0, 1]]), np.array([[1, 0, 1, 0], [0, 1, 0, 1]]),
                        sample_weight=np.array([[1, 2, 3, 4], [4, 3, 2, 1]]))
    almost_equal(result, (3.0 + 1.0) / ((2.0 + 3.0) + (4.0 + 1.0)))
    assert float(M.Recall()(np.array([0, 0, 0, 0]), np.array([0, 0, 0, 0]))) == 0


def test_recall_with_thresholds_and_multiple_updates():
    all_close(M.Recall(thresholds=[0.5, 0.7])(np.array([0, 1, 1, 0]), np.array([1, 0, 0.6, 0])), [0.5, 0.0], 0)
    y_true = np.array([[0, 1], [1, 0]])
    y_pred = np.array([[1, 0], [0.6, 0]], dtype="float32")
    weights = np.array([[1, 4], [3, 2]], dtype="float32")
    all_close(M.Recall(thresholds=[0.5, 1.0])(y_true, y_pred, sample_weight=weights), [3.0 / 7.0, 0], 1e-3)
    metric = M.Recall(thresholds=[0.5, 1.0])
    for _ in range(2):
        metric.update_state(y_true, y_pred, sample_weight=weights)
    all_close(metric.result(), [6.0 / 14.0, 0], 1e-3)


def test_recall_top_k():
    almost_equal(M.Recall(top_k=3)(np.array([0, 1, 1, 0, 0]), np.array([0.2, 0.1, 0.5, 0, 0.2])), 0.5)
    metric = M.Recall(top_k=3)
    metric(np.array([[0, 1, 1, 0, 1]]), np.array([[0.2, 0.1, 0.4, 0, 0.2]]), sample_weight=np.array([[1, 4, 2, 3, 5]]))
    result = metric(np.array([1, 0, 1, 1, 1]), np.array([0.2, 0.6, 0.4, 0.2, 0.2]), sample_weight=np.array(3))
    almost_equal(result, ((2 + 5) + (3 + 3)) / ((4 + 2 + 5) + (3 + 3 + 3 + 3)))
    metric = M.Recall(thresholds=0.7, top_k=2)
    almost_equal(metric(np.array([1, 1, 1, 0, 1]), np.array([0.2, 0.8, 0.6, 0, 0.2])), 0.25)
    almost_equal(metric.true_positives, 1)
    almost_equal(metric.false_negatives, 3)


# ------------------------------------------- one rate where another reaches a value

AT_CLASSES = [(M.SensitivityAtSpecificity, "specificity"), (M.SpecificityAtSensitivity, "sensitivity"),
              (M.PrecisionAtRecall, "recall"), (M.RecallAtPrecision, "precision")]
SPEC_PRED = [0.0, 0.1, 0.2, 0.3, 0.4, 0.01, 0.02, 0.25, 0.26, 0.26]
SPEC_LABELS = [0, 0, 0, 0, 0, 1, 1, 1, 1, 1]
RECALL_PRED = [0.0, 0.1, 0.2, 0.5, 0.6, 0.2, 0.5, 0.6, 0.8, 0.9]
PRECISION_PRED = [0.05, 0.1, 0.2, 0.3, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.9, 0.95]
PRECISION_LABELS = [0, 1, 0, 0, 0, 1, 1, 0, 1, 1, 0, 1]


@pytest.mark.parametrize("cls, argument", AT_CLASSES)
def test_at_metrics_config_and_errors(cls, argument):
    metric = cls(0.4, num_thresholds=100, class_id=12, name="at_1")
    again = cls.from_config(metric.get_config())
    for m in (metric, again):
        assert m.name == "at_1" and len(m.variables) == 4
        assert (getattr(m, argument), m.num_thresholds, m.class_id) == (0.4, 100, 12)
    with pytest.raises(ValueError, match=rf"`{argument}` must be in the range \[0, 1\]."):
        cls(-1)
    with pytest.raises(ValueError, match="Argument `num_thresholds` must be an integer > 0"):
        cls(0.4, num_thresholds=-1)


@pytest.mark.parametrize("cls", [cls for cls, _ in AT_CLASSES])
def test_at_metrics_all_correct(cls):
    inputs = RNG.integers(0, 2, size=(100, 1))
    almost_equal(cls(0.7)(inputs, inputs.astype("float32")), 1)


def one_hot_columns(pred_values, label_values):
    """Keras's class_id inputs: the same predictions in three columns, labels one-hot."""
    return np.eye(3)[np.array(label_values)], np.array([pred_values] * 3).T


@pytest.mark.parametrize("make, pred, labels, expected", [
    (lambda: M.SensitivityAtSpecificity(0.8), [0.0, 0.1, 0.2, 0.3, 0.4, 0.1, 0.45, 0.5, 0.8, 0.9], SPEC_LABELS, 0.8),
    (lambda: M.SensitivityAtSpecificity(0.4), SPEC_PRED, SPEC_LABELS, 0.6),
    (lambda: M.SpecificityAtSensitivity(1.0), SPEC_PRED, SPEC_LABELS, 0.2),
    (lambda: M.SpecificityAtSensitivity(0.4), SPEC_PRED, SPEC_LABELS, 0.6),
    (lambda: M.PrecisionAtRecall(0.8), RECALL_PRED, SPEC_LABELS, 2.0 / 3),
    (lambda: M.PrecisionAtRecall(0.6), RECALL_PRED, SPEC_LABELS, 0.75),
    (lambda: M.RecallAtPrecision(0.75), PRECISION_PRED, PRECISION_LABELS, 0.5),
    (lambda: M.RecallAtPrecision(2.0 / 3), PRECISION_PRED, PRECISION_LABELS, 5.0 / 6),
    (lambda: M.RecallAtPrecision(2.0 / 3), [0.1, 0.2, 0.3, 0.9], [1, 1, 0, 0], 0),  # unachievable precision
])
def test_at_metrics_unweighted(make, pred, labels, expected):
    almost_equal(make()(np.array(labels), np.array(pred, dtype="float32")), expected)


@pytest.mark.parametrize("make, pred, labels, expected", [
    (lambda: M.SpecificityAtSensitivity(0.4, class_id=2), SPEC_PRED, [0, 0, 0, 0, 0, 2, 2, 2, 2, 2], 0.6),
    (lambda: M.PrecisionAtRecall(0.6, class_id=2), RECALL_PRED, [0, 0, 0, 0, 0, 2, 2, 2, 2, 2], 0.75),
    (lambda: M.RecallAtPrecision(2.0 / 3, class_id=2), PRECISION_PRED, [0, 2, 0, 0, 0, 2, 2, 0, 2, 2, 0, 2],
     5.0 / 6),
])
def test_at_metrics_class_id(make, pred, labels, expected):
    y_true, y_pred = one_hot_columns(pred, labels)
    almost_equal(make()(y_true, y_pred), expected)


@pytest.mark.parametrize("label_dtype", ["bool", "int32", "float32"])
@pytest.mark.parametrize("make, pred, labels, weights, expected", [
    (lambda: M.SensitivityAtSpecificity(0.4), SPEC_PRED, SPEC_LABELS, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.675),
    (lambda: M.SpecificityAtSensitivity(0.4), SPEC_PRED, SPEC_LABELS, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.4),
    (lambda: M.PrecisionAtRecall(7.0 / 8), RECALL_PRED, SPEC_LABELS, [2, 1, 2, 1, 2, 1, 2, 2, 1, 2], 0.7),
    (lambda: M.RecallAtPrecision(0.75), [0.1, 0.2, 0.3, 0.5, 0.6, 0.9, 0.9], [0, 1, 0, 0, 0, 1, 1],
     [1, 2, 1, 2, 1, 2, 1], 0.6),
])
def test_at_metrics_weighted(make, pred, labels, weights, expected, label_dtype):
    y_true = np.array(labels).astype(label_dtype)
    almost_equal(make()(y_true, np.array(pred, dtype="float32"), sample_weight=np.array(weights)), expected)


# ------------------------------------------------------------------- AUC

AUC_PRED = np.array([0, 0.5, 0.3, 0.9], dtype="float32")
AUC_TRUE = np.array([0, 0, 1, 1])
AUC_MULTI_PRED = np.array([[0.0, 0.4], [0.5, 0.7], [0.3, 0.2], [0.9, 0.3]], dtype="float32")
AUC_MULTI_TRUE = np.array([[0, 0], [1, 1], [1, 1], [1, 0]])
AUC_WEIGHT = [1, 2, 3, 4]


def logits(p):
    return -np.log(1.0 / (p + 1e-12) - 1.0)


def test_auc_config():
    auc = M.AUC(num_thresholds=100, curve="PR", summation_method="majoring", name="auc_1", dtype="float64",
                multi_label=True, num_labels=2, from_logits=True)
    auc.update_state(AUC_MULTI_TRUE, AUC_MULTI_PRED)
    config = auc.get_config()
    assert "thresholds" not in config and config == json.loads(json.dumps(config))
    again = M.AUC.from_config(config)
    again.update_state(AUC_MULTI_TRUE, AUC_MULTI_PRED)
    for m in (auc, again):
        assert m.name == "auc_1" and len(m.variables) == 4 and m.num_thresholds == 100
        assert m.curve == AUCCurve.PR and m.summation_method == AUCSummationMethod.MAJORING
        assert m.multi_label and m.num_labels == 2 and m._from_logits
    assert auc.dtype == "float64" and again.get_config() == config
    all_close(auc.thresholds, again.thresholds)


def test_auc_config_manual_thresholds():
    auc = M.AUC(num_thresholds=None, curve="PR", summation_method="majoring", name="auc_1", thresholds=[0.3, 0.5])
    auc.update_state(AUC_TRUE, AUC_PRED)
    config = auc.get_config()
    assert config == json.loads(json.dumps(config))
    again = M.AUC.from_config(config)
    again.update_state(AUC_TRUE, AUC_PRED)
    for m in (auc, again):
        assert m.name == "auc_1" and len(m.variables) == 4 and m.num_thresholds == 4
        assert m.curve == AUCCurve.PR and m.summation_method == AUCSummationMethod.MAJORING
    all_close(auc.thresholds, [0.0, 0.3, 0.5, 1.0])
    assert again.get_config() == config
    all_close(auc.thresholds, again.thresholds)


@pytest.mark.parametrize("make, y_pred, sample_weight, expected", [
    (lambda: M.AUC(num_thresholds=3), AUC_PRED, None, 0.75 * 1 + 0.25 * 0),
    (lambda: M.AUC(num_thresholds=3, from_logits=True), logits(AUC_PRED), None, 0.75 * 1 + 0.25 * 0),
    (lambda: M.AUC(num_thresholds=2, thresholds=[0.5]), AUC_PRED, None, 0.75 * 1 + 0.25 * 0),
    (lambda: M.AUC(num_thresholds=3), AUC_PRED, AUC_WEIGHT, 0.7855 * 1 + 0.2855 * 0),
    (lambda: M.AUC(num_thresholds=3, summation_method="majoring"), AUC_PRED, AUC_WEIGHT, 1 * 1 + 0.571 * 0),
    (lambda: M.AUC(num_thresholds=3, summation_method="minoring"), AUC_PRED, AUC_WEIGHT, 0.571 * 1 + 0 * 0),
    (lambda: M.AUC(num_thresholds=3, curve="PR", summation_method="majoring"), AUC_PRED, AUC_WEIGHT,
     1 * 0.429 + 1 * 0.571),
    (lambda: M.AUC(num_thresholds=3, curve="PR", summation_method="minoring"), AUC_PRED, AUC_WEIGHT,
     0.7 * 0.429 + 0 * 0.571),
    (lambda: M.AUC(num_thresholds=3, curve="PR"), AUC_PRED, AUC_WEIGHT, 2.416 / 7 + 4 / 7),
    (lambda: M.AUC(num_thresholds=3, curve="PR"), AUC_PRED, [-1, -2, -3, -4], 0.0),
    (lambda: M.AUC(num_thresholds=3, curve="PRGAIN", summation_method="majoring"), AUC_PRED, AUC_WEIGHT,
     1 * 1 + 0 * 1),
    (lambda: M.AUC(num_thresholds=3, curve="PRGAIN", summation_method="minoring"), AUC_PRED, AUC_WEIGHT,
     1 * 0 + 0 * 1),
    (lambda: M.AUC(num_thresholds=3, curve="PRGAIN"), AUC_PRED, AUC_WEIGHT, 1 * 0.5 + 0 * 1),
])
def test_auc_values(make, y_pred, sample_weight, expected):
    all_close(make()(AUC_TRUE, y_pred, sample_weight=sample_weight), expected, 1e-3)


def test_auc_all_correct_manual_thresholds_and_prgain():
    assert float(M.AUC()(AUC_TRUE, AUC_TRUE)) == 1
    auc = M.AUC(num_thresholds=2, thresholds=[0.5])
    assert auc.num_thresholds == 3
    all_close(auc.thresholds, [0.0, 0.5, 1.0])
    result = M.AUC(num_thresholds=3, curve="PRGAIN")(np.array([0, 0, 0, 1, 0, 1, 0, 1, 1, 1]),
                                                     np.array([0.1, 0.2, 0.3, 0.3, 0.4, 0.4, 0.6, 0.6, 0.8, 0.9]))
    all_close(result, 0.666666 * 0.333333 + 0.333333 * 0.833333, 1e-3)


def test_auc_invalid_arguments():
    for n in (-1, 1):
        with pytest.raises(ValueError, match="Argument `num_thresholds` must be an integer > 1"):
            M.AUC(num_thresholds=n)
    with pytest.raises(ValueError, match='Invalid AUC curve value: "Invalid".'):
        M.AUC(curve="Invalid")
    with pytest.raises(ValueError, match='Invalid AUC summation method value: "Invalid".'):
        M.AUC(summation_method="Invalid")


def test_auc_extra_dims():
    expit = lambda x: 1.0 / (1.0 + np.exp(-x))  # noqa: E731  (scipy.special.expit)
    y_pred = expit(-np.array([[[-10.0, 10.0, -10.0], [10.0, -10.0, 10.0]],
                              [[-12.0, 12.0, -12.0], [12.0, -12.0, 12.0]]], dtype=np.float32))
    labels = np.array([[[1, 0, 0], [1, 0, 0]], [[0, 1, 1], [0, 1, 1]]], dtype=np.int64)
    assert float(M.AUC()(labels, y_pred)) == 0.5


# ------------------------------------------------------------ multi-label AUC

MULTI_PRED = np.array([[0, 0.5, 0.3, 0.9], [0.1, 0.2, 0.3, 0.4]], dtype="float32").T
MULTI_GOOD = np.array([[0, 0, 1, 1], [0, 0, 1, 1]]).T
MULTI_BAD = np.array([[0, 0, 1, 1], [1, 1, 0, 0]]).T


def test_multi_label_auc_all_correct():
    assert float(M.AUC(multi_label=True)(MULTI_GOOD, MULTI_GOOD)) == 1
    assert float(M.AUC(multi_label=False)(MULTI_GOOD, MULTI_GOOD)) == 1


@pytest.mark.parametrize("make, y_pred, sample_weight, expected, atol", [
    (lambda: M.AUC(num_thresholds=5, multi_label=True), MULTI_PRED, None, (0.875 + 1.0) / 2.0, 1e-3),
    (lambda: M.AUC(num_thresholds=5, multi_label=True, from_logits=True), logits(MULTI_PRED), None,
     (0.875 + 1.0) / 2.0, 1e-3),
    (lambda: M.AUC(num_thresholds=5), MULTI_PRED, [1, 2, 3, 4], 1.0 - (0.3333 * (1.0 - 0.2857) / 2.0), 1e-3),
    (lambda: M.AUC(num_thresholds=5), MULTI_PRED, np.arange(4 * 2).reshape(4, 2),
     1.0 - (0.3333 * (1.0 - 0.2727) / 2.0), 1e-3),
    (lambda: M.AUC(num_thresholds=5, multi_label=True, label_weights=[0.75, 0.25]), MULTI_PRED, None,
     (0.875 * 0.75 + 1.0 * 0.25) / (0.75 + 0.25), 1e-3),
    (lambda: M.AUC(num_thresholds=5, label_weights=[0.75, 0.25]), MULTI_PRED, None,
     1.0 - ((1.0 - 0.375) * 0.375 / 2.0), 1e-2),
    (lambda: M.AUC(num_thresholds=5), MULTI_PRED, None, 1.0 - (3.0 / 32.0), 1e-3),
    (lambda: M.AUC(num_thresholds=5, from_logits=True), logits(MULTI_PRED), None, 1.0 - (3.0 / 32.0), 1e-3),
    (lambda: M.AUC(num_thresholds=2, thresholds=[0.5], multi_label=True), MULTI_PRED, None, (0.75 + 0.5) / 2.0,
     1e-3),
    (lambda: M.AUC(num_thresholds=5, multi_label=True), MULTI_PRED, [1, 2, 3, 4], 1.0 - 0.5 * 0.43 * 0.67, 1e-1),
    (lambda: M.AUC(num_thresholds=5, curve="PR", multi_label=True), MULTI_PRED, [1, 2, 3, 4], (0.939 + 1.0) / 2.0,
     1e-1),
])
def test_multi_label_auc_values(make, y_pred, sample_weight, expected, atol):
    all_close(make()(MULTI_GOOD, y_pred, sample_weight=sample_weight), expected, atol)


def test_multi_label_pr_auc_good_and_bad_and_reset():
    auc = M.AUC(num_thresholds=5, curve="PR", multi_label=True)
    all_close(auc(MULTI_GOOD, MULTI_PRED), (0.91667 + 1.0) / 2.0, 1e-1)
    all_close(auc(MULTI_BAD, MULTI_PRED), (0.91667 + 0.5) / 2.0, 1e-1)
    auc = M.AUC(num_thresholds=5, multi_label=True)
    assert auc.num_thresholds == 5 and auc.variables == []  # built by the first batch
    auc(MULTI_GOOD, MULTI_PRED)
    auc.reset_state()
    all_close(auc.true_positives, np.zeros((5, 2)))
    auc = M.AUC(num_thresholds=2, thresholds=[0.5], multi_label=True)
    assert auc.num_thresholds == 3
    all_close(auc.thresholds, [0.0, 0.5, 1.0])
