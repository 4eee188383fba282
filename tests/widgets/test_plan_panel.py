"""PlanPanel: the dry run's table and cost, and the spend confirmation that only a shown plan unlocks."""

from __future__ import annotations

from pathlib import Path

import pytest

from kroma_kit.analytics import runs_table
from kroma_kit.storage.runlog import read_run_log
from kroma_kit.widgets import PlanPanel


def test_dry_run_local_records_a_dry_run_and_shows_jobs_and_zero_cost(workspace, demo_project):
    panel = PlanPanel(workspace, project="demo")
    assert panel.provider.value == "local" and panel.candidates.value == 3  # settings + manifest defaults
    panel.dry_button.click()

    summary = panel.dry
    assert summary is not None and summary.mode == "dry" and summary.jobs_total == 4
    for job in ("style_1_street", "style_2_room", "style_3_rooftop", "style_4_harbor"):
        assert job in panel.table.value
    assert "Total: $0.0000" in panel.total.value and "12 provider calls" in panel.total.value
    assert panel.confirm.disabled and not panel.confirmed and not panel.paid
    runs = runs_table(workspace, "demo")
    assert list(runs["mode"]) == ["dry"] and list(runs["status"]) == ["planned"]
    assert Path(runs["run_log_path"][0]).is_file()


def test_dry_run_paid_shows_cost_per_job_and_total_and_unlocks_confirmation(workspace, demo_project):
    panel = PlanPanel(workspace, project="demo", provider="openai", candidates=2)
    assert not panel.confirmed
    summary = panel.run_dry()

    log = read_run_log(summary.run_log_path)
    per_job = [job["estimated_cost_usd"] for job in log["jobs"]]
    assert log["paid"] and all(cost > 0 for cost in per_job)
    assert summary.estimated_cost_usd == pytest.approx(sum(per_job))
    assert f"${per_job[0]:.4f}" in panel.table.value
    assert f"Total: ${summary.estimated_cost_usd:.4f}" in panel.total.value and "(paid)" in panel.total.value
    assert "not configured" in panel.total.value  # no key in the test environment: said before spending
    assert not panel.confirm.disabled and f"${summary.estimated_cost_usd:.4f}" in panel.confirm.description

    panel.confirm.value = True
    assert panel.confirmed
    panel.candidates.value = 6  # a different request: the tick must not carry over
    assert not panel.confirmed and panel.confirm.disabled and panel.dry is None
    assert "dry-run again" in panel.status.value


def test_bad_request_is_shown_inline(workspace, demo_project):
    panel = PlanPanel(workspace, project="demo", stage="characters")
    Path(demo_project["root"], "inputs", "scenes", "street.png").write_bytes(b"not a png")
    panel.dry_button.click()
    assert panel.dry is None and "street.png" in panel.status.value
    assert len(runs_table(workspace, "demo")) == 0
