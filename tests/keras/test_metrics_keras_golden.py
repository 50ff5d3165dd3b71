"""Keras 3's own tests of its mean-of-a-function metrics, ported: probabilistic
(keras/src/metrics/probabilistic_metrics_test.py), regression
(regression_metrics_test.py) and hinge (hinge_metrics_test.py) metrics, plus
the examples in those classes' docstrings (Keras 3.15).

Inputs and expected numbers are Keras's literals (or, where Keras's test
computes them, the same closed form in numpy); the tolerances are Keras's:
its ``assertAllClose`` is numpy's with atol and rtol 1e-6 unless the test
gives atol, its ``assertAlmostEqual`` numpy's with ``decimal`` 3 unless the
test gives it. Docstring examples are printed float32 results: checked to
rtol 1e-6.
"""
import numpy as np
import pytest

from graphc import keras

M = keras.metrics


def all_close(actual, desired, atol=1e-6, rtol=1e-6):
    np.testing.assert_allclose(np.asarray(actual), desired, atol=atol, rtol=rtol)


def almost_equal(actual, desired, decimal=3):
    np.testing.assert_almost_equal(np.asarray(actual), desired, decimal=decimal)


# ------------------------------------------------------------------ inputs
KL_PRED = np.asarray([0.4, 0.9, 0.12, 0.36, 0.3, 0.4], dtype=np.float32).reshape((2, 3))
KL_TRUE = np.asarray([0.5, 0.8, 0.12, 0.7, 0.43, 0.8], dtype=np.float32).reshape((2, 3))
KL = KL_TRUE * np.log(KL_TRUE / KL_PRED)
POISSON_PRED = np.asarray([1, 9, 2, 5, 2, 6], dtype=np.float32).reshape((2, 3))
POISSON_TRUE = np.asarray([4, 8, 12, 8, 1, 3], dtype=np.float32).reshape((2, 3))
POISSON = POISSON_PRED - POISSON_TRUE * np.log(POISSON_PRED)
ROW_WEIGHT = np.asarray([1.2, 3.4], dtype=np.float32).reshape((2, 1))
ROW_WEIGHT_FULL = np.asarray([1.2, 1.2, 1.2, 3.4, 3.4, 3.4], dtype=np.float32).reshape((2, 3))

BCE_TRUE = np.array([1, 0, 1, 0]).reshape([2, 2])
BCE_PRED = np.array([1, 1, 1, 0], dtype=np.float32).reshape([2, 2])
BCE_LOGITS_TRUE = np.array([[1, 0, 1], [0, 1, 1]])
BCE_LOGITS = np.array([[10.0, -10.0, 10.0], [10.0, 10.0, -10.0]])
CCE_TRUE = np.array([[0, 1, 0], [0, 0, 1]])
CCE_PRED = np.array([[0.05, 0.95, 0], [0.1, 0.8, 0.1]])
CCE_LOGITS = np.array([[1, 9, 0], [1, 8, 1]], dtype=np.float32)
IGNORE_TRUE = np.array([0, 1, 2])
IGNORE_PRED = np.array([[0.8, 0.1, 0.1], [0.05, 0.95, 0], [0.1, 0.8, 0.1]])
IGNORE_LOGITS = np.array([[10, 1, 1], [1, 9, 0], [1, 8, 1]], dtype=np.float32)

HINGE_TRUE = np.array([[0.0, 1.0, 0.0, 1.0], [0.0, 0.0, 1.0, 1.0]])
HINGE_TRUE_PM = np.array([[-1, 1, -1, 1], [-1, -1, 1, 1]])
HINGE_PRED = np.array([[-0.3, 0.2, -0.1, 1.6], [-0.25, -1.0, 0.5, 0.6]])
CAT_TRUE = np.array(((0, 1, 0, 1, 0), (0, 0, 1, 1, 1), (1, 1, 1, 1, 0), (0, 0, 0, 0, 1)), dtype="float32")
CAT_PRED = np.array(((0, 0, 1, 1, 0), (1, 1, 1, 1, 1), (0, 1, 0, 1, 0), (1, 1, 1, 1, 1)), dtype="float32")
REG_WEIGHT = np.array([1.0, 1.5, 2.0, 2.5])

COS_TRUE = np.asarray([[1, 9, 2], [-5, -2, 6]], dtype=np.float32)
COS_PRED = np.asarray([[4, 8, 12], [8, 1, 3]], dtype=np.float32)


def l2_norm(x, axis):
    return x / np.sqrt(np.maximum(np.sum(np.square(x), axis=axis, keepdims=True), 1e-12))


COS = np.sum(l2_norm(COS_TRUE, 1) * l2_norm(COS_PRED, 1), axis=1)
LOGCOSH = np.log((np.exp(COS_PRED - COS_TRUE) + np.exp(COS_TRUE - COS_PRED)) / 2)

# the docstring examples' inputs
DOC_TRUE = [[0, 1], [0, 0]]
DOC_PROBS = [[0.6, 0.4], [0.4, 0.6]]
DOC_PRED = [[1, 1], [0, 0]]


def case(ident, make, y_true, y_pred, expected, sample_weight=None, atol=1e-6, decimal=None):
    """One Keras assertion: assertAllClose(atol) or, with ``decimal``, assertAlmostEqual."""
    return pytest.param(make, y_true, y_pred, sample_weight, expected, atol, decimal, id=ident)


CASES = [
    # KLDivergenceTest
    case("kld-unweighted", M.KLDivergence, KL_TRUE, KL_PRED, np.sum(KL) / 2, atol=1e-3),
    case("kld-weighted", M.KLDivergence, KL_TRUE, KL_PRED, np.sum(KL * ROW_WEIGHT_FULL) / (1.2 + 3.4), ROW_WEIGHT,
         atol=1e-3),
    # PoissonTest
    case("poisson-unweighted", M.Poisson, POISSON_TRUE, POISSON_PRED, np.sum(POISSON) / 6, atol=1e-3),
    case("poisson-weighted", M.Poisson, POISSON_TRUE, POISSON_PRED,
         np.sum(POISSON * ROW_WEIGHT_FULL) / np.sum(ROW_WEIGHT_FULL), ROW_WEIGHT, atol=1e-3),
    # BinaryCrossentropyTest
    case("bce-unweighted", M.BinaryCrossentropy, BCE_TRUE, BCE_PRED, 3.9855, atol=1e-3),
    case("bce-unweighted-with-logits", lambda: M.BinaryCrossentropy(from_logits=True), BCE_LOGITS_TRUE, BCE_LOGITS,
         3.333, atol=1e-3),
    case("bce-weighted", M.BinaryCrossentropy, BCE_TRUE, BCE_PRED, 3.4162, np.array([1.5, 2.0]), atol=1e-3),
    case("bce-weighted-from-logits", lambda: M.BinaryCrossentropy(from_logits=True), BCE_LOGITS_TRUE, BCE_LOGITS,
         3.7037, np.array([2.0, 2.5]), atol=1e-3),
    case("bce-label-smoothing", lambda: M.BinaryCrossentropy(from_logits=True, label_smoothing=0.1),
         np.array((1, 0, 1)), np.array((10.0, -10.0, -10.0)), (10.0 + 5.0 * 0.1) / 3.0, atol=1e-3),
    # CategoricalCrossentropyTest
    case("cce-unweighted", M.CategoricalCrossentropy, CCE_TRUE, CCE_PRED, 1.176, atol=1e-3),
    case("cce-unweighted-from-logits", lambda: M.CategoricalCrossentropy(from_logits=True), CCE_TRUE, CCE_LOGITS,
         3.5011, atol=1e-3),
    case("cce-weighted", M.CategoricalCrossentropy, CCE_TRUE, CCE_PRED, 1.338, np.array([1.5, 2.0]), atol=1e-3),
    case("cce-weighted-from-logits", lambda: M.CategoricalCrossentropy(from_logits=True), CCE_TRUE, CCE_LOGITS,
         4.0012, np.array([1.5, 2.0]), atol=1e-3),
    case("cce-label-smoothing", lambda: M.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1), CCE_TRUE,
         CCE_LOGITS, 3.667, atol=1e-3),
    # SparseCategoricalCrossentropyTest
    case("scce-unweighted", M.SparseCategoricalCrossentropy, np.array([1, 2]), CCE_PRED, 1.176, atol=1e-3),
    case("scce-unweighted-from-logits", lambda: M.SparseCategoricalCrossentropy(from_logits=True), np.array([1, 2]),
         CCE_LOGITS, 3.5011, atol=1e-3),
    case("scce-weighted", M.SparseCategoricalCrossentropy, np.array([1, 2]), CCE_PRED, 1.338, np.array([1.5, 2.0]),
         atol=1e-3),
    case("scce-weighted-from-logits", lambda: M.SparseCategoricalCrossentropy(from_logits=True), np.array([1, 2]),
         CCE_LOGITS, 4.0012, np.array([1.5, 2.0]), atol=1e-3),
    case("scce-ignore-class", lambda: M.SparseCategoricalCrossentropy(ignore_class=0), IGNORE_TRUE, IGNORE_PRED,
         0.78462, atol=1e-3),
    case("scce-ignore-class-weighted", lambda: M.SparseCategoricalCrossentropy(ignore_class=0), IGNORE_TRUE,
         IGNORE_PRED, 1.33774646, np.array([0.5, 1.5, 2.0]), atol=1e-3),
    case("scce-ignore-class-from-logits", lambda: M.SparseCategoricalCrossentropy(from_logits=True, ignore_class=0),
         IGNORE_TRUE, IGNORE_LOGITS, 2.33409, atol=1e-3),
    # HingeTest, SquaredHingeTest, CategoricalHingeTest
    case("hinge-unweighted", M.Hinge, HINGE_TRUE, HINGE_PRED, 0.506, atol=1e-3),
    case("hinge-weighted", M.Hinge, HINGE_TRUE_PM, HINGE_PRED, 0.493, np.array([1.5, 2.0]), atol=1e-3),
    case("squared-hinge-unweighted", M.SquaredHinge, HINGE_TRUE.astype("float32"), HINGE_PRED, 0.364, atol=1e-3),
    case("squared-hinge-weighted", M.SquaredHinge, HINGE_TRUE_PM.astype("float32"), HINGE_PRED, 0.347,
         np.array([1.5, 2.0]), atol=1e-3),
    case("categorical-hinge-unweighted", M.CategoricalHinge, CAT_TRUE, CAT_PRED, 0.5, atol=1e-5),
    case("categorical-hinge-weighted", M.CategoricalHinge, CAT_TRUE, CAT_PRED, 0.5, REG_WEIGHT, atol=1e-5),
    # MeanSquaredErrorTest, MeanAbsoluteErrorTest, MeanAbsolutePercentageErrorTest,
    # MeanSquaredLogarithmicErrorTest (integer inputs, as Keras's)
    case("mse-unweighted", M.MeanSquaredError, CAT_TRUE.astype(int), CAT_PRED.astype(int), 0.5, atol=1e-5),
    case("mse-weighted", M.MeanSquaredError, CAT_TRUE.astype(int), CAT_PRED.astype(int), 0.54285, REG_WEIGHT,
         atol=1e-5),
    case("mae-unweighted", M.MeanAbsoluteError, CAT_TRUE.astype(int), CAT_PRED.astype(int), 0.5, atol=1e-5),
    case("mae-weighted", M.MeanAbsoluteError, CAT_TRUE.astype(int), CAT_PRED.astype(int), 0.54285, REG_WEIGHT,
         atol=1e-5),
    case("mape-unweighted", M.MeanAbsolutePercentageError, CAT_TRUE.astype(int), CAT_PRED, 35e7, atol=1e-5),
    case("mape-weighted", M.MeanAbsolutePercentageError, CAT_TRUE.astype(int), CAT_PRED, 40e7, REG_WEIGHT,
         atol=1e-5),
    case("msle-unweighted", M.MeanSquaredLogarithmicError, CAT_TRUE.astype(int), CAT_PRED.astype(int), 0.24022,
         atol=1e-5),
    case("msle-weighted", M.MeanSquaredLogarithmicError, CAT_TRUE.astype(int), CAT_PRED.astype(int), 0.26082,
         REG_WEIGHT, atol=1e-5),
    # RootMeanSquaredErrorTest
    case("rmse-unweighted", M.RootMeanSquaredError, np.array([2, 4, 6]), np.array([1, 3, 2]), np.sqrt(6),
         atol=1e-3),
    case("rmse-weighted", M.RootMeanSquaredError, np.array([2, 4, 6, 8]), np.array([1, 3, 2, 3]), np.sqrt(13),
         np.array([0, 1, 0, 1]), atol=1e-3),
    # LogCoshErrorTest
    case("logcosh-unweighted", M.LogCoshError, COS_TRUE, COS_PRED, np.sum(LOGCOSH) / 6, atol=1e-3),
    case("logcosh-weighted", lambda: M.LogCoshError(dtype="float32"), COS_TRUE, COS_PRED,
         np.sum(LOGCOSH * ROW_WEIGHT_FULL) / np.sum(ROW_WEIGHT_FULL), np.array([[1.2], [3.4]]), atol=1e-3),
    # CosineSimilarityTest
    case("cosine-unweighted", M.CosineSimilarity, COS_TRUE, COS_PRED, np.mean(COS), decimal=3),
    case("cosine-weighted", M.CosineSimilarity, COS_TRUE, COS_PRED,
         np.sum(COS * np.asarray([1.2, 3.4])) / np.sum([1.2, 3.4]), np.asarray([1.2, 3.4]), decimal=3),
    case("cosine-axis", lambda: M.CosineSimilarity(axis=1), COS_TRUE, COS_PRED, np.mean(COS), decimal=3),
    # the classes' docstring examples
    case("doc-kld", M.KLDivergence, DOC_TRUE, DOC_PROBS, 0.45814306),
    case("doc-kld-weighted", M.KLDivergence, DOC_TRUE, DOC_PROBS, 0.9162892, [1, 0]),
    case("doc-poisson", M.Poisson, DOC_TRUE, DOC_PRED, 0.49999997),
    case("doc-poisson-weighted", M.Poisson, DOC_TRUE, DOC_PRED, 0.99999994, [1, 0]),
    case("doc-bce", M.BinaryCrossentropy, DOC_TRUE, DOC_PROBS, 0.81492424),
    case("doc-bce-weighted", M.BinaryCrossentropy, DOC_TRUE, DOC_PROBS, 0.9162905, [1, 0]),
    case("doc-cce", M.CategoricalCrossentropy, CCE_TRUE, CCE_PRED, 1.1769392),
    case("doc-cce-weighted", M.CategoricalCrossentropy, CCE_TRUE, CCE_PRED, 1.6271976, np.array([0.3, 0.7])),
    case("doc-scce", M.SparseCategoricalCrossentropy, [1, 2], CCE_PRED, 1.1769392),
    case("doc-scce-weighted", M.SparseCategoricalCrossentropy, [1, 2], CCE_PRED, 1.6271976, np.array([0.3, 0.7])),
    case("doc-hinge", M.Hinge, DOC_TRUE, DOC_PROBS, 1.3),
    case("doc-hinge-weighted", M.Hinge, DOC_TRUE, DOC_PROBS, 1.1, [1, 0]),
    case("doc-squared-hinge", M.SquaredHinge, DOC_TRUE, DOC_PROBS, 1.86),
    case("doc-squared-hinge-weighted", M.SquaredHinge, DOC_TRUE, DOC_PROBS, 1.46, [1, 0]),
    case("doc-categorical-hinge", M.CategoricalHinge, DOC_TRUE, DOC_PROBS, 1.4000001),
    case("doc-categorical-hinge-weighted", M.CategoricalHinge, DOC_TRUE, DOC_PROBS, 1.2, [1, 0]),
    case("doc-mse", M.MeanSquaredError, DOC_TRUE, DOC_PRED, 0.25),
    case("doc-mae", M.MeanAbsoluteError, DOC_TRUE, DOC_PRED, 0.25),
    case("doc-mae-weighted", M.MeanAbsoluteError, DOC_TRUE, DOC_PRED, 0.5, [1, 0]),
    case("doc-mape", M.MeanAbsolutePercentageError, DOC_TRUE, DOC_PRED, 250000000.0),
    case("doc-mape-weighted", M.MeanAbsolutePercentageError, DOC_TRUE, DOC_PRED, 500000000.0, [1, 0]),
    case("doc-msle", M.MeanSquaredLogarithmicError, DOC_TRUE, DOC_PRED, 0.12011322),
    case("doc-msle-weighted", M.MeanSquaredLogarithmicError, DOC_TRUE, DOC_PRED, 0.24022643, [1, 0]),
    case("doc-rmse", M.RootMeanSquaredError, DOC_TRUE, DOC_PRED, 0.5),
    case("doc-rmse-weighted", M.RootMeanSquaredError, DOC_TRUE, DOC_PRED, 0.70710677, [1, 0]),
    case("doc-cosine", lambda: M.CosineSimilarity(axis=1), [[0.0, 1.0], [1.0, 1.0]], [[1.0, 0.0], [1.0, 1.0]],
         0.49999997),
    case("doc-cosine-weighted", lambda: M.CosineSimilarity(axis=1), [[0.0, 1.0], [1.0, 1.0]],
         [[1.0, 0.0], [1.0, 1.0]], 0.6999999, [0.3, 0.7]),
    case("doc-logcosh", M.LogCoshError, DOC_TRUE, DOC_PRED, 0.10844523),
    case("doc-logcosh-weighted", M.LogCoshError, DOC_TRUE, DOC_PRED, 0.21689045, [1, 0]),
    case("doc-r2", M.R2Score, np.array([[1], [4], [3]], dtype=np.float32), np.array([[2], [4], [4]], dtype=np.float32),
         0.57142854),
]


@pytest.mark.parametrize("make, y_true, y_pred, sample_weight, expected, atol, decimal", CASES)
def test_metric_gives_keras_number(make, y_true, y_pred, sample_weight, expected, atol, decimal):
    result = make()(y_true, y_pred, sample_weight=sample_weight)
    if decimal is not None:
        almost_equal(result, expected, decimal)
    else:
        all_close(result, expected, atol=atol)


# ------------------------------------------------------------------ R2ScoreTest

R2_TRUE = [[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]


@pytest.mark.parametrize("class_aggregation, num_regressors, expected", [
    (None, 0, [0.37, -1.295, 0.565]),
    ("uniform_average", 0, -0.12),
    ("variance_weighted_average", 0, -0.12),
])
def test_r2_sklearn_comparison(class_aggregation, num_regressors, expected):
    r2 = M.R2Score(class_aggregation, num_regressors, dtype="float32")
    r2.update_state(R2_TRUE, [[0.4, 0.5, 0.6], [0.1, 0.2, 0.3], [0.5, 0.8, 0.2]], None)
    all_close(r2.result(), expected)


@pytest.mark.parametrize("class_aggregation, num_regressors, expected", [
    (None, 0, [0.17305559, -8.836666, -0.521]),
    (None, 1, [0.054920673, -10.241904, -0.7382858]),
    (None, 2, [-0.10259259, -12.115555, -1.0280001]),
    ("uniform_average", 0, -3.0615367889404297),
    ("uniform_average", 1, -3.641756534576416),
    ("uniform_average", 2, -4.415382385253906),
    ("variance_weighted_average", 0, -1.3710224628448486),
    ("variance_weighted_average", 1, -1.7097399234771729),
    ("variance_weighted_average", 2, -2.161363363265991),
])
def test_r2_tfa_comparison(class_aggregation, num_regressors, expected):
    r2 = M.R2Score(class_aggregation, num_regressors, dtype="float32")
    r2.update_state(R2_TRUE, [[0.4, 0.9, 1.6], [0.1, 1.2, 0.6], [1.5, 0.8, 0.6]], [0.8, 0.1, 0.4])
    all_close(r2.result(), expected)


def test_r2_errors():
    with pytest.raises(ValueError, match="Invalid value for argument `class_aggregation`"):
        M.R2Score(class_aggregation="wrong")
    with pytest.raises(ValueError, match="Invalid value for argument `num_regressors`"):
        M.R2Score(num_regressors=-1)
    with pytest.raises(ValueError, match="expects 2D inputs with shape"):
        M.R2Score().update_state([0.0, 1.0], [0.0, 1.0])


def test_r2_config_round_trip():
    r2 = M.R2Score(class_aggregation=None, num_regressors=2, dtype="float32")
    again = M.R2Score.from_config(r2.get_config())
    assert (again.class_aggregation, again.num_regressors, again.dtype) == (None, 2, "float32")


# ------------------------------------------------------------------ the test_config tests

@pytest.mark.parametrize("cls, name, args", [
    (M.KLDivergence, "kld", {}),
    (M.Poisson, "poisson", {}),
    (M.BinaryCrossentropy, "bce", {"label_smoothing": 0.2}),
    (M.CategoricalCrossentropy, "cce", {"label_smoothing": 0.2}),
    (M.SparseCategoricalCrossentropy, "scce", {}),
    (M.Hinge, "hinge", {}),
    (M.SquaredHinge, "squared_hinge", {}),
    (M.CategoricalHinge, "cat_hinge", {}),
    (M.CosineSimilarity, "my_cos", {"axis": 2}),
    (M.MeanAbsoluteError, "my_mae", {}),
    (M.MeanAbsolutePercentageError, "my_mape", {}),
    (M.MeanSquaredLogarithmicError, "my_msle", {}),
    (M.RootMeanSquaredError, "rmse", {}),
    (M.LogCoshError, "logcosh", {}),
])
def test_config_round_trip_keeps_name_dtype_and_arguments(cls, name, args):
    metric = cls(name=name, dtype="int32", **args)
    assert metric.name == name and metric.dtype == "int32"
    again = cls.from_config(metric.get_config())
    assert again.name == name and again.dtype == "int32" and len(again.variables) == 2
    assert again.get_config() == metric.get_config()
    for key, value in args.items():
        assert again.get_config()[key] == value
