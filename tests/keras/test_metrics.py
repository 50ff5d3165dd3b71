"""Metric objects (Keras 3's API) used eagerly and in traced steps; golden values from Keras's docs."""
import numpy as np
import pytest

import graphc as gc
from graphc import keras

M = keras.metrics


def result(metric):
    return float(metric.result())


@pytest.mark.parametrize("make, y_true, y_pred, weights, unweighted, weighted", [
    (M.Accuracy, [[1], [2], [3], [4]], [[0], [2], [3], [4]], [1, 1, 0, 0], 0.75, 0.5),
    (M.BinaryAccuracy, [[1], [1], [0], [0]], [[0.98], [1], [0], [0.6]], [1, 0, 0, 1], 0.75, 0.5),
    (M.CategoricalAccuracy, [[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]], [0.7, 0.3], 0.5, 0.3),
    (M.SparseCategoricalAccuracy, [[2], [1]], [[0.1, 0.6, 0.3], [0.05, 0.95, 0]], [0.7, 0.3], 0.5, 0.3),
    (lambda: M.TopKCategoricalAccuracy(k=1), [[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]],
     [0.7, 0.3], 0.5, 0.3),
    (lambda: M.SparseTopKCategoricalAccuracy(k=1), [2, 1], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]], [0.7, 0.3],
     0.5, 0.3),
])
def test_accuracy_metrics_give_keras_documented_values(make, y_true, y_pred, weights, unweighted, weighted):
    m = make()
    m.update_state(y_true, y_pred)
    assert result(m) == pytest.approx(unweighted)
    m.reset_state()
    assert result(m) == 0.0
    m.update_state(y_true, y_pred, sample_weight=weights)
    assert result(m) == pytest.approx(weighted)


def test_top_k_counts_ties_at_the_boundary_and_k():
    m = M.SparseTopKCategoricalAccuracy(k=2)
    m.update_state([0, 1, 2], [[0.5, 0.5, 0.1], [0.3, 0.1, 0.6], [0.2, 0.3, 0.5]])
    assert result(m) == pytest.approx(2 / 3)  # row 1: label 1 is third


def test_mean_and_sum_accumulate_over_calls():
    mean, total = M.Mean(), M.Sum()
    mean.update_state([1, 3, 5, 7])
    assert result(mean) == 4.0
    mean.reset_state()
    mean.update_state([1, 3, 5, 7], sample_weight=[1, 1, 0, 0])
    assert result(mean) == 2.0
    mean.update_state(np.float32(8))
    assert result(mean) == pytest.approx(12 / 3)
    total.update_state([1, 3, 5, 7], sample_weight=[1, 1, 0, 0])
    total.update_state([[1, 2], [3, 4]])
    assert result(total) == 14.0
    assert float(M.Mean()(np.array([2.0, 4.0]))) == 3.0  # __call__: update, then result


def test_a_metric_inside_a_traced_step_updates_its_variables():
    acc = M.BinaryAccuracy()

    @gc.function
    def step(y_true, y_pred):
        acc.update_state(y_true, y_pred)
        return acc.result()

    assert float(step(np.array([[1.0], [0.0]], np.float32), np.array([[0.9], [0.8]], np.float32))) == 0.5
    assert float(step(np.array([[1.0], [0.0]], np.float32), np.array([[0.9], [0.1]], np.float32))) == 0.75
    assert result(acc) == 0.75 and step.tracing_count == 1
    assert [v.name for v in acc.variables] == ["binary_accuracy/total", "binary_accuracy/count"]


def test_a_subclassed_metric():
    class Maximum(M.Metric):
        def __init__(self, name="maximum"):
            super().__init__(name=name)
            self.best = self.add_variable(name="best", initializer="zeros")

        def update_state(self, values):
            self.best.assign(gc.maximum(self.best, gc.reduce_max(gc.constant(np.asarray(values, np.float32)))))

        def result(self):
            return self.best * 1.0

    m = Maximum()
    m.update_state([1.0, 4.0])
    m.update_state([2.0])
    assert result(m) == 4.0
    m.reset_state()
    assert result(m) == 0.0


def test_bad_metric_arguments_are_clear():
    with pytest.raises(ValueError, match="threshold"):
        M.BinaryAccuracy(threshold=1.5)
    with pytest.raises(ValueError, match="Unknown metric function: 'acuracy'"):
        M.get("acuracy")
    with pytest.raises(NotImplementedError, match="update_state"):
        M.Metric(name="m").update_state([1])


def test_a_metric_named_after_its_class_is_numbered_as_keras_numbers_it():
    assert [M.Precision().name, M.Precision().name, M.AUC().name] == ["precision", "precision_1", "auc"]
    assert M.Precision(name="p").name == "p" and M.Precision().name == "precision_2"


# ------------------------------------------------------------- names

# Keras 3.15's keras.metrics classes (IoU and correlation metrics are not built: see README)
KERAS_CLASSES = ["Mean", "Sum", "MeanMetricWrapper", "Accuracy", "BinaryAccuracy", "CategoricalAccuracy",
                 "SparseCategoricalAccuracy", "TopKCategoricalAccuracy", "SparseTopKCategoricalAccuracy",
                 "MeanSquaredError", "RootMeanSquaredError", "MeanAbsoluteError", "MeanAbsolutePercentageError",
                 "MeanSquaredLogarithmicError", "CosineSimilarity", "LogCoshError", "R2Score", "AUC",
                 "FalseNegatives", "FalsePositives", "Precision", "PrecisionAtRecall", "Recall", "RecallAtPrecision",
                 "SensitivityAtSpecificity", "SpecificityAtSensitivity", "TrueNegatives", "TruePositives", "Hinge",
                 "SquaredHinge", "CategoricalHinge", "KLDivergence", "Poisson", "BinaryCrossentropy",
                 "CategoricalCrossentropy", "SparseCategoricalCrossentropy", "F1Score", "FBetaScore"]
# the functions keras.metrics exports, and the aliases of tf.keras and of keras.metrics.get
KERAS_FUNCTIONS = ["binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy",
                   "top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy", "binary_crossentropy",
                   "binary_focal_crossentropy", "categorical_crossentropy", "categorical_focal_crossentropy",
                   "sparse_categorical_crossentropy", "categorical_hinge", "hinge", "squared_hinge", "huber",
                   "kl_divergence", "log_cosh", "mean_absolute_error", "mean_absolute_percentage_error",
                   "mean_squared_error", "mean_squared_logarithmic_error", "poisson"]
METRIC_MODULES = {"metrics", "reduction_metrics", "probabilistic_metrics", "regression_metrics", "hinge_metrics",
                  "confusion_metrics", "f_score_metrics"}
ALIASES = ["mse", "MSE", "mae", "MAE", "mape", "MAPE", "msle", "MSLE", "kld", "KLD", "bce", "BCE", "logcosh"]


def test_every_keras_class_and_function_is_there_and_in_the_tables():
    for name in KERAS_CLASSES:
        assert M.CLASSES[name] is getattr(M, name)
    for name in KERAS_FUNCTIONS:
        assert M.FUNCTIONS[name] is getattr(M, name)
    assert set(ALIASES) <= set(M.ALIASES)
    subclasses, todo = set(), [M.Metric]
    while todo:  # every public metric class graphc defines is on saving's allow-list
        for cls in todo.pop().__subclasses__():
            todo.append(cls)
            if cls.__module__.rpartition(".")[2] in METRIC_MODULES and not cls.__name__.startswith("_") \
                    and cls.__name__ != "SensitivitySpecificityBase":
                subclasses.add(cls)
    assert subclasses <= set(M.CLASSES.values())


def snake(name):
    return keras.utils.snake_case(name)


NAMED = [n for n in KERAS_CLASSES if n not in ("Mean", "Sum", "MeanMetricWrapper", "PrecisionAtRecall",
                                                "RecallAtPrecision", "SensitivityAtSpecificity",
                                                "SpecificityAtSensitivity")]


@pytest.mark.parametrize("identifier", NAMED + [snake(n) for n in NAMED] + KERAS_FUNCTIONS + ALIASES + ["acc"])
def test_every_name_resolves_to_a_metric_named_by_it(identifier):
    M.check(identifier)
    metric = M.get(identifier, loss=keras.losses.get("BinaryCrossentropy"), output_shape=(None, 1))
    assert isinstance(metric, M.Metric) and metric.name == identifier


@pytest.mark.parametrize("identifier, cls, fn", [
    ("mape", M.MeanAbsolutePercentageError, None), ("MSLE", M.MeanSquaredLogarithmicError, None),
    ("kld", M.KLDivergence, None), ("logcosh", M.LogCoshError, None), ("log_cosh", M.LogCoshError, None),
    ("AUC", M.AUC, None), ("auc", M.AUC, None), ("r2_score", M.R2Score, None), ("f_beta_score", M.FBetaScore, None),
    ("binary_crossentropy", M.BinaryCrossentropy, None), ("hinge", M.Hinge, None),
    ("huber", M.MeanMetricWrapper, keras.losses.huber),
    ("binary_focal_crossentropy", M.MeanMetricWrapper, keras.losses.binary_focal_crossentropy),
])
def test_names_resolve_as_keras_resolves_them(identifier, cls, fn):
    metric = M.get(identifier)
    assert type(metric) is cls and (fn is None or metric._fn is fn)


def test_the_accuracy_name_still_follows_the_loss():
    assert type(M.get("accuracy", loss=keras.losses.get("SparseCategoricalCrossentropy"))) is \
        M.SparseCategoricalAccuracy
    assert type(M.get("acc", output_shape=(None, 1))) is M.BinaryAccuracy
    assert type(M.get("accuracy", output_shape=(None, 3))) is M.CategoricalAccuracy


def test_names_that_cannot_resolve_fail_at_check_naming_what_is_missing():
    with pytest.raises(ValueError, match=r"'PrecisionAtRecall' needs arguments \(recall\)"):
        M.check("PrecisionAtRecall")
    with pytest.raises(ValueError, match=r"needs arguments \(specificity\)"):
        M.check("sensitivity_at_specificity")
    with pytest.raises(ValueError, match=r"class SpecificityAtSensitivity needs arguments \(sensitivity\)"):
        M.check(M.SpecificityAtSensitivity)
    with pytest.raises(ValueError, match="Unknown metric function: 'mean'"):
        M.check("mean")  # Mean takes values, not (y_true, y_pred)
    with pytest.raises(ValueError, match="did you mean 'Precision'"):
        M.check("Precison")


# ------------------------------------------------------------- eager and traced

rng = np.random.default_rng(3)
PROBS = [rng.uniform(0, 1, (6, 3)).astype("float32") for _ in range(2)]
BINARY = [rng.integers(0, 2, (6, 3)).astype("float32") for _ in range(2)]
ONE_HOT = [np.eye(3, dtype="float32")[rng.integers(0, 3, 6)] for _ in range(2)]
LABELS = [rng.integers(0, 3, 6) for _ in range(2)]
REAL = [rng.normal(size=(6, 3)).astype("float32") for _ in range(2)]
WEIGHTS = [rng.uniform(0.5, 2, 6).astype("float32") for _ in range(2)]

TRACED = [
    (lambda: M.AUC(num_thresholds=50), BINARY, PROBS),
    (lambda: M.AUC(curve="PR", multi_label=True), BINARY, PROBS),  # variables made while tracing
    (lambda: M.AUC(thresholds=[0.2, 0.45, 0.7], curve="PR", summation_method="minoring"), BINARY, PROBS),
    (lambda: M.Precision(top_k=2, thresholds=[0.3, 0.6]), BINARY, PROBS),
    (lambda: M.Recall(class_id=1), BINARY, PROBS),
    (lambda: M.SpecificityAtSensitivity(0.5, num_thresholds=20), BINARY, PROBS),
    (lambda: M.TrueNegatives(thresholds=[0.25, 0.5]), BINARY, PROBS),
    (lambda: M.F1Score(average="weighted"), ONE_HOT, PROBS),
    (lambda: M.FBetaScore(beta=2.0, threshold=0.4), BINARY, PROBS),
    (lambda: M.R2Score(num_regressors=2), REAL, PROBS),
    (lambda: M.RootMeanSquaredError(), REAL, PROBS),
    (lambda: M.CosineSimilarity(), REAL, PROBS),
    (lambda: M.SparseCategoricalCrossentropy(ignore_class=1), LABELS, PROBS),
    (lambda: M.CategoricalCrossentropy(label_smoothing=0.1), ONE_HOT, PROBS),
]


@pytest.mark.parametrize("make, y_true, y_pred", TRACED)
def test_a_traced_step_gives_the_eager_numbers(make, y_true, y_pred):
    eager, traced = make(), make()

    @gc.function
    def step(y_true, y_pred, sample_weight):
        traced.update_state(y_true, y_pred, sample_weight=sample_weight)
        return traced.result()

    for batch in range(2):
        eager.update_state(y_true[batch], y_pred[batch], sample_weight=WEIGHTS[batch])
        in_step = step(y_true[batch], y_pred[batch], WEIGHTS[batch])
        np.testing.assert_allclose(in_step, np.asarray(eager.result()), rtol=1e-6, atol=1e-7)
    assert step.tracing_count == 1
    np.testing.assert_allclose(np.asarray(traced.result()), np.asarray(eager.result()), rtol=1e-6, atol=1e-7)
    traced.reset_state()
    assert all(not np.any(v.numpy()) for v in traced.variables)


def test_compiled_metrics_by_name_match_the_metrics_on_the_predictions():
    x = rng.normal(size=(48, 4)).astype("float32")
    y = (x[:, :3] + 0.5 * rng.normal(size=(48, 3)) > 0).astype("float32")
    names = ["AUC", "precision", "recall", "mape", "kld", "log_cosh", "huber", "r2_score", "bce"]
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy",
                  metrics=names + [M.PrecisionAtRecall(0.5, name="p_at_r"), M.F1Score(average="macro")])
    model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    logs = model.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
    y_pred = model.predict(x, verbose=0)
    expected = {"AUC": M.AUC(), "precision": M.Precision(), "recall": M.Recall(),
                "mape": M.MeanAbsolutePercentageError(), "kld": M.KLDivergence(), "log_cosh": M.LogCoshError(),
                "huber": M.MeanMetricWrapper(keras.losses.huber), "r2_score": M.R2Score(),
                "bce": M.BinaryCrossentropy(), "p_at_r": M.PrecisionAtRecall(0.5),
                "f1_score": M.F1Score(average="macro")}
    for name, metric in expected.items():
        # counts and sums add over batches, so the running value over three batches is the one-shot value
        assert logs[name] == pytest.approx(float(metric(y, y_pred)), rel=1e-5, abs=1e-6), name


# ------------------------------------------------------------- bad arguments

@pytest.mark.parametrize("make, argument", [
    (lambda: M.BinaryCrossentropy(label_smoothing=1.5), "label_smoothing"),
    (lambda: M.CategoricalCrossentropy(axis=1.0), "axis"),
    (lambda: M.SparseCategoricalCrossentropy(ignore_class="0"), "ignore_class"),
    (lambda: M.CosineSimilarity(axis="last"), "axis"),
    (lambda: M.TruePositives(thresholds=[0.5, 1.5]), "thresholds"),
    (lambda: M.Precision(thresholds="high"), "thresholds"),
    (lambda: M.Precision(top_k=0), "top_k"),
    (lambda: M.Recall(class_id=-1), "class_id"),
    (lambda: M.AUC(num_thresholds=1), "num_thresholds"),
    (lambda: M.AUC(curve="roc_curve"), "curve"),
    (lambda: M.AUC(summation_method="trapezoid"), "summation_method"),
    (lambda: M.AUC(thresholds=[0.5, 2.0]), "thresholds"),
    (lambda: M.AUC(num_labels=3), "num_labels"),
    (lambda: M.AUC(multi_label=True, label_weights=[[1.0, 2.0]]), "label_weights"),
    (lambda: M.SensitivityAtSpecificity(1.2), "specificity"),
    (lambda: M.RecallAtPrecision(0.5, num_thresholds=0), "num_thresholds"),
    (lambda: M.FBetaScore(average="mean"), "average"),
    (lambda: M.F1Score(threshold=0.0), "threshold"),
    (lambda: M.R2Score(class_aggregation="mean"), "class_aggregation"),
    (lambda: M.R2Score(num_regressors=1.5), "num_regressors"),
])
def test_bad_arguments_fail_when_the_metric_is_made_naming_the_argument(make, argument):
    with pytest.raises(ValueError, match=argument):
        make()


def test_bad_inputs_fail_with_the_shapes():
    with pytest.raises(ValueError, match=r"y_pred\.shape=\(4,\)"):
        M.R2Score().update_state(np.zeros(4), np.zeros(4))
    with pytest.raises(ValueError, match=r"rank 2 when `multi_label=True`"):
        M.AUC(multi_label=True).update_state(np.zeros((2, 3, 4)), np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match="sample_weight must have one weight per sample"):
        M.F1Score().update_state(np.zeros((4, 3)), np.zeros((4, 3)), sample_weight=np.ones((4, 1)))
    with pytest.raises(ValueError, match="needs an update_state"):
        M.F1Score().result()


@pytest.mark.parametrize("name", [n for n in NAMED if n not in ("MeanMetricWrapper",)])
def test_configs_are_json_and_round_trip(name):
    import json
    metric = M.CLASSES[name]()
    config = metric.get_config()
    assert json.loads(json.dumps(config)) == config
    assert M.CLASSES[name].from_config(config).get_config() == config
