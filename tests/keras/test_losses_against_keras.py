"""Every loss against real Keras 3 on random inputs (optional: skipped unless
keras and its JAX backend are installed). The reference is Keras itself.

Inputs are probabilities away from 0 and 1 (or moderate logits), where
Keras's clipping does not act, so graphc's numbers must be Keras's to float32
rounding, for every reduction and for scalar, per-sample and per-element weights.
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

SHAPE = (4, 3)
rng = np.random.default_rng(5)
PROBS = rng.uniform(0.05, 0.95, SHAPE).astype("float32")
SOFT = (PROBS / PROBS.sum(-1, keepdims=True)).astype("float32")
LOGITS = rng.normal(0, 2, SHAPE).astype("float32")
ONE_HOT = np.eye(3, dtype="float32")[rng.integers(0, 3, 4)]
BINARY = rng.integers(0, 2, SHAPE).astype("float32")
REAL_TRUE = rng.normal(1, 2, SHAPE).astype("float32")
REAL_PRED = rng.normal(1, 2, SHAPE).astype("float32")
POSITIVE_TRUE = rng.uniform(0.5, 5, SHAPE).astype("float32")
POSITIVE_PRED = rng.uniform(0.5, 5, SHAPE).astype("float32")

# (class name, constructor arguments, y_true, y_pred)
LOSSES = [
    ("MeanSquaredError", {}, REAL_TRUE, REAL_PRED),
    ("MeanAbsoluteError", {}, REAL_TRUE, REAL_PRED),
    ("MeanAbsolutePercentageError", {}, REAL_TRUE, REAL_PRED),
    ("MeanSquaredLogarithmicError", {}, POSITIVE_TRUE, POSITIVE_PRED),
    ("CosineSimilarity", {}, REAL_TRUE, REAL_PRED),
    ("Huber", {"delta": 0.7}, REAL_TRUE, REAL_PRED),
    ("LogCosh", {}, REAL_TRUE, REAL_PRED),
    ("Hinge", {}, BINARY, REAL_PRED),
    ("Hinge", {}, 2 * BINARY - 1, REAL_PRED),
    ("SquaredHinge", {}, BINARY, REAL_PRED),
    ("CategoricalHinge", {}, ONE_HOT, REAL_PRED),
    ("KLDivergence", {}, SOFT[::-1].copy(), SOFT),
    ("Poisson", {}, POSITIVE_TRUE, POSITIVE_PRED),
    ("BinaryCrossentropy", {}, BINARY, PROBS),
    ("BinaryCrossentropy", {"from_logits": True, "label_smoothing": 0.2}, BINARY, LOGITS),
    ("BinaryFocalCrossentropy", {"gamma": 1.5}, BINARY, PROBS),
    ("BinaryFocalCrossentropy", {"apply_class_balancing": True, "alpha": 0.4, "from_logits": True,
                                 "label_smoothing": 0.1}, BINARY, LOGITS),
    ("CategoricalCrossentropy", {}, ONE_HOT, PROBS),
    ("CategoricalCrossentropy", {"from_logits": True, "label_smoothing": 0.1}, ONE_HOT, LOGITS),
    ("CategoricalFocalCrossentropy", {"alpha": 0.3, "gamma": 1.0}, ONE_HOT, PROBS),
    ("CategoricalFocalCrossentropy", {"from_logits": True, "label_smoothing": 0.2}, ONE_HOT, LOGITS),
    ("SparseCategoricalCrossentropy", {}, ONE_HOT.argmax(-1), PROBS),
    ("SparseCategoricalCrossentropy", {"from_logits": True}, ONE_HOT.argmax(-1), LOGITS),
    ("SparseCategoricalCrossentropy", {"from_logits": True, "ignore_class": 1}, ONE_HOT.argmax(-1), LOGITS),
]
# one loss per column, not per sample: no per-sample weights for it
COLUMN_LOSSES = [("CosineSimilarity", {"axis": 0}, REAL_TRUE, REAL_PRED)]
WEIGHTS = {"none": None, "scalar": 0.7, "per-sample": rng.uniform(0, 2, 4).astype("float32"),
           "per-sample-column": rng.uniform(0, 2, (4, 1)).astype("float32")}


def _id(entry):
    name, args, *_ = entry
    return name + "".join(f"-{k}={v}" for k, v in args.items())


@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum", "mean_with_sample_weight", None])
@pytest.mark.parametrize("weight", list(WEIGHTS))
@pytest.mark.parametrize("entry", LOSSES, ids=_id)
def test_loss_matches_keras(entry, weight, reduction):
    name, args, y_true, y_pred = entry
    ours = getattr(keras.losses, name)(reduction=reduction, **args)(y_true, y_pred, sample_weight=WEIGHTS[weight])
    theirs = getattr(keras_ref.losses, name)(reduction=reduction, **args)(y_true, y_pred,
                                                                         sample_weight=WEIGHTS[weight])
    theirs = np.asarray(theirs)
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours.numpy(), theirs, rtol=2e-5, atol=1e-6)


@pytest.mark.parametrize("entry", LOSSES + COLUMN_LOSSES, ids=_id)
def test_functional_form_matches_keras(entry):
    name, args, y_true, y_pred = entry
    function = getattr(keras.losses, name)().fn.__name__  # e.g. Huber -> huber
    ours = getattr(keras.losses, function)(y_true, y_pred, **args)
    theirs = getattr(keras_ref.losses, function)(y_true, y_pred, **args)
    np.testing.assert_allclose(ours.numpy(), np.asarray(theirs), rtol=2e-5, atol=1e-6)
