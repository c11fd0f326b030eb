"""What a design's neurons compute, and how its training goes: the engine under the window's neuron-level views.

Plain Python, numpy and torch (no Qt): the training worker computes everything here, and sends the results,
numpy arrays and frozen dataclasses, to the window.

- :mod:`~designer.insight.pictures`: a picture per neuron: its value over the input plane (2-D data), its
  incoming weights on its source's grid and its strongest samples (images), its value over a sequence's steps;
  :class:`NeuronPictures` is the worker's one entry point.
- :mod:`~designer.insight.follow`: one sample through the network: a neuron's sum written out, term by term.
- :mod:`~designer.insight.health`: dead ReLUs, saturated sigmoid/tanh neurons, vanishing and exploding
  gradients, and the warnings they give.
- :mod:`~designer.insight.results`: the confusion matrix and per-class accuracy of the validation set.
- :mod:`~designer.insight.runs`: a project's runs side by side, the settings that differ marked.
- :mod:`~designer.insight.tracing`: ``module.trace`` in evaluation mode, without gradients, as numpy.
"""
from .follow import Explanation, Incoming, Term, explain, sample_values
from .health import LayerHealth, health_problems, health_series, layer_health
from .pictures import (NeuronPictures, picture_connection, picture_layers, plane_bounds, plane_grid, plane_pictures,
                       sequence_pictures, strongest_samples, weight_pictures)
from .results import (ClassificationResults, classification_results, confusion_matrix, per_class_accuracy,
                      predicted_classes, samples_in_cell)
from .runs import RunRow, RunTable, compare_runs
from .tracing import trace

__all__ = [
    "ClassificationResults", "Explanation", "Incoming", "LayerHealth", "NeuronPictures", "RunRow", "RunTable", "Term",
    "classification_results", "compare_runs", "confusion_matrix", "explain", "health_problems", "health_series",
    "layer_health", "per_class_accuracy", "picture_connection", "picture_layers", "plane_bounds", "plane_grid",
    "plane_pictures", "predicted_classes", "sample_values", "samples_in_cell", "sequence_pictures",
    "strongest_samples", "trace", "weight_pictures",
]
