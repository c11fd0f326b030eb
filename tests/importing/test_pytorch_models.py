"""Models written by PyTorch itself (torch.onnx.export, both exporters), not by NN Designer: each imported design
computes what the torch.nn model computes, and trains further with ``nn-designer train``."""
from __future__ import annotations

import numpy as np
import pytest

from designer.importing import read_onnx
from designer.project import read_project

from .helpers import compiled, nnd, outputs, torch_export

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")
pytest.importorskip("onnxscript")
nn = torch.nn

EXPORTERS = ["dynamo", "torchscript"]


class LastStep(nn.Module):
    """A sequence regressor: a recurrent layer over [batch, time, 1], a Linear on its last step."""

    def __init__(self, recurrent: nn.Module, hidden: int) -> None:
        super().__init__()
        self.recurrent = recurrent
        self.head = nn.Linear(hidden, 1)

    def forward(self, x):
        values, _ = self.recurrent(x)
        return self.head(values[:, -1])


class Activations(nn.Module):
    """One layer per activation the design has, and layer normalisation before one of them."""

    def __init__(self) -> None:
        super().__init__()
        self.a, self.b, self.c, self.d = nn.Linear(2, 6), nn.Linear(6, 6), nn.Linear(6, 6), nn.Linear(6, 6)
        self.e, self.f, self.g = nn.Linear(6, 6), nn.Linear(6, 6), nn.Linear(6, 3)
        self.norm = nn.LayerNorm(6)

    def forward(self, x):
        f = nn.functional
        h = f.gelu(self.a(x))
        h = f.silu(self.norm(self.b(h)))
        h = f.elu(self.c(h))
        h = f.leaky_relu(self.d(h), 0.2)
        h = f.softplus(self.e(h))
        h = f.hardsigmoid(self.f(h))
        return torch.softmax(self.g(h), -1)


def _models():
    torch.manual_seed(0)
    batch_norm = nn.Sequential(nn.Linear(2, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 2))
    with torch.no_grad():  # statistics as training leaves them, not the identity
        batch_norm[1].running_mean.uniform_(-1, 1)
        batch_norm[1].running_var.uniform_(0.5, 2)
        batch_norm[1].weight.uniform_(0.5, 1.5)
        batch_norm[1].bias.uniform_(-0.5, 0.5)
    return {
        # name: (model, one sample's shape, the built-in data the import picks, what the design is)
        "mlp": (nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 1), nn.Sigmoid()),
                (2,), "spiral", ["input", "neurons relu", "neurons tanh", "neurons sigmoid"]),
        "cnn": (nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(4, 8, 3),
                              nn.ReLU(), nn.Flatten(), nn.Linear(8 * 6 * 6, 4)),
                (1, 16, 16), "shapes", ["input", "neurons relu", "neurons linear", "neurons relu", "neurons linear"]),
        "batchnorm": (batch_norm, (2,), "spiral", ["input", "neurons relu", "neurons linear"]),
        "rnn": (LastStep(nn.RNN(1, 8, batch_first=True), 8), (20, 1), "sine",
                ["input", "neurons tanh", "neurons linear"]),
        "lstm": (LastStep(nn.LSTM(1, 8, batch_first=True), 8), (20, 1), "sine", ["input", "lstm", "neurons linear"]),
        "gru": (LastStep(nn.GRU(1, 8, batch_first=True), 8), (20, 1), "sine", ["input", "gru", "neurons linear"]),
    }


MODELS = _models()


def _kinds(graph):
    return [f"{layer.kind} {layer.activation}" if layer.kind == "neurons" else layer.kind
            for layer in graph.layers.values()]


def _same_outputs(model, project, shape, steps=None):
    generator = torch.Generator().manual_seed(5)
    if steps is not None:
        shape = (steps, *shape[1:])
    x = torch.randn((7, *shape), generator=generator)
    with torch.no_grad():
        expected = model(x).numpy()
    np.testing.assert_allclose(outputs(compiled(project), x), expected, atol=1e-5, rtol=0)


@pytest.mark.parametrize("exporter", EXPORTERS)
@pytest.mark.parametrize("name", list(MODELS))
def test_a_pytorch_model_imports_as_the_design_that_computes_it(tmp_path, name, exporter):
    model, shape, dataset, kinds = MODELS[name]
    path = torch_export(model, torch.zeros((2, *shape)), tmp_path / f"{name}.onnx", exporter)
    result = read_onnx(path)
    project = result.project
    assert _kinds(project.graph) == kinds
    assert project.dataset["name"] == dataset
    _same_outputs(model.eval(), project, shape)
    if name in ("rnn", "lstm", "gru"):
        assert result.sequence
        _same_outputs(model, project, shape, steps=35)  # any length, not only the exported one
    if name == "batchnorm":
        layer = list(project.graph.layers.values())[1]
        if exporter == "torchscript":  # the TorchScript exporter keeps BatchNormalization; dynamo folds it
            assert layer.norm == "batch"
            np.testing.assert_allclose(project.weights[f"{layer.id}.running_var"],
                                       model[1].running_var.numpy())
        assert any("dropout is not in an inference graph" in note for note in result.notes)


@pytest.mark.parametrize("exporter", EXPORTERS)
@pytest.mark.parametrize("name", ["cnn", "rnn", "lstm"])
def test_a_model_exported_for_one_fixed_batch_size_imports_too(tmp_path, name, exporter):
    """No dynamic batch: the exporter bakes the size into reshapes and zero states (a batch of 1 looks like any
    other size-1 axis)."""
    import contextlib
    import io
    import warnings

    model, shape, _, kinds = MODELS[name]
    path = tmp_path / f"{name}.onnx"
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        torch.onnx.export(model.eval(), (torch.zeros((1, *shape)),), str(path), dynamo=exporter == "dynamo",
                          input_names=["x"], output_names=["y"], **({"external_data": False}
                                                                     if exporter == "dynamo" else {}))
    project = read_onnx(path).project
    assert _kinds(project.graph) == kinds
    _same_outputs(model, project, shape)


def test_the_recurrent_layers_hold_pytorchs_weights_in_the_designs_layout(tmp_path):
    """nn.LSTM's i, f, g, o and nn.GRU's r, z, n, whatever order ONNX keeps them in; the LSTM's two biases summed,
    the GRU's kept apart; an Elman RNN's hidden weights as a self-loop."""
    for name in ("lstm", "gru", "rnn"):
        model = MODELS[name][0]
        for exporter in EXPORTERS:
            path = torch_export(model, torch.zeros(2, 20, 1), tmp_path / f"{name}-{exporter}.onnx", exporter)
            project = read_onnx(path).project
            recurrent = model.recurrent
            layer = list(project.graph.layers.values())[1]
            weights = project.weights
            w_ih = recurrent.weight_ih_l0.detach().numpy()
            w_hh = recurrent.weight_hh_l0.detach().numpy()
            b_ih, b_hh = recurrent.bias_ih_l0.detach().numpy(), recurrent.bias_hh_l0.detach().numpy()
            into = next(c for c in project.graph.connections.values() if c.target == layer.id and c.source == "x")
            np.testing.assert_allclose(weights[f"{into.id}.weight"], w_ih, atol=1e-7)
            if name == "rnn":
                loop = next(c for c in project.graph.connections.values() if c.source == c.target == layer.id)
                np.testing.assert_allclose(weights[f"{loop.id}.weight"], w_hh, atol=1e-7)
                np.testing.assert_allclose(weights[f"{layer.id}.bias"], b_ih + b_hh, atol=1e-6)
                continue
            np.testing.assert_allclose(weights[f"{layer.id}.weight_hh"], w_hh, atol=1e-7)
            if name == "lstm":
                np.testing.assert_allclose(weights[f"{layer.id}.bias"], b_ih + b_hh, atol=1e-6)
            else:
                np.testing.assert_allclose(weights[f"{layer.id}.bias"], b_ih, atol=1e-7)
                np.testing.assert_allclose(weights[f"{layer.id}.bias_hh"], b_hh, atol=1e-7)


@pytest.mark.parametrize("exporter", EXPORTERS)
def test_every_activation_and_layer_norm_import_from_either_exporter(tmp_path, exporter):
    """GELU, SiLU (x * sigmoid(x)), ELU, LeakyReLU's slope, Softplus, Hardsigmoid, Softmax, LayerNorm; written
    at opset 17 by the TorchScript exporter (GELU spelt out with Erf) and at opset 20 by dynamo."""
    torch.manual_seed(1)
    model = Activations().eval()
    opset = 17 if exporter == "torchscript" else None
    path = torch_export(model, torch.zeros(2, 2), tmp_path / "activations.onnx", exporter, opset=opset)
    project = read_onnx(path).project
    assert _kinds(project.graph) == ["input", "neurons gelu", "neurons silu", "neurons elu", "neurons leaky_relu",
                                     "neurons softplus", "neurons hard_sigmoid", "neurons softmax"]
    layers = list(project.graph.layers.values())
    assert layers[2].norm == "layer" and layers[4].slope == 0.2
    _same_outputs(model, project, (2,))


@pytest.mark.parametrize("exporter,opset", [("torchscript", 13), ("torchscript", 17), ("torchscript", 20),
                                            ("dynamo", 18), ("dynamo", 21), ("dynamo", 23)])
def test_the_opsets_the_importer_names_as_tested(tmp_path, exporter, opset):
    from designer.importing import SUPPORTED_OPSETS

    assert opset in SUPPORTED_OPSETS
    for name in ("cnn", "lstm"):
        model, shape, _, kinds = MODELS[name]
        path = torch_export(model, torch.zeros((2, *shape)), tmp_path / f"{name}.onnx", exporter, opset=opset)
        project = read_onnx(path).project
        assert _kinds(project.graph) == kinds
        _same_outputs(model.eval(), project, shape)


@pytest.mark.parametrize("name", list(MODELS))
def test_an_imported_pytorch_model_trains_further_with_the_command(tmp_path, name):
    model, shape, dataset, _ = MODELS[name]
    path = torch_export(model, torch.zeros((2, *shape)), tmp_path / f"{name}.onnx", "dynamo")
    design = tmp_path / f"{name}.nnd"
    result = nnd("import", path, "-o", design)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "trainable parameters" in result.stdout and f"wrote {design}" in result.stderr
    imported = read_project(design)
    before = {k: v.copy() for k, v in imported.weights.items()}
    result = nnd("train", design, "--epochs", "2", "--device", "cpu")
    assert result.returncode == 0, result.stdout + result.stderr
    trained = read_project(design)
    run = trained.history[-1]
    assert run["status"] == "completed" and run["initial_weights"] == "stored"  # it continued from PyTorch's weights
    assert all(np.isfinite(loss) for loss in run["train_loss"])
    assert any(not np.array_equal(trained.weights[k], before[k]) for k in before)


def test_a_deeper_model_two_lstm_layers_and_a_1d_convolution(tmp_path):
    """Two stacked LSTMs (num_layers=2) become two lstm layers; a Conv1d over channels becomes a 2-D window as tall
    as the channels."""
    torch.manual_seed(2)
    stacked = LastStep(nn.LSTM(1, 6, num_layers=2, batch_first=True), 6)
    for exporter in EXPORTERS:
        project = read_onnx(torch_export(stacked, torch.zeros(2, 20, 1), tmp_path / f"stacked-{exporter}.onnx",
                                         exporter)).project
        assert _kinds(project.graph) == ["input", "lstm", "lstm", "neurons linear"]
        _same_outputs(stacked.eval(), project, (20, 1), steps=12)

    class Conv1d(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv1d(3, 5, 3)
            self.head = nn.Linear(5 * 10, 2)

        def forward(self, x):
            return self.head(torch.relu(self.conv(x)).flatten(1))

    model = Conv1d().eval()
    for exporter in EXPORTERS:
        project = read_onnx(torch_export(model, torch.zeros(2, 3, 12), tmp_path / f"conv1d-{exporter}.onnx",
                                         exporter)).project
        layer = list(project.graph.layers.values())[1]
        assert layer.shape == (5, 1, 10)
        _same_outputs(model, project, (3, 12))
