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
