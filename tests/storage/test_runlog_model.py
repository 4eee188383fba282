"""The typed run-log model reads logs written by the previous version, field by field, and a
log loaded and written back re-ingests to exactly the catalog rows the previous version wrote."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from kroma_kit.errors import InputError
from kroma_kit.storage.runlog import load_run_log, parse_run_log, write_run_log
from kroma_kit.storage.runlog_live import RunLog
from kroma_kit.storage.runlog_model import RunLogModel
from tests.storage.runlog_rows import FIXTURES, catalog_rows, ingest_fixture

DEMO = FIXTURES / "demo_run.json"


def test_a_log_of_the_previous_version_loads_as_fields():
    raw = json.loads(DEMO.read_text())
    log = load_run_log(DEMO)
    assert isinstance(log, RunLogModel)
    assert (log.run_id, log.project, log.mode, log.status) == (raw["run_id"], "demo", "run", "done")
    job = log.job(raw["jobs"][0]["id"])
    assert job is not None and job.selected_candidate == raw["jobs"][0]["selected_candidate"]
    winner = job.winner()
    assert winner is not None and winner.final_output == raw["jobs"][0]["final_output"]
    assert winner.rank is not None and winner.rank.avg_chroma_exceed == raw["jobs"][0]["ranking"][0]["rank"][
        "avg_chroma_exceed"]
    assert [c.seed for c in job.candidates] == [c["seed"] for c in raw["jobs"][0]["candidates"]]
    assert sum(event.cost_usd for event in log.cost_events) == pytest.approx(raw["actual_cost_usd"])
    assert log.get("candidates_not_started") == raw["candidates_not_started"]  # an extra key, kept


def test_a_log_round_trips_without_losing_or_adding_a_key(tmp_path):
    raw = json.loads(DEMO.read_text())
    assert json.dumps(load_run_log(DEMO).to_dict()) == json.dumps(raw)  # same keys, order and types
    original_tool = {"run_id": "r1", "project": "p", "mode": "run", "status": "done", "schema_version": 1,
                     "seed_only_field": {"x": 1},
                     "jobs": [{"id": "j1", "status": "done", "prompt": "p", "input_images": [], "legacy": True}]}
    assert json.dumps(parse_run_log(original_tool).to_dict()) == json.dumps(original_tool)
    out = tmp_path / "runs" / "r1.json"
    write_run_log(out, parse_run_log(original_tool))
    assert json.loads(out.read_text()) == original_tool


def test_a_broken_or_newer_log_is_a_clear_error():
    with pytest.raises(InputError, match="jobs.0.status"):
        parse_run_log({"run_id": "r", "project": "p", "mode": "run", "status": "done", "schema_version": 1,
                       "jobs": [{"id": "j", "status": "exploded", "prompt": "", "input_images": []}]})
    with pytest.raises(InputError, match="newer"):
        parse_run_log({"schema_version": 99})


def test_a_reloaded_log_reingests_to_the_rows_the_previous_version_wrote(workspace):
    """``demo_run.rows.json`` was written by the code before this model existed."""
    result = ingest_fixture(workspace, DEMO.name, through=lambda data: parse_run_log(data).to_dict())
    assert (result["jobs"], result["candidates"]) == (4, 12)
    expected = json.loads((FIXTURES / "demo_run.rows.json").read_text())
    assert json.loads(json.dumps(catalog_rows(workspace), sort_keys=True, default=str)) == expected


def test_named_updates_from_many_threads_all_land_in_the_file(tmp_path):
    path = tmp_path / "runs" / "r.json"
    data = json.loads(DEMO.read_text())
    log = RunLog(path, data)
    job_ids = [job["id"] for job in data["jobs"]]

    def settle(job_id: str) -> None:
        log.set_job(job_id, status="failed", failure_reason=f"{job_id} stopped")

    threads = [threading.Thread(target=settle, args=(job_id,)) for job_id in job_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    log.set_run(status="failed", status_reason="every job failed")
    on_disk = load_run_log(path)
    assert on_disk.status == "failed" and on_disk.status_reason == "every job failed"
    assert {job.id: job.failure_reason for job in on_disk.jobs} == {j: f"{j} stopped" for j in job_ids}
    assert log.model.status == "failed" and Path(path).is_file()


def test_a_candidate_update_books_its_cost_in_the_same_write_and_refuses_unknown_fields(tmp_path):
    from kroma_kit.storage.runlog import PaidCall

    data = json.loads(DEMO.read_text())
    job_id = data["jobs"][0]["id"]
    data["cost_events"] = [event for event in data["cost_events"] if event["job_id"] != job_id]
    log = RunLog(tmp_path / "runs" / "r.json", data)
    paid = PaidCall("openai", "gpt-image-1", 0.04, {"images": 1})
    log.set_candidate(job_id, 1, status="generated", cost_usd=0.04, paid=paid)
    log.set_candidate(job_id, 1, status="generated", cost_usd=0.04, paid=paid)  # booked once
    on_disk = load_run_log(log.path)
    events = [event for event in on_disk.cost_events if event.job_id == job_id]
    assert [(e.provider_code, e.candidate_index, e.cost_usd) for e in events] == [("openai", 1, 0.04)]
    assert on_disk.actual_cost_usd == pytest.approx(sum(e.cost_usd for e in on_disk.cost_events))
    with pytest.raises(KeyError, match="statu"):
        log.set_candidate(job_id, 1, statu="done")


def test_a_candidate_row_holds_the_candidate_json_exactly_as_the_run_log_writes_it(workspace):
    """``meta_json`` of a candidate row is the candidate's JSON byte for byte (in the catalog's
    sorted layout), now that its blocks are typed models: no default is added, no value changes,
    unknown keys (here inside the typed blocks too) are kept; and the blocks' fields are read."""
    from kroma_kit.catalog.db import to_json
    from kroma_kit.catalog.projects import create_project
    from kroma_kit.catalog.runs import ingest_run_log

    project = create_project(workspace, "demo", "Demo")
    data = json.loads(DEMO.read_text(encoding="utf-8"))
    data["project_id"] = project["id"]
    first = data["jobs"][0]["candidates"][0]
    first["continuity"] = {"verdict": "warn", "reasons": ["style drift"], "severity": 0.25, "gate_note": "kept"}
    first["bg_remove"] = {"output": "outputs/background_removed/x.png", "backend": "grabcut", "ms": 12}
    first["output_guard"]["summary"]["extra_count"] = 3
    first["output_guard"]["files"][0]["new_metric"] = 1.5
    target = Path(project["root"]) / "runs" / f"{data['run_id']}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    RunLog(target, data).save()  # the live log's own serialisation

    ingest_run_log(workspace, target)

    written = json.loads(target.read_bytes())
    expected = {(job["id"], c["candidate_index"]): to_json(c) for job in written["jobs"] for c in job["candidates"]}
    conn = workspace.connect()
    try:
        rows = conn.execute("SELECT j.job_key, c.candidate_index, c.meta_json FROM run_candidates c "
                            "JOIN run_jobs j ON j.id = c.job_id").fetchall()
        verdicts = conn.execute("SELECT verdict FROM quality_reports WHERE report_type = 'model_score'").fetchall()
    finally:
        conn.close()
    assert {(row[0], row[1]): row[2] for row in rows} == expected
    assert json.loads(expected[(data["jobs"][0]["id"], 1)])["continuity"]["gate_note"] == "kept"
    assert [row[0] for row in verdicts] == ["warn"]


def test_blocks_are_stored_as_written_and_read_through_typed_views():
    """A candidate's step, guard and continuity blocks stay the plain dicts the writers gave (a
    whole-log write serialises no extra models); a reader gets a typed view, validated when asked,
    with unknown keys kept and an absent block as None."""
    from pydantic import ValidationError

    raw = json.loads(DEMO.read_text())
    first = raw["jobs"][0]["candidates"][0]
    first["upscale"] = {"output": "outputs/upscaled/x.png", "backend": "lanczos", "ms": 7}
    first["continuity"] = {"verdict": "fail", "reasons": ["identity"], "gate_note": "kept"}
    candidate = parse_run_log(raw).jobs[0].candidates[0]

    assert isinstance(candidate.output_guard, dict) and isinstance(candidate.upscale, dict)
    assert json.loads(candidate.to_json_bytes()) == first  # the blocks' bytes are the log's
    guard = candidate.guard_block()
    assert guard is not None and guard.files[0].chroma_delta == first["output_guard"]["files"][0]["chroma_delta"]
    assert guard.to_json_data() == first["output_guard"]
    step = candidate.step("upscale")
    assert step is not None and (step.output, step.get("backend")) == ("outputs/upscaled/x.png", "lanczos")
    assert candidate.step("color") is None
    block = candidate.continuity_block()
    assert block is not None and (block.verdict, block.reasons, block.get("gate_note")) == ("fail", ["identity"], "kept")
    with pytest.raises(KeyError, match="upscal"):
        candidate.step("upscal")
    candidate.set(continuity={"verdict": ["not", "a", "string"]})
    with pytest.raises(ValidationError):
        candidate.continuity_block()
