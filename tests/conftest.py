"""Test configuration shared by every test: off-screen Qt, and no thread or timer left running.

The two guards follow napari's ``_dangling_qthreads``/``_dangling_qtimers``: they wrap
``QThread.start`` and ``QTimer.start`` for the duration of a Qt test, remember where each was
started, and fail the test if any is still running at its end.
"""
import os
import traceback
import weakref

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402

from designer.graph import Graph  # noqa: E402

pytest_plugins = ("pytester",)


def _where() -> str:
    frames = traceback.extract_stack()[:-2]
    for frame in reversed(frames):
        if "/designer/" in frame.filename or "/tests/" in frame.filename:
            return f"{frame.filename}:{frame.lineno} in {frame.name}"
    return "unknown place"


def _uses_qt(request) -> bool:
    return "qtbot" in request.fixturenames or "qapp" in request.fixturenames


@pytest.fixture(autouse=True)
def _dataset_cache(tmp_path_factory, monkeypatch):
    """Each test decodes datasets into a cache folder of its own, never the user's (``NN_DESIGNER_CACHE``).

    Subprocesses a test starts (the command, torchrun) inherit it through the environment.
    """
    folder = tmp_path_factory.mktemp("dataset-cache")
    monkeypatch.setenv("NN_DESIGNER_CACHE", str(folder))
    return folder


@pytest.fixture(autouse=True)
def _dangling_qthreads(request, monkeypatch):
    """Fail a test that leaves a QThread running."""
    if not _uses_qt(request):
        yield
        return
    from PySide6.QtCore import QThread

    started: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
    original = QThread.start

    def start(self, *args, **kwargs):
        started[self] = _where()
        return original(self, *args, **kwargs)

    monkeypatch.setattr(QThread, "start", start)
    yield
    running = []
    for thread, where in list(started.items()):
        try:
            if thread.isRunning():
                running.append(f"{thread!r} started at {where}")
        except RuntimeError:  # the C++ object is gone: it cannot be running
            pass
    if running:
        pytest.fail("the test left QThread(s) running:\n" + "\n".join(running))


@pytest.fixture(autouse=True)
def _dangling_qtimers(request, monkeypatch):
    """Fail a test that leaves an active QTimer behind (a live plot or probe still ticking)."""
    if not _uses_qt(request):
        yield
        return
    from PySide6.QtCore import QTimer

    started: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
    original = QTimer.start

    def start(self, *args, **kwargs):
        started[self] = _where()
        return original(self, *args, **kwargs)

    monkeypatch.setattr(QTimer, "start", start)
    yield
    active = []
    for timer, where in list(started.items()):
        try:
            if timer.isActive():
                active.append(f"{timer.objectName() or timer!r} started at {where}")
                timer.stop()
        except RuntimeError:
            pass
    if active:
        pytest.fail("the test left QTimer(s) running:\n" + "\n".join(active))


# ---------------------------------------------------------------- designs from short tuples (compiler, insight)
def design(layers, connections) -> Graph:
    """A graph from short tuples: layers ``(id, kind, shape[, activation[, more fields]])``, connections
    ``(source, target[, connectivity dict[, disabled pairs]])`` named ``source-target``."""
    d = {"layers": [], "connections": []}
    for item in layers:
        lid, kind, shape, *rest = item
        layer = {"id": lid, "kind": kind, "shape": list(shape)}
        if rest:
            layer["activation"] = rest[0]
        if len(rest) > 1:  # more fields, as the file writes them: {"dropout": 0.5, "norm": "batch"}
            layer.update(rest[1])
        d["layers"].append(layer)
    for item in connections:
        source, target, *rest = item
        conn = {"id": f"{source}-{target}", "source": source, "target": target,
                "connectivity": rest[0] if rest else {"kind": "dense"}}
        if len(rest) > 1:
            conn["disabled"] = [list(p) for p in rest[1]]
        d["connections"].append(conn)
    return Graph.from_dict(d)


@pytest.fixture
def build():
    return design


@pytest.fixture
def csv_losses(monkeypatch):
    """``losses(path, classes, batch_size, budget)``: each batch's loss and the validation curve of
    x (3) -> h (8 tanh) -> out (``classes`` softmax) trained 2 epochs (seed 3) on the CSV file ``path``, under the
    memory budget ``budget`` (``"1G"`` holds it in memory, ``"1"`` streams it from the dataset cache)."""
    def losses(path, classes: int, batch_size: int, budget: str):
        from designer.project import DEFAULT_TRAINING, Project
        from designer.training import train_project

        monkeypatch.setenv("NN_DESIGNER_MEMORY_BUDGET", budget)
        graph = design([("x", "input", (3,)), ("h", "neurons", (8,), "tanh"),
                        ("out", "neurons", (classes,), "softmax")], [("x", "h"), ("h", "out")])
        project = Project(name="t", graph=graph, dataset={"kind": "csv", "path": str(path)},
                          training={**DEFAULT_TRAINING, "batch_size": batch_size, "epochs": 2, "seed": 3})
        batches = []
        run = train_project(project, device="cpu", on_batch=lambda b: batches.append(b.loss))
        assert run.status == "completed"
        return batches, run.val_loss

    return losses
