"""The nn-designer command, run as users run it: a real process, real files, its exit status and its words."""
import importlib.util
import json
import math
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from designer.project import read_project, write_project

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "resources" / "examples"
SCRIPT = Path(sys.executable).with_name("nn-designer")
COMMAND = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "designer.cli"]
TIMEOUT = 120


def nnd(*args, cwd=None, timeout=TIMEOUT):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.run([*COMMAND, *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env=env)


def _user_error(result, *words):
    """Exit 2, the words in the message, and no Python traceback."""
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "Traceback" not in output, output
    for word in words:
        assert word in output, output


def _example(name, tmp_path, **training):
    project = read_project(EXAMPLES / name)
    project.training.update(training)
    path = tmp_path / name
    write_project(project, path)
    return path


def _load_examples_module():
    spec = importlib.util.spec_from_file_location("make_examples", EXAMPLES / "make_examples.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


# ---------------------------------------------------------------- help, version
def test_version_and_help_answer_without_importing_torch():
    assert nnd("--version").stdout.strip() == "nn-designer 0.1.0"
    code = ("import sys, contextlib, io\nfrom designer.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()) as out: status = main(['--help'])\n"
            "assert status == 0 and 'check' in out.getvalue() and 'export' in out.getvalue(), out.getvalue()\n"
            "sys.exit(1 if 'torch' in sys.modules else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=TIMEOUT)
    assert result.returncode == 0, result.stderr


def test_bad_arguments_exit_2_with_usage():
    result = nnd("train", EXAMPLES / "xor.nnd", "--epochs", "zero")
    _user_error(result, "--epochs", "whole number")
    _user_error(nnd("export", EXAMPLES / "xor.nnd", "--to", "gif", "-o", "x"), "invalid choice")


# ---------------------------------------------------------------- check
def test_check_a_valid_example_prints_the_parameter_count():
    result = nnd("check", EXAMPLES / "spiral.nnd")
    assert result.returncode == 0, result.stderr
    assert "valid" in result.stdout and "337 trainable parameters" in result.stdout


@pytest.mark.parametrize("name", ["lenet-shapes.nnd", "mlp-batchnorm.nnd"])
def test_check_counts_the_layer_librarys_parameters_as_the_compiled_model_holds_them(name):
    from designer.compiler import compile_graph

    module = compile_graph(read_project(EXAMPLES / name).graph)
    trained = sum(p.numel() for p in module.parameters())  # pooling none; norm's scale and shift; not its statistics
    result = nnd("check", EXAMPLES / name)
    assert result.returncode == 0, result.stderr
    assert f"valid; {trained:,} trainable parameters" in result.stdout


def test_check_reports_warnings_but_a_design_with_only_warnings_is_valid(tmp_path):
    project = read_project(EXAMPLES / "xor.nnd")
    project.graph.connect("h", "h", connection_id="loop")  # fine for the design, wrong for single samples
    write_project(project, tmp_path / "loop.nnd")
    _user_error(nnd("check", tmp_path / "loop.nnd"), "recurrent", "single samples")
    from designer.graph import Layer
    project = read_project(EXAMPLES / "xor.nnd")
    project.graph.add_layer(Layer("spare", "neurons", (3,), position=(220, 200)))
    write_project(project, tmp_path / "spare.nnd")
    result = nnd("check", tmp_path / "spare.nnd")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "warning: layer spare: not reached from the input" in result.stdout and "valid" in result.stdout


def test_check_a_file_that_is_not_a_project(tmp_path):
    path = tmp_path / "notes.nnd"
    path.write_text("shopping list")
    _user_error(nnd("check", path), "notes.nnd", "not an NN Designer project")
    _user_error(nnd("check", tmp_path / "missing.nnd"), "missing.nnd")


def test_check_names_every_invalid_layer_and_connection(tmp_path):
    project = read_project(EXAMPLES / "xor.nnd")
    project.graph.update_layer("h", activation="swish")
    project.graph.connect("out", "x", connection_id="back")
    write_project(project, tmp_path / "bad.nnd")
    result = nnd("check", tmp_path / "bad.nnd")
    _user_error(result, "layer h: unknown activation 'swish'", "connection back:", "2 errors")
    lines = [line for line in result.stdout.splitlines() if line.startswith("error:")]
    assert len(lines) == 2
    _user_error(nnd("train", tmp_path / "bad.nnd"), "layer h", "connection back")


def test_bad_csv_data_names_the_line_and_column(tmp_path):
    (tmp_path / "data.csv").write_text("a,b,label\n0.1,0.2,yes\n0.3,oops,no\n")
    project = read_project(EXAMPLES / "xor.nnd")
    project.dataset = {"kind": "csv", "path": "data.csv", "features": ["a", "b"], "target": "label"}
    write_project(project, tmp_path / "csv.nnd")
    _user_error(nnd("check", tmp_path / "csv.nnd"), "data.csv", "line 3", "'b'", "oops")
    _user_error(nnd("train", tmp_path / "csv.nnd"), "data.csv", "line 3")


def test_a_loss_that_does_not_fit_and_an_input_that_does_not_match(tmp_path):
    path = _example("xor.nnd", tmp_path, loss="cross_entropy")
    _user_error(nnd("check", path), "cross_entropy", "'out' has 1 unit")
    project = read_project(EXAMPLES / "xor.nnd")
    project.graph.update_layer("x", shape=[3])
    write_project(project, tmp_path / "shape.nnd")
    _user_error(nnd("train", tmp_path / "shape.nnd"), "layer x", "[3]", "[2]")


# ---------------------------------------------------------------- train
def test_train_json_lines_and_the_saved_run(tmp_path):
    source = _example("xor.nnd", tmp_path)
    before = source.read_bytes()
    out = tmp_path / "trained.nnd"
    result = nnd("train", source, "--epochs", "3", "--seed", "4", "--json", "--out", out)
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["epoch"] for r in records] == [1, 2, 3]
    for record in records:
        assert set(record) == {"epoch", "train_loss", "val_loss", "train_accuracy", "val_accuracy"}
        assert all(isinstance(record[k], float) for k in record if k != "epoch")
    assert source.read_bytes() == before  # --out leaves the original alone
    trained = read_project(out)
    run = trained.history[-1]
    assert run["id"] == "run-1" and run["status"] == "completed" and run["epochs"] == [1, 2, 3]
    assert run["training"]["epochs"] == 3 and run["training"]["seed"] == 4
    assert run["val_loss"] == pytest.approx([r["val_loss"] for r in records])
    assert set(trained.weights) == {"x-h.weight", "h.bias", "h-out.weight", "out.bias"}
    assert "completed after 3 epochs" in result.stderr


def test_train_in_place_twice_continues_and_regression_has_no_accuracy_keys(tmp_path):
    path = _example("sine-recurrent.nnd", tmp_path)
    for _ in range(2):
        result = nnd("train", path, "--epochs", "1", "--json")
        assert result.returncode == 0, result.stderr
        assert set(json.loads(result.stdout)) == {"epoch", "train_loss", "val_loss"}
    history = read_project(path).history
    assert [run["id"] for run in history] == ["run-1", "run-2"]
    assert history[1]["initial_weights"] == "stored"
    assert history[1]["train_accuracy"] == []


def test_an_absurd_learning_rate_diverges_exit_3_and_is_stored(tmp_path):
    project = read_project(EXAMPLES / "xor.nnd")
    project.dataset = {"kind": "builtin", "name": "plane", "samples": 200, "seed": 1}
    project.graph.update_layer("out", activation="linear")
    project.training.update(learning_rate=1e6, epochs=50)
    write_project(project, tmp_path / "plane.nnd")
    out = tmp_path / "out.nnd"
    result = nnd("train", tmp_path / "plane.nnd", "--out", out)
    assert result.returncode == 3, result.stderr
    assert "diverged" in result.stderr and "learning rate" in result.stderr and "Traceback" not in result.stderr
    saved = read_project(out)
    assert saved.history[-1]["status"] == "diverged"
    assert all(np.isfinite(w).all() for w in saved.weights.values())


def test_ctrl_c_stops_after_the_batch_and_saves_a_stopped_run(tmp_path):
    path = _example("xor.nnd", tmp_path)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    process = subprocess.Popen([*COMMAND, "train", str(path), "--epochs", "100000", "--json"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        first = process.stdout.readline()  # training is under way
        assert json.loads(first)["epoch"] == 1
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    run = read_project(path).history[-1]
    assert run["status"] == "stopped" and 1 <= len(run["epochs"]) < 100000


def test_an_unavailable_device_is_a_user_error(tmp_path):
    import torch
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    _user_error(nnd("train", EXAMPLES / "xor.nnd", "--device", "cuda", "--out", tmp_path / "o.nnd"),
                "'cuda' is not available")


# ---------------------------------------------------------------- export
@pytest.mark.parametrize("name", ["shapes-local.nnd", "sine-recurrent.nnd"])
def test_exported_source_and_weights_reproduce_the_model_in_a_fresh_interpreter(tmp_path, name):
    import torch

    from designer.compiler import compile_graph
    from designer.training import train_project

    path = _example(name, tmp_path)
    trained = read_project(path)
    train_project(trained, epochs=1, device="cpu")  # `nn-designer train` itself is tested above
    write_project(trained, path)
    out = tmp_path / "export" / "model.py"
    out.parent.mkdir()
    result = nnd("export", path, "--to", "py", "-o", out)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "export" / "model.safetensors").exists()
    assert nnd("export", path, "--to", "safetensors", "-o", tmp_path / "w.safetensors").returncode == 0

    project = read_project(path)
    module = compile_graph(project.graph, weights=project.weights)
    generator = torch.Generator().manual_seed(0)
    shape = (5, 20, 1) if module.is_sequence else (5, *module.input_shape)
    x = torch.rand(shape, generator=generator)
    np.save(tmp_path / "x.npy", x.numpy())
    with torch.no_grad():
        expected = module(x).numpy()
    code = textwrap.dedent(f"""
        import sys, numpy, torch
        sys.path.insert(0, {str(out.parent)!r})
        from model import load
        for weights in ({str(out.with_suffix('.safetensors'))!r}, {str(tmp_path / 'w.safetensors')!r}):
            model = load(weights)
            with torch.no_grad():
                y = model(torch.from_numpy(numpy.load({str(tmp_path / 'x.npy')!r})))
            numpy.save(weights + ".out.npy", y.numpy())
        print("designer" in sys.modules)
    """)
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=TIMEOUT,
                         cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "False"  # the exported file stands alone
    for weights in (out.with_suffix(".safetensors"), tmp_path / "w.safetensors"):
        np.testing.assert_allclose(np.load(f"{weights}.out.npy"), expected, atol=1e-6, rtol=0)


def test_export_refusals(tmp_path):
    _user_error(nnd("export", EXAMPLES / "xor.nnd", "--to", "safetensors", "-o", tmp_path / "w.safetensors"),
                "no trained weights", "nn-designer train")
    assert not (tmp_path / "w.safetensors").exists()


def test_opening_a_missing_file_in_the_window_is_a_user_error(tmp_path):
    _user_error(nnd(tmp_path / "nothing.nnd"), "nothing.nnd", "no such file")


def test_a_bug_is_reported_as_one_in_words_with_exit_1(capsys):
    from designer.cli import _guarded

    assert _guarded(lambda: [][1]) == 1
    message = capsys.readouterr().err
    assert message.startswith("internal error: IndexError") and "Traceback" not in message
    # no invented address: the file to attach, and where the README says how to report
    assert "attach the file" in message and "see README: Reporting a problem" in message
    assert "http" not in message
    # the details for the report are in a file the message names
    details = Path(message.split("the details are in ")[1].split(". This is a bug")[0])
    try:
        assert "Traceback" in details.read_text() and "IndexError" in details.read_text()
    finally:
        details.unlink()


# ---------------------------------------------------------------- the examples
@pytest.mark.slow
def test_each_example_reaches_its_target(tmp_path):
    examples = _load_examples_module()
    missed = []
    for name, (_make, target) in examples.EXAMPLES.items():
        out = tmp_path / name
        result = nnd("train", EXAMPLES / name, "--out", out, timeout=60)
        assert result.returncode == 0, result.stderr
        run = read_project(out).history[-1]
        if not target.met(run):
            missed.append(f"{name}: {target} not reached: {run[target.metric][-1]}")
        assert not math.isnan(run["train_loss"][-1])
    assert not missed, missed


def test_the_shipped_examples_are_what_the_generator_makes(tmp_path):
    examples = _load_examples_module()
    assert examples.main(tmp_path) == 0
    for name in examples.EXAMPLES:
        shipped, made = read_project(EXAMPLES / name), read_project(tmp_path / name)
        assert shipped.graph.to_dict() == made.graph.to_dict(), name
        assert (shipped.dataset, shipped.training, shipped.name) == (made.dataset, made.training, made.name)
        assert shipped.weights is None and shipped.history == []
    assert (tmp_path / "weather.csv").read_bytes() == (EXAMPLES / "weather.csv").read_bytes()  # the CSV example's data
    assert examples.DEFAULT_EXAMPLE.name == "spiral.nnd"


def test_a_missing_output_folder_is_refused_before_training(tmp_path):
    _user_error(nnd("train", EXAMPLES / "xor.nnd", "--out", tmp_path / "no" / "such.nnd"), "does not exist")


# ---------------------------------------------------------------- export --to torchrun
def _torchrun_export(tmp_path, name="xor.nnd"):
    path = _example(name, tmp_path)
    out = tmp_path / "run" / "job.py"
    out.parent.mkdir()
    result = nnd("export", path, "--to", "torchrun", "-o", out)
    assert result.returncode == 0, result.stderr
    assert "torchrun --nproc_per_node" in result.stderr
    return path, out


def _epochs(stdout):
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def test_the_torchrun_script_in_one_process_repeats_the_engines_losses(tmp_path):
    from designer.training import train_project

    path, out = _torchrun_export(tmp_path)
    run = subprocess.run([sys.executable, str(out), "--epochs", "3", "--device", "cpu"], capture_output=True,
                         text=True, timeout=TIMEOUT, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    records = _epochs(run.stdout)
    project = read_project(path)
    engine = train_project(project, epochs=3, device="cpu")
    assert [r["train_loss"] for r in records] == pytest.approx(engine.train_loss, rel=1e-6)
    assert [r["val_accuracy"] for r in records] == pytest.approx(engine.val_accuracy)
    trained = out.with_name("job.trained.safetensors")
    from safetensors.numpy import load_file
    weights = load_file(str(trained))
    for name, value in project.weights.items():
        np.testing.assert_allclose(weights[name], value, atol=1e-6)


def test_the_torchrun_script_trains_in_two_processes(tmp_path):
    from safetensors.numpy import load_file

    from designer.compiler import compile_graph

    path, out = _torchrun_export(tmp_path, "sine-recurrent.nnd")
    run = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                          str(out), "--epochs", "2", "--device", "cpu"],
                         capture_output=True, text=True, timeout=TIMEOUT, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    records = _epochs(run.stdout)
    assert [r["epoch"] for r in records] == [1, 2]  # printed once, by the first process
    assert set(records[0]) == {"epoch", "train_loss", "val_loss"}
    weights = load_file(str(out.with_name("job.trained.safetensors")))
    compile_graph(read_project(path).graph, weights=weights)  # the .nnd names and shapes


def test_the_torchrun_export_refuses_a_folder_that_holds_other_files(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    _user_error(nnd("export", EXAMPLES / "xor.nnd", "--to", "torchrun", "-o", tmp_path), "holds no training job")
    assert (tmp_path / "notes.txt").read_text() == "mine" and sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


# ---------------------------------------------------------------- export --to onnx (the 'onnx' extra)
def _has(*modules):
    return all(importlib.util.find_spec(m) is not None for m in modules)


@pytest.mark.skipif(not _has("onnx", "onnxscript", "onnxruntime"), reason="needs pip install 'nn-designer[onnx]' "
                    "and onnxruntime")
@pytest.mark.parametrize("name", ["shapes-local.nnd", "sine-recurrent.nnd", "lenet-shapes.nnd",
                                  "mlp-batchnorm.nnd"])
def test_the_onnx_graph_computes_what_the_model_computes(tmp_path, name):
    import onnxruntime
    import torch

    from designer.compiler import compile_graph
    from designer.training import train_project

    project = read_project(EXAMPLES / name)
    train_project(project, epochs=1, device="cpu")
    write_project(project, tmp_path / name)
    out = tmp_path / "model.onnx"
    result = nnd("export", tmp_path / name, "--to", "onnx", "-o", out)
    assert result.returncode == 0, result.stderr
    module = compile_graph(project.graph, weights=project.weights)
    shape = (7, 20, 1) if module.is_sequence else (7, *module.input_shape)  # another batch size than exported
    x = torch.rand(shape, generator=torch.Generator().manual_seed(1))
    y = onnxruntime.InferenceSession(str(out)).run(None, {"x": x.numpy()})[0]
    with torch.no_grad():
        np.testing.assert_allclose(y, module(x).numpy(), atol=1e-5, rtol=0)


def _library_project(sequence: bool):
    """Every part of the layer library the examples leave out: mean pooling, layer norm, the newer activations,
    a sequence design with dropout on its lstm, initialisations."""
    from designer.graph import Connectivity, Graph, Layer
    from designer.project import Project

    graph = Graph()
    if sequence:
        layers = [Layer("x", "input", (1,)), Layer("h", "neurons", (8,), activation="silu", norm="layer", dropout=0.2),
                  Layer("l", "lstm", (6,), dropout=0.3, init="orthogonal"), Layer("y", "neurons", (1,))]
    else:
        layers = [Layer("x", "input", (16, 16)), Layer("c", "neurons", (4, 14, 14), activation="elu"),
                  Layer("p", "neurons", (4, 7, 7), bias=False), Layer("h", "neurons", (12,), activation="gelu",
                                                                     norm="layer", dropout=0.5),
                  Layer("s", "neurons", (8,), activation="leaky_relu", slope=0.3),
                  Layer("t", "neurons", (8,), activation="hard_sigmoid"), Layer("u", "neurons", (8,), activation="sign"),
                  Layer("v", "neurons", (8,), activation="softplus"), Layer("y", "neurons", (4,), activation="softmax")]
    for layer in layers:
        graph.add_layer(layer)
    if sequence:
        graph.connect("x", "h")
        graph.connect("h", "h")
        graph.connect("h", "l")
        graph.connect("l", "y")
        dataset = {"kind": "builtin", "name": "sine", "samples": 64}
    else:
        graph.connect("x", "c", Connectivity("local", 3, shared=True))
        graph.connect("c", "p", Connectivity("local", 3, 2, "same", pool="mean"))
        graph.connect("p", "h")
        for name in "stuv":
            graph.connect("h", name)
            graph.connect(name, "y")
        dataset = {"kind": "builtin", "name": "shapes", "samples": 64}
    graph.update_connection("x-c" if not sequence else "x-h", init=("xavier_normal", 0.0))
    return Project(name="library", graph=graph, dataset=dataset)


@pytest.mark.skipif(not _has("onnx", "onnxscript", "onnxruntime"), reason="needs pip install 'nn-designer[onnx]' "
                    "and onnxruntime")
@pytest.mark.parametrize("sequence", [False, True], ids=["grid", "sequence"])
def test_every_part_of_the_layer_library_exports_to_onnx_and_python(tmp_path, sequence):
    import onnxruntime
    import torch

    from designer.compiler import compile_graph
    from designer.training import train_project

    project = _library_project(sequence)
    train_project(project, epochs=1, device="cpu")  # trained weights, batch norm statistics
    write_project(project, tmp_path / "library.nnd")
    result = nnd("export", tmp_path / "library.nnd", "--to", "onnx", "-o", tmp_path / "model.onnx")
    assert result.returncode == 0, result.stderr
    result = nnd("export", tmp_path / "library.nnd", "--to", "py", "-o", tmp_path / "model.py")
    assert result.returncode == 0, result.stderr
    module = compile_graph(read_project(tmp_path / "library.nnd").graph, weights=project.weights)
    x = torch.rand((5, 20, 1) if sequence else (5, 16, 16), generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        expected = module(x).numpy()
    y = onnxruntime.InferenceSession(str(tmp_path / "model.onnx")).run(None, {"x": x.numpy()})[0]
    np.testing.assert_allclose(y, expected, atol=1e-5, rtol=0)
    spec = importlib.util.spec_from_file_location("library_model", tmp_path / "model.py")
    exported = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(exported)
    with torch.no_grad():
        np.testing.assert_allclose(exported.load(tmp_path / "model.safetensors")(x).numpy(), expected, atol=1e-6)


@pytest.mark.skipif(_has("onnx", "onnxscript"), reason="the onnx packages are installed")
def test_onnx_export_without_its_packages_says_how_to_get_them(tmp_path):
    _user_error(nnd("export", EXAMPLES / "xor.nnd", "--to", "onnx", "-o", tmp_path / "m.onnx"),
                "pip install 'nn-designer[onnx]'")
    assert not (tmp_path / "m.onnx").exists()


def test_main_runs_in_process_from_a_worker_thread(tmp_path, capsys):
    import threading

    from designer.cli import main

    status = []
    worker = threading.Thread(target=lambda: status.append(
        main(["train", str(EXAMPLES / "perceptron.nnd"), "--epochs", "2", "--json", "--out", str(tmp_path / "p.nnd")])))
    worker.start()
    worker.join(TIMEOUT)
    assert status == [0]
    assert [json.loads(line)["epoch"] for line in capsys.readouterr().out.splitlines()] == [1, 2]


# ---------------------------------------------------------------- wrong input of every kind
# Each case breaks one thing in a copy of the xor example, as a hand edit or another tool might; ``check``
# and ``train`` (in place, no --out) must both answer exit 2 with a message naming the field and where,
# no traceback, and leave the file as it was. Run in-process through main() to keep ~70 cases fast; the
# tests above run the installed command itself.
def _layer(index, **fields):
    return lambda d: d["graph"]["layers"][index].update(fields)


def _local(**fields):
    return lambda d: d["graph"]["connections"][0].update(connectivity={"kind": "local", "window": 1, **fields})


def _section(section, /, **fields):
    return lambda d: d[section].update(fields)


def _add(layers=(), connections=()):
    def change(d):
        d["graph"]["layers"].extend(layers)
        d["graph"]["connections"].extend(connections)
    return change


def _hidden_chain(units, count=2):
    """x -> h -> h2 ... -> out, ``count`` layers of ``units`` neurons: each h-h2, h2-h3 ... holds units**2 weights."""
    def change(d):
        d["graph"]["layers"][1]["shape"] = [units]
        previous = "h"
        for n in range(2, count + 1):
            d["graph"]["layers"].append({"id": f"h{n}", "kind": "neurons", "shape": [units]})
            d["graph"]["connections"].append({"id": f"{previous}-h{n}", "source": previous, "target": f"h{n}"})
            previous = f"h{n}"
        d["graph"]["connections"][1]["source"] = previous
    return change


def _csv(text, **fields):
    def change(d):
        d["dataset"] = {"kind": "csv", "path": "data.csv", "features": ["a", "b"], "target": "label", **fields}
        if text is not None:
            d["csv"] = text  # written beside the project by the test, then dropped
    return change


BROKEN = {
    # layers: a wrong type in every field
    "shape text": (_layer(1, shape="abc"), ["layer 'h'", "shape", '"abc"']),
    "shape zero": (_layer(1, shape=[0]), ["layer 'h'", "shape", "[0]"]),
    "shape float": (_layer(1, shape=[1e12]), ["layer 'h'", "shape"]),
    "shape huge": (_layer(1, shape=[10**12]), ["layer h", "neurons", "10,000,000"]),
    "shape negative": (_layer(0, shape=[-1]), ["layer 'x'", "shape"]),
    "shape four dims": (_layer(1, shape=[1, 1, 1, 1]), ["layer 'h'", "shape"]),
    "activation null": (_layer(1, activation=None), ["layer 'h'", "'activation' must be text", "null"]),
    "activation unknown": (_layer(1, activation="swish"), ["layer h", "unknown activation 'swish'"]),
    "position text": (_layer(1, position="a"), ["layer 'h'", "position", '"a"']),
    "position short": (_layer(1, position=[1]), ["layer 'h'", "position"]),
    "bias text": (_layer(1, bias="no"), ["layer 'h'", "'bias' must be true or false", '"no"']),
    "kind null": (_layer(1, kind=None), ["layer 'h'", "'kind' must be text"]),
    "kind unknown": (_layer(1, kind="conv"), ["layer h", "unknown kind 'conv'"]),
    "id number": (_layer(1, id=5), ["graph.layers[1]", "'id' must be text", "5"]),
    "id spaces": (_layer(1, id="a b"), ["layer a b", "the id must be"]),
    "label number": (_layer(1, label=7), ["layer 'h'", "'label' must be text"]),
    # connectivity
    "window zero": (_local(window=0), ["connection x-h", "window [0]", "at least 1"]),
    "window text": (_local(window="x"), ["connection 'x-h'", "window", '"x"']),
    "window too big": (_local(window=99), ["connection x-h", "does not fit"]),
    "stride text": (_local(stride="x"), ["connection 'x-h'", "stride", '"x"']),
    "stride zero": (_local(stride=0), ["connection x-h", "stride must be at least 1"]),
    "padding unknown": (_local(padding="full"), ["connection x-h", "padding", "'full'"]),
    "padding null": (_local(padding=None), ["connection 'x-h'", "'padding' must be text"]),
    "shared text": (_local(shared="yes"), ["connection 'x-h'", "'shared' must be true or false"]),
    "connectivity kind null": (lambda d: d["graph"]["connections"][0].update(connectivity={"kind": None}),
                               ["connection 'x-h'", "'kind' must be text"]),
    "connectivity text": (lambda d: d["graph"]["connections"][0].update(connectivity="dense"),
                          ["connection 'x-h'", "connectivity must be a JSON object"]),
    "disabled text": (lambda d: d["graph"]["connections"][0].update(disabled="x"),
                      ["connection 'x-h'", "'disabled'"]),
    "disabled outside": (lambda d: d["graph"]["connections"][0].update(disabled=[[99, 0]]),
                         ["connection x-h", "[99, 0]", "outside"]),
    "source null": (lambda d: d["graph"]["connections"][0].update(source=None), ["connection 'x-h'", "'source'"]),
    "connection id list": (lambda d: d["graph"]["connections"][0].update(id=[1]),
                           ["graph.connections[0]", "'id' must be text"]),
    # impossible designs
    "cycle through the input": (_add(connections=[{"id": "back", "source": "out", "target": "x"}]),
                                ["connection back", "input layer 'x' cannot receive"]),
    "no input": (_layer(0, kind="neurons"), ["no input layer"]),
    "two outputs": (_add([{"id": "out2", "kind": "neurons", "shape": [1]}],
                         [{"id": "h-out2", "source": "h", "target": "out2"}]), ["layer out2", "2 outputs"]),
    "window does not fit": (lambda d: (_layer(1, shape=[1])(d), _local(window=5)(d)),
                            ["connection x-h", "window of [5] does not fit"]),
    "missing layer": (lambda d: d["graph"]["connections"][1].update(target="ghost"),
                      ["connection h-out", "'ghost'", "does not exist"]),
    "lstm with a local connection": (lambda d: (_layer(1, kind="lstm", shape=[1])(d), _local(window=2)(d)),
                                     ["connection x-h", "lstm layers take dense connections only"]),
    "dense 1e5 x 1e5": (_hidden_chain(100_000), ["connection h-h2", "10,000,000,000 weights"]),
    "too many parameters in all": (_hidden_chain(12_000, 3), ["design", "250,000,000", "parameters"]),
    "graph null": (lambda d: d.update(graph=None), ["'graph' must be a JSON object"]),
    "duplicate layer": (_add([{"id": "h", "kind": "neurons", "shape": [1]}]), ["two layers have the id 'h'"]),
    "version newer": (lambda d: d.update(version=99), ["newer NN Designer"]),
    "version text": (lambda d: d.update(version="1"), ["invalid version"]),
    # dataset
    "samples negative": (_section("dataset", samples=-5), ["dataset field 'samples'", "-5"]),
    "samples 1e7": (_section("dataset", samples=10**7), ["dataset field 'samples'", "1,000,000"]),
    "samples text": (_section("dataset", samples="many"), ["dataset field 'samples'", "'many'"]),
    "noise text": (_section("dataset", noise="x"), ["dataset field 'noise'"]),
    "validation_split 1.5": (_section("dataset", validation_split=1.5), ["dataset field 'validation_split'"]),
    "dataset seed text": (_section("dataset", seed="s"), ["dataset field 'seed'"]),
    "dataset unknown": (_section("dataset", name="nope"), ["unknown built-in dataset 'nope'"]),
    "dataset kind unknown": (_section("dataset", kind="sql"), ["unknown kind 'sql'"]),
    "dataset list": (lambda d: d.update(dataset=[]), ["'dataset' must be a JSON object"]),
    # training
    "learning_rate text": (_section("training", learning_rate="fast"), ["training: learning_rate", "'fast'"]),
    "learning_rate negative": (_section("training", learning_rate=-1), ["training: learning_rate"]),
    "batch_size zero": (_section("training", batch_size=0), ["training: batch_size", "got 0"]),
    "batch_size text": (_section("training", batch_size="16"), ["training: batch_size"]),
    "epochs 1e9": (_section("training", epochs=1e9), ["training: epochs", "1,000,000"]),
    "epochs true": (_section("training", epochs=True), ["training: epochs"]),
    "optimizer unknown": (_section("training", optimizer="lbfgs"), ["training: optimizer", "'lbfgs'"]),
    "device tpu": (_section("training", device="tpu"), ["training: device", "'tpu'"]),
    "loss unknown": (_section("training", loss="hinge"), ["training: loss", "'hinge'"]),
    "momentum 2": (_section("training", momentum=2), ["training: momentum"]),
    "seed negative": (_section("training", seed=-1), ["training: seed"]),
    "training null": (lambda d: d.update(training=None), ["'training' must be a JSON object"]),
    # CSV data
    "csv missing column": (_csv("a,label\n1,x\n3,y\n5,x\n7,y\n"), ["data.csv", "no column 'b'"]),
    "csv text in a number column": (_csv("a,b,label\n1,2,x\n3,zz,y\n5,6,x\n7,8,y\n"),
                                    ["data.csv", "line 3", "column 'b'", "'zz' is not a number"]),
    "csv missing value": (_csv("a,b,label\n1,2,x\n3,,y\n5,6,x\n7,8,y\n"),
                          ["data.csv", "line 3", "column 'b'", "missing value"]),
    "csv empty": (_csv(""), ["data.csv", "is empty"]),
    "csv single class": (_csv("a,b,label\n1,2,x\n3,4,x\n5,6,x\n7,8,x\n"), ["data.csv", "single class ('x')"]),
    "csv short line": (_csv("a,b,label\n1,2,x\n3,4\n5,6,x\n7,8,y\n"), ["data.csv", "line 3", "2 values"]),
    "csv not there": (_csv(None), ["data.csv", "not found"]),
    "csv features text": (_csv("a,b,label\n1,2,x\n3,4,y\n", features="a"), ["dataset field 'features'"]),
}
RAW = {
    "truncated zip": (lambda good: good[: len(good) // 2], ["not an NN Designer project", "truncated"]),
    "zip missing its end": (lambda good: good[:-10], ["not an NN Designer project"]),
    "empty file": (lambda good: b"", ["not an NN Designer project"]),
    "json cut short": (None, ["project.json is not valid JSON", "line 1, column"]),
}


def _write_raw_project(path, document, project_json=None):
    import zipfile

    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mimetype", b"application/vnd.nn-designer+zip", compress_type=zipfile.ZIP_STORED)
        archive.writestr("project.json", project_json if project_json is not None else json.dumps(document))


def _xor_document():
    import zipfile

    return json.loads(zipfile.ZipFile(EXAMPLES / "xor.nnd").read("project.json"))


def _in_process(capsys, *argv):
    from designer.cli import main

    status = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return status, captured.out + captured.err


def _refused_everywhere(capsys, path, words):
    before = path.read_bytes()
    for argv in (("check", path), ("train", path, "--epochs", "1")):
        status, output = _in_process(capsys, *argv)
        assert status == 2, f"{argv[0]}: {output}"
        assert "Traceback" not in output and "internal error" not in output, output
        for word in words:
            assert word in output, f"{argv[0]}: {word!r} not in {output!r}"
        assert path.read_bytes() == before, f"{argv[0]} changed the user's file"


@pytest.mark.parametrize("case", list(BROKEN))
def test_every_broken_field_is_exit_2_naming_it_and_leaves_the_file_alone(tmp_path, capsys, case):
    change, words = BROKEN[case]
    document = _xor_document()
    change(document)
    text = document.pop("csv", None)
    if text is not None:
        (tmp_path / "data.csv").write_text(text)
    path = tmp_path / "broken.nnd"
    _write_raw_project(path, document)
    _refused_everywhere(capsys, path, words)


@pytest.mark.parametrize("case", list(RAW))
def test_every_broken_archive_is_exit_2_and_left_alone(tmp_path, capsys, case):
    cut, words = RAW[case]
    path = tmp_path / "broken.nnd"
    if cut is None:
        _write_raw_project(path, None, project_json='{"format": ')
    else:
        path.write_bytes(cut((EXAMPLES / "xor.nnd").read_bytes()))
    _refused_everywhere(capsys, path, ["broken.nnd", *words])


def test_check_warns_of_an_unknown_training_setting(tmp_path, capsys):
    document = _xor_document()
    document["training"]["learning_rte"] = 0.5  # a typo: without a word it would pass unseen
    path = tmp_path / "typo.nnd"
    _write_raw_project(path, document)
    status, output = _in_process(capsys, "check", path)
    assert status == 0, output
    assert "warning: training: unknown setting 'learning_rte'" in output and "learning_rate" in output


def test_check_warns_that_adam_does_not_use_momentum(tmp_path, capsys):
    document = _xor_document()
    document["training"].update(optimizer="adam", momentum=0.9)
    path = tmp_path / "adam.nnd"
    _write_raw_project(path, document)
    status, output = _in_process(capsys, "check", path)
    assert status == 0 and "warning: training: momentum 0.9 is not used" in output, output


@pytest.mark.parametrize("kind", ["py", "onnx", "torchrun", "safetensors"])
def test_an_export_into_a_missing_folder_is_refused_before_any_work(tmp_path, capsys, kind):
    status, output = _in_process(capsys, "export", EXAMPLES / "xor.nnd", "--to", kind,
                                 "-o", tmp_path / "nowhere" / f"model.{kind}")
    assert status == 2 and "the folder" in output and "does not exist" in output, output
    assert "Errno" not in output and not (tmp_path / "nowhere").exists()


def test_train_out_into_another_folder_keeps_the_csv_data_found(tmp_path, capsys):
    (tmp_path / "work").mkdir()
    (tmp_path / "results").mkdir()
    (tmp_path / "work" / "data.csv").write_text("a,b,label\n1,2,x\n3,4,y\n5,6,x\n7,8,y\n2,2,x\n4,4,y\n")
    project = read_project(EXAMPLES / "xor.nnd")
    write_project(project, tmp_path / "work" / "p.nnd")  # the user's project, in their folder
    project.dataset = {"kind": "csv", "path": "data.csv", "features": ["a", "b"], "target": "label"}
    write_project(project, tmp_path / "work" / "p.nnd")
    status, output = _in_process(capsys, "train", tmp_path / "work" / "p.nnd", "--epochs", "1",
                                 "--out", tmp_path / "results" / "trained.nnd")
    assert status == 0, output
    status, output = _in_process(capsys, "check", tmp_path / "results" / "trained.nnd")
    assert status == 0 and "valid" in output, output
    assert read_project(tmp_path / "work" / "p.nnd").dataset["path"] == "data.csv"  # the input is as it was


# ---------------------------------------------------------------- hints that name a command
def _hinted_training(output):
    """The ``nn-designer train ...`` command a message tells the user to run, as arguments."""
    import shlex

    command = output.split("nn-designer train ", 1)[1]
    command = command.split(", then", 1)[0].split(")", 1)[0].split("\n", 1)[0]
    return shlex.split(command)


@pytest.mark.parametrize("kind", ["py", "safetensors"])
def test_the_hint_for_a_shipped_example_trains_a_copy_and_leaves_the_example_alone(tmp_path, kind):
    example = EXAMPLES / "xor.nnd"
    before = example.read_bytes()
    result = nnd("export", example, "--to", kind, "-o", tmp_path / f"model.{kind}", cwd=tmp_path)
    output = result.stdout + result.stderr
    assert "no trained weights" in output, output
    hinted = _hinted_training(output)
    assert hinted[0] == str(example) and "--out" in hinted, output  # never in place
    copy = hinted[hinted.index("--out") + 1]
    assert "/" not in copy and copy != example.name  # a new file in the current folder
    assert nnd("train", *hinted, "--epochs", "1", cwd=tmp_path).returncode == 0
    assert example.read_bytes() == before
    assert read_project(tmp_path / copy).weights  # the copy is what the user exports next
    result = nnd("export", copy, "--to", "safetensors", "-o", tmp_path / "w.safetensors", cwd=tmp_path)
    assert result.returncode == 0, result.stderr


def test_the_hint_for_the_users_own_project_trains_it_in_place(tmp_path):
    path = _example("xor.nnd", tmp_path)
    result = nnd("export", path, "--to", "safetensors", "-o", tmp_path / "w.safetensors")
    _user_error(result, "no trained weights")
    assert _hinted_training(result.stderr) == [str(path)]


# ---------------------------------------------------------------- one of a thing
def test_check_counts_one_parameter_and_one_sample_in_the_singular(tmp_path, capsys):
    document = _xor_document()
    document["graph"] = {
        "layers": [{"id": "x", "kind": "input", "shape": [1]},
                   {"id": "out", "kind": "neurons", "shape": [1], "activation": "sigmoid", "bias": False}],
        "connections": [{"id": "x-out", "source": "x", "target": "out"}]}
    document["dataset"] = {"kind": "csv", "path": "data.csv", "features": ["a"], "target": "label",
                           "validation_split": 0.2}
    (tmp_path / "data.csv").write_text("a,label\n1,x\n2,y\n3,x\n4,y\n5,x\n")
    _write_raw_project(tmp_path / "one.nnd", document)
    status, output = _in_process(capsys, "check", tmp_path / "one.nnd")
    assert status == 0, output
    assert "1 trainable parameter;" in output and "4 training and 1 validation sample" in output, output
    assert "1 trainable parameters" not in output and "1 validation samples" not in output, output


def test_training_a_shipped_example_in_place_is_refused_and_names_the_copy_to_train(tmp_path):
    example = EXAMPLES / "xor.nnd"
    before = example.read_bytes()
    result = nnd("train", example, "--epochs", "1")
    _user_error(result, "xor.nnd is one of NN Designer's examples", "--out my-xor.nnd")
    assert example.read_bytes() == before  # the example stays as shipped


# ---------------------------------------------------------------- loading the data: progress and Ctrl+C (issue 11)
def _csv_design(tmp_path, rows, features=20):
    """A design on ``big.csv`` in ``tmp_path``: ``rows`` rows of ``features`` numbers and a class (written quickly,
    as a block of lines repeated)."""
    from designer.graph import Graph, Layer
    from designer.project import Project

    rng = np.random.default_rng(0)
    block = "".join(",".join(f"{v:.3f}" for v in rng.normal(size=features)) + f",{i % 2}\n" for i in range(1000))
    with open(tmp_path / "big.csv", "w") as f:
        f.write(",".join(f"f{i}" for i in range(features)) + ",y\n")
        for _ in range(rows // 1000):
            f.write(block)
    g = Graph()
    g.add_layer(Layer("x", "input", (features,), position=(0, 0)))
    g.add_layer(Layer("out", "neurons", (2,), activation="softmax", position=(220, 0)))
    g.connect("x", "out", connection_id="x-out")
    project = Project(name="Big", graph=g)
    project.dataset = {"kind": "csv", "path": "big.csv", "target": "y", "task": "classification"}
    project.training.update(epochs=1, batch_size=256, device="cpu")
    path = tmp_path / "big.nnd"
    write_project(project, path)
    return path


def test_train_json_on_csv_data_writes_only_json_lines_and_no_bar_when_stderr_is_not_a_terminal(tmp_path):
    path = _csv_design(tmp_path, rows=20_000)
    result = nnd("train", path, "--json", "--out", tmp_path / "out.nnd")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines and all(json.loads(line)["epoch"] for line in lines)
    assert "Reading" not in result.stderr and "%|" not in result.stderr, result.stderr


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a pseudo-terminal for stderr")
@pytest.mark.parametrize("command", ["check", "train"])
def test_on_a_terminal_loading_shows_a_bar_and_ctrl_c_cancels_it_cleanly(tmp_path, command):
    import fcntl
    import pty
    import select
    import struct
    import termios
    import time

    path = _csv_design(tmp_path, rows=600_000)
    out = tmp_path / "out.nnd"
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a terminal 100 wide, not 0
    args = [*COMMAND, command, str(path)] + (["--out", str(out)] if command == "train" else [])
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=follower, env=env, text=True)
    os.close(follower)
    seen = b""
    deadline = time.monotonic() + TIMEOUT
    try:
        while b"%|" not in seen and process.poll() is None and time.monotonic() < deadline:
            if select.select([leader], [], [], 0.05)[0]:
                seen += os.read(leader, 4096)
        assert b"%|" in seen, seen  # a tqdm bar, on the terminal
        process.send_signal(signal.SIGINT)
        stdout, _ = process.communicate(timeout=TIMEOUT)
        while select.select([leader], [], [], 0.2)[0]:
            try:
                chunk = os.read(leader, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    finally:
        if process.poll() is None:
            process.kill()
        os.close(leader)
    text = seen.decode(errors="replace")
    assert process.returncode == 130, text + stdout
    assert "loading the data was cancelled" in text and "Traceback" not in text, text
    assert stdout == ""
    assert not out.exists()
