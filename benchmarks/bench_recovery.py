"""Recovery after ``kill -9``: of N editing sessions killed at a random moment, how many recover the last idle state.

Each run starts the real app (``python -m designer.cli FILE``, off-screen, on a fresh temporary home and data
folder), makes a random sequence of edits (add a layer, or undo) through the window's own code paths
(``NND_TEST_EDITS=stdin``) with random pauses, some shorter and some longer than the autosave delay, and sends
SIGKILL at a random moment of the session. Then it looks for recoverable designs in that data folder, as the
next start does (:func:`designer.ui.recovery.find_recoverable`), and reads the one it finds.

*The last idle state* is the state after the last edit that was followed by at least the delay plus a margin of
quiet before the next edit or the kill (``None`` when that state was the saved file itself: nothing to
recover). A later state followed by a quiet time within that margin of the delay (0.1 s under it to 0.5 s
over it) may or may not have been written: either is accepted, and such runs are counted as *borderline*.
The app reports each autosave it made on its standard output; those reports are shown for failures only.

Usage: ``python benchmarks/bench_recovery.py [--runs 20] [--delay-ms 3000] [--seed 1]``. Target: all runs.
"""
from __future__ import annotations

import argparse
import json
import os
import queue
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from designer.graph import Graph, Layer  # noqa: E402
from designer.project import Project, read_project, write_project  # noqa: E402

#: quiet time beyond the delay after which an autosave must have happened (timer slack, the write itself,
#: a GUI thread busy with the engine's import in the background)
MARGIN_S = 0.5
#: a change happens a moment before the app reports it, so a quiet time a little under the delay may be enough
EARLY_S = 0.1
KINDS = ("neurons", "neurons", "output", "lstm", "gru", "neuron")


def tiny_file(path: Path) -> Path:
    g = Graph()
    g.add_layer(Layer("x", "input", (2,)))
    g.add_layer(Layer("y", "neurons", (1,), activation="sigmoid", position=(200, 0)))
    g.connect("x", "y")
    write_project(Project(name="Tiny", graph=g), path)
    return path


def plan_session(rng: random.Random, delay: float) -> list[tuple[float, str]]:
    """``(pause before, edit)`` pairs: 3 to 8 edits, about half the pauses shorter than the delay."""
    plan, depth = [], 0
    for _ in range(rng.randint(3, 8)):
        if rng.random() < 0.5:
            pause = rng.uniform(0.05, 0.8 * delay)
        else:
            pause = rng.uniform(delay + MARGIN_S, delay + 2.0)
        if depth and rng.random() < 0.2:
            plan.append((pause, "undo"))
            depth -= 1
        else:
            plan.append((pause, f"add {rng.choice(KINDS)}"))
            depth += 1
    return plan


def one_run(rng: random.Random, delay_ms: int, folder: Path) -> dict:
    delay = delay_ms / 1000
    home, data, config = folder / "home", folder / "data", folder / "config"
    ini = config / "NN Designer" / "NN Designer.ini"
    ini.parent.mkdir(parents=True)
    ini.write_text(f"[autosave]\ndelay_ms={delay_ms}\n")
    original = tiny_file(folder / "tiny.nnd")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", NND_TEST_EDITS="stdin", HOME=str(home),
               XDG_DATA_HOME=str(data), XDG_CONFIG_HOME=str(config))
    env.pop("NND_STARTUP_PROBE", None)
    process = subprocess.Popen([sys.executable, "-m", "designer.cli", str(original)], cwd=folder, env=env,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    lines: queue.Queue = queue.Queue()
    autosaves: list[dict] = []

    def read() -> None:
        for line in process.stdout:
            if line.startswith("{"):
                report = json.loads(line)
                (autosaves.append if report["done"] == "autosaved" else lines.put)(report)

    threading.Thread(target=read, daemon=True).start()
    states = [lines.get(timeout=120)]  # "ready": the file as opened
    plan = plan_session(rng, delay)
    # the session starts with the first edit; the kill comes at a random moment from then on
    session = sum(pause for pause, _ in plan[1:]) + 2 * delay
    kill_at = None
    for pause, edit in plan:
        if kill_at is None:
            kill_at = time.time() + rng.uniform(0.05, session)
        elif time.time() + pause >= kill_at:
            break
        else:
            time.sleep(pause)
        process.stdin.write(edit + "\n")
        process.stdin.flush()
        states.append(lines.get(timeout=60))
    time.sleep(max(0.0, kill_at - time.time()))
    killed = time.time()
    process.kill()
    process.wait(timeout=30)

    # which states had their quiet time: sure ones, and borderline ones
    expected, allowed = [None], set()
    for state, following in zip(states, [s["time"] for s in states[1:]] + [killed]):
        quiet = following - state["time"]
        layers = tuple(state["layers"]) if state["modified"] else None
        if quiet >= delay + MARGIN_S:
            expected.append(layers)
            allowed = set()
        elif quiet >= delay - EARLY_S:
            allowed.add(layers)
    wanted = expected[-1]

    from designer.ui.recovery import find_recoverable  # Qt, off-screen: after the child is gone
    folder_found = data / "NN Designer" / "NN Designer" / "recovery"
    found = find_recoverable(folder_found)
    recovered, path_ok = None, True
    if found:
        recovered = tuple(sorted(read_project(found[0].slot.design).graph.layers))
        path_ok = found[0].original_path == original
    for r in found:
        r.keep()
    ok = (recovered == wanted or recovered in allowed) and len(found) <= 1 and path_ok
    return {"ok": ok, "borderline": bool(allowed), "edits": len(states) - 1, "planned": len(plan),
            "wanted": wanted, "recovered": recovered, "found": len(found),
            "kill_after_last_edit_s": round(killed - states[-1]["time"], 2),
            "autosaves": [(round(a["time"] - states[0]["time"], 2), a["layers"]) for a in autosaves]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--delay-ms", type=int, default=3000, help="the autosave's idle delay (the app's default)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    rng = random.Random(args.seed)
    results = []
    started = time.perf_counter()
    for number in range(1, args.runs + 1):
        with tempfile.TemporaryDirectory(prefix="nnd-recovery-") as folder:
            result = one_run(rng, args.delay_ms, Path(folder))
        results.append(result)
        what = "ok" if result["ok"] else "FAILED"
        print(f"run {number:2d}: {what}{' (borderline)' if result['borderline'] else ''}: "
              f"{result['edits']} of {result['planned']} edits made, killed {result['kill_after_last_edit_s']} s "
              f"after the last; wanted {result['wanted']}, recovered {result['recovered']}", flush=True)
        if not result["ok"]:
            print(f"        autosaves (s since start, layers): {result['autosaves']}", flush=True)
    good = sum(r["ok"] for r in results)
    summary = {"runs": len(results), "recovered_last_idle_state": good,
               "borderline": sum(r["borderline"] for r in results),
               "nothing_to_recover": sum(r["wanted"] is None for r in results),
               "delay_ms": args.delay_ms, "seconds": round(time.perf_counter() - started, 1)}
    print(json.dumps(summary))
    return 0 if good == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
