"""Every metric against real Keras 3 on random inputs (optional: skipped unless
keras and its JAX backend are installed). The reference is Keras itself.

Each metric sees two batches, unweighted and with per-sample weights; the
results must be Keras's to float32 rounding. Configs must be Keras's, and a
name Keras's ``metrics.get`` resolves must give the same class here.
"""
import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")
pytest.importorskip("jax")
keras_ref = pytest.importorskip("keras")
if int(keras_ref.__version__.split(".")[0]) < 3:  # pragma: no cover
    pytest.skip("needs Keras 3", allow_module_level=True)

from graphc import keras  # noqa: E402

rng = np.random.default_rng(11)
SHAPE = (8, 4)


def batches(kind):
    """Two (y_true, y_pred) batches of one kind of problem."""
    out = []
    for _ in range(2):
        probs = rng.uniform(0.02, 0.98, SHAPE).astype("float32")
        if kind == "binary":
            out.append((rng.integers(0, 2, SHAPE).astype("float32"), probs))
        elif kind == "logits":
            out.append((rng.integers(0, 2, SHAPE).astype("float32"), rng.normal(0, 2, SHAPE).astype("float32")))
        elif kind == "one_hot":
            out.append((np.eye(SHAPE[1], dtype="float32")[rng.integers(0, SHAPE[1], SHAPE[0])],
                        probs / probs.sum(-1, keepdims=True)))
        elif kind == "sparse":
            out.append((rng.integers(0, SHAPE[1], SHAPE[0]), probs / probs.sum(-1, keepdims=True)))
        elif kind == "real":
            out.append((rng.normal(1, 2, SHAPE).astype("float32"), rng.normal(1, 2, SHAPE).astype("float32")))
        else:  # positive
            out.append((rng.uniform(0.5, 5, SHAPE).astype("float32"), rng.uniform(0.5, 5, SHAPE).astype("float32")))
    return out


# (class name, constructor arguments, kind of inputs)
METRICS = [
    ("BinaryCrossentropy", {}, "binary"),
    ("BinaryCrossentropy", {"from_logits": True, "label_smoothing": 0.2}, "logits"),
    ("CategoricalCrossentropy", {"label_smoothing": 0.1}, "one_hot"),
    ("SparseCategoricalCrossentropy", {}, "sparse"),
    ("SparseCategoricalCrossentropy", {"ignore_class": 2}, "sparse"),
    ("KLDivergence", {}, "one_hot"),
    ("Poisson", {}, "positive"),
    ("MeanAbsolutePercentageError", {}, "real"),
    ("MeanSquaredLogarithmicError", {}, "positive"),
    ("RootMeanSquaredError", {}, "real"),
    ("CosineSimilarity", {}, "real"),
    ("LogCoshError", {}, "real"),
    ("R2Score", {}, "real"),
    ("R2Score", {"class_aggregation": "variance_weighted_average", "num_regressors": 3}, "real"),
    ("Hinge", {}, "binary"),
    ("SquaredHinge", {}, "binary"),
    ("CategoricalHinge", {}, "one_hot"),
    ("TruePositives", {"thresholds": [0.3, 0.6]}, "binary"),
    ("FalsePositives", {}, "binary"),
    ("TrueNegatives", {"thresholds": [0.0, 0.5, 1.0]}, "binary"),
    ("FalseNegatives", {"thresholds": 0.7}, "binary"),
    ("Precision", {"thresholds": [0.2, 0.5, 0.8]}, "binary"),
    ("Precision", {"top_k": 2}, "binary"),
    ("Recall", {"class_id": 1, "thresholds": 0.4}, "binary"),
    ("Recall", {"top_k": 3, "thresholds": [0.25, 0.5, 0.75]}, "binary"),
    ("SensitivityAtSpecificity", {"specificity": 0.6}, "binary"),
    ("SpecificityAtSensitivity", {"sensitivity": 0.6, "num_thresholds": 33}, "binary"),
    ("PrecisionAtRecall", {"recall": 0.5, "class_id": 2}, "binary"),
    ("RecallAtPrecision", {"precision": 0.5}, "binary"),
    ("AUC", {}, "binary"),
    ("AUC", {"curve": "PR"}, "binary"),
    ("AUC", {"curve": "PR", "summation_method": "majoring", "num_thresholds": 17}, "binary"),
    ("AUC", {"curve": "PRGAIN", "summation_method": "minoring"}, "binary"),
    ("AUC", {"multi_label": True, "label_weights": [0.1, 0.2, 0.3, 0.4]}, "binary"),
    ("AUC", {"thresholds": [0.1, 0.35, 0.8], "from_logits": True, "multi_label": True}, "logits"),
    ("F1Score", {}, "one_hot"),
    ("F1Score", {"average": "macro", "threshold": 0.3}, "binary"),
    ("FBetaScore", {"average": "weighted", "beta": 2.0}, "one_hot"),
    ("FBetaScore", {"average": "micro", "beta": 0.5, "threshold": 0.5}, "binary"),
]


def _id(entry):
    name, args, _ = entry
    return name + "".join(f"-{k}={v}" for k, v in args.items())


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("entry", METRICS, ids=_id)
def test_metric_matches_keras(entry, weighted):
    name, args, kind = entry
    ours, theirs = getattr(keras.metrics, name)(**args), getattr(keras_ref.metrics, name)(**args)
    for y_true, y_pred in batches(kind):
        weight = rng.uniform(0, 2, SHAPE[0]).astype("float32") if weighted else None
        ours.update_state(y_true, y_pred, sample_weight=weight)
        theirs.update_state(y_true, y_pred, sample_weight=weight)
    expected = np.asarray(theirs.result())
    result = np.asarray(ours.result())
    assert result.shape == expected.shape
    np.testing.assert_allclose(result, expected, rtol=2e-5, atol=1e-6)
    config, keras_config = ours.get_config(), theirs.get_config()
    del config["name"], keras_config["name"]  # Keras numbers unnamed metrics across the whole session
    if keras_config.get("label_weights") is not None:  # Keras keeps a tensor
        keras_config["label_weights"] = np.asarray(keras_config["label_weights"]).tolist()
    if name == "CosineSimilarity":  # Keras 3.15 leaves axis out (it loads as axis=-1); graphc keeps it
        assert config.pop("axis") == args.get("axis", -1)
    assert config == keras_config


NAMES = ["AUC", "auc", "precision", "Recall", "true_positives", "f1_score", "f_beta_score", "r2_score",
         "root_mean_squared_error", "log_cosh_error", "LogCoshError", "mape", "MSLE", "bce", "mse",
         "binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy", "kl_divergence",
         "poisson", "hinge", "squared_hinge", "categorical_hinge", "cosine_similarity", "binary_accuracy"]


@pytest.mark.parametrize("identifier", NAMES)
def test_names_resolve_to_the_class_keras_resolves_them_to(identifier):
    assert type(keras.metrics.get(identifier)).__name__ == type(keras_ref.metrics.get(identifier)).__name__
