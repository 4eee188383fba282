"""The artist's winner override: it changes the job's choice in the run log and the catalog
together, keeps every earlier choice, and refuses candidates that cannot be a winner."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from kroma_kit import analytics
from kroma_kit.catalog.runs import ingest_run_log
from kroma_kit.errors import InputError, NotFoundError
from kroma_kit.pipeline.review import EVENT_CODE, override_winner, winner_history
from kroma_kit.storage.runlog import read_run_log
from tests.analytics.realruns import RealCatalog, build_real_catalog
from tests.conftest import REPO_ROOT, cli_env
from tests.pg_server import ENGINES


@pytest.fixture(scope="module", params=ENGINES)
def real(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> RealCatalog:
    """The real-runs catalog on each engine (the tests change it in order: overrides, history)."""
    url = request.getfixturevalue("pg_server").new_database() if request.param == "postgresql" else None
    return build_real_catalog(tmp_path_factory.mktemp("review") / "kroma-home", catalog_url=url)


def log_of(real: RealCatalog, run_name: str) -> dict:
    return read_run_log(real.root / "runs" / f"{real.runs[run_name].run_id}.json")


def log_job(real: RealCatalog, run_name: str, job_key: str) -> dict:
    return next(job for job in log_of(real, run_name)["jobs"] if job["id"] == job_key)


def catalog_job(real: RealCatalog, run_name: str, job_key: str) -> dict:
    return real.rows("SELECT * FROM run_jobs WHERE run_id = ? AND job_key = ?",
                     (real.runs[run_name].run_id, job_key))[0]


def catalog_candidate(real: RealCatalog, job_id: str, index: int) -> dict:
    return real.rows("SELECT * FROM run_candidates WHERE job_id = ? AND candidate_index = ?", (job_id, index))[0]


def assert_log_and_catalog_agree(real: RealCatalog, run_name: str) -> None:
    for job in log_of(real, run_name)["jobs"]:
        row = catalog_job(real, run_name, job["id"])
        assert row["selected_candidate_index"] == job["selected_candidate"], job["id"]
        assert json.loads(row["meta_json"]).get("winner_override") == job.get("winner_override")
        if job["selected_candidate"] is not None:
            asset = real.rows("SELECT storage_uri FROM assets WHERE id = ?", (row["final_asset_id"],))[0]
            assert Path(asset["storage_uri"]) == (real.root / job["final_output"]).resolve()


def other_index(job: dict) -> int:
    return next(c["candidate_index"] for c in job["candidates"]
                if c["status"] == "done" and c["candidate_index"] != job["selected_candidate"])


def test_override_changes_the_choice_in_log_catalog_and_analytics(real):
    run_id = real.runs["style"].run_id
    before = log_job(real, "style", "style_1_street")
    ranked, chosen = before["selected_candidate"], other_index(before)
    old_final = catalog_job(real, "style", "style_1_street")["final_asset_id"]

    result = override_winner(real.ws, run_id, "style_1_street", chosen, note="kept the hat", reviewer="local")

    assert result["changed"] and result["previous_candidate"] == ranked and result["candidate_index"] == chosen
    job = log_job(real, "style", "style_1_street")  # validates the rewritten log too
    assert job["selected_candidate"] == chosen
    assert job["final_output"] == job["output"] == f"outputs/style_1_street__c{chosen}.png"
    assert job["winner_reason"] == f"chosen by local: kept the hat (was candidate {ranked})"
    assert job["winner_override"]["note"] == "kept the hat" and job["winner_override"]["previous_candidate"] == ranked
    assert job["output_guard"]["checked_input"] == job["final_output"]  # the winner's blocks follow it

    row = catalog_job(real, "style", "style_1_street")
    new_candidate = catalog_candidate(real, row["id"], chosen)
    assert row["selected_candidate_index"] == chosen and row["final_asset_id"] == new_candidate["final_asset_id"]
    kinds = {r["id"]: r["kind"] for r in real.rows("SELECT id, kind FROM assets WHERE id IN (?, ?)",
                                                   (old_final, row["final_asset_id"]))}
    assert kinds == {old_final: "generated", row["final_asset_id"]: "final"}
    assert_log_and_catalog_agree(real, "style")

    grid = analytics.candidates(real.ws, run_id=run_id)
    winners = grid[grid["job_key"] == "style_1_street"].set_index("candidate_index")["is_winner"]
    assert winners[chosen] and not winners[ranked]
    reasons = analytics.winner_reasons(real.ws, run_id=run_id).set_index("job_key")
    assert reasons.loc["style_1_street", "overridden"] and not reasons.loc["style_2_room", "overridden"]
    assert reasons.loc["style_1_street", "winner_reason"].startswith("chosen by local")

    ingest_run_log(real.ws, result["run_log_path"])  # re-ingesting the log keeps the artist's choice
    assert catalog_job(real, "style", "style_1_street")["selected_candidate_index"] == chosen
    assert_log_and_catalog_agree(real, "style")
    assert analytics.winner_reasons(real.ws, run_id=run_id).set_index("job_key").loc["style_1_street", "overridden"]


def test_history_keeps_every_choice(real):
    run_id = real.runs["style"].run_id
    job = log_job(real, "style", "style_2_room")
    ranked = job["selected_candidate"]
    first, second = [c["candidate_index"] for c in job["candidates"] if c["candidate_index"] != ranked][:2]
    override_winner(real.ws, run_id, "style_2_room", first, note="better rain")
    override_winner(real.ws, run_id[:10], "style_2_room", second, note="no, this one", reviewer="editor")

    history = winner_history(real.ws, run_id, "style_2_room")
    assert [(h["source"], h["candidate_index"]) for h in history] == [
        ("ranking", ranked), ("human_review", first), ("human_review", second)]
    assert history[0]["winner_reason"] == job["winner_reason"]
    assert (history[2]["previous_candidate"], history[2]["note"], history[2]["reviewer"]) == (first, "no, this one",
                                                                                             "editor")
    row = catalog_job(real, "style", "style_2_room")
    reports = real.rows("SELECT * FROM quality_reports WHERE job_id = ? AND report_type = 'human_review' "
                        "ORDER BY created_at", (row["id"],))
    summaries = [json.loads(r["summary_json"]) for r in reports]
    assert [(s["previous"]["candidate_index"], s["new"]["candidate_index"]) for s in summaries] == [
        (ranked, first), (first, second)]
    assert reports[1]["candidate_id"] == catalog_candidate(real, row["id"], second)["id"]
    events = real.rows("SELECT payload_json FROM audit_events WHERE event_code = ?", (EVENT_CODE,))
    assert sum(json.loads(e["payload_json"])["job_key"] == "style_2_room" for e in events) == 2
    log_history = log_job(real, "style", "style_2_room")["winner_history"]
    assert [h["candidate_index"] for h in log_history] == [ranked, first, second]
    assert json.loads(row["meta_json"])["winner_history"] == log_history
    assert_log_and_catalog_agree(real, "style")


def test_choosing_the_current_winner_records_an_approval(real):
    run_id = real.runs["style"].run_id
    current = log_job(real, "style", "style_3_rooftop")["selected_candidate"]
    result = override_winner(real.ws, run_id, "style_3_rooftop", current, note="approved")
    assert not result["changed"]
    assert catalog_job(real, "style", "style_3_rooftop")["selected_candidate_index"] == current
    assert [h["source"] for h in winner_history(real.ws, run_id, "style_3_rooftop")] == ["ranking", "human_review"]


def test_force_allows_a_candidate_that_failed_the_guard(real):
    run_id = real.runs["strict"].run_id
    job = log_job(real, "strict", "weather_1_street")
    assert job["status"] == "failed_output_guard" and job["selected_candidate"] is None
    with pytest.raises(InputError, match="failed the output guard .*force"):
        override_winner(real.ws, run_id, "weather_1_street", 2)

    result = override_winner(real.ws, run_id, "weather_1_street", 2, note="the rain reads well", force=True)

    assert result["forced"] and result["previous_candidate"] is None
    assert "/archive/bad/" in result["final_output"] and Path(result["final_output"]).is_file()
    job = log_job(real, "strict", "weather_1_street")
    assert job["selected_candidate"] == 2 and job["status"] == "failed_output_guard"
    row = catalog_job(real, "strict", "weather_1_street")
    assert row["final_asset_id"] == catalog_candidate(real, row["id"], 2)["output_asset_id"]
    assert_log_and_catalog_agree(real, "strict")
    assert winner_history(real.ws, run_id, "weather_1_street")[-1]["forced"]


def test_refusals_change_nothing(real):
    logs = {path: path.read_bytes() for path in (real.root / "runs").glob("*.json")}
    reports = real.scalar("SELECT COUNT(*) FROM quality_reports")
    style, paid = real.runs["style"].run_id, real.runs["paid"].run_id
    failed = next(c["candidate_index"] for c in log_job(real, "paid", "style_1_room")["candidates"]
                  if c["status"] == "failed")
    cases = [
        (NotFoundError, "Unknown run", ("no-such-run", "style_4_harbor", 1)),
        (NotFoundError, "no job 'nope'.*style_1_street", (style, "nope", 1)),
        (NotFoundError, "no candidate 9 .*1, 2, 3", (style, "style_4_harbor", 9)),
        (InputError, "whole number >= 1", (style, "style_4_harbor", 0)),
        (InputError, "dry run", (real.runs["dry"].run_id, "characters_1_street", 1)),
        (InputError, f"Candidate {failed} of job 'style_1_room' failed", (paid, "style_1_room", failed)),
    ]
    for error, message, args in cases:
        with pytest.raises(error, match=message):
            override_winner(real.ws, *args)
    conn = real.sqlite()
    host = real.rows("SELECT host FROM runs WHERE id = ?", (paid,))[0]["host"]
    try:  # a run still going on another machine: its process there cannot see this choice
        conn.execute("UPDATE runs SET status = 'running', host = 'render-02' WHERE id = ?", (paid,))
        conn.commit()
        with pytest.raises(InputError, match="still running on host render-02"):
            override_winner(real.ws, paid, "style_1_room", 2)
    finally:
        conn.execute("UPDATE runs SET status = 'done', host = ? WHERE id = ?", (host, paid))
        conn.commit()
        conn.close()
    assert {path: path.read_bytes() for path in logs} == logs
    assert real.scalar("SELECT COUNT(*) FROM quality_reports") == reports


def run_cli(real: RealCatalog, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kroma_kit", *args], capture_output=True, text=True,
                          env=cli_env(real.ws.home, real.ws.catalog_url), cwd=REPO_ROOT, timeout=120)


def test_cli_twin_sets_the_winner(real):
    run_id = real.runs["style"].run_id
    chosen = other_index(log_job(real, "style", "style_4_harbor"))
    done = run_cli(real, "review", "set-winner", "--run", run_id[:8], "--job", "style_4_harbor",
                   "--candidate", str(chosen), "--note", "from the CLI", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["candidate_index"] == chosen and result["note"] == "from the CLI"
    assert log_job(real, "style", "style_4_harbor")["selected_candidate"] == chosen
    assert_log_and_catalog_agree(real, "style")

    history = run_cli(real, "review", "history", "--run", run_id, "--job", "style_4_harbor", "--json")
    assert [h["source"] for h in json.loads(history.stdout)] == ["ranking", "human_review"]

    refused = run_cli(real, "review", "set-winner", "--run", run_id, "--job", "style_4_harbor", "--candidate", "7")
    assert refused.returncode == 2 and refused.stderr.startswith("error: Job 'style_4_harbor' has no candidate 7")
    assert "Traceback" not in refused.stderr


def test_concurrent_overrides_of_one_run_all_land(real):
    from concurrent.futures import ThreadPoolExecutor

    run_id = real.runs["night"].run_id
    jobs = log_of(real, "night")["jobs"]
    wanted = {job["id"]: other_index(job) for job in jobs}
    with ThreadPoolExecutor(max_workers=len(wanted)) as pool:
        list(pool.map(lambda item: override_winner(real.ws, run_id, item[0], item[1], note="batch"), wanted.items()))
    assert {job["id"]: job["selected_candidate"] for job in log_of(real, "night")["jobs"]} == wanted
    assert_log_and_catalog_agree(real, "night")
