"""The ``nn-designer`` command: open the window, or check, train and export projects without one.

See ``docs/command.md``. Exit status: 0 success, 2 wrong input (file, graph, data, settings, arguments:
the message says what and where), 3 training diverged (the run is stored with status ``diverged``),
130 interrupted with Ctrl+C (the run so far is stored with status ``stopped``), 1 a bug.

Only the standard library is imported at start-up, so ``--help`` and ``--version`` answer at
once; torch comes in with the sub-commands that need it.
"""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import math
import os
import signal
import sys
import shutil
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any, Sequence

from designer import __version__
from designer.resources import is_shipped_example

EXIT_OK, EXIT_BUG, EXIT_INPUT, EXIT_DIVERGED, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
COMMANDS = ("check", "train", "export", "import", "import-run")
EXPORT_FORMATS = ("py", "safetensors", "onnx", "torchrun", "svg", "png")
PICTURES = ("svg", "png")
#: where a bug goes: README.md says how to report one (there is no public tracker to name)
REPORT = "attach the file {log} to a report to the NN Designer developers (see README: Reporting a problem)"


class UsageError(ValueError):
    """Arguments that parse but do not make sense together (an export target that is a folder ...)."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (``sys.argv[1:]`` when None) and return the exit status."""
    __import__("multiprocessing").freeze_support()  # a frozen worker process (image decoding) runs its task
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = _parser()
    try:
        if argv and argv[0] not in COMMANDS and not argv[0].startswith("-"):
            # `nn-designer FILE.nnd`: open the window on it
            if len(argv) > 1:
                parser.error(f"unexpected arguments after {argv[0]}: {' '.join(argv[1:])} "
                             f"(to run a command, put it first: nn-designer check FILE.nnd)")
            return _guarded(lambda: _open_window(argv[0]))
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse has printed the usage and the problem (or the help)
        return int(exc.code or 0)
    if args.self_test:
        return _guarded(lambda: importlib.import_module("designer.selftest").run_self_test())
    if args.command is None:
        return _guarded(lambda: _open_window(None))
    return _guarded(lambda: args.run(args))


# ---------------------------------------------------------------- arguments
def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nn-designer",
        usage="nn-designer [FILE.nnd] | nn-designer {check,train,export} FILE.nnd ... | "
              "nn-designer import MODEL.onnx -o DESIGN.nnd | nn-designer import-run JOB/ -o DESIGN.nnd | "
              "nn-designer --self-test",
        description="Design neural networks by drawing them, train them live with PyTorch, and watch them "
                    "learn. Without a command, opens the window (on FILE.nnd, or on the default example).",
        epilog="exit status: 0 success, 2 wrong input (the message says what and where), "
               "3 training diverged, 130 interrupted, 1 a bug (please report it). "
               "Run 'nn-designer COMMAND --help' for a command's options.")
    parser.add_argument("--version", action="version", version=f"nn-designer {__version__}")
    parser.add_argument("--self-test", action="store_true",
                        help="open the window off-screen, train the default example one epoch, exit 0 if all "
                             "went well (smoke test for installed bundles)")
    commands = parser.add_subparsers(dest="command", title="commands", metavar="COMMAND", prog="nn-designer")

    check = commands.add_parser("check", help="validate a project: file, graph, shapes, data and settings",
                                description="Validate FILE: print one line per problem naming the layer or "
                                            "connection, and the parameter count when it is valid. "
                                            "Exit status 2 when there are errors.")
    check.add_argument("file", metavar="FILE.nnd")
    check.set_defaults(run=_check)

    train = commands.add_parser("train", help="train a project headless and store the weights and the run",
                                description="Train FILE as its training settings say, with a progress bar on "
                                            "stderr, and store the weights and the run's history into OUT "
                                            "(FILE itself by default, saved atomically). Ctrl+C stops "
                                            "after the current batch and saves the run as 'stopped'.")
    train.add_argument("file", metavar="FILE.nnd")
    train.add_argument("--epochs", type=_positive_int, metavar="N", help="train N epochs (overrides the file)")
    train.add_argument("--out", metavar="OUT.nnd", help="save the trained project here instead of into FILE")
    train.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"), help="where to train "
                       "(overrides the file; auto takes cuda, then mps, then cpu)")
    train.add_argument("--seed", type=_seed, metavar="S", help="seed for weights and shuffling (overrides "
                       "the file)")
    train.add_argument("--threads", type=_positive_int, metavar="N",
                       help="CPU threads for PyTorch (default: 1 for small designs, where more threads only add "
                            "hand-offs, else PyTorch's choice)")
    train.add_argument("--json", action="store_true",
                       help='print one JSON object per epoch on stdout: {"epoch", "train_loss", "val_loss", '
                            '"train_accuracy", "val_accuracy"} (accuracy only for classification)')
    train.set_defaults(run=_train)

    export = commands.add_parser("export", help="write the model as PyTorch source, its weights, a torchrun "
                                                "training script, an ONNX graph or a picture",
                                 description="Write FILE's model as standalone PyTorch source (py, with "
                                             "its weights beside it as OUT.safetensors), its trained weights "
                                             "(safetensors), or a training job for torchrun (torchrun: the "
                                             "folder OUT/ with the script, data, weights, project, README and "
                                             "Slurm file; an OUT.py name writes the script alone), or an ONNX "
                                             "graph (onnx; needs pip install 'nn-designer[onnx]'), or a picture of "
                                             "the network as the canvas draws it, links coloured by the trained "
                                             "weights (svg, or png at twice the canvas's size).")
    export.add_argument("file", metavar="FILE.nnd")
    export.add_argument("--to", required=True, choices=EXPORT_FORMATS, dest="format")
    export.add_argument("-o", "--output", required=True, metavar="OUT")
    export.add_argument("--neurons", action="store_true",
                        help="svg and png: draw each neuron as a picture of what it computes, from the trained "
                             "weights and the project's data (its map over the plane for two inputs, its incoming "
                             "weights for images, its value over a sequence), as View > Neuron Pictures shows it")
    export.set_defaults(run=_export)

    import_ = commands.add_parser("import", help="turn an ONNX model into a design with its trained weights",
                                  description="Read MODEL.onnx (from PyTorch's torch.onnx.export or NN Designer's own "
                                              "export), map its operators to layers and connections, keep its "
                                              "weights, lay it out and save it as a project. Nothing in the file is "
                                              "run. A node the design cannot express is refused, one line each, "
                                              "and nothing is written. Needs pip install 'nn-designer[onnx]'.")
    import_.add_argument("model", metavar="MODEL.onnx")
    import_.add_argument("-o", "--output", required=True, metavar="DESIGN.nnd")
    import_.set_defaults(run=_import)

    import_run = commands.add_parser("import-run", help="bring a finished training job's weights and run into a "
                                                        "design",
                                     description="Read JOB/result.nnd, written by a job that 'export --to "
                                                 "torchrun' made, and add its trained weights and its run to "
                                                 "DESIGN.nnd (saved atomically), which must still have the job's "
                                                 "design: the layers that differ are named otherwise. A DESIGN.nnd "
                                                 "that does not exist yet is written as the job's result.")
    import_run.add_argument("job", metavar="JOB/")
    import_run.add_argument("-o", "--output", required=True, metavar="DESIGN.nnd")
    import_run.set_defaults(run=_import_run)
    return parser


def _whole_number(low: int, wanted: str):
    """An argparse type: a whole number from ``low`` up, refused in the words ``wanted``."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = low - 1
        if value < low:
            raise argparse.ArgumentTypeError(f"expected {wanted}, got {text!r}")
        return value
    return parse


_positive_int = _whole_number(1, "a whole number of at least 1")
_seed = _whole_number(0, "a whole number from 0")


# ---------------------------------------------------------------- errors
def _guarded(action) -> int:
    """Run ``action``; a user's mistake is one line and exit 2, anything else a bug report and exit 1."""
    try:
        return action()
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - the last line of defence: no traceback for the user
        if _is_user_error(exc):
            _print_user_error(exc)
            return EXIT_INPUT
        return _report_bug(exc)


def _is_user_error(exc: BaseException) -> bool:
    # Each package's own error type (ProjectError, DataError, CompileError, TrainingError, GraphError)
    # subclasses ValueError; a bare ValueError from somewhere else is a bug, not the user's doing.
    # A file that cannot be written or read (permissions, a full disk) is the user's to fix too.
    if isinstance(exc, (UsageError, OSError)):
        return True
    return isinstance(exc, ValueError) and type(exc).__module__.startswith("designer.")


def _print_user_error(exc: BaseException) -> None:
    problems = getattr(exc, "problems", None)
    if problems:  # a CompileError: one line per problem, each naming its layer or connection
        for problem in problems:
            print(problem, file=sys.stderr)
    else:
        print(f"error: {exc}", file=sys.stderr)


def _report_bug(exc: BaseException) -> int:
    details = "".join(traceback.format_exception(exc))
    try:
        with tempfile.NamedTemporaryFile("w", prefix="nn-designer-error-", suffix=".txt", delete=False,
                                         encoding="utf-8") as log:
            log.write(f"nn-designer {__version__}, Python {sys.version.split()[0]}\n"
                      f"command: {' '.join(sys.argv)}\n\n{details}")
        where = f"; the details are in {log.name}"
        how = REPORT.format(log=log.name)
    except OSError:
        where = ""
        how = REPORT.format(log="(this message)").replace("the file (this message)", "this message")
    print(f"internal error: {type(exc).__name__}: {exc}{where}. This is a bug in NN Designer: {how}",
          file=sys.stderr)
    return EXIT_BUG


# ---------------------------------------------------------------- the window
def _app():
    # Imported by name: the window sits above this module in the layering, and only this path needs it.
    return importlib.import_module("designer.app")


def _open_window(path: str | None) -> int:
    if path is not None and not Path(path).exists():
        raise UsageError(f"{path}: no such file")
    return int(_app().main(path) or 0)


# ---------------------------------------------------------------- loading the data
class _DataLoad:
    """``with _DataLoad() as load:`` a loader for ``project_problems`` / ``prepare_project``'s data that draws
    a progress bar on stderr (only when it is a terminal: tqdm's ``disable=None``; never on stdout, where
    ``--json`` writes) and stops at the first Ctrl+C: the loader ends at its next chunk (``LoadCancelled``),
    leaving nothing half-written; a second Ctrl+C interrupts at once."""

    def __init__(self) -> None:
        import threading

        from designer.data.errors import Progress

        self.cancel = threading.Event()
        self.progress = Progress(self._report, self.cancel, interval=0.1)
        self._bar = None
        self._previous = None
        self._name = "data"

    def __enter__(self):
        self._previous = signal.getsignal(signal.SIGINT)

        def handler(signum, frame):
            if self.cancel.is_set():
                raise KeyboardInterrupt
            print("\nstopping the load (Ctrl+C again to quit at once)", file=sys.stderr)
            self.cancel.set()

        try:
            signal.signal(signal.SIGINT, handler)
        except ValueError:  # not the main thread: leave Ctrl+C alone
            self._previous = None
        return self

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.close()
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)

    def __call__(self, block, base_dir=None):
        """``load(block, base_dir)``: the dataset, loaded with this progress (raises ``LoadCancelled``)."""
        from designer.data import load_dataset

        path = block.get("path") if isinstance(block, dict) else None
        self._name = Path(path).name if isinstance(path, str) and path else "data"
        dataset = load_dataset(block, base_dir, self.progress)
        self.progress.check()  # a Ctrl+C the loader never heard (a built-in, one long step) still stops here
        return dataset

    def _report(self, done: int, total: int, text: str) -> None:
        # the loader's words up to their figures name the stage: "Reading big.csv: 412,000 rows" -> "Reading big.csv"
        stage = text.split(":")[0].strip() if text else ""
        if not stage or " " not in stage:
            stage = f"loading {self._name}"
        if self._bar is None:
            from tqdm import tqdm

            self._bar = tqdm(total=total, unit="", unit_scale=True, file=sys.stderr, dynamic_ncols=True,
                             desc=stage, disable=None, leave=False)
            self._stage = stage
        if self._bar.disable:  # stderr is not a terminal
            return
        if self._stage != stage:
            self._stage = stage
            self._bar.set_description_str(stage, refresh=False)
        if total and self._bar.total != total:
            self._bar.total = total
        self._bar.n = done
        self._bar.refresh()


def _load_cancelled(file: str, what: str) -> int:
    print(f"{file}: loading the data was cancelled; {what}", file=sys.stderr)
    return EXIT_INTERRUPTED


# ---------------------------------------------------------------- check
def _check(args: argparse.Namespace) -> int:
    from designer.project import read_project

    from designer.data.errors import LoadCancelled
    from designer.training.checks import check_project

    project = read_project(args.file)
    try:
        with _DataLoad() as load:
            errors, notes, summary = check_project(project, load=load)
    except LoadCancelled:
        return _load_cancelled(args.file, "nothing was checked")
    for line in errors + notes:
        print(line)
    if errors:
        print(f"{args.file}: {len(errors)} error{'s' if len(errors) != 1 else ''}")
        return EXIT_INPUT
    print(f"{args.file}: valid; {summary}")
    return EXIT_OK


# ---------------------------------------------------------------- train
def _train(args: argparse.Namespace) -> int:
    from designer.project import read_project

    project = read_project(args.file)
    out = Path(args.out) if args.out else Path(args.file)
    if is_shipped_example(out):  # the examples stay as shipped, for everyone who opens them next
        raise UsageError(f"{out} is one of NN Designer's examples and stays as shipped; train a copy: "
                         f"nn-designer train {args.file} --out my-{Path(args.file).name}")
    if out.is_dir():
        raise UsageError(f"--out {out}: that is a folder; give a file name such as {out / 'trained.nnd'}")
    folder = out.resolve().parent
    if not folder.is_dir():  # say so now, not after the training
        raise UsageError(f"--out {out}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise UsageError(f"cannot save into {folder}: it is not writable; choose another place with --out")

    import torch
    from tqdm import tqdm

    from designer.data.errors import LoadCancelled
    from designer.training import Control, prepare_project, record_run, suggested_threads, train

    try:
        with _DataLoad() as load:
            dataset = load(project.dataset, Path(project.path).resolve().parent if project.path else None)
    except LoadCancelled:
        return _load_cancelled(args.file, "nothing was trained or saved")
    prepared = prepare_project(project, epochs=args.epochs, device=args.device, seed=args.seed, dataset=dataset)
    _check_free_space(Path(args.file), folder, prepared.module)
    torch.set_num_threads(args.threads or suggested_threads(project.graph, prepared.dataset,
                                                            prepared.config.batch_size))
    if prepared.weights_note:
        print(f"warning: {prepared.weights_note}", file=sys.stderr)
    config = prepared.config
    classification = prepared.dataset.task == "classification"
    scheduled = config.schedule != "none"  # the rate moves: say where it is
    bar = tqdm(total=config.epochs, unit="epoch", file=sys.stderr, dynamic_ncols=True,
               desc=Path(args.file).name, disable=None)

    def on_epoch(stats) -> None:
        bar.update(1)
        shown = {"loss": f"{stats.train_loss:.4g}"}
        if stats.val_loss is not None:
            shown["val_loss"] = f"{stats.val_loss:.4g}"
        if stats.val_accuracy is not None:
            shown["val_acc"] = f"{stats.val_accuracy:.3f}"
        if scheduled and stats.learning_rate is not None:
            shown["lr"] = f"{stats.learning_rate:.3g}"
        bar.set_postfix(shown, refresh=False)
        if args.json:
            print(json.dumps(epoch_record(stats, classification, scheduled)), flush=True)

    control = Control()
    previous = _stop_on_interrupt(control)
    try:
        run = train(prepared.module, prepared.dataset, config, control=control, on_epoch=on_epoch)
    finally:
        bar.close()
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    run.initial_weights = prepared.initial_weights
    record_run(project, prepared.module, run)

    saved = _save_run(project, out)
    print(_summary(run, saved), file=sys.stderr)
    if saved != out:
        return EXIT_INPUT
    if run.status == "diverged":
        return EXIT_DIVERGED
    if run.status == "stopped":
        return EXIT_INTERRUPTED
    return EXIT_OK


def _check_free_space(source: Path, folder: Path, module) -> None:
    """Refuse before training when the folder of ``--out`` cannot hold the saved project (a cheap estimate)."""
    need = 2 * sum(int(p.numel()) * p.element_size() for p in module.parameters()) + (1 << 20)
    try:
        need += source.stat().st_size
        free = shutil.disk_usage(folder).free
    except OSError:
        return  # cannot be told here: the save itself will say
    if free < need:
        raise UsageError(f"cannot save into {folder}: it has {free:,} bytes free and the trained project needs "
                         f"about {need:,}; free some space or choose another place with --out")


def recovery_folder() -> Path:
    """Where runs that could not be saved where asked are kept: the user's data folder, without Qt.

    ``$XDG_DATA_HOME/nn-designer/recovered`` (default ``~/.local/share``) on Linux and other Unixes,
    ``~/Library/Application Support/nn-designer/recovered`` on macOS, ``%LOCALAPPDATA%\\nn-designer\\recovered``
    on Windows.
    """
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        data = os.environ.get("XDG_DATA_HOME", "")
        base = Path(data) if os.path.isabs(data) else Path.home() / ".local" / "share"
    return base / "nn-designer" / "recovered"


def _save_run(project, out: Path) -> Path:
    """Save the trained ``project`` into ``out``; where that fails, keep the run elsewhere and return where.

    A finished run is never thrown away: it goes beside ``out`` (``NAME-recovered-TIME.nnd``), else into
    :func:`recovery_folder`, with values no file can hold replaced (said in the message). Raises
    :class:`UsageError` naming both failures when it cannot be kept anywhere.
    """
    from designer.project import ProjectError, write_project

    try:
        write_project(project, out)
        return out
    except ProjectError as exc:
        failure = str(exc)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    name = f"{out.stem}-recovered-{stamp}-{os.getpid()}.nnd"
    changed = _salvage(project)
    problems = []
    dropped: list[str] = []
    for candidate in (out.resolve().parent / name, recovery_folder() / name):
        for attempt in range(2):
            try:
                candidate.parent.mkdir(parents=True, exist_ok=True)
                write_project(project, candidate)
                break
            except (ProjectError, OSError) as exc:
                if attempt == 0 and project.other_entries and "entry" in str(exc):
                    # an unknown entry that cannot be copied any more: the run matters more than it
                    dropped, project.other_entries = list(project.other_entries), {}
                    continue
                problems.append(str(exc))
                candidate = None
                break
        if candidate is None:
            continue
        notes = []
        if changed:
            notes.append(f"{changed} value{'s' if changed != 1 else ''} no file can hold replaced: lone "
                         f"surrogates by '\ufffd', huge numbers by text")
        if dropped:
            notes.append(f"without the unknown entries {', '.join(map(repr, dropped))}")
        note = f" ({'; '.join(notes)})" if notes else ""
        print(f"error: {failure}\nthe trained project was kept in {candidate}{note}; open it, or move it where "
              f"you want it", file=sys.stderr)
        return candidate
    raise UsageError(f"{failure}; the run could not be kept either: {'; '.join(problems)}")


def _salvage(project) -> int:
    """Make the parts of ``project`` a file holds writable whatever they hold; how many values changed."""
    from designer.project.jsonfile import salvage

    changed = 0
    for attribute in ("name", "description", "dataset", "training", "extra", "history"):
        value, count = salvage(getattr(project, attribute))
        if count:
            setattr(project, attribute, value)
            changed += count
    return changed


def epoch_record(stats, classification: bool, scheduled: bool = False) -> dict[str, Any]:
    """One ``--json`` line: the spec's keys, accuracy only for classification, null for what is missing;
    with a learning-rate schedule, the rate the epoch ended at."""
    record = {"epoch": stats.epoch, "train_loss": _finite(stats.train_loss), "val_loss": _finite(stats.val_loss)}
    if classification:
        record["train_accuracy"] = _finite(stats.train_accuracy)
        record["val_accuracy"] = _finite(stats.val_accuracy)
    if scheduled:
        record["learning_rate"] = _finite(stats.learning_rate)
    return record


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None  # JSON has no NaN


def _stop_on_interrupt(control) -> Any:
    """First Ctrl+C: stop after the current batch and save; a second one interrupts at once.

    Returns the handler to put back afterwards (None when none was installed: not the main thread).
    """
    previous = signal.getsignal(signal.SIGINT)

    def handler(signum, frame):
        if control.stopped:
            raise KeyboardInterrupt
        print("\nstopping after this batch (Ctrl+C again to abandon the run)", file=sys.stderr)
        control.stop()

    try:
        signal.signal(signal.SIGINT, handler)
    except ValueError:  # not the main thread (main() called from a worker): leave Ctrl+C alone
        return None
    return previous


def _summary(run, out: Path) -> str:
    last = run.last
    parts = [f"{run.status} after {len(run.epochs)} epoch{'s' if len(run.epochs) != 1 else ''}"]
    if last is not None:
        parts.append(f"train loss {last.train_loss:.4g}")
        if last.val_loss is not None:
            parts.append(f"val loss {last.val_loss:.4g}")
        if last.val_accuracy is not None:
            parts.append(f"val accuracy {last.val_accuracy:.3f}")
    text = ", ".join(parts) + f" ({run.samples_per_second:,.0f} samples/s on {run.device}); saved {out}"
    if run.message:
        text += f"\n{run.status}: {run.message}"
    return text


# ---------------------------------------------------------------- export
def _export(args: argparse.Namespace) -> int:
    from designer.project import read_project

    project = read_project(args.file)
    out = Path(args.output)
    if getattr(args, "neurons", False) and args.format not in PICTURES:
        raise UsageError(f"--neurons draws neuron pictures into a picture: use it with --to svg or --to png, "
                         f"not --to {args.format}")
    if args.format == "torchrun":  # a job folder (or, named OUT.py, the script alone)
        return _export_torchrun(project, out)
    if out.is_dir():
        raise UsageError(f"-o {out}: that is a folder; give a file name")
    if not out.resolve().parent.is_dir():  # say so now, not after compiling or exporting
        raise UsageError(f"-o {out}: the folder {out.resolve().parent} does not exist")
    if args.format in PICTURES:
        return _export_picture(project, out, args.format, args.file, neurons=getattr(args, "neurons", False))
    if args.format == "safetensors":
        _write_atomically(out, _weights_bytes(project, args.file))
        print(f"wrote {out}", file=sys.stderr)
        return EXIT_OK
    if args.format == "onnx":
        return _export_onnx(project, out, args.file)

    from designer.compiler import CompileError, export_source
    from designer.graph import errors as graph_errors
    from designer.graph import validate

    if out.suffix == ".safetensors":
        raise UsageError(f"-o {out}: the source goes into a .py file, and the weights beside it "
                         f"(-o {out.with_suffix('.py')} writes both)")
    problems = graph_errors(validate(project.graph))
    if problems:
        raise CompileError.from_problems(problems)
    _write_atomically(out, export_source(project.graph, project.name).encode("utf-8"))
    lines = [f"wrote {out}"]
    if project.weights:
        weights = out.with_suffix(".safetensors")
        _write_atomically(weights, _weights_bytes(project, args.file))
        lines.append(f"wrote {weights}, the trained weights: in Python, "
                     f"from {out.stem} import load; model = load({str(weights)!r})")
    else:
        lines.append(f"{args.file} has no trained weights yet: the model starts from fresh ones "
                     f"(train it with: {_train_command(args.file)})")
    print("\n".join(lines), file=sys.stderr)
    return EXIT_OK


def _export_onnx(project, out: Path, file: str) -> int:
    """The compiled model as an ONNX graph (torch.onnx's exporter), any batch size, trained weights."""
    missing = [name for name in ("onnx", "onnxscript") if importlib.util.find_spec(name) is None]
    if missing:
        raise UsageError(f"export --to onnx needs the {' and '.join(missing)} package"
                         f"{'s' if len(missing) > 1 else ''}: pip install 'nn-designer[onnx]'")
    import logging
    import warnings

    import torch

    from designer.compiler import compile_graph
    from designer.data import load_dataset

    module = compile_graph(project.graph, seed=0)
    if project.weights:
        module.load_named_weights(project.weights)
    module.eval()
    shape: tuple[int, ...] = tuple(module.input_shape)
    if module.is_sequence:
        # the time loop is unrolled: the graph takes sequences as long as the project's data
        base = Path(project.path).resolve().parent if project.path else None
        shape = (int(load_dataset(project.dataset, base).x_train.shape[1]), *shape)
    example = torch.zeros((2, *shape))
    logging.getLogger("torch.onnx").setLevel(logging.ERROR)  # it lists the torchvision operators it skips
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # The exporter's optimiser folds an evaluation-mode batch norm into the layer before it: the file would
        # no longer show (or import back as) the norm that was drawn. Runtimes fold it themselves when they load
        # the model (onnxruntime does), so a design with batch norm is written as drawn.
        keeps_norms = any(layer.norm == "batch" for layer in project.graph.layers.values())
        program = torch.onnx.export(module, (example,), None, dynamo=True, optimize=not keeps_norms,
                                    input_names=["x"], output_names=["y"], verbose=False,
                                    dynamic_shapes=({0: torch.export.Dim("batch", min=1)},))
    with tempfile.TemporaryDirectory(dir=out.resolve().parent, prefix=f".{out.name}.") as scratch:
        program.save(str(Path(scratch) / out.name))
        os.replace(Path(scratch) / out.name, out)
    size = " x ".join(["batch", *map(str, shape)])
    print(f"wrote {out}: input 'x' [{size}] -> output 'y' [batch x {module.output_units}] "
          f"({module.output_activation} outputs)", file=sys.stderr)
    if not project.weights:
        print(f"note: {file} has no trained weights yet: the graph holds fresh ones "
              f"(train it first: {_train_command(file)})", file=sys.stderr)
    return EXIT_OK


# ---------------------------------------------------------------- import
def _design_to_write(output: str, example_name: str) -> Path:
    """``-o`` of a command that writes a design: a file in a folder that exists, not a shipped example."""
    out = Path(output)
    if out.is_dir():
        raise UsageError(f"-o {out}: that is a folder; give a file name such as {out / example_name}")
    if not out.resolve().parent.is_dir():
        raise UsageError(f"-o {out}: the folder {out.resolve().parent} does not exist")
    if is_shipped_example(out):
        raise UsageError(f"{out} is one of NN Designer's examples and stays as shipped; give another name")
    return out


def _import(args: argparse.Namespace) -> int:
    """An ONNX model as a design: what it made on stdout, notes and where it went on stderr."""
    out = _design_to_write(args.output, "model.nnd")  # said now, not after reading the model
    if importlib.util.find_spec("onnx") is None:
        raise UsageError("import needs the onnx package: pip install 'nn-designer[onnx]'")
    from designer.importing import read_onnx
    from designer.project import write_project

    result = read_onnx(args.model)
    write_project(result.project, out)
    print(f"imported {args.model} ({result.details}):")
    for line in result.summary():
        print(f"  {line}")
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    print(f"wrote {out}; train it further with: nn-designer train {out}", file=sys.stderr)
    return EXIT_OK


def _export_picture(project, out: Path, kind: str, file: str, neurons: bool = False) -> int:
    """The network as the canvas draws it (``designer.ui.picture``), links coloured by the trained weights;
    ``neurons``: each neuron as the picture of what it computes."""
    if out.suffix.lower() != f".{kind}":
        raise UsageError(f"-o {out}: --to {kind} writes a {kind.upper()} picture; give a name ending in .{kind}")
    # Imported by name, as the window is: Qt sits above this module in the layering, and only pictures need it.
    try:
        picture = importlib.import_module("designer.ui.picture")
    except ImportError as exc:  # a server without the system libraries Qt draws with (libEGL, fontconfig ...)
        raise UsageError(f"export --to {kind} draws with Qt, which cannot load here ({exc}); install the "
                         f"missing library, or export on a machine that runs the window") from None
    if neurons and not project.weights:
        raise UsageError(f"--neurons draws what the trained neurons compute, and {file} has no trained weights yet; "
                         f"train it first: {_train_command(file)}")
    picture.render_picture(project, out, format=kind, neurons=neurons)
    print(f"wrote {out}", file=sys.stderr)
    if not project.weights:
        print(f"note: {file} has no trained weights yet, so the links are drawn plain; trained, they show "
              f"each weight's sign and size (train it with: {_train_command(file)})", file=sys.stderr)
    return EXIT_OK


def _export_torchrun(project, out: Path) -> int:
    """A training job in the folder ``out`` (``designer.training.jobs``); an ``OUT.py`` name: the script alone."""
    if out.suffix == ".py" and not out.is_dir():
        from designer.training.script import torchrun_files

        if not out.resolve().parent.is_dir():
            raise UsageError(f"-o {out}: the folder {out.resolve().parent} does not exist")
        files = torchrun_files(project, out.stem)
        for name, data in files.items():
            _write_atomically(out.with_name(name), data)
        written = ", ".join(str(out.with_name(name)) for name in files)
        print(f"wrote {written}\nrun it with: torchrun --nproc_per_node=N {out}   (or: python {out})",
              file=sys.stderr)
        return EXIT_OK
    if out.suffix in (".nnd", ".safetensors", ".onnx"):
        raise UsageError(f"-o {out}: a training job is a folder; give a folder's name such as "
                         f"{out.with_suffix('')}/ (or a .py name for the script alone)")
    from designer.training.jobs import write_job

    written = write_job(project, out)
    shown = " ".join(path.name for path in written)
    print(f"wrote the training job {out}/: {shown}\n"
          f"run it there with: torchrun --standalone --nproc-per-node=N --max-restarts=3 train.py   "
          f"(several machines, Slurm, GPUs: see {out / 'README.md'})\n"
          f"then bring the result home with: nn-designer import-run {out} -o DESIGN.nnd", file=sys.stderr)
    return EXIT_OK


def _import_run(args: argparse.Namespace) -> int:
    """A finished job's weights and run added to ``DESIGN.nnd`` (the job's result, where it does not exist)."""
    out = _design_to_write(args.output, "design.nnd")
    from designer.project import read_project, write_project
    from designer.training.jobs import import_run, read_job

    if out.exists():
        project, summary = import_run(read_project(out), args.job)
        write_project(project, out)
        print(f"imported {summary}\nsaved {out}", file=sys.stderr)
        return EXIT_OK
    job = read_job(args.job)
    write_project(job.project, out)
    print(f"{out} did not exist: wrote the job's result there, the design with the job's run: {job.summary}",
          file=sys.stderr)
    return EXIT_OK


def _train_command(file: str) -> str:
    """The command that gives ``file`` trained weights, for the hints of the exports that want them.

    A shipped example is trained into a copy in the current folder: training in place would change the
    example for every later use (or fail, in an installed bundle that is not writable).
    """
    if not is_shipped_example(file):
        return f"nn-designer train {file}"
    copy = f"my-{Path(file).stem}.nnd"
    return f"nn-designer train {file} --out {copy}, then export {copy}"


def _weights_bytes(project, file: str) -> list[bytes | memoryview]:
    """The project's weights as ``weights.safetensors`` bytes, exactly as the ``.nnd`` file holds them."""
    if not project.weights:
        raise UsageError(f"{file} has no trained weights yet; train it first: {_train_command(file)}")
    from designer.project.weights import encode_weights

    encoded = encode_weights(project.weights)  # consecutive parts (or one bytes object)
    return list(encoded) if isinstance(encoded, (list, tuple)) else [encoded]


def _write_atomically(path: Path, data: bytes | list[bytes | memoryview]) -> None:
    """Write ``data`` (bytes, or consecutive parts) to ``path``; a failure leaves any previous file as it was."""
    from designer.project.archive import atomic_file

    with atomic_file(path) as f:
        for part in data if isinstance(data, list) else [data]:
            f.write(part)


if __name__ == "__main__":
    sys.exit(main())
