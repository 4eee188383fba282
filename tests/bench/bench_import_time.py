"""``import kroma_kit`` must stay cheap: the CLI, kernels and dashboards all pay it."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

from tests.bench.lines import BenchLine

ROOT = Path(__file__).resolve().parents[2]


def _time(code: str, repeats: int = 7) -> float:
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def bench() -> list[BenchLine]:
    baseline = _time("pass")
    with_import = _time("import kroma_kit, kroma_kit.cli.main, kroma_kit.workspace")
    return [BenchLine("import_time", f"{with_import - baseline:.3f} s", "<= 0.3 s")]
