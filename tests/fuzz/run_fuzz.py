"""The long fuzzing budget (``make fuzz``): many mutants through check and the round trip, then train a sample.

``NND_FUZZ_EXAMPLES`` inputs (default 10,000: half built by the hypothesis strategies, half byte mutations of
the examples), ``NND_FUZZ_TRAIN`` of the accepted ones (default 40) also through ``nn-designer train --epochs 1
--out`` in a child process, whose peak memory is measured. ``NND_FUZZ_SEED`` fixes the byte mutations.
Prints how the inputs were handled by kind, and exits 1 when any broke the property (exit 1, an exception
escaping, a hang, more than :data:`MEMORY_LIMIT` for a run); the failing inputs are kept in the folder it names.
"""
from __future__ import annotations

import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from hypothesis import HealthCheck, given, settings

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))
from tests.fuzz import fuzz  # noqa: E402

MEMORY_LIMIT = 1024 ** 3
_CHILD = ("import resource, sys; from designer.cli import main; status = main(sys.argv[1:]); "
          "sys.stderr.write('\\nPEAK_KIB %d\\n' % resource.getrusage(resource.RUSAGE_SELF).ru_maxrss); "
          "sys.exit(status)")


def main() -> int:
    total = int(os.environ.get("NND_FUZZ_EXAMPLES", "10000"))
    trains = int(os.environ.get("NND_FUZZ_TRAIN", "40"))
    seed = int(os.environ.get("NND_FUZZ_SEED", "0"))
    work = Path(tempfile.mkdtemp(prefix="nnd-fuzz-"))
    failures = work / "failures"
    failures.mkdir()
    outcomes: Counter = Counter()
    round_trips: Counter = Counter()
    accepted: list[bytes] = []
    bad: list[str] = []
    slowest = 0.0
    started = time.monotonic()

    def record(data: bytes) -> None:
        nonlocal slowest
        began = time.monotonic()
        outcome = fuzz.run_one(data, work)
        slowest = max(slowest, time.monotonic() - began)
        outcomes[outcome.kind] += 1
        round_trips[outcome.round_trip or "-"] += 1
        if outcome.problems:
            kept = failures / f"failure-{len(bad):04d}.nnd"
            kept.write_bytes(data)
            bad.append(f"{kept}: {outcome.problems[0][:300]}")
        elif outcome.status == 0 and len(accepted) < 10 * trains:
            accepted.append(data)

    @settings(max_examples=total - total // 2, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(data=fuzz.structured_files())
    def structured(data):
        record(data)

    structured()
    rng = random.Random(seed)
    for _ in range(total // 2):
        source = rng.randrange(len(fuzz.SOURCES))
        record(fuzz.mutate_bytes(fuzz.SOURCES[source][0], rng, rng.randint(1, 6)))
    checked = sum(outcomes.values())
    print(f"{checked:,} mutants checked in {time.monotonic() - started:.0f} s (slowest {slowest:.2f} s); "
          f"peak memory of the fuzzing process {_self_peak() / 2 ** 20:.0f} MiB")
    print(fuzz.summary(outcomes))
    print("round trip (read_project, write_project, read_project):")
    print(fuzz.summary(round_trips))

    train_outcomes: Counter = Counter()
    peaks = []
    for index, data in enumerate(random.Random(seed).sample(accepted, min(trains, len(accepted)))):
        path = work / f"accepted-{index}.nnd"
        path.write_bytes(data)
        out = work / f"trained-{index}.nnd"
        began = time.monotonic()
        try:
            result = subprocess.run([sys.executable, "-c", _CHILD, "train", str(path), "--epochs", "1", "--out",
                                     str(out)], capture_output=True, text=True, timeout=300)
        except subprocess.TimeoutExpired:
            bad.append(f"{path}: train --epochs 1 took more than 300 s")
            train_outcomes["hang"] += 1
            continue
        peak = int(result.stderr.rsplit("PEAK_KIB ", 1)[1].split()[0]) * 1024 if "PEAK_KIB" in result.stderr else 0
        peaks.append((peak, time.monotonic() - began))
        train_outcomes[fuzz.kind_of(result.returncode, result.stderr.split("PEAK_KIB")[0])] += 1
        if result.returncode not in (0, 2, 3) or peak > MEMORY_LIMIT:
            bad.append(f"{path}: train exited {result.returncode}, peak {peak / 2 ** 20:.0f} MiB: "
                       f"{result.stderr[-300:]}")
    if peaks:
        print(f"train --epochs 1 --out on {len(peaks)} accepted mutants: peak memory "
              f"{max(p for p, _ in peaks) / 2 ** 20:.0f} MiB at most, {max(t for _, t in peaks):.1f} s at most")
        print(fuzz.summary(train_outcomes))
    print(f"property failures: {len(bad)}" + (f" (inputs kept in {failures})" if bad else ""))
    for line in bad[:30]:
        print("  " + line)
    return 1 if bad else 0


def _self_peak() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


if __name__ == "__main__":
    sys.exit(main())
