"""Keras 3's own tests of FBetaScore and F1Score (keras/src/metrics/
f_score_metrics_test.py, Keras 3.15), ported: inputs, expected numbers and
tolerances (``assertAllClose`` with atol 1e-6, rtol 1e-6) are Keras's.
"""
import numpy as np
import pytest

from graphc import keras

M = keras.metrics


def run(y_true, y_pred, sample_weights, average, beta, threshold, expected):
    fbeta = M.FBetaScore(average, beta, threshold, dtype="float32")
    fbeta.update_state(y_true, y_pred, sample_weights)
    np.testing.assert_allclose(np.asarray(fbeta.result()), expected, atol=1e-6, rtol=1e-6)


AVERAGES_AND_BETAS = [(average, beta) for average in ("micro", "macro", "weighted") for beta in (0.5, 1.0, 2.0)]
ROWS_PRED = [[0.7, 0.7, 0.7], [1, 0, 0], [0.9, 0.8, 0]]
SIX_TRUE = [[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 0, 0], [1, 0, 0], [0, 0, 1]]
SIX_PRED = [[0.9, 0.1, 0], [0.2, 0.6, 0.2], [0, 0, 1], [0.4, 0.3, 0.3], [0, 0.9, 0.1], [0, 0, 1]]


def test_config():
    fbeta = M.FBetaScore(beta=0.5, threshold=0.3, average=None, dtype="float32")
    again = M.FBetaScore.from_config(fbeta.get_config())
    for m in (fbeta, again):
        assert (m.beta, m.average, m.threshold, m.dtype) == (0.5, None, 0.3, "float32")


@pytest.mark.parametrize("average, beta", AVERAGES_AND_BETAS)
def test_fbeta_perfect_score(average, beta):
    run([[1, 1, 1], [1, 0, 0], [1, 1, 0]], ROWS_PRED, None, average, beta, 0.66, 1.0)


@pytest.mark.parametrize("average, beta", AVERAGES_AND_BETAS)
def test_fbeta_worst_score(average, beta):
    run([[0, 0, 0], [0, 1, 0], [0, 0, 1]], ROWS_PRED, None, average, beta, 0.66, 0.0)


@pytest.mark.parametrize("average, beta, expected", [
    (None, 0.5, [0.71428573, 0.5, 0.833334]),
    (None, 1.0, [0.8, 0.5, 0.6666667]),
    (None, 2.0, [0.9090904, 0.5, 0.555556]),
    ("micro", 0.5, 0.6666667), ("micro", 1.0, 0.6666667), ("micro", 2.0, 0.6666667),
    ("macro", 0.5, 0.6825397), ("macro", 1.0, 0.6555555), ("macro", 2.0, 0.6548822),
    ("weighted", 0.5, 0.6825397), ("weighted", 1.0, 0.6555555), ("weighted", 2.0, 0.6548822),
])
def test_fbeta_random_score(average, beta, expected):
    run([[0, 0, 1], [1, 1, 0], [1, 1, 1]], ROWS_PRED, None, average, beta, 0.66, expected)


@pytest.mark.parametrize("average, beta, expected", [
    (None, 0.5, [0.9090904, 0.555556, 1.0]),
    (None, 1.0, [0.8, 0.6666667, 1.0]),
    (None, 2.0, [0.71428573, 0.833334, 1.0]),
    ("micro", 0.5, 0.833334), ("micro", 1.0, 0.833334), ("micro", 2.0, 0.833334),
    ("macro", 0.5, 0.821549), ("macro", 1.0, 0.822222), ("macro", 2.0, 0.849206),
    ("weighted", 0.5, 0.880471), ("weighted", 1.0, 0.844445), ("weighted", 2.0, 0.829365),
])
def test_fbeta_random_score_none(average, beta, expected):
    run(SIX_TRUE, SIX_PRED, None, average, beta, None, expected)


@pytest.mark.parametrize("average, beta, sample_weights, expected", [
    (None, 0.5, [1.0, 1.0, 1.0, 1.0, 1.0, 1.0], [0.909091, 0.555556, 1.0]),
    (None, 0.5, [1.0, 0.0, 1.0, 1.0, 0.0, 1.0], [1.0, 0.0, 1.0]),
    (None, 0.5, [0.5, 1.0, 1.0, 1.0, 0.5, 1.0], [0.9375, 0.714286, 1.0]),
    (None, 1.0, [1.0, 1.0, 1.0, 1.0, 1.0, 1.0], [0.8, 0.666667, 1.0]),
    (None, 1.0, [1.0, 0.0, 1.0, 1.0, 0.0, 1.0], [1.0, 0.0, 1.0]),
    (None, 1.0, [0.5, 1.0, 1.0, 1.0, 0.5, 1.0], [0.857143, 0.8, 1.0]),
    (None, 2.0, [1.0, 1.0, 1.0, 1.0, 1.0, 1.0], [0.714286, 0.833333, 1.0]),
    (None, 2.0, [1.0, 0.0, 1.0, 1.0, 0.0, 1.0], [1.0, 0.0, 1.0]),
    (None, 2.0, [0.5, 1.0, 1.0, 1.0, 0.5, 1.0], [0.789474, 0.909091, 1.0]),
    ("micro", 0.5, [1.0, 1.0, 1.0, 1.0, 1.0, 1.0], 0.833333),
    ("micro", 0.5, [1.0, 0.0, 1.0, 1.0, 0.0, 1.0], 1.0),
    ("micro", 0.5, [0.5, 1.0, 1.0, 1.0, 0.5, 1.0], 0.9),
    ("micro", 1.0, [1.0, 1.0, 1.0, 1.0, 1.0, 1.0], 0.833333),
    ("micro", 1.0, [1.0, 0.0, 1.0, 1.0, 0.0, 1.0], 1.0),
    ("micro", 1.0, [0.5, 1.0, 1.0, 1.0, 0.5, 1.0], 0.9),
    ("micro", 2.0, [1.0, 1.0, 1.0, 1.0, 1.0, 1.0], 0.833333),
    ("micro", 2.0, [1.0, 0.0, 1.0, 1.0, 0.0, 1.0], 1.0),
    ("micro", 2.0, [0.5, 1.0, 1.0, 1.0, 0.5, 1.0], 0.9),
    ("macro", 0.5, [1.0, 1.0, 1.0, 1.0, 1.0, 1.0], 0.821549),
    ("macro", 0.5, [1.0, 0.0, 1.0, 1.0, 0.0, 1.0], 0.666667),
    ("macro", 0.5, [0.5, 1.0, 1.0, 1.0, 0.5, 1.0], 0.883929),
    ("macro", 1.0, [1.0, 1.0, 1.0, 1.0, 1.0, 1.0], 0.822222),
    ("macro", 1.0, [1.0, 0.0, 1.0, 1.0, 0.0, 1.0], 0.666667),
    ("macro", 1.0, [0.5, 1.0, 1.0, 1.0, 0.5, 1.0], 0.885714),
    ("macro", 2.0, [1.0, 1.0, 1.0, 1.0, 1.0, 1.0], 0.849206),
    ("macro", 2.0, [1.0, 0.0, 1.0, 1.0, 0.0, 1.0], 0.666667),
    ("macro", 2.0, [0.5, 1.0, 1.0, 1.0, 0.5, 1.0], 0.899522),
    ("weighted", 0.5, [1.0, 1.0, 1.0, 1.0, 1.0, 1.0], 0.880471),
    ("weighted", 0.5, [1.0, 0.0, 1.0, 1.0, 0.0, 1.0], 1.0),
    ("weighted", 0.5, [0.5, 1.0, 1.0, 1.0, 0.5, 1.0], 0.917857),
    ("weighted", 1.0, [1.0, 1.0, 1.0, 1.0, 1.0, 1.0], 0.844444),
    ("weighted", 1.0, [1.0, 0.0, 1.0, 1.0, 0.0, 1.0], 1.0),
    ("weighted", 1.0, [0.5, 1.0, 1.0, 1.0, 0.5, 1.0], 0.902857),
    ("weighted", 2.0, [1.0, 1.0, 1.0, 1.0, 1.0, 1.0], 0.829365),
    ("weighted", 2.0, [1.0, 0.0, 1.0, 1.0, 0.0, 1.0], 1.0),
    ("weighted", 2.0, [0.5, 1.0, 1.0, 1.0, 0.5, 1.0], 0.897608),
])
def test_fbeta_weighted_random_score_none(average, beta, sample_weights, expected):
    run(SIX_TRUE, SIX_PRED, sample_weights, average, beta, None, expected)


@pytest.mark.parametrize("kwargs, message", [
    ({"average": "invalid_average", "beta": 1.0}, "Invalid `average` argument value. Expected one of: "
                                                  r"\{None, 'micro', 'macro', 'weighted'\}. "
                                                  "Received: average=invalid_average"),
    ({"average": "macro", "beta": 1}, "Invalid `beta` argument value. It should be a Python float."),
    ({"average": "macro", "beta": "1.0"}, "Invalid `beta` argument value. It should be a Python float."),
    ({"average": "macro", "beta": None}, "Invalid `beta` argument value. It should be a Python float."),
    ({"average": "macro", "beta": 0.0}, "Invalid `beta` argument value. It should be > 0. Received: beta=0.0"),
    ({"average": "macro", "beta": -1.0}, "Invalid `beta` argument value. It should be > 0. Received: beta=-1.0"),
    ({"average": "macro", "beta": -0.5}, "Invalid `beta` argument value. It should be > 0. Received: beta=-0.5"),
    ({"average": "macro", "beta": 1.0, "threshold": 1}, "Invalid `threshold` argument value. It should be a "
                                                        "Python float. Received: threshold=1 of type '<class 'int'>'"),
    ({"average": "macro", "beta": 1.0, "threshold": "0.5"}, "Invalid `threshold` argument value. It should be a "
                                                            "Python float. Received: threshold=0.5 of type "
                                                            "'<class 'str'>'"),
    ({"average": "macro", "beta": 1.0, "threshold": 1.1}, r"Invalid `threshold` argument value. It should verify 0 "
                                                          r"< threshold <= 1. Received: threshold=1.1"),
    ({"average": "macro", "beta": 1.0, "threshold": 0.0}, r"It should verify 0 < threshold <= 1. "
                                                          r"Received: threshold=0.0"),
    ({"average": "macro", "beta": 1.0, "threshold": -0.5}, r"It should verify 0 < threshold <= 1. "
                                                           r"Received: threshold=-0.5"),
])
def test_invalid_arguments_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        M.FBetaScore(dtype="float32", **kwargs)


def test_non_2d_and_undefined_output_dim_raise():
    fbeta = M.FBetaScore(beta=1.0, dtype="float32")
    with pytest.raises(ValueError, match=r"FBetaScore expects 2D inputs with shape \(batch_size, output_dim\)\. "
                                         r"Received input shapes: y_pred\.shape=\(2, 3, 4\) and "
                                         r"y_true\.shape=\(2, 3, 4\)\."):
        fbeta._build((2, 3, 4), (2, 3, 4))
    with pytest.raises(ValueError, match=r"FBetaScore expects 2D inputs with shape \(batch_size, output_dim\), "
                                         r"with output_dim fully defined \(not None\)\. Received input shapes: "
                                         r"y_pred\.shape=\(2, None\) and y_true\.shape=\(2, None\)\."):
        fbeta._build((2, None), (2, None))


def test_f1_config_and_correctness():
    config = M.F1Score(dtype="float32").get_config()
    assert "beta" not in config
    f1 = M.F1Score.from_config(config)
    assert f1.average is None and f1.dtype == "float32"
    f1, fbeta = M.F1Score(), M.FBetaScore(beta=1.0)
    fbeta.update_state(np.array(SIX_TRUE), np.array(SIX_PRED))
    f1.update_state(np.array(SIX_TRUE), np.array(SIX_PRED))
    np.testing.assert_allclose(np.asarray(fbeta.result()), np.asarray(f1.result()), atol=1e-6)
