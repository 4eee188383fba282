"""The gate inside a real local run: recorded per candidate, a warning by default, a hard failure
with ``continuity.fail_on_break``, and ranking that puts continuity before chroma."""

from __future__ import annotations

import json
from pathlib import Path

from kroma_kit.pipeline.execute import execute_run
from kroma_kit.pipeline.guard import Rank
from kroma_kit.pipeline.ranking import CandidateScore, rank_candidates
from tests.pipeline.runsupport import demo, local_request, sample_files  # noqa: F401


def _log(summary) -> dict:
    return json.loads(Path(summary.run_log_path).read_text())


def _reports(workspace, run_id: str) -> list[tuple[str, str, dict]]:
    conn = workspace.connect()
    try:
        rows = conn.execute("SELECT report_type, verdict, summary_json FROM quality_reports WHERE run_id = ? "
                            "ORDER BY report_type", (run_id,)).fetchall()
    finally:
        conn.close()
    return [(row[0], row[1], json.loads(row[2])) for row in rows]


def test_every_candidate_is_scored_and_stored_as_a_model_score(workspace, demo):  # noqa: F811
    summary = execute_run(workspace, local_request(scenes=1, candidates=2))
    job = _log(summary)["jobs"][0]
    assert summary.status == "done" and job["status"] == "done"
    for candidate in job["candidates"]:
        block = candidate["continuity"]
        assert block["verdict"] in ("pass", "warn") and candidate["status"] == "done"
        assert set(block["style"]["parts"]) == {"colour", "palette", "tone", "line"}
        assert block["identity"] == []  # the style stage declares no character
        assert block["breaks"] == len(block["reasons"])
        assert candidate["timings"]["continuity_ms"] >= 0
    scores = [r for r in _reports(workspace, summary.run_id) if r[0] == "model_score"]
    assert len(scores) == 2 and all(r[2]["model"] == "continuity" for r in scores)
    assert sorted(r[1] for r in scores) == sorted(c["continuity"]["verdict"] for c in job["candidates"])
    assert (Path(demo["root"]) / ".kroma" / "continuity_calibration.json").is_file()


def test_the_run_scores_the_image_it_decoded_for_the_guard_as_the_file_scores(workspace, demo):  # noqa: F811
    """A run decodes a candidate once for the guard and the gate; the scores are the file's own."""
    from kroma_kit.config import resolve_project_settings
    from kroma_kit.pipeline.continuity_step import ContinuityStep

    summary = execute_run(workspace, local_request(scenes=1, candidates=2))
    root = Path(demo["root"])
    step = ContinuityStep.for_project(workspace, root, resolve_project_settings(root), "demo")
    job = _log(summary)["jobs"][0]
    for candidate in job["candidates"]:
        from_file = step.check(root / candidate["final_output"], job["mode"])
        assert from_file["style"] == candidate["continuity"]["style"]
        assert from_file["verdict"] == candidate["continuity"]["verdict"]


def test_fail_on_break_fails_and_archives_a_broken_candidate(workspace, demo):  # noqa: F811
    overrides = {"continuity": {"fail_on_break": True, "style_drift_max": 0.001}}
    summary = execute_run(workspace, local_request(scenes=1, candidates=2, settings_overrides=overrides))
    job = _log(summary)["jobs"][0]
    assert job["status"] == "failed_output_guard" and summary.status == "failed"
    for candidate in job["candidates"]:
        assert candidate["status"] == "failed_output_guard" and candidate["continuity"]["verdict"] == "fail"
        assert "continuity_break" in candidate["output_guard"]["files"][0]["hard_fail_reasons"]
        assert candidate["rank"]["hard_failures"] >= 1
        assert candidate["output_guard"]["bad_archive"].startswith("archive/bad/")
    assert not list((Path(demo["root"]) / "outputs").glob("*.png"))


def test_disabled_gate_records_nothing(workspace, demo):  # noqa: F811
    summary = execute_run(workspace, local_request(scenes=1, candidates=1,
                                                   settings_overrides={"continuity": {"enabled": False}}))
    candidate = _log(summary)["jobs"][0]["candidates"][0]
    assert "continuity" not in candidate and "continuity_ms" not in candidate["timings"]
    assert [r[0] for r in _reports(workspace, summary.run_id)] == ["output_guard"]


def _score(index: int, soft: int = 0, chroma: float = 0.0, reasons: tuple[str, ...] = (),
           severity: float = 0.0, hard: int = 0) -> CandidateScore:
    return CandidateScore.from_mapping({
        "candidate_index": index, "status": "done",
        "rank": Rank(hard, soft, chroma).to_dict(),
        "continuity": {"breaks": len(reasons), "severity": severity, "reasons": list(reasons)}})


def test_ranking_puts_continuity_after_hard_failures_and_before_chroma():
    broken = _score(2, reasons=("identity 0.81 for mara below 0.90",), severity=0.1)
    warned = _score(1, soft=1, chroma=3.5)
    result = rank_candidates([warned, broken])
    assert result.winner_index == 1
    assert result.reason.startswith("fewest continuity breaks (0 vs 1); #2: identity 0.81 for mara below 0.90")
    assert rank_candidates([_score(1, hard=1), broken]).winner_index == 2  # hard failures still come first
    ordered = rank_candidates([warned, broken]).to_dict()["ordered"]
    assert ordered[1]["continuity"] == {"breaks": 1, "severity": 0.1}


def test_severity_breaks_a_tie_only_after_chroma():
    near = _score(1, reasons=("style_drift 1.10 above 1.00 (worst: tone)",), severity=0.1)
    far = _score(2, reasons=("style_drift 3.00 above 1.00 (worst: tone)",), severity=2.0)
    assert rank_candidates([far, near]).winner_index == 1
    assert "closest to the references" in rank_candidates([far, near]).reason
    chroma_first = _score(2, reasons=("style_drift 3.00 above 1.00 (worst: tone)",), severity=2.0, chroma=0.0)
    near_more_chroma = _score(1, reasons=("style_drift 1.10 above 1.00 (worst: tone)",), severity=0.1, chroma=1.0)
    assert rank_candidates([chroma_first, near_more_chroma]).winner_index == 2


def test_a_jobs_file_entry_declares_its_own_characters(workspace, demo, tmp_path):  # noqa: F811
    from kroma_kit.characters.samples import install_sample_characters

    install_sample_characters(workspace, demo, {"style_refs": ["inputs/styles/noir_ink.png"]})
    jobs = tmp_path / "jobs.json"
    jobs.write_text(json.dumps([
        {"id": "shot_courier", "prompt": "the courier alone", "mode": "characters", "characters": ["courier"],
         "input_images": ["inputs/scenes/street.png"]},
        {"id": "shot_none", "prompt": "an empty street", "mode": "style", "characters": [],
         "input_images": ["inputs/scenes/room.png"]}]))
    summary = execute_run(workspace, local_request(candidates=1, jobs_file=jobs))
    by_job = {job["id"]: job["candidates"][0]["continuity"] for job in _log(summary)["jobs"]}
    assert [score["code"] for score in by_job["shot_courier"]["identity"]] == ["courier"]
    assert by_job["shot_none"]["identity"] == []
