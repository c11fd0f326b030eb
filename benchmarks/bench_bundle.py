"""Start-up of the PyInstaller bundle against running from source, as ratios measured in one run.

Both start the same way a user does (no file: the default example) with the app's start-up probe
(``NND_STARTUP_PROBE``, as ``benchmarks/bench_startup.py`` uses): ``paint`` reports the first paint of the
window, ``ready`` the moment torch is loaded and warm in the background. Time is taken from just before
the process is launched to the probe's wall-clock report. The two are run alternately, after one
unmeasured run each (so both read their files from the page cache), and compared by medians and by the
median of the ratios of neighbouring launches.

    .venv/bin/python benchmarks/bench_bundle.py [--bundle dist/nn-designer/nn-designer] [--repeats 7]

Without a bundle (build one with packaging/build.sh) it says so and exits 0.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_BUNDLE = ROOT / "dist" / "nn-designer" / "nn-designer"


def launch(command: list[str], stage: str, config: str) -> float:
    """Seconds from launching ``command`` to its probe report of ``stage``."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("NND_")}
    # A throwaway home: the window saves its layout on quit, not into the user's settings.
    env.update(QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"), NND_STARTUP_PROBE=stage,
               HOME=config, XDG_CONFIG_HOME=str(Path(config) / "config"))
    started = time.time()
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env, cwd=ROOT)
    if result.returncode != 0:
        raise SystemExit(f"bench_bundle: {' '.join(command)} failed ({result.returncode}):\n{result.stderr}")
    reports = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    report = next((r for r in reports if r.get("stage") == stage), None)
    if report is None:
        raise SystemExit(f"bench_bundle: no '{stage}' report from {' '.join(command)}:\n{result.stdout}")
    return report["wall_time"] - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, default=DEFAULT_BUNDLE)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    if not args.bundle.is_file():
        print(f"bench_bundle: skipped, no bundle at {args.bundle} (build one with packaging/build.sh)")
        return 0
    commands = {"source": [sys.executable, "-m", "designer.cli"], "bundle": [str(args.bundle)]}
    print(f"bench_bundle: {args.repeats} alternating launches each, medians; source = {sys.executable} -m designer.cli")
    with tempfile.TemporaryDirectory() as config:
        for stage, meaning in (("paint", "first paint of the window"), ("ready", "torch loaded and warm")):
            times: dict[str, list[float]] = {name: [] for name in commands}
            for name, command in commands.items():
                launch(command, stage, config)  # unmeasured: fills the page cache
            for _ in range(args.repeats):
                for name, command in commands.items():
                    times[name].append(launch(command, stage, config))
            source, bundle = (statistics.median(times[name]) for name in ("source", "bundle"))
            # Each bundle launch against the source launch next to it: steadier than a ratio of medians
            # when the machine's load drifts.
            paired = statistics.median(b / s for s, b in zip(times["source"], times["bundle"]))
            print(f"  {meaning:27s} source {source:6.2f} s   bundle {bundle:6.2f} s   "
                  f"bundle/source {bundle / source:4.2f}x (median of paired ratios {paired:4.2f}x)")
            for name in commands:
                print(f"    {name:6s} all: {', '.join(f'{t:.2f}' for t in times[name])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
