"""Training a whole project: data beside the file, shape checks, stored weights, history entries."""
import numpy as np
import pytest

from designer.compiler import CompileError
from designer.graph import Graph, Layer
from designer.project import Project, read_project, write_project
from designer.training import TrainingError, prepare_project, train_project


def _xor_project(hidden=4) -> Project:
    graph = Graph()
    graph.add_layer(Layer("x", "input", (2,)))
    graph.add_layer(Layer("h", "neurons", (hidden,), activation="tanh", position=(220, 0)))
    graph.add_layer(Layer("out", "neurons", (1,), activation="sigmoid", position=(440, 0)))
    graph.connect("x", "h", connection_id="x-h")
    graph.connect("h", "out", connection_id="h-out")
    project = Project.new("xor")
    project.graph = graph
    project.dataset = {"kind": "builtin", "name": "xor", "samples": 100, "seed": 1}
    project.training.update(epochs=3, device="cpu")
    return project


def test_a_run_stores_weights_and_a_history_entry(tmp_path):
    project = _xor_project()
    epochs = []
    run = train_project(project, on_epoch=epochs.append)
    assert run.status == "completed" and run.id == "run-1" and run.initial_weights == "fresh"
    assert [e.epoch for e in epochs] == [1, 2, 3]
    assert set(project.weights) == {"x-h.weight", "h.bias", "h-out.weight", "out.bias"}
    assert project.weights["x-h.weight"].shape == (4, 2)
    entry = project.history[-1]
    assert entry["id"] == "run-1" and entry["status"] == "completed" and entry["epochs"] == [1, 2, 3]
    assert entry["training"]["epochs"] == 3 and len(entry["val_accuracy"]) == 3
    # the run survives a save and a read
    write_project(project, tmp_path / "xor.nnd")
    again = read_project(tmp_path / "xor.nnd")
    assert again.history[-1]["train_loss"] == pytest.approx(entry["train_loss"])


def test_a_second_run_continues_from_the_stored_weights(tmp_path):
    project = _xor_project()
    train_project(project)
    trained = {k: v.copy() for k, v in project.weights.items()}
    prepared = prepare_project(project)
    assert prepared.initial_weights == "stored"
    for name, value in prepared.module.named_weights().items():
        np.testing.assert_array_equal(value, trained[name])
    run = train_project(project, epochs=1, seed=5)
    assert run.id == "run-2" and run.initial_weights == "stored"
    assert project.history[-1]["training"]["epochs"] == 1 and project.history[-1]["training"]["seed"] == 5


def test_weights_that_no_longer_fit_the_design_are_replaced_by_fresh_ones():
    project = _xor_project()
    train_project(project)
    project.graph.update_layer("h", shape=[6])
    prepared = prepare_project(project)
    # h and the connections at both its ends changed; the output's bias is still what was learned
    assert prepared.initial_weights == "partly stored"
    assert prepared.weights_note.startswith("h, x-h, h-out start from fresh weights, since they changed")
    assert float(prepared.module.named_weights()["out.bias"][0]) == float(project.weights["out.bias"][0])
    run = train_project(project, epochs=1)
    assert run.initial_weights == "partly stored" and project.weights["x-h.weight"].shape == (6, 2)


def test_weights_in_a_file_without_their_design_would_fit_are_refused_whole():
    """A file whose tensors do not fit its own design (made by hand) starts everything afresh, as before."""
    project = _xor_project()
    train_project(project)
    project.graph.update_layer("h", shape=[6])
    project.trained_design = None  # as read from a file: its design is taken as the weights' own
    prepared = prepare_project(project)
    assert prepared.initial_weights == "fresh"
    assert "'h.bias' has shape [4]" in prepared.weights_note and "fresh weights" in prepared.weights_note


def test_a_changed_activation_starts_that_layer_afresh_and_undoing_it_continues_all():
    project = _xor_project()
    train_project(project)
    learned = {name: value.copy() for name, value in project.weights.items()}
    activation = project.graph.layer("out").activation
    project.graph.update_layer("out", activation="tanh")
    prepared = prepare_project(project)
    assert prepared.initial_weights == "partly stored"
    assert prepared.weights_note.startswith("out, h-out start from fresh weights")
    weights = prepared.module.named_weights()
    np.testing.assert_array_equal(weights["x-h.weight"], learned["x-h.weight"])  # h continues
    assert not np.array_equal(weights["h-out.weight"], learned["h-out.weight"])  # made for another function
    project.graph.update_layer("out", activation=activation)  # undone: everything fits again
    prepared = prepare_project(project)
    assert prepared.initial_weights == "stored" and prepared.weights_note == ""


def test_an_input_layer_that_does_not_match_the_data_is_named_with_both_shapes():
    project = _xor_project()
    project.graph.update_layer("x", shape=[3])
    with pytest.raises(TrainingError) as caught:
        train_project(project)
    assert str(caught.value).startswith("layer x: the input layer has shape [3] but the dataset 'xor' gives [2]")
    assert project.history == [] and project.weights is None


def test_csv_data_is_found_beside_the_project_file(tmp_path, monkeypatch):
    folder = tmp_path / "work"
    folder.mkdir()
    rows = ["a,b,label"] + [f"{i % 7 / 7:.3f},{i % 5 / 5:.3f},{'yes' if i % 7 > 3 else 'no'}" for i in range(60)]
    (folder / "points.csv").write_text("\n".join(rows) + "\n")
    project = _xor_project()
    project.dataset = {"kind": "csv", "path": "points.csv", "features": ["a", "b"], "target": "label"}
    write_project(project, folder / "p.nnd")
    monkeypatch.chdir(tmp_path)  # not the project's folder: the path must resolve against the file
    opened = read_project(folder / "p.nnd")
    run = train_project(opened)
    assert run.status == "completed" and len(run.val_loss) == 3


def test_an_invalid_design_raises_compile_errors_naming_the_layer():
    project = _xor_project()
    project.graph.update_layer("h", activation="swish")
    with pytest.raises(CompileError) as caught:
        train_project(project)
    assert any(p.layer_id == "h" for p in caught.value.problems)


def test_a_recurrent_design_on_single_samples_is_refused():
    project = _xor_project()
    project.graph.connect("h", "h", connection_id="h-h")
    with pytest.raises(TrainingError, match="recurrent .* single samples"):
        train_project(project)


@pytest.mark.parametrize("example", ["shapes-local.nnd", "sine-recurrent.nnd"])
def test_compiled_local_and_recurrent_designs_train_the_same_way_twice(example):
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "resources" / "examples" / example
    runs = []
    for _ in range(2):
        project = read_project(path)
        project.dataset["samples"] = 120
        runs.append(train_project(project, epochs=2, device="cpu"))
    assert runs[0].train_loss == runs[1].train_loss and runs[0].val_loss == runs[1].val_loss
    assert runs[0].train_loss[1] < runs[0].train_loss[0]


def test_small_designs_train_on_one_thread_and_large_ones_on_pytorchs_choice():
    from pathlib import Path

    import torch

    from designer.training.threads import multiply_adds, suggested_threads

    examples = Path(__file__).resolve().parents[2] / "resources" / "examples"
    spiral = read_project(examples / "spiral.nnd")
    assert multiply_adds(spiral.graph) == 2 * 16 + 16 * 16 + 16 * 1
    shapes = read_project(examples / "shapes-local.nnd")
    assert multiply_adds(shapes.graph) == 6 * 14 * 14 * 9 + 8 * 6 * 6 * 6 * 9 + 4 * 8 * 6 * 6
    prepared = prepare_project(spiral)
    assert suggested_threads(spiral.graph, prepared.dataset, 16) == 1
    spiral.graph.update_layer("h1", shape=[2000])
    spiral.graph.update_layer("h2", shape=[2000])
    assert suggested_threads(spiral.graph, prepared.dataset, 16) == torch.get_num_threads()


def test_the_perceptron_example_learns_the_and_truth_table_exactly():
    # the shipped example, trained as `nn-designer train` trains it: its step neuron gives exactly 0 or 1
    from pathlib import Path

    import torch

    from designer.compiler import compile_graph

    project = read_project(Path(__file__).resolve().parents[2] / "resources" / "examples" / "perceptron.nnd")
    run = train_project(project, device="cpu")
    assert run.status == "completed"
    module = compile_graph(project.graph, weights=project.weights)
    inputs = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    assert module(inputs).squeeze(1).tolist() == [0.0, 0.0, 0.0, 1.0]
