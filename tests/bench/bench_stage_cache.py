"""``stage_cache_rerun``: the sample project's local style stage (the manifest's scenes and
candidates) run once, then run again unchanged; the figure is the first run's wall time over the
re-run's (median of a few re-runs), same process, same workspace. Everything real: planning,
hashing the inputs, the catalog lookup, checking each cached file's sha256, ranking, run-log
writes and the catalog ingest. The guard's compiled kernel is warmed first, so neither side pays
for compiling it.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from tests.bench.lines import BenchLine, ratio  # noqa: E402

RERUNS = 3


def bench() -> list[BenchLine]:
    from kroma_kit.catalog import open_workspace
    from kroma_kit.catalog.projects import create_project
    from kroma_kit.pipeline.execute import execute_run
    from kroma_kit.pipeline.pixel_kernel import kernel
    from kroma_kit.pipeline.plan_model import PlanRequest
    from kroma_kit.project_setup import install_sample_project

    kernel()
    saved = os.environ.get("KROMA_HOME")
    with tempfile.TemporaryDirectory(prefix="kroma-bench-cache-") as folder:
        os.environ["KROMA_HOME"] = folder
        try:
            ws = open_workspace(Path(folder))
            install_sample_project(Path(create_project(ws, "bench", "Bench")["root"]))
            request = PlanRequest(project="bench", provider="local")

            def timed() -> tuple[float, object]:
                started = time.perf_counter()
                summary = execute_run(ws, request)
                elapsed = time.perf_counter() - started
                if summary.status != "done":
                    raise RuntimeError(f"benchmark run ended {summary.status}: {summary.status_reason}")
                return elapsed, summary

            first_s, first = timed()
            reruns = [timed() for _ in range(RERUNS)]
            for _elapsed, summary in reruns:
                log = json.loads(Path(summary.run_log_path).read_text())  # type: ignore[attr-defined]
                reused = [c for job in log["jobs"] for c in job["candidates"] if c.get("cached_from")]
                if log["actual_cost_usd"] or len(reused) != first.candidates_done:  # type: ignore[attr-defined]
                    raise AssertionError(f"a re-run reused {len(reused)} of {first.candidates_done} candidates "  # type: ignore[attr-defined]
                                         f"and cost {log['actual_cost_usd']}: the figure would not be the cache's")
        finally:
            if saved is None:
                os.environ.pop("KROMA_HOME", None)
            else:
                os.environ["KROMA_HOME"] = saved
    rerun_s = statistics.median(elapsed for elapsed, _summary in reruns)
    candidates = first.candidates_done  # type: ignore[attr-defined]
    return [BenchLine("stage_cache_rerun", ratio(first_s, rerun_s), ">= 20x",
                      extra=f"first run {first_s:.2f} s, unchanged re-run {rerun_s * 1000:.0f} ms (median of "
                            f"{RERUNS}), sample project local style stage, {candidates} candidates")]
