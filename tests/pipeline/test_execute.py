"""Executing runs: the OpenAI provider over real HTTP against the fake server (success and costs,
429 + Retry-After, 500 then success, a 400 policy error, a timeout), and a full local run of the
demo project with outputs, assets, lineage, PNG metadata, events, ranking and the guard."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from kroma_kit.catalog.runs import get_run
from kroma_kit.pipeline.events import EventRecorder
from kroma_kit.pipeline.execute import execute_run
from kroma_kit.pipeline.metadata import read_record
from kroma_kit.providers.pricing import cost_from_usage, estimate_image_cost
from tests.fakes.openai_images_server import Reply
from tests.pipeline.runsupport import (
    SCENES,
    TEST_KEY,
    local_request,
    openai_request,
    openai_settings,
    table_counts,
)


def _log(summary) -> dict:
    return json.loads(Path(summary.run_log_path).read_text())


def test_openai_success_records_usage_costs_and_the_request(workspace, demo, fake, openai_key):
    fake.latency_s = 0.05  # every answer takes at least 50 ms, so the recorded latency must too
    summary = execute_run(workspace, openai_request(fake, scenes=2, candidates=2), confirm_spend=True)
    assert summary.status == "done" and summary.exit_code == 0 and len(fake.requests) == 4
    request = fake.requests[0]
    assert request.endpoint == "edits" and request.authorization == f"Bearer {TEST_KEY}"
    assert [part.filename for part in request.files] == [Path(SCENES[0]).name, "noir_ink.png"] or \
        [part.filename for part in request.files] == [Path(SCENES[1]).name, "noir_ink.png"]
    assert request.fields["prompt"].endswith("Do not invent new object categories.")
    assert request.fields["model"] == "gpt-image-2" and request.fields["quality"] == "high"
    log = _log(summary)
    candidate = log["jobs"][0]["candidates"][0]
    assert candidate["cost_usd"] == pytest.approx(cost_from_usage("gpt-image-2", candidate["usage"]))
    attempt = candidate["attempts"][0]
    assert attempt["status"] == 200 and isinstance(attempt["latency_ms"], int) and 50 <= attempt["latency_ms"] < 10_000
    assert len(log["cost_events"]) == 4 and {e["operation_code"] for e in log["cost_events"]} == {"image_generation"}
    assert summary.actual_cost_usd == pytest.approx(sum(e["cost_usd"] for e in log["cost_events"]))
    assert summary.estimated_cost_usd == pytest.approx(4 * estimate_image_cost("gpt-image-2", "high", "1024x1536"))
    assert TEST_KEY not in Path(summary.run_log_path).read_text()
    run = get_run(workspace, summary.run_id)
    assert run["actual_cost_usd"] == pytest.approx(summary.actual_cost_usd)
    assert sorted(e["event_key"] for e in run["cost_events"]) == sorted(e["event_key"] for e in log["cost_events"])


def test_rate_limit_with_retry_after_is_waited_out(workspace, demo, fake, openai_key):
    fake.script(Reply.rate_limited(retry_after=1))
    summary = execute_run(workspace, openai_request(fake), confirm_spend=True)
    attempts = _log(summary)["jobs"][0]["candidates"][0]["attempts"]
    assert summary.status == "done" and len(fake.requests) == 2
    assert [a["status"] for a in attempts] == [429, 200]
    assert attempts[0]["retry_wait_s"] >= 1.0 and "Rate limit reached" in attempts[0]["error"]


def test_server_error_then_success(workspace, demo, fake, openai_key):
    fake.script(Reply.server_error(500))
    summary = execute_run(workspace, openai_request(fake), confirm_spend=True)
    candidate = _log(summary)["jobs"][0]["candidates"][0]
    assert summary.status == "done" and [a["status"] for a in candidate["attempts"]] == [500, 200]
    assert candidate["status"] == "done"


def test_policy_error_fails_the_job_with_its_message_and_the_run_is_still_logged(workspace, demo, fake,
                                                                               openai_key):
    fake.script(Reply.moderation_blocked())
    summary = execute_run(workspace, openai_request(fake, scenes=2), confirm_spend=True, concurrency=1)
    assert len(fake.requests) == 2  # a 400 is not retried
    assert summary.status == "failed" and summary.exit_code == 1
    assert summary.jobs_done == 1 and summary.jobs_failed == 1
    job = _log(summary)["jobs"][0]
    assert job["status"] == "failed" and "rejected as a result of our safety system" in job["failure_reason"]
    assert job["candidates"][0]["error_status"] == 400 and job["candidates"][0]["cost_usd"] == 0.0
    assert "style_1_street" in summary.status_reason
    run = get_run(workspace, summary.run_id)
    assert run["status"] == "failed" and run["jobs"][0]["status"] == "failed"


def test_slow_response_past_the_timeout_fails_the_candidate(workspace, demo, fake, openai_key):
    fake.script(Reply.slow(3.0), Reply.slow(3.0))
    settings = openai_settings(fake, timeout_s=0.4, max_attempts=2)
    summary = execute_run(workspace, openai_request(fake, settings=settings), confirm_spend=True)
    candidate = _log(summary)["jobs"][0]["candidates"][0]
    assert summary.status == "failed" and candidate["status"] == "failed"
    assert "timeout" in candidate["error"] and len(candidate["attempts"]) == 2
    assert all("timeout" in attempt["error"] for attempt in candidate["attempts"])


def test_local_run_of_the_demo_project(workspace, demo):
    events = EventRecorder()
    before = table_counts(workspace)
    summary = execute_run(workspace, local_request(), on_event=events, concurrency=4)
    root = Path(demo["root"])
    assert summary.status == "done" and summary.jobs_done == 4 and summary.candidates_done == 12
    assert sorted(p.name for p in (root / "outputs").glob("*.png")) == sorted(
        f"style_{i}_{name}__c{k}.png" for i, name in enumerate(["street", "room", "rooftop", "harbor"], 1)
        for k in (1, 2, 3))
    log = _log(summary)
    assert log["schema_version"] == 1 and log["status"] == "done" and log["pid"] and log["host"]
    assert len(log["manifest_hash"]) == 64 and log["settings_snapshot"]["pipeline"]["provider"] == "local"
    for job in log["jobs"]:
        assert job["status"] == "done" and job["selected_candidate"] in (1, 2, 3) and job["winner_reason"]
        positions = sorted(c["rank_position"] for c in job["candidates"])
        assert positions == [1, 2, 3]
        winner = next(c for c in job["candidates"] if c["candidate_index"] == job["selected_candidate"])
        assert winner["rank_position"] == 1 and job["final_output"] == winner["final_output"]
        assert (root / job["final_output"]).is_file()
    seeds = [c["seed"] for job in log["jobs"] for c in job["candidates"]]
    assert len(set(seeds)) == 12
    record = read_record(root / "outputs/style_2_room__c3.png")
    assert record["run_id"] == summary.run_id and record["job_id"] == "style_2_room"
    assert record["candidate_index"] == 3 and record["provider"] == "local"
    assert record["seed"] == log["jobs"][1]["candidates"][2]["seed"]
    assert record["prompt"] == log["jobs"][1]["prompt"] and record["model"] == "local-procedural-v2"

    kinds = events.kinds()
    assert kinds[0] == "planned" and kinds[-1] == "finished"
    assert kinds.count("started") == kinds.count("candidate_done") == kinds.count("guard_result") == 12
    assert kinds.count("job_done") == 4

    after = table_counts(workspace)
    assert after["runs"] - before["runs"] == 1 and after["run_jobs"] == 4 and after["run_candidates"] == 12
    # one output_guard and one continuity (model_score) report per candidate
    assert after["quality_reports"] == 24 and after["cost_events"] == 12
    conn = workspace.connect()
    try:
        kinds_count = dict(conn.execute("SELECT kind, COUNT(*) FROM assets GROUP BY kind").fetchall())
        links = dict(conn.execute("SELECT link_type, COUNT(*) FROM asset_links GROUP BY link_type").fetchall())
    finally:
        conn.close()
    assert kinds_count == {"input": 4, "reference": 1, "generated": 8, "final": 4, "run_log": 1}
    assert links == {"derived_from": 12, "reference_of": 12}


def test_guard_failures_go_to_archive_bad_and_fail_the_job(workspace, demo):
    summary = execute_run(workspace, local_request(
        scenes=1, candidates=2, manifest_overrides={"output_guard": {"max_chroma_delta": 2.0,
                                                                     "fail_on_chroma_exceed": True}}))
    root = Path(demo["root"])
    job = _log(summary)["jobs"][0]
    assert summary.status == "failed" and summary.exit_code == 1
    assert job["status"] == "failed_output_guard" and job["failure_reason"] == "all_candidates_failed_output_guard"
    assert job["final_output"] is None and not list((root / "outputs").glob("*.png"))
    bad = sorted(p.name for p in (root / "archive/bad").iterdir())
    assert len(bad) == 2 and all("_bad_" in name for name in bad)
    assert all(c["output_guard"]["bad_archive"].startswith("archive/bad/") for c in job["candidates"])


def test_existing_outputs_are_archived_unless_disabled(workspace, demo):
    root = Path(demo["root"])
    execute_run(workspace, local_request(scenes=1, candidates=1))
    assert (root / "outputs/style_1_street.png").is_file()
    # no_cache: the same request would reuse the first file (stage cache); this is about making it again
    second = execute_run(workspace, local_request(scenes=1, candidates=1, no_cache=True))
    replaced = list((root / "archive/replaced").glob("style_1_street_replaced_*.png"))
    assert len(replaced) == 1
    assert _log(second)["jobs"][0]["candidates"][0]["replaced_archive"].startswith("archive/replaced/")
    execute_run(workspace, local_request(scenes=1, candidates=1, no_cache=True), archive_replaced=False)
    assert len(list((root / "archive/replaced").glob("*.png"))) == 1


def test_cancel_stops_new_candidates_and_ends_partial(workspace, demo):
    cancel = threading.Event()

    def on_event(event):
        if event.kind == "candidate_done":
            cancel.set()

    summary = execute_run(workspace, local_request(scenes=4, candidates=2), concurrency=1, cancel=cancel,
                          on_event=on_event)
    assert summary.status == "partial" and summary.status_reason.startswith("cancelled")
    log = _log(summary)
    tried = [c for job in log["jobs"] for c in job["candidates"] if c["status"] != "planned"]
    assert len(tried) == 1
    assert [job["status"] for job in log["jobs"]] == ["done", "planned", "planned", "planned"]


def test_post_chain_runs_before_the_guard_and_its_files_are_linked(workspace, demo):
    summary = execute_run(workspace, local_request(
        scenes=1, candidates=2, postprocess={"upscale": True, "upscale_backend": "lanczos", "color": True,
                                             "color_profile": "cinematic_warm"}))
    root = Path(demo["root"])
    log = _log(summary)
    assert summary.status == "done"
    assert log["postprocess"]["pipeline_order"] == ["generate", "upscale", "color"]
    job = log["jobs"][0]
    winner = next(c for c in job["candidates"] if c["candidate_index"] == job["selected_candidate"])
    base = f"style_1_street__c{winner['candidate_index']}"
    assert winner["upscale"]["output"] == f"upscaled/{base}_x2.png"
    assert winner["color"]["input"] == f"upscaled/{base}_x2.png"
    assert winner["final_output"] == f"color_corrected/{base}_x2_cinematic_warm.png"
    assert winner["output_guard"]["checked_input"] == winner["final_output"] == job["final_output"]
    assert read_record(root / winner["final_output"])["post_steps"] == ["upscale", "color"]
    conn = workspace.connect()
    try:
        rows = conn.execute(
            "SELECT c.kind AS child, p.kind AS parent, l.link_type FROM asset_links l "
            "JOIN assets c ON c.id = l.child_asset_id JOIN assets p ON p.id = l.parent_asset_id").fetchall()
    finally:
        conn.close()
    chain = sorted((r["parent"], r["child"], r["link_type"]) for r in rows)
    assert chain.count(("generated", "upscaled", "derived_from")) == 2
    assert ("upscaled", "final", "derived_from") in chain and ("upscaled", "color_corrected", "derived_from") in chain
