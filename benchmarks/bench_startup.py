"""Start-up time: process start to the window's first paint, against ``python -c "import torch"`` alone.

The window must paint before torch loads (see ``designer/app.py``), so it should be on screen in well
under the time torch alone takes to import. Each repeat starts a fresh process off-screen with
``NND_STARTUP_PROBE=paint``: the app prints the wall-clock time of its first paint and quits, and this
script subtracts the moment it spawned the process. The baseline is the whole run of
``python -c "import torch"``. Repeats are interleaved (the machine is shared and noisy); medians are
compared. Also shown: the time until the engine is warm and Train would start at once
(``NND_STARTUP_PROBE=ready``), which is not part of the ratio.

Usage: ``python benchmarks/bench_startup.py [repeats]`` (default 7). Target: ratio at most 0.5.
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_RATIO = 0.5
APP = "import sys; from designer.app import main; sys.exit(main())"


def time_torch_import(env: dict) -> float:
    started = time.time()
    subprocess.run([sys.executable, "-c", "import torch"], env=env, check=True, cwd=ROOT)
    return time.time() - started


def time_app(env: dict, stage: str) -> tuple[float, dict]:
    started = time.time()
    result = subprocess.run([sys.executable, "-c", APP], env={**env, "NND_STARTUP_PROBE": stage}, cwd=ROOT,
                            capture_output=True, text=True, check=True, timeout=300)
    reports = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    if not reports:
        raise SystemExit(f"the app printed no probe report:\n{result.stdout}\n{result.stderr}")
    report = reports[-1]
    return report["wall_time"] - started, report


def main() -> int:
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    with tempfile.TemporaryDirectory() as home:
        # a throwaway home: the probe run must not read or write the user's settings
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen", HOME=home, XDG_CONFIG_HOME=str(Path(home) / "config"))
        time_app(env, "paint")  # warm the disk cache for both sides before measuring
        time_torch_import(env)
        torch_times, paint_times, ready_times = [], [], []
        torch_at_paint = []
        for _ in range(repeats):
            torch_times.append(time_torch_import(env))
            seconds, report = time_app(env, "paint")
            paint_times.append(seconds)
            torch_at_paint.append(report["torch_imported"])
            ready_times.append(time_app(env, "ready")[0])
    torch_median = statistics.median(torch_times)
    paint_median = statistics.median(paint_times)
    ratio = paint_median / torch_median
    print(f"repeats: {repeats} (interleaved), medians")
    print(f"python -c 'import torch'            {torch_median:6.3f} s   (all: {_list(torch_times)})")
    print(f"window first paint (process start)  {paint_median:6.3f} s   (all: {_list(paint_times)})")
    print(f"engine warm, Train instant          {statistics.median(ready_times):6.3f} s   "
          f"(all: {_list(ready_times)})")
    print(f"torch imported at first paint: {any(torch_at_paint)}")
    verdict = "meets" if ratio <= TARGET_RATIO else "MISSES"
    print(f"ratio first paint / torch import: {ratio:.2f} ({verdict} the target of at most {TARGET_RATIO})")
    return 0


def _list(values: list[float]) -> str:
    return ", ".join(f"{v:.2f}" for v in values)


if __name__ == "__main__":
    sys.exit(main())
