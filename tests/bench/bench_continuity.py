"""Continuity gate: how well it catches breaks, and what it costs a run.

``continuity_gate``: a labelled set of 240 cases drawn by :mod:`kroma_kit.continuity.evalset`
(seed 2026, never used while tuning the metrics), calibrated on its refs only, scored by
:func:`kroma_kit.continuity.evaluate.evaluate_set`: the detection rate on the breaks at the
false-alarm rate on the ok cases.

``continuity_sample_pass``: the sample project run locally stage after stage (style, night, night
rain, characters; 4 scenes x 3 candidates each), the share of its normal candidates the gate
passes, and how many injected breaks it catches (a warm-wash hand, watercolour pages, the cast's
placements swapped): :mod:`tests.continuity.sample_eval`. A reported figure, no goal.

``continuity_overhead``: a local run of the sample project (style stage, 4 scenes x 3 candidates)
with the gate on vs off, the same request, alternating, the best of two each. The project is
calibrated once before timing (that is a one-time cost per project, shown apart), as a real
project is after its first run.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

from tests.bench.lines import BenchLine

CASES, SEED, SIZE = 240, 2026, 384
ROUNDS = 2


def bench() -> list[BenchLine]:
    return [_detection(), _sample(), _overhead()]


def _detection() -> BenchLine:
    from kroma_kit.continuity.evalset import generate_eval_set
    from kroma_kit.continuity.evaluate import evaluate_set

    folder = Path(tempfile.mkdtemp(prefix="kroma-continuity-set-"))
    try:
        generate_eval_set(folder, cases=CASES, size=SIZE, seed=SEED)
        started = time.perf_counter()
        report = evaluate_set(folder)
        elapsed = time.perf_counter() - started
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    kinds = ", ".join(f"{kind.split(':')[1]} {values.get('detection_rate', values.get('false_alarm_rate')):.0%}"
                      for kind, values in report.per_kind.items() if ":" in kind)
    return BenchLine("continuity_gate",
                     f"detect {report.detection_rate:.1%} at {report.false_alarm_rate:.1%} false alarms",
                     ">= 90% at <= 5%",
                     extra=f"{report.cases} cases in {elapsed:.0f} s incl. calibration; per kind: {kinds}")


def _sample() -> BenchLine:
    return _in_home(_sample_runs)


def _sample_runs(home: Path) -> BenchLine:
    from kroma_kit.catalog import open_workspace
    from kroma_kit.catalog.projects import create_project
    from kroma_kit.characters.samples import install_sample_characters
    from kroma_kit.project_setup import install_sample_project
    from tests.continuity.sample_eval import evaluate_sample

    ws = open_workspace(home)
    project = create_project(ws, "demo", "Demo")
    install_sample_characters(ws, project, install_sample_project(Path(project["root"])))
    started = time.perf_counter()
    result = evaluate_sample(ws, project)
    elapsed = time.perf_counter() - started
    stages: dict[str, list[str]] = {}
    for (stage, _job), verdicts in result.normal.items():
        stages.setdefault(stage, []).extend(verdicts)
    per_stage = ", ".join(f"{stage} {sum(v == 'pass' for v in verdicts)}/{len(verdicts)}"
                          for stage, verdicts in stages.items())
    per_break = ", ".join(f"{kind} {sum(v != 'pass' for v in verdicts)}/{len(verdicts)}"
                          for kind, verdicts in result.breaks.items())
    jobs_without_pass = sum("pass" not in verdicts for verdicts in result.normal.values())
    return BenchLine("continuity_sample_pass", result.line(), "reported",
                     extra=f"passing per stage: {per_stage}; caught per break: {per_break}; "
                           f"jobs with no passing candidate: {jobs_without_pass}/{len(result.normal)}; "
                           f"{elapsed:.0f} s")


def _overhead() -> BenchLine:
    return _in_home(_timed_runs)


def _in_home(work) -> BenchLine:
    home = Path(tempfile.mkdtemp(prefix="kroma-continuity-home-"))
    previous = os.environ.get("KROMA_HOME")
    os.environ["KROMA_HOME"] = str(home)
    try:
        return work(home)
    finally:
        if previous is None:
            os.environ.pop("KROMA_HOME", None)
        else:
            os.environ["KROMA_HOME"] = previous
        shutil.rmtree(home, ignore_errors=True)


def _timed_runs(home: Path) -> BenchLine:
    from kroma_kit.catalog import open_workspace
    from kroma_kit.catalog.projects import create_project
    from kroma_kit.continuity.service import calibrate_project
    from kroma_kit.pipeline.execute import execute_run
    from kroma_kit.pipeline.plan_model import PlanRequest
    from kroma_kit.project_setup import install_sample_project

    ws = open_workspace(home)
    project = create_project(ws, "demo", "Demo")
    install_sample_project(Path(project["root"]))
    started = time.perf_counter()
    calibrate_project(ws, "demo")
    calibration_s = time.perf_counter() - started

    def run(enabled: bool) -> float:
        request = PlanRequest(project="demo", stage="style", candidates=3, provider="local",
                              no_cache=True,  # each timed run draws and gates anew
                              settings_overrides={"continuity": {"enabled": enabled}})
        clock = time.perf_counter()
        summary = execute_run(ws, request, concurrency=2)
        if summary.status != "done":
            raise AssertionError(f"sample run ended {summary.status}: {summary.status_reason}")
        return time.perf_counter() - clock

    run(False)  # warm-up: imports, first-time caches
    off, on = [], []
    for _ in range(ROUNDS):
        off.append(run(False))
        on.append(run(True))
    ratio = min(on) / min(off)
    return BenchLine("continuity_overhead", f"{ratio:.2f}x", "<= 1.25x",
                     extra=f"sample style run {min(off):.2f} s off vs {min(on):.2f} s on (best of {ROUNDS}); "
                           f"one-time calibration {calibration_s:.1f} s")
