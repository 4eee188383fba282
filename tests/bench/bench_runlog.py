"""``runlog_update``: one candidate settling in a live run log (a typed update and the atomic
rewrite of the whole file), on a log of 24 and of 500 candidates built from the checked-in demo
log. The log is rewritten after every candidate, so this cost is paid once per candidate by every
run; the figure is the median of repeated updates (ms)."""

from __future__ import annotations

import copy
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from tests.bench.lines import BenchLine  # noqa: E402

DEMO = HERE.parent / "fixtures" / "runlogs" / "demo_run.json"
PER_JOB = 4


def _log_data(candidates: int) -> dict:
    """The demo log with ``candidates`` candidates, ``PER_JOB`` per job (copies of its first job)."""
    data = json.loads(DEMO.read_text(encoding="utf-8"))
    template = data["jobs"][0]
    jobs = []
    for number in range(candidates // PER_JOB):
        job = copy.deepcopy(template)
        job["id"] = f"job_{number:04d}"
        job["candidates"] = [{**copy.deepcopy(template["candidates"][i % len(template["candidates"])]),
                              "candidate_index": i + 1} for i in range(PER_JOB)]
        jobs.append(job)
    data["jobs"], data["cost_events"] = jobs, []
    return data


def _median_update_ms(folder: Path, candidates: int, repeats: int) -> float:
    from kroma_kit.storage.runlog_live import RunLog

    log = RunLog(folder / "runs" / f"r{candidates}.json", _log_data(candidates))
    log.save()
    job_ids = log.job_ids()
    guard = {"checked_input": "outputs/x.png", "summary": {"total_files": 1, "hard_failures": 0, "soft_warnings": 0},
             "files": [{"file": "outputs/x.png", "chroma_delta": 1.5, "verdict": "pass"}]}
    times = []
    for number in range(repeats):
        job_id = job_ids[number % len(job_ids)]
        started = time.perf_counter()
        log.settle_candidate_guard(job_id, 1 + number % PER_JOB, status="done", output_guard=guard,
                                   rank={"hard_failures": 0, "soft_warnings": 0, "avg_chroma_exceed": 0.0},
                                   final_output="outputs/x.png", timings={"guard_ms": 12})
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def bench() -> list[BenchLine]:
    folder = Path(tempfile.mkdtemp(prefix="kroma-bench-runlog-"))
    try:
        small = _median_update_ms(folder, 24, 60)
        large = _median_update_ms(folder, 500, 20)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return [BenchLine("runlog_update_24", f"{small:.2f} ms", "no slower than before"),
            BenchLine("runlog_update_500", f"{large:.2f} ms", "no slower than before")]


if __name__ == "__main__":
    for line in bench():
        print(line.render())
