"""Every named analytics query against counts taken straight from SQLite, on a catalog built by
real pipeline runs (see realruns.py). The expected numbers are computed here independently, in
Python over raw rows, so a wrong join or filter in the analytics SQL shows up as a mismatch."""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from kroma_kit import analytics
from kroma_kit.errors import NotFoundError
from kroma_kit.imaging import sha256_file

RAW_CANDIDATES = """
SELECT c.*, j.job_key, j.run_id, j.selected_candidate_index, r.stage, r.run_mode, p.slug
FROM run_candidates c JOIN run_jobs j ON j.id = c.job_id JOIN runs r ON r.id = j.run_id
JOIN projects p ON p.id = r.project_id"""


def verdict(row: dict) -> str | None:
    """The agreed rule, written out again: fail = hard failure or failed status; warn = soft only."""
    if row["status"] in ("planned", "generated"):
        return None
    if row["status"] in ("failed", "failed_output_guard") or row["rank_hard_failures"] > 0:
        return "fail"
    return "warn" if row["rank_soft_warnings"] > 0 else "pass"


def same(a: float | None, b: float | None) -> bool:
    if a is None or (isinstance(a, float) and math.isnan(a)):
        return b is None or (isinstance(b, float) and math.isnan(b))
    return b is not None and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def test_project_overview_matches_sqlite(real):
    frame = analytics.project_overview(real.ws).set_index("slug")
    active = [row["slug"] for row in real.rows("SELECT slug FROM projects WHERE status = 'active' ORDER BY slug")]
    assert list(frame.index) == active == ["demo", "empty"]
    candidates = real.rows(RAW_CANDIDATES)
    for slug in active:
        pid = real.scalar("SELECT id FROM projects WHERE slug = ?", (slug,))
        row = frame.loc[slug]
        assert row["total_runs"] == real.scalar("SELECT COUNT(*) FROM runs WHERE project_id = ?", (pid,))
        assert row["assets"] == real.scalar("SELECT COUNT(*) FROM assets WHERE project_id = ?", (pid,))
        assert same(row["cost_usd"], real.scalar(
            "SELECT COALESCE(SUM(cost_usd), 0.0) FROM cost_events WHERE project_id = ?", (pid,)))
        last = real.scalar("SELECT MAX(created_at) FROM runs WHERE project_id = ?", (pid,))
        assert pd.isna(row["last_run_at"]) if last is None else row["last_run_at"] == last
        checked = [verdict(c) for c in candidates if c["slug"] == slug and verdict(c)]
        expected = sum(v in ("pass", "warn") for v in checked) / len(checked) if checked else None
        assert same(row["qa_pass_rate"], expected)
    assert frame.loc["demo", "total_runs"] == 5
    assert frame.loc["demo", "cost_usd"] > 0
    assert frame.loc["empty", "total_runs"] == 0 and math.isnan(frame.loc["empty", "qa_pass_rate"])


def test_project_summary_cards(real):
    summary = analytics.project_summary(real.ws, "demo")
    overview = analytics.project_overview(real.ws).set_index("slug").loc["demo"]
    assert summary["project"] == "demo"
    for key in ("total_runs", "assets"):
        assert summary[key] == overview[key]
    assert same(summary["cost_usd"], overview["cost_usd"]) and same(summary["qa_pass_rate"], overview["qa_pass_rate"])
    assert summary["last_run_at"] == overview["last_run_at"]
    counted = dict(Counter(r["status"] for r in real.rows(
        "SELECT r.status FROM runs r JOIN projects p ON p.id = r.project_id WHERE p.slug = 'demo'")))
    assert {k: v for k, v in summary["runs_by_status"].items() if v} == counted
    assert counted == {"done": 3, "failed": 1, "planned": 1}
    json.dumps(summary)  # plain Python values only: it goes to widgets and the CLI


def test_project_without_runs_gives_zeros_and_unknown_slug_raises(real):
    summary = analytics.project_summary(real.ws, "empty")
    assert summary["total_runs"] == 0 and summary["assets"] == 0 and summary["cost_usd"] == 0.0
    assert summary["qa_pass_rate"] is None and summary["last_run_at"] is None
    assert set(summary["runs_by_status"].values()) == {0}
    for frame in (analytics.runs_table(real.ws, "empty"), analytics.qa_pass_rate_by_stage(real.ws, "empty"),
                  analytics.qa_by_run(real.ws, "empty"), analytics.candidates(real.ws, slug="empty"),
                  analytics.cost_by_provider_day(real.ws, "empty"), analytics.estimated_vs_actual(real.ws, "empty"),
                  analytics.winner_reasons(real.ws, slug="empty")):
        assert len(frame) == 0 and len(frame.columns) > 0
    budget = analytics.budget_vs_actual(real.ws, "empty")
    assert list(budget["scope"]) == ["project"] and budget["actual_usd"].iloc[0] == 0.0
    with pytest.raises(NotFoundError, match="Unknown project 'nope'"):
        analytics.project_summary(real.ws, "nope")
    with pytest.raises(NotFoundError):
        analytics.runs_table(real.ws, "nope")


def test_runs_table_is_newest_first_with_absolute_log_paths(real):
    frame = analytics.runs_table(real.ws, "demo")
    rows = real.rows("SELECT r.* FROM runs r JOIN projects p ON p.id = r.project_id WHERE p.slug = 'demo' "
                     "ORDER BY r.created_at DESC, r.id")
    assert list(frame["run_id"]) == [row["id"] for row in rows]
    expected_columns = ["run_id", "created_at", "started_at", "finished_at", "mode", "status", "stage", "time_of_day",
                        "weather", "provider_code", "model_name", "jobs_total", "jobs_done", "estimated_cost_usd",
                        "actual_cost_usd", "run_log_path"]
    assert list(frame.columns[:len(expected_columns)]) == expected_columns
    for record, row in zip(frame.to_dict("records"), rows, strict=True):
        assert record["mode"] == row["run_mode"] and record["status"] == row["status"]
        assert record["jobs_total"] == row["jobs_total"] and record["jobs_done"] == row["jobs_done"]
        assert same(record["actual_cost_usd"], row["actual_cost_usd"])
        path = Path(record["run_log_path"])
        assert path.is_absolute() and path.is_file() and path == real.root / row["run_log_path"]
    assert len(analytics.runs_table(real.ws, "demo", limit=2)) == 2


def test_run_detail_jobs_agree_with_catalog_and_run_log(real):
    run_id = real.runs["style"].run_id
    detail = analytics.run_detail(real.ws, run_id[:8])  # a unique prefix works, as in the CLI
    assert detail["run"]["run_id"] == run_id and detail["run"]["mode"] == "run"
    assert detail["settings_snapshot"]["budgets"] == {"per_run_usd": 5.0, "per_project_usd": 50.0}
    log = json.loads(Path(detail["run"]["run_log_path"]).read_text())
    jobs = detail["jobs"].set_index("job_key")
    assert sorted(jobs.index) == sorted(job["id"] for job in log["jobs"])
    for job in log["jobs"]:
        row = jobs.loc[job["id"]]
        assert row["selected_candidate_index"] == job["selected_candidate"]
        assert row["winner_reason"] == job["winner_reason"]
        assert row["prompt_text"] == job["prompt"] and row["status"] == job["status"]
        assert Path(row["final_path"]) == (real.root / job["final_output"]).resolve()
        assert same(row["cost_usd"], sum(c["cost_usd"] for c in job["candidates"]))
        assert row["candidates"] == len(job["candidates"])
    with pytest.raises(NotFoundError):
        analytics.run_detail(real.ws, "no-such-run")


def test_candidates_match_sqlite_rows_and_files(real):
    frame = analytics.candidates(real.ws, slug="demo")
    raw = {(c["run_id"], c["job_key"], c["candidate_index"]): c for c in real.rows(RAW_CANDIDATES)}
    assert len(frame) == len(raw) == 32
    for record in frame.to_dict("records"):
        row = raw[(record["run_id"], record["job_key"], record["candidate_index"])]
        assert record["status"] == row["status"] and record["stage"] == row["stage"]
        assert (record["verdict"] if isinstance(record["verdict"], str) else None) == verdict(row)
        assert record["hard_failures"] == row["rank_hard_failures"]
        assert record["soft_warnings"] == row["rank_soft_warnings"]
        assert record["is_winner"] == (row["candidate_index"] == row["selected_candidate_index"])
        assert same(record["cost_usd"], row["cost_usd"])
        if row["status"] in ("done", "failed_output_guard"):
            final = Path(record["final_path"])
            assert final.is_absolute() and final.is_file()
            assert record["sha256"] == sha256_file(final)
    assert Counter(v for v in frame["verdict"] if isinstance(v, str)) == {"warn": 12, "pass": 9, "fail": 3}
    one_run = analytics.candidates(real.ws, run_id=real.runs["style"].run_id)
    assert len(one_run) == 12 and one_run["is_winner"].sum() == 4
    assert len(analytics.candidates(real.ws)) == len(raw)


def test_qa_pass_rate_by_stage_and_by_run(real):
    checked = [(c["stage"], c["run_id"], verdict(c)) for c in real.rows(RAW_CANDIDATES) if verdict(c)]
    by_stage = analytics.qa_pass_rate_by_stage(real.ws, "demo").set_index("stage")
    assert list(by_stage.index) == ["style", "time", "weather"]  # stage order, not alphabetical
    for stage, row in by_stage.iterrows():
        counts = Counter(v for s, _r, v in checked if s == stage)
        assert (row["checked"], row["passed"], row["warned"], row["failed"]) == (
            sum(counts.values()), counts["pass"], counts["warn"], counts["fail"])
        assert same(row["pass_rate"], (counts["pass"] + counts["warn"]) / sum(counts.values()))
    assert by_stage.loc["weather", "pass_rate"] == 0.0 and by_stage.loc["time", "pass_rate"] == 1.0

    by_run = analytics.qa_by_run(real.ws, "demo").set_index("run_id")
    real_runs = [r["id"] for r in real.rows("SELECT id FROM runs WHERE run_mode = 'run' ORDER BY created_at, id")]
    assert list(by_run.index) == real_runs  # dry runs have nothing to check
    for run_id, row in by_run.iterrows():
        counts = Counter(v for _s, r, v in checked if r == run_id)
        assert (row["checked"], row["passed"], row["warned"], row["failed"]) == (
            sum(counts.values()), counts["pass"], counts["warn"], counts["fail"])
    assert by_run.loc[real.runs["paid"].run_id, "failed"] == 1  # the request refused by moderation


def test_costs_match_cost_events(real):
    events = real.rows("SELECT e.*, p.slug FROM cost_events e JOIN projects p ON p.id = e.project_id")
    assert sum(e["cost_usd"] for e in events) > 0
    frame = analytics.cost_by_provider_day(real.ws)
    expected: dict[tuple[str, str, str], list[float]] = {}
    for e in events:
        expected.setdefault((e["created_at"][:10], e["slug"], e["provider_code"]), []).append(e["cost_usd"])
    got = {(r["day"], r["project"], r["provider_code"]): (r["events"], r["cost_usd"]) for r in frame.to_dict("records")}
    assert set(got) == set(expected)
    for key, costs in expected.items():
        assert got[key][0] == len(costs) and same(got[key][1], sum(costs))
    assert set(frame["provider_code"]) == {"local", "openai"}
    assert analytics.cost_by_provider_day(real.ws, "demo").equals(frame)

    by_project = analytics.cost_by_project(real.ws).set_index("project")
    assert set(by_project.index) == {"demo", "empty", "old"}  # archived projects keep their spend
    assert same(by_project.loc["demo", "cost_usd"], sum(e["cost_usd"] for e in events))
    assert by_project.loc["demo", "runs"] == 5 and by_project.loc["empty", "cost_usd"] == 0.0


def test_estimated_vs_actual_and_budgets(real):
    runs = {r["id"]: r for r in real.rows("SELECT * FROM runs WHERE run_mode = 'run'")}
    spent = {r["run_id"]: r["s"] for r in real.rows("SELECT run_id, SUM(cost_usd) AS s FROM cost_events GROUP BY run_id")}
    frame = analytics.estimated_vs_actual(real.ws, "demo")
    assert set(frame["run_id"]) == set(runs)
    for record in frame.to_dict("records"):
        assert same(record["estimated_cost_usd"], runs[record["run_id"]]["estimated_cost_usd"])
        assert same(record["actual_cost_usd"], spent.get(record["run_id"], 0.0))
        assert same(record["actual_cost_usd"], runs[record["run_id"]]["actual_cost_usd"])  # log total agrees
    paid = frame.set_index("run_id").loc[real.runs["paid"].run_id]
    assert paid["estimated_cost_usd"] > 0 and paid["actual_cost_usd"] > 0

    budget = analytics.budget_vs_actual(real.ws, "demo").set_index("scope")
    assert list(budget.columns[:3]) == ["budget_usd", "actual_usd", "remaining_usd"]
    project = budget.loc["project"]
    assert project["budget_usd"] == 50.0  # settings/pipeline.settings.toml
    assert same(project["actual_usd"], sum(spent.values()))
    assert same(project["remaining_usd"], 50.0 - sum(spent.values()))
    assert budget.loc[real.runs["paid"].run_id, "budget_usd"] == 3.0  # from that run's settings snapshot
    assert budget.loc[real.runs["style"].run_id, "budget_usd"] == 5.0
    assert set(budget.index) == {"project", *runs}


def test_winner_reasons_agree_with_run_logs(real):
    frame = analytics.winner_reasons(real.ws, slug="demo")
    from_logs = {}
    for path in (real.root / "runs").glob("*.json"):
        log = json.loads(path.read_text())
        if log["mode"] == "run":
            for job in log["jobs"]:
                from_logs[(log["run_id"], job["id"])] = (job["selected_candidate"], job["winner_reason"])
    got = {(r["run_id"], r["job_key"]): (r["selected_candidate_index"], r["winner_reason"])
           for r in frame.to_dict("records")}
    normalised = {k: (None if pd.isna(v[0]) else int(v[0]), v[1]) for k, v in got.items()}
    assert normalised == from_logs
    assert not frame["overridden"].any()
    strict = analytics.winner_reasons(real.ws, run_id=real.runs["strict"].run_id)
    assert strict["winner_reason"].iloc[0].startswith("no candidate is done")


def test_candidate_stats_and_workspace_wide_qa(real):
    raw = real.rows(RAW_CANDIDATES)
    stats = analytics.candidate_stats(real.ws)
    got = {(r["stage"], r["status"]): r for r in stats.to_dict("records")}
    assert {key: row["candidates"] for key, row in got.items()} == dict(Counter((c["stage"], c["status"]) for c in raw))
    for (stage, status), row in got.items():
        group = [c for c in raw if (c["stage"], c["status"]) == (stage, status)]
        assert row["winners"] == sum(c["candidate_index"] == c["selected_candidate_index"] for c in group)
        assert same(row["cost_usd"], sum(c["cost_usd"] for c in group))
    assert list(dict.fromkeys(stats["stage"])) == ["style", "time", "weather", "characters"]
    pd.testing.assert_frame_equal(analytics.candidate_stats(real.ws, "demo"), stats)
    pd.testing.assert_frame_equal(analytics.qa_pass_rate_by_stage(real.ws),
                                  analytics.qa_pass_rate_by_stage(real.ws, "demo"))  # demo holds every run
