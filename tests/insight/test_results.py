"""Classification results: the confusion matrix counts what the accuracy counts."""
import numpy as np
import pytest
import torch

from designer.compiler import compile_graph
from designer.data import load_dataset
from designer.insight import (classification_results, confusion_matrix, per_class_accuracy, predicted_classes,
                              samples_in_cell)
from designer.training import evaluate
from designer.training.objectives import choose_objective


def test_the_confusion_matrix_counts_each_actual_and_predicted_pair_by_hand():
    actual = [0, 0, 1, 1, 1, 2, 2, 0, 1]
    predicted = [0, 1, 1, 1, 2, 2, 0, 0, 1]
    matrix = confusion_matrix(predicted, actual, 3)
    counted = np.zeros((3, 3), dtype=int)
    for a, p in zip(actual, predicted):
        counted[a, p] += 1  # row: actual, column: predicted
    np.testing.assert_array_equal(matrix, counted)
    assert matrix[0, 1] == 1 and matrix[1, 2] == 1 and matrix[2, 0] == 1 and matrix.trace() == 6
    np.testing.assert_allclose(per_class_accuracy(matrix), [2 / 3, 3 / 4, 1 / 2])
    np.testing.assert_array_equal(samples_in_cell(predicted, actual, 1, 2), [4])
    np.testing.assert_array_equal(samples_in_cell(predicted, actual, 1, 1), [2, 3, 8])
    assert np.isnan(per_class_accuracy(confusion_matrix([0], [0], 2))[1])  # no sample of class 1
    with pytest.raises(ValueError, match="outside"):
        confusion_matrix([3], [0], 3)


@pytest.mark.parametrize("units, activation, loss", [(3, "softmax", "auto"), (3, "sigmoid", "bce"),
                                                      (3, "relu", "mse"), (1, "sigmoid", "auto"), (1, "step", "auto"),
                                                      (1, "tanh", "mse")])
def test_predicted_classes_are_the_ones_the_accuracy_counts(build, units, activation, loss):
    data = load_dataset({"kind": "builtin", "name": "gaussians" if units == 1 else "shapes", "samples": 120,
                         "seed": 3})
    shape = list(data.input_shape)
    graph = build([("x", "input", shape), ("h", "neurons", [6], "tanh"), ("y", "neurons", [units], activation)],
                  [("x", "h"), ("h", "y")])
    if units == 3 and data.num_classes != 3:
        graph.update_layer("y", shape=(data.num_classes,))
    module = compile_graph(graph, seed=1)
    objective = choose_objective(loss, module, data)
    predicted = predicted_classes(module, objective, data.x_val)
    y = data.y_val.numpy()
    _, accuracy = evaluate(module, objective, data.x_val, objective.targets(data.y_val, data.num_classes))
    assert (predicted == y).mean() == pytest.approx(accuracy)
    np.testing.assert_array_equal(predicted_classes(module, loss, data.x_val), predicted)  # by the loss's name
    results = classification_results(module, data, loss)
    assert results.matrix.trace() / len(y) == pytest.approx(accuracy)
    assert results.matrix.sum() == len(y)
    cell = results.samples(1, 0)
    assert ((y[cell] == 1) & (predicted[cell] == 0)).all() and len(cell) == results.matrix[1, 0]


def test_predicted_classes_leave_the_module_in_its_mode(build):
    graph = build([("x", "input", [2]), ("h", "neurons", [32], "tanh", {"dropout": 0.5}),
                   ("y", "neurons", [1], "sigmoid")],
                  [("x", "h"), ("h", "y")])
    module = compile_graph(graph, seed=1).train()
    x = torch.randn(50, 2)
    first = predicted_classes(module, "auto", x)
    np.testing.assert_array_equal(predicted_classes(module, "auto", x), first)  # no dropout while predicting
    assert module.training
