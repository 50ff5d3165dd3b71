"""Keras 3's own loss unit tests (keras/src/losses/losses_test.py), ported.

Inputs and expected numbers are Keras's literals (or, where Keras's test
computes them, the same closed form in numpy); the tolerances are Keras's:
``assertAlmostEqual`` checks ``decimal`` places (3 unless the test says
otherwise), ``assertAllClose`` 1e-6 absolute and relative. Keras's
``dtype="bfloat16"`` tests use float16 here (numpy has no bfloat16).
"""
import numpy as np
import pytest

from graphc import keras

L = keras.losses

# ------------------------------------------------------------------ inputs
REG_TRUE = np.array([[1, 9, 2], [-5, -2, 6]])
REG_PRED = np.array([[4, 8, 12], [8, 1, 3]], dtype="float32")
TS_TRUE = np.asarray([1, 9, 2, -5, -2, 6]).reshape(2, 3, 1)
TS_PRED = np.asarray([4, 8, 12, 8, 1, 3]).reshape(2, 3, 1)
TS_WEIGHT = np.array([3, 6, 5, 0, 4, 2]).reshape((2, 3))
SAMPLE_WEIGHT = np.array([[1.2], [3.4]])

HINGE_TRUE = np.array([[0.0, 1.0], [0.0, 0.0]])
HINGE_PRED = np.array([[0.6, 0.4], [0.4, 0.6]])

ONE_HOT = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1]])
EYE = np.eye(3, dtype="float32")
CCE_PRED = np.array([[0.9, 0.05, 0.05], [0.5, 0.89, 0.6], [0.05, 0.01, 0.94]], dtype="float32")
CCE_LOGITS = np.array([[8.0, 1.0, 1.0], [0.0, 9.0, 1.0], [2.0, 3.0, 5.0]])
CCE_WEIGHT = np.array([[1.2], [3.4], [5.6]])
LABELS = np.array([[0], [1], [2]])

BCE_PROBS = np.array([[0.9, 0.1, 0.2], [0.3, 0.8, 0.1], [0.1, 0.2, 0.7]], dtype="float32")
BCE_TRUE = np.array([1, 0, 1, 0]).reshape([2, 2])
BCE_PRED = np.array([1, 1, 1, 0], dtype="float32").reshape([2, 2])
BCE_LOGITS_TRUE = np.array([[1, 0, 1], [0, 1, 1]])
BCE_LOGITS = np.array([[10.0, -10.0, 10.0], [10.0, 10.0, -10.0]])

FOCAL_TRUE = np.asarray([1, 0, 1, 0]).reshape([2, 2])
FOCAL_PRED = np.asarray([0.9, 0.8, 0.7, 0.2], dtype="float32").reshape([2, 2])
FOCAL_LOGITS_TRUE = np.array([[1, 1, 0], [0, 1, 0]], dtype="float32")
FOCAL_LOGITS = np.array([[1.5, -2.7, 2.9], [-3.8, 1.2, -4.5]])

SEG_TRUE = np.array([[0, 1, 1, 0], [1, 0, 1, 0], [0, 0, 1, 1], [1, 1, 0, 1]])
SEG_EXACT = np.eye(2)[SEG_TRUE]
SEG_PRED = SEG_EXACT.copy()
SEG_PRED[0, 3] = [0.2, 0.8]
SEG_PRED[3, 3] = [0.6, 0.4]
MULTI_TRUE = np.array([[0, 1, 2, 0], [1, 0, 1, 0], [0, 0, 1, 1], [1, 1, 0, 1]])
MULTI_EXACT = np.eye(3)[MULTI_TRUE]
MULTI_PRED = MULTI_EXACT.copy()
MULTI_PRED[0, 3] = [0.2, 0.0, 0.8]
MULTI_PRED[1, 0] = [0.7, 0.3, 0.0]
MULTI_PRED[3, 2] = [0.5, 0.5, 0.0]


# ------------------------------------------- closed forms from Keras's tests

def l2_norm(x, axis):
    return x / np.sqrt(np.maximum(np.sum(np.square(x), axis=axis, keepdims=True), 1e-12))


def cosine(y_true, y_pred, axis):
    return np.sum(l2_norm(y_true, axis) * l2_norm(y_pred, axis), axis=axis)


def huber(y_true, y_pred, delta=1.0):
    abs_error = np.abs(y_pred - y_true)
    quadratic = np.minimum(abs_error, delta)
    return 0.5 * quadratic * quadratic + delta * (abs_error - quadratic)


def log_cosh(y_true, y_pred):
    error = y_pred - y_true
    return np.log((np.exp(error) + np.exp(-error)) / 2)


COS_TRUE = np.asarray([[1, 9, 2], [-5, -2, 6]], dtype=np.float32)
COS_PRED = np.asarray([[4, 8, 12], [8, 1, 3]], dtype=np.float32)
COS = cosine(COS_TRUE, COS_PRED, 1)
COS_TS = cosine(COS_TRUE.reshape(2, 3, 1), COS_PRED.reshape(2, 3, 1), 2)
HUBER_PRED = np.array([[0.9, 0.2, 0.2], [0.8, 0.4, 0.6]])
HUBER_TRUE = np.array([[1.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
HUBER = huber(HUBER_TRUE, HUBER_PRED)
HUBER_ROWS = np.asarray([1.2, 1.2, 1.2, 3.4, 3.4, 3.4]).reshape((2, 3))
TS_WEIGHT_3D = TS_WEIGHT.reshape((2, 3, 1))
LOGCOSH = log_cosh(COS_TRUE, COS_PRED)
LOGCOSH_TS = log_cosh(TS_TRUE, TS_PRED)
KL_PRED = np.asarray([0.4, 0.9, 0.12, 0.36, 0.3, 0.4], dtype=np.float32).reshape((2, 3))
KL_TRUE = np.asarray([0.5, 0.8, 0.12, 0.7, 0.43, 0.8], dtype=np.float32).reshape((2, 3))
KL = KL_TRUE * np.log(KL_TRUE / KL_PRED)
POISSON_PRED = np.asarray([1, 9, 2, 5, 2, 6], dtype=np.float32).reshape((2, 3))
POISSON_TRUE = np.asarray([4, 8, 12, 8, 1, 3], dtype=np.float32).reshape((2, 3))
POISSON = POISSON_PRED - POISSON_TRUE * np.log(POISSON_PRED)


def case(ident, loss, y_true, y_pred, expected, sample_weight=None, decimal=3, allclose=None):
    """One Keras assertion: assertAlmostEqual(decimal), or assertAllClose(atol) when ``allclose`` is given."""
    return pytest.param(loss, y_true, y_pred, sample_weight, expected, decimal, allclose, id=ident)


CASES = [
    # MeanSquaredErrorTest
    case("mse-all-correct", L.MeanSquaredError, REG_PRED, REG_PRED, 0.0),
    case("mse-unweighted", L.MeanSquaredError, REG_TRUE, REG_PRED, 49.5),
    case("mse-scalar-weighted", L.MeanSquaredError, REG_TRUE, REG_PRED, 113.85, 2.3),
    case("mse-sample-weighted", L.MeanSquaredError, REG_TRUE, REG_PRED, 767.8 / 6, SAMPLE_WEIGHT),
    case("mse-timestep-weighted", L.MeanSquaredError, TS_TRUE, TS_PRED, 97.833336, TS_WEIGHT),
    case("mse-zero-weighted", L.MeanSquaredError, REG_TRUE, REG_PRED, 0.0, 0),
    case("mse-no-reduction", lambda: L.MeanSquaredError(reduction=None), REG_TRUE, REG_PRED, [84.3333, 143.3666], 2.3),
    case("mse-sum", lambda: L.MeanSquaredError(reduction="sum"), REG_TRUE, REG_PRED, 227.69998, 2.3),
    case("mse-mean-with-sample-weight", lambda: L.MeanSquaredError(reduction="mean_with_sample_weight"),
         REG_TRUE, REG_PRED, (110 / 3 * 1.2 + 187 / 3 * 3.4) / (1.2 + 3.4), SAMPLE_WEIGHT),
    # MeanAbsoluteErrorTest
    case("mae-all-correct", L.MeanAbsoluteError, REG_PRED, REG_PRED, 0.0),
    case("mae-unweighted", L.MeanAbsoluteError, REG_TRUE, REG_PRED, 5.5),
    case("mae-scalar-weighted", L.MeanAbsoluteError, REG_TRUE, REG_PRED, 12.65, 2.3),
    case("mae-sample-weighted", L.MeanAbsoluteError, REG_TRUE, REG_PRED, 81.4 / 6, SAMPLE_WEIGHT),
    case("mae-timestep-weighted", L.MeanAbsoluteError, TS_TRUE, TS_PRED, 13.833333, TS_WEIGHT),
    case("mae-zero-weighted", L.MeanAbsoluteError, REG_TRUE, REG_PRED, 0.0, 0),
    case("mae-no-reduction", lambda: L.MeanAbsoluteError(reduction=None), REG_TRUE, REG_PRED, [10.7333, 14.5666], 2.3),
    case("mae-sum", lambda: L.MeanAbsoluteError(reduction="sum"), REG_TRUE, REG_PRED, 25.29999, 2.3),
    case("mae-mean-with-sample-weight", lambda: L.MeanAbsoluteError(reduction="mean_with_sample_weight"),
         REG_TRUE, REG_PRED, (14 / 3 * 1.2 + 19 / 3 * 3.4) / (1.2 + 3.4), SAMPLE_WEIGHT),
    # MeanAbsolutePercentageErrorTest
    case("mape-all-correct", L.MeanAbsolutePercentageError, REG_PRED, REG_PRED, 0.0),
    case("mape-unweighted", L.MeanAbsolutePercentageError, REG_TRUE, REG_PRED, 211.8518),
    case("mape-scalar-weighted", L.MeanAbsolutePercentageError, REG_TRUE, REG_PRED, 487.259, 2.3),
    case("mape-sample-weighted", L.MeanAbsolutePercentageError, REG_TRUE, REG_PRED, 422.8888, SAMPLE_WEIGHT),
    case("mape-timestep-weighted", L.MeanAbsolutePercentageError, TS_TRUE, TS_PRED, 694.4444, TS_WEIGHT),
    case("mape-zero-weighted", L.MeanAbsolutePercentageError, REG_TRUE, REG_PRED, 0.0, 0),
    case("mape-no-reduction", lambda: L.MeanAbsolutePercentageError(reduction=None), REG_TRUE, REG_PRED,
         [621.8518, 352.6666], 2.3),
    case("mape-mean-with-sample-weight", lambda: L.MeanAbsolutePercentageError(reduction="mean_with_sample_weight"),
         REG_TRUE, REG_PRED, 183.865, SAMPLE_WEIGHT),
    # MeanSquaredLogarithmicErrorTest
    case("msle-unweighted", L.MeanSquaredLogarithmicError, REG_TRUE, REG_PRED, 1.4370),
    case("msle-scalar-weighted", L.MeanSquaredLogarithmicError, REG_TRUE, REG_PRED, 3.3051, 2.3),
    case("msle-sample-weighted", L.MeanSquaredLogarithmicError, REG_TRUE, REG_PRED, 3.7856, SAMPLE_WEIGHT),
    case("msle-timestep-weighted", L.MeanSquaredLogarithmicError, TS_TRUE, TS_PRED, 2.647374, TS_WEIGHT),
    case("msle-zero-weighted", L.MeanSquaredLogarithmicError, REG_TRUE, REG_PRED, 0.0, 0),
    case("msle-mean-with-sample-weight", lambda: L.MeanSquaredLogarithmicError(reduction="mean_with_sample_weight"),
         REG_TRUE, REG_PRED, 1.646, SAMPLE_WEIGHT),
    # HingeTest, SquaredHingeTest, CategoricalHingeTest
    case("hinge-sum-over-batch-size", L.Hinge, HINGE_TRUE, HINGE_PRED, 1.3),
    case("hinge-sum", lambda: L.Hinge(reduction="sum"), HINGE_TRUE, HINGE_PRED, 2.6),
    case("hinge-none", lambda: L.Hinge(reduction=None), HINGE_TRUE, HINGE_PRED, [1.1, 1.5], allclose=1e-6),
    case("hinge-weighted", L.Hinge, HINGE_TRUE, HINGE_PRED, 0.55, [1, 0]),
    case("hinge-weighted-sum", lambda: L.Hinge(reduction="sum"), HINGE_TRUE, HINGE_PRED, 1.1, [1, 0]),
    case("hinge-weighted-none", lambda: L.Hinge(reduction=None), HINGE_TRUE, HINGE_PRED, [1.1, 0.0], [1, 0]),
    case("hinge-zero-weighted", L.Hinge, HINGE_TRUE, HINGE_PRED, 0.0, 0.0),
    case("squared-hinge-sum-over-batch-size", L.SquaredHinge, HINGE_TRUE, HINGE_PRED, 1.86),
    case("squared-hinge-sum", lambda: L.SquaredHinge(reduction="sum"), HINGE_TRUE, HINGE_PRED, 3.72),
    case("squared-hinge-none", lambda: L.SquaredHinge(reduction=None), HINGE_TRUE, HINGE_PRED, [1.46, 2.26],
         allclose=1e-6),
    case("squared-hinge-weighted", L.SquaredHinge, HINGE_TRUE, HINGE_PRED, 0.73, [1, 0]),
    case("squared-hinge-weighted-sum", lambda: L.SquaredHinge(reduction="sum"), HINGE_TRUE, HINGE_PRED, 1.46, [1, 0]),
    case("squared-hinge-weighted-none", lambda: L.SquaredHinge(reduction=None), HINGE_TRUE, HINGE_PRED, [1.46, 0.0],
         [1, 0]),
    case("squared-hinge-zero-weighted", L.SquaredHinge, HINGE_TRUE, HINGE_PRED, 0.0, 0.0),
    case("categorical-hinge-sum-over-batch-size", L.CategoricalHinge, HINGE_TRUE, HINGE_PRED, 1.4),
    case("categorical-hinge-sum", lambda: L.CategoricalHinge(reduction="sum"), HINGE_TRUE, HINGE_PRED, 2.8),
    case("categorical-hinge-none", lambda: L.CategoricalHinge(reduction=None), HINGE_TRUE, HINGE_PRED, [1.2, 1.6],
         allclose=1e-6),
    case("categorical-hinge-weighted", L.CategoricalHinge, HINGE_TRUE, HINGE_PRED, 0.6, [1, 0]),
    case("categorical-hinge-weighted-sum", lambda: L.CategoricalHinge(reduction="sum"), HINGE_TRUE, HINGE_PRED, 1.2,
         [1, 0]),
    case("categorical-hinge-weighted-none", lambda: L.CategoricalHinge(reduction=None), HINGE_TRUE, HINGE_PRED,
         [1.2, 0.0], [1, 0]),
    case("categorical-hinge-zero-weighted", L.CategoricalHinge, HINGE_TRUE, HINGE_PRED, 0.0, 0.0),
    # CosineSimilarityTest
    case("cosine-unweighted", L.CosineSimilarity, COS_TRUE, COS_PRED, -np.mean(COS)),
    case("cosine-scalar-weighted", L.CosineSimilarity, COS_TRUE, COS_PRED, -np.mean(COS * 2.3), 2.3),
    case("cosine-sample-weighted", L.CosineSimilarity, COS_TRUE, COS_PRED, -np.mean(COS * np.asarray([1.2, 3.4])),
         np.asarray([1.2, 3.4])),
    case("cosine-timestep-weighted", L.CosineSimilarity, COS_TRUE.reshape(2, 3, 1), COS_PRED.reshape(2, 3, 1),
         -np.mean(COS_TS * TS_WEIGHT), TS_WEIGHT),
    case("cosine-zero-weighted", L.CosineSimilarity, COS_TRUE, COS_PRED, 0.0, 0),
    case("cosine-axis", lambda: L.CosineSimilarity(axis=1), COS_TRUE, COS_PRED, -np.mean(COS)),
    # HuberLossTest
    case("huber-all-correct", L.Huber, HUBER_TRUE, HUBER_TRUE, 0.0),
    case("huber-unweighted", L.Huber, HUBER_TRUE, HUBER_PRED, np.sum(HUBER) / 6),
    case("huber-scalar-weighted", L.Huber, HUBER_TRUE, HUBER_PRED, 2.3 * np.sum(HUBER) / 6, 2.3),
    case("huber-sample-weighted", L.Huber, HUBER_TRUE, HUBER_PRED, np.sum(HUBER * HUBER_ROWS) / 6, SAMPLE_WEIGHT),
    case("huber-timestep-weighted", L.Huber, HUBER_TRUE.reshape(2, 3, 1), HUBER_PRED.reshape(2, 3, 1),
         np.sum(huber(HUBER_TRUE.reshape(2, 3, 1), HUBER_PRED.reshape(2, 3, 1)) * TS_WEIGHT_3D) / 6, TS_WEIGHT_3D),
    case("huber-zero-weighted", L.Huber, HUBER_TRUE, HUBER_PRED, 0.0, 0),
    case("huber-non-default-delta", lambda: L.Huber(delta=0.8), HUBER_TRUE, HUBER_PRED,
         2.3 * np.sum(huber(HUBER_TRUE, HUBER_PRED, 0.8)) / 6, 2.3),
    # LogCoshTest
    case("log-cosh-unweighted", L.LogCosh, COS_TRUE, COS_PRED, np.sum(LOGCOSH) / 6),
    case("log-cosh-scalar-weighted", L.LogCosh, COS_TRUE, COS_PRED, 2.3 * np.sum(LOGCOSH) / 6, 2.3),
    case("log-cosh-sample-weighted", L.LogCosh, COS_TRUE, COS_PRED, np.sum(LOGCOSH * HUBER_ROWS) / 6,
         np.asarray([1.2, 3.4])),
    case("log-cosh-timestep-weighted", L.LogCosh, TS_TRUE, TS_PRED, np.sum(LOGCOSH_TS * TS_WEIGHT_3D) / 6,
         TS_WEIGHT_3D),
    case("log-cosh-zero-weighted", L.LogCosh, COS_TRUE, COS_PRED, 0.0, 0),
    # KLDivergenceTest
    case("kld-unweighted", L.KLDivergence, KL_TRUE, KL_PRED, np.sum(KL) / 2),
    case("kld-scalar-weighted", L.KLDivergence, KL_TRUE, KL_PRED, 2.3 * np.sum(KL) / 2, 2.3),
    case("kld-sample-weighted", L.KLDivergence, KL_TRUE, KL_PRED, np.sum(KL * HUBER_ROWS) / 2,
         np.asarray([1.2, 3.4], dtype=np.float32).reshape((2, 1))),
    case("kld-timestep-weighted", L.KLDivergence, KL_TRUE.reshape(2, 3, 1), KL_PRED.reshape(2, 3, 1),
         np.sum(KL * TS_WEIGHT) / (2 * 3), TS_WEIGHT),
    case("kld-zero-weighted", L.KLDivergence, KL_TRUE, KL_PRED, 0.0, 0),
    # PoissonTest
    case("poisson-unweighted", L.Poisson, POISSON_TRUE, POISSON_PRED, np.sum(POISSON) / 6),
    case("poisson-scalar-weighted", L.Poisson, POISSON_TRUE, POISSON_PRED, 2.3 * np.sum(POISSON) / 6, 2.3),
    case("poisson-sample-weighted", L.Poisson, POISSON_TRUE, POISSON_PRED, np.sum(POISSON * HUBER_ROWS) / 6,
         np.asarray([1.2, 3.4]).reshape((2, 1))),
    case("poisson-timestep-weighted", L.Poisson, POISSON_TRUE.reshape(2, 3, 1), POISSON_PRED.reshape(2, 3, 1),
         np.sum(POISSON * TS_WEIGHT) / 6, TS_WEIGHT),
    case("poisson-zero-weighted", L.Poisson, POISSON_TRUE, POISSON_PRED, 0.0, 0),
    # BinaryCrossentropyTest
    case("bce-all-correct", L.BinaryCrossentropy, EYE, EYE, 0.0),
    case("bce-all-correct-logits", lambda: L.BinaryCrossentropy(from_logits=True), EYE, 20.0 * EYE - 10.0, 0.0),
    case("bce-unweighted", L.BinaryCrossentropy, EYE, BCE_PROBS, 0.20046903, allclose=1e-6),
    case("bce-unweighted-clipped", L.BinaryCrossentropy, BCE_TRUE, BCE_PRED, 3.98559),
    case("bce-unweighted-logits", lambda: L.BinaryCrossentropy(from_logits=True), BCE_LOGITS_TRUE, BCE_LOGITS, 3.3333),
    case("bce-scalar-weighted", L.BinaryCrossentropy, BCE_TRUE, BCE_PRED, 9.1668, 2.3),
    case("bce-scalar-weighted-logits", lambda: L.BinaryCrossentropy(from_logits=True), BCE_LOGITS_TRUE, BCE_LOGITS,
         7.666, 2.3),
    case("bce-sample-weighted", L.BinaryCrossentropy, BCE_TRUE, BCE_PRED, 4.7827, SAMPLE_WEIGHT),
    case("bce-sample-weighted-logits", lambda: L.BinaryCrossentropy(from_logits=True), BCE_LOGITS_TRUE, BCE_LOGITS,
         10.0, np.array([4, 3])),
    case("bce-no-reduction", lambda: L.BinaryCrossentropy(from_logits=True, reduction=None), BCE_LOGITS_TRUE,
         BCE_LOGITS, [0.0, 6.666], allclose=1e-3),
    case("bce-label-smoothing", lambda: L.BinaryCrossentropy(from_logits=True, label_smoothing=0.1),
         np.array([[1, 0, 1]]), np.array([[10.0, -10.0, -10.0]]), (10.0 + 5.0 * 0.1) / 3.0),
    # CategoricalCrossentropyTest
    case("cce-all-correct", L.CategoricalCrossentropy, ONE_HOT.astype("int64"), EYE, 0.0),
    case("cce-all-correct-logits", lambda: L.CategoricalCrossentropy(from_logits=True), ONE_HOT,
         10.0 * np.eye(3), 0.0),
    case("cce-unweighted", L.CategoricalCrossentropy, ONE_HOT, CCE_PRED, 0.3239),
    case("cce-unweighted-logits", lambda: L.CategoricalCrossentropy(from_logits=True), ONE_HOT, CCE_LOGITS, 0.0573),
    case("cce-scalar-weighted", L.CategoricalCrossentropy, ONE_HOT, CCE_PRED, 0.7449, 2.3),
    case("cce-scalar-weighted-logits", lambda: L.CategoricalCrossentropy(from_logits=True), ONE_HOT, CCE_LOGITS,
         0.1317, 2.3),
    case("cce-sample-weighted", L.CategoricalCrossentropy, ONE_HOT, CCE_PRED, 1.0696, CCE_WEIGHT),
    case("cce-sample-weighted-logits", lambda: L.CategoricalCrossentropy(from_logits=True), ONE_HOT, CCE_LOGITS,
         0.31829, CCE_WEIGHT),
    case("cce-no-reduction", lambda: L.CategoricalCrossentropy(from_logits=True, reduction=None), ONE_HOT, CCE_LOGITS,
         (0.001822, 0.000459, 0.169846), allclose=1e-6),
    case("cce-label-smoothing", lambda: L.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1),
         np.array([[1, 0, 0]]), np.array([[100.0, -100.0, -100.0]]), 400.0 * 0.1 / 3.0),
    # SparseCategoricalCrossentropyTest
    case("scce-all-correct", L.SparseCategoricalCrossentropy, LABELS.astype("int64"), EYE, 0.0),
    case("scce-all-correct-logits", lambda: L.SparseCategoricalCrossentropy(from_logits=True), LABELS,
         10.0 * np.eye(3), 0.0),
    case("scce-unweighted", L.SparseCategoricalCrossentropy, np.array([0, 1, 2]), CCE_PRED, 0.3239),
    case("scce-unweighted-logits", lambda: L.SparseCategoricalCrossentropy(from_logits=True), np.array([0, 1, 2]),
         CCE_LOGITS, 0.0573),
    case("scce-scalar-weighted", L.SparseCategoricalCrossentropy, LABELS, CCE_PRED, 0.7449, 2.3),
    case("scce-scalar-weighted-logits", lambda: L.SparseCategoricalCrossentropy(from_logits=True), LABELS, CCE_LOGITS,
         0.1317, 2.3),
    case("scce-sample-weighted", L.SparseCategoricalCrossentropy, LABELS, CCE_PRED, 1.0696, CCE_WEIGHT),
    case("scce-sample-weighted-logits", lambda: L.SparseCategoricalCrossentropy(from_logits=True), LABELS, CCE_LOGITS,
         0.31829, CCE_WEIGHT),
    case("scce-no-reduction", lambda: L.SparseCategoricalCrossentropy(from_logits=True, reduction=None), LABELS,
         CCE_LOGITS, (0.001822, 0.000459, 0.169846), allclose=1e-6),
    case("scce-ignore-class", lambda: L.SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1,
                                                                      reduction=None),
         np.array([[-1, 2]]), np.array([[[0.854, 0.698, 0.598], [0.088, 0.86, 0.018]]]), [[0.0, 1.480129]],
         allclose=1e-6),
    case("scce-ignore-class-unit-axis", lambda: L.SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1,
                                                                                reduction=None),
         np.array([[[-1], [2]]]), np.array([[[0.854, 0.698, 0.598], [0.088, 0.86, 0.018]]]), [[0.0, 1.480129]],
         allclose=1e-6),
    case("scce-binary-segmentation-exact", L.SparseCategoricalCrossentropy, SEG_TRUE, SEG_EXACT, 0.0, allclose=1e-6),
    case("scce-binary-segmentation", L.SparseCategoricalCrossentropy, SEG_TRUE, SEG_PRED,
         (-np.log(0.2) - np.log(0.4)) / 16.0, allclose=1e-6),
    case("scce-binary-segmentation-axis-0", lambda: L.SparseCategoricalCrossentropy(axis=0), SEG_TRUE,
         np.moveaxis(SEG_PRED, 2, 0), (-np.log(0.2) - np.log(0.4)) / 16.0, allclose=1e-6),
    case("scce-binary-segmentation-axis-1", lambda: L.SparseCategoricalCrossentropy(axis=1),
         np.array([SEG_TRUE] * 3), np.array([np.moveaxis(SEG_PRED, 2, 0)] * 3), (-np.log(0.2) - np.log(0.4)) / 16.0,
         allclose=1e-6),
    case("scce-multi-class-segmentation-exact", L.SparseCategoricalCrossentropy, MULTI_TRUE, MULTI_EXACT, 0.0,
         allclose=1e-6),
    case("scce-multi-class-segmentation", L.SparseCategoricalCrossentropy, MULTI_TRUE, MULTI_PRED,
         (-np.log(0.2) - np.log(0.3) - np.log(0.5)) / 16.0, allclose=1e-6),
    case("scce-multi-class-segmentation-axis-0", lambda: L.SparseCategoricalCrossentropy(axis=0), MULTI_TRUE,
         np.moveaxis(MULTI_PRED, 2, 0), (-np.log(0.2) - np.log(0.3) - np.log(0.5)) / 16.0, allclose=1e-6),
    # BinaryFocalCrossentropyTest
    case("bfce-all-correct", lambda: L.BinaryFocalCrossentropy(gamma=1.5), EYE, EYE, 0.0),
    case("bfce-all-correct-logits", lambda: L.BinaryFocalCrossentropy(gamma=2.0, from_logits=True), EYE,
         200.0 * EYE - 100.0, 0.0),
    case("bfce-unweighted", lambda: L.BinaryFocalCrossentropy(gamma=2.0), FOCAL_TRUE, FOCAL_PRED, 0.268),
    case("bfce-unweighted-logits", lambda: L.BinaryFocalCrossentropy(gamma=3.0, from_logits=True), FOCAL_LOGITS_TRUE,
         FOCAL_LOGITS, 0.799),
    case("bfce-scalar-weighted", lambda: L.BinaryFocalCrossentropy(gamma=2.0), FOCAL_TRUE, FOCAL_PRED, 0.3296, 1.23),
    case("bfce-scalar-weighted-logits", lambda: L.BinaryFocalCrossentropy(gamma=3.0, from_logits=True),
         FOCAL_LOGITS_TRUE, FOCAL_LOGITS, 2.565, 3.21),
    case("bfce-sample-weighted", lambda: L.BinaryFocalCrossentropy(gamma=2.0), FOCAL_TRUE, FOCAL_PRED, 0.34415,
         SAMPLE_WEIGHT),
    case("bfce-sample-weighted-logits", lambda: L.BinaryFocalCrossentropy(gamma=3.0, from_logits=True),
         FOCAL_LOGITS_TRUE, FOCAL_LOGITS, 0.95977, SAMPLE_WEIGHT),
    case("bfce-no-reduction", lambda: L.BinaryFocalCrossentropy(gamma=2.0, reduction=None), FOCAL_TRUE, FOCAL_PRED,
         (0.515547, 0.020513), allclose=1e-6),
    # CategoricalFocalCrossentropyTest
    case("cfce-all-correct", lambda: L.CategoricalFocalCrossentropy(alpha=0.25, gamma=2.0), ONE_HOT.astype("int64"),
         EYE, 0.0),
    case("cfce-all-correct-logits", lambda: L.CategoricalFocalCrossentropy(from_logits=True), ONE_HOT,
         10.0 * np.eye(3), 0.0),
    case("cfce-unweighted", L.CategoricalFocalCrossentropy, ONE_HOT, CCE_PRED, 0.02059),
    case("cfce-unweighted-logits", lambda: L.CategoricalFocalCrossentropy(from_logits=True), ONE_HOT, CCE_LOGITS,
         0.000345),
    case("cfce-scalar-weighted", L.CategoricalFocalCrossentropy, ONE_HOT, CCE_PRED, 0.047368, 2.3),
    case("cfce-scalar-weighted-logits", lambda: L.CategoricalFocalCrossentropy(from_logits=True), ONE_HOT, CCE_LOGITS,
         0.000794, 2.3, decimal=4),
    case("cfce-sample-weighted", L.CategoricalFocalCrossentropy, ONE_HOT, CCE_PRED, 0.06987, CCE_WEIGHT),
    case("cfce-sample-weighted-logits", lambda: L.CategoricalFocalCrossentropy(from_logits=True), ONE_HOT, CCE_LOGITS,
         0.001933, CCE_WEIGHT),
    case("cfce-no-reduction", lambda: L.CategoricalFocalCrossentropy(from_logits=True, reduction=None), ONE_HOT,
         CCE_LOGITS, (1.5096224e-09, 2.4136547e-11, 1.0360638e-03), allclose=1e-6),
    case("cfce-label-smoothing", lambda: L.CategoricalFocalCrossentropy(from_logits=True, label_smoothing=0.1),
         np.array([[1, 0, 0]]), np.array([[4.9, -0.5, 2.05]]), 0.06685),
]


@pytest.mark.parametrize("make_loss, y_true, y_pred, sample_weight, expected, decimal, allclose", CASES)
def test_keras_golden_value(make_loss, y_true, y_pred, sample_weight, expected, decimal, allclose):
    loss = make_loss()(y_true, y_pred, sample_weight=sample_weight)
    assert loss.dtype == np.float32  # the default compute dtype, whatever the inputs' dtypes
    value = loss.numpy()
    assert value.shape == np.shape(expected)
    if allclose is None:
        np.testing.assert_almost_equal(value, expected, decimal=decimal)
    else:
        np.testing.assert_allclose(value, expected, atol=allclose, rtol=1e-6)


def test_function_keeps_one_loss_per_sample():
    # MeanSquaredErrorTest.test_base_function_reduction: y_true (3,) meets y_pred (3, 1)
    assert L.mean_squared_error(np.array([4, 8, 12]), np.array([[3], [0], [1]])).shape == (3,)


def test_loss_test_reductions_of_a_subclass():
    # loss_test.py: ExampleLoss, a subclass whose call returns (y_true - y_pred) ** 2
    class ExampleLoss(L.Loss):
        def call(self, y_true, y_pred):
            return (y_true - y_pred) ** 2

    y_true = np.array([1.0, 0.0, 1.0, 0.0])
    y_pred = np.array([0.1, 0.2, 0.3, 0.4])
    squares = (y_true - y_pred) ** 2
    np.testing.assert_allclose(ExampleLoss(reduction=None)(y_true, y_pred).numpy(), squares, rtol=1e-6)
    np.testing.assert_allclose(float(ExampleLoss(reduction="sum")(y_true, y_pred)), squares.sum(), rtol=1e-6)
    np.testing.assert_allclose(float(ExampleLoss()(y_true, y_pred)), squares.sum() / 4, rtol=1e-6)
    weight = np.array([0.4, 0.3, 0.2, 0.1])
    np.testing.assert_allclose(float(ExampleLoss()(y_true, y_pred, sample_weight=weight)),
                               np.sum(weight * squares) / 4, rtol=1e-6)
    assert float(ExampleLoss()(y_true, y_pred, sample_weight=np.zeros(4))) == 0.0  # no NaN
    # test_rank_adjustment: a (4, 1) weight or (4, 1) inputs give the same loss
    rank_adjusted = [ExampleLoss()(y_true, y_pred, sample_weight=weight[:, None]),
                     ExampleLoss()(y_true[:, None], y_pred[:, None], sample_weight=weight)]
    for loss in rank_adjusted:
        np.testing.assert_allclose(float(loss), np.sum(weight * squares) / 4, rtol=1e-6)
    # test_mixed_dtypes: float64 weights, int32 labels, float32 predictions -> float32
    mixed = ExampleLoss()(y_true.astype("int32"), y_pred.astype("float32"), sample_weight=weight)
    assert mixed.dtype == np.float32
    np.testing.assert_allclose(float(mixed), np.sum(weight * (y_true.astype("int32") - y_pred) ** 2) / 4, rtol=1e-6)
    with pytest.raises(ValueError, match="Invalid value for argument"):
        ExampleLoss(reduction="abc")


@pytest.mark.parametrize("make_loss, y_true, y_pred", [
    (L.MeanSquaredError, REG_TRUE, REG_PRED), (L.MeanAbsoluteError, REG_TRUE, REG_PRED),
    (L.MeanAbsolutePercentageError, REG_TRUE, REG_PRED), (L.MeanSquaredLogarithmicError, REG_TRUE, REG_PRED),
    (L.Hinge, HINGE_TRUE, HINGE_PRED), (L.SquaredHinge, HINGE_TRUE, HINGE_PRED),
    (L.CategoricalHinge, HINGE_TRUE, HINGE_PRED), (L.CosineSimilarity, COS_TRUE, COS_PRED),
    (L.Huber, HUBER_TRUE, HUBER_PRED), (L.LogCosh, COS_TRUE, COS_PRED), (L.KLDivergence, KL_TRUE, KL_PRED),
    (L.Poisson, POISSON_TRUE, POISSON_PRED), (L.BinaryCrossentropy, EYE, CCE_PRED),
    (L.CategoricalCrossentropy, ONE_HOT, EYE), (L.SparseCategoricalCrossentropy, LABELS, EYE),
    (L.BinaryFocalCrossentropy, FOCAL_TRUE, FOCAL_PRED), (L.CategoricalFocalCrossentropy, ONE_HOT, CCE_LOGITS),
], ids=lambda v: v.__name__ if isinstance(v, type) else "")
@pytest.mark.parametrize("dtype", ["float16", "float64"])
def test_dtype_argument_sets_the_result_dtype(make_loss, y_true, y_pred, dtype):
    loss = make_loss(dtype=dtype)
    assert loss.dtype == dtype
    assert loss(y_true, y_pred).dtype == np.dtype(dtype)


def test_shape_mismatch_of_crossentropies():
    y_true = np.array([[0], [1], [2]])
    y_pred = np.array([[0.9, 0.05, 0.05], [0.5, 0.89, 0.6], [0.05, 0.01, 0.94]])
    for loss in (L.BinaryCrossentropy(), L.CategoricalCrossentropy()):
        with pytest.raises(ValueError, match="must have the same shape"):
            loss(y_true, y_pred)


def test_get_returns_keras_objects():
    # loss_test.py test_get_method
    assert L.get("mse") is L.mean_squared_error
    assert L.get(None) is None
    with pytest.raises(ValueError):
        L.get("typo")
