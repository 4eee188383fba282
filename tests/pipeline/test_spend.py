"""The spend guard: no paid call without confirm_spend, none during a dry run, none past a budget
(in-flight calls finish, the run ends partial). Real HTTP to the fake server counts the calls."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kroma_kit.catalog.runs import get_run
from kroma_kit.errors import ProviderNotConfigured, SpendError
from kroma_kit.pipeline.execute import dry_run, execute_run
from kroma_kit.providers.pricing import estimate_image_cost
from kroma_kit.providers.spend import Budgets, SpendGuard
from tests.pipeline.runsupport import local_request, openai_request, openai_settings

# One edit with the default model (gpt-image-2, high, 1024x1536), from the pricing table.
PRICE = estimate_image_cost("gpt-image-2", "high", "1024x1536")


def test_guard_counts_calls_in_flight():
    guard = SpendGuard(paid=True, budgets=Budgets(per_run_usd=1.0))
    assert guard.reserve("a", 0.4) and guard.reserve("b", 0.4)
    assert not guard.reserve("c", 0.4)  # 0.8 in flight + 0.4 > 1.0
    assert guard.stopped and "per-run budget $1.00" in guard.stop_reason
    guard.settle("a", 0.41)
    assert not guard.reserve("d", 0.01)  # once stopped, stays stopped
    guard.settle("b", 0.0)
    assert guard.run_spent == 0.41


def test_project_budget_counts_other_runs_and_free_providers_pass():
    guard = SpendGuard(paid=True, budgets=Budgets(per_project_usd=1.0), project_spent=0.7)
    assert guard.reserve("a", 0.3)
    assert not guard.reserve("b", 0.01)
    assert "per-project budget" in guard.stop_reason
    free = SpendGuard(paid=False, budgets=Budgets(per_run_usd=0.0))
    assert all(free.reserve(str(i), 0.0) for i in range(100))


def test_dry_run_makes_no_request_and_needs_no_key(workspace, demo, fake):
    summary = dry_run(workspace, openai_request(fake, scenes=4, candidates=3))
    assert fake.requests == []
    assert summary.status == "planned" and summary.mode == "dry"
    assert summary.estimated_cost_usd == pytest.approx(12 * PRICE) and summary.actual_cost_usd == 0.0
    log = json.loads(Path(summary.run_log_path).read_text())
    assert {job["status"] for job in log["jobs"]} == {"planned"}
    assert all(c["status"] == "planned" and isinstance(c["seed"], int) for j in log["jobs"] for c in j["candidates"])
    assert get_run(workspace, summary.run_id)["status"] == "planned"


def test_paid_run_without_confirmation_is_locked(workspace, demo, fake, openai_key):
    with pytest.raises(SpendError, match="Spending is locked. Add --confirm-spend for paid calls"):
        execute_run(workspace, openai_request(fake))
    assert fake.requests == []
    assert not list((Path(demo["root"]) / "runs").glob("*.json"))


def test_local_provider_needs_no_confirmation(workspace, demo):
    assert execute_run(workspace, local_request(scenes=1, candidates=1)).status == "done"


def test_run_budget_stops_new_calls_lets_in_flight_finish_and_ends_partial(workspace, demo, fake, openai_key):
    fake.latency_s = 0.3
    # Each call is estimated at PRICE: two fit in 2.5 x PRICE, a third does not.
    budget = round(2.5 * PRICE, 2)
    settings = openai_settings(fake, per_run_usd=budget)
    summary = execute_run(workspace, openai_request(fake, scenes=4, settings=settings), confirm_spend=True,
                          concurrency=2)
    assert len(fake.requests) == 2
    assert summary.status == "partial" and summary.exit_code == 3
    assert f"per-run budget ${budget:.2f}" in summary.status_reason
    log = json.loads(Path(summary.run_log_path).read_text())
    assert [job["status"] for job in log["jobs"]] == ["done", "done", "skipped_budget", "skipped_budget"]
    assert summary.actual_cost_usd == pytest.approx(sum(e["cost_usd"] for e in log["cost_events"]))
    assert summary.actual_cost_usd > 1.5 * PRICE  # two real calls, priced from their usage
    run = get_run(workspace, summary.run_id)
    assert run["status"] == "partial" and len(run["cost_events"]) == 2
    assert [job["status"] for job in run["jobs"]] == ["done", "done", "skipped_budget", "skipped_budget"]


def test_project_budget_includes_earlier_runs(workspace, demo, fake, openai_key):
    budget = round(2.5 * PRICE, 2)
    settings = openai_settings(fake, per_run_usd=None, per_project_usd=budget)
    first = execute_run(workspace, openai_request(fake, scenes=2, settings=settings), confirm_spend=True)
    assert first.status == "done" and len(fake.requests) == 2
    # no_cache: the same request would be reused free from the stage cache; this is about paying again
    second = execute_run(workspace, openai_request(fake, scenes=2, settings=settings, no_cache=True),
                         confirm_spend=True)
    assert len(fake.requests) == 2  # nothing new was sent
    assert second.status == "partial" and f"per-project budget ${budget:.2f}" in second.status_reason
    assert second.jobs_done == 0 and second.actual_cost_usd == 0.0


def test_paid_run_without_a_key_stops_before_anything_is_sent(workspace, demo, fake, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ProviderNotConfigured, match="OPENAI_API_KEY"):
        execute_run(workspace, openai_request(fake), confirm_spend=True)
    assert fake.requests == [] and not list((Path(demo["root"]) / "runs").glob("*.json"))
