"""Dashboards open in several tabs must not slow or break a run that is writing.

Three processes (standing in for three Voilà kernels) build the four dashboard views over and
over while ``kroma run`` writes a 4-job, 20-candidate run in a fourth process. The dashboards
must render without a single error, and the run must finish ``done`` with every row in the
catalog: analytics attaches the catalog read-only per call, so no reader ever holds a lock a
writer waits on.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import cli_env
from tests.dashboards.seed import DEMO, create_demo_project

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

READERS = 3
CANDIDATES = 5
JOBS = 4  # the sample project's scenes


def test_three_dashboards_render_while_a_run_writes(tmp_path: Path) -> None:
    home = tmp_path / "home"
    create_demo_project(home)
    env = cli_env(home)
    stop = tmp_path / "stop"
    reports = [tmp_path / f"reader{i}.json" for i in range(READERS)]
    readers = [subprocess.Popen([sys.executable, "-m", "tests.dashboards.render_loop", str(report), str(stop)],
                                env=env, cwd=Path(__file__).resolve().parents[2]) for report in reports]
    try:
        deadline = time.monotonic() + 90
        while not all(r.with_suffix(".ready").exists() for r in reports):
            assert all(p.poll() is None for p in readers), "a dashboard reader died before its first render"
            assert time.monotonic() < deadline, "dashboard readers did not start"
            time.sleep(0.2)

        run_started = time.time()
        run = subprocess.run([sys.executable, "-m", "kroma_kit", "run", "--project", DEMO,
                              "--candidates", str(CANDIDATES)],
                             env=env, capture_output=True, text=True, timeout=180)
        run_ended = time.time()
    finally:
        stop.touch()
        for reader in readers:
            try:
                reader.wait(60)
            except subprocess.TimeoutExpired:
                reader.kill()
    assert run.returncode == 0, run.stdout + run.stderr
    assert "locked" not in (run.stdout + run.stderr).lower(), run.stderr

    for report in reports:
        data = json.loads(report.read_text())
        assert data["errors"] == [], data["errors"]
        overlapping = [r for r in data["renders"] if r["start"] < run_ended and r["end"] > run_started]
        assert overlapping, f"{report.name}: no render overlapped the run ({run_ended - run_started:.1f} s)"

    from kroma_kit import analytics
    from kroma_kit.dashboards.context import read_workspace

    ws = read_workspace(home)
    runs = analytics.runs_table(ws, DEMO)
    assert len(runs) == 1
    finished = runs.iloc[0]
    assert (finished["status"], int(finished["jobs_done"]), int(finished["jobs_total"])) == ("done", JOBS, JOBS)
    rows = analytics.candidates(ws, run_id=finished["run_id"])
    assert len(rows) == JOBS * CANDIDATES
    assert rows["verdict"].notna().all()
    assert int(rows["is_winner"].sum()) == JOBS
