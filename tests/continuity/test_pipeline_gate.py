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


def test_characters_stage_scores_each_character(workspace, demo):  # noqa: F811
    summary = execute_run(workspace, local_request(scenes=1, candidates=1, stage="characters"))
    block = _log(summary)["jobs"][0]["candidates"][0]["continuity"]
    assert sorted(score["code"] for score in block["identity"]) == ["courier", "detective"]


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


def test_report_and_sheet_look_back_over_the_project(workspace, demo, tmp_path, capsys):  # noqa: F811
    from PIL import Image

    from kroma_kit.cli.main import main

    summary = execute_run(workspace, local_request(scenes=2, candidates=1, stage="characters"))
    jobs = _log(summary)["jobs"]
    assert main(["continuity", "report", "--project", "demo", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["scored"] == 2 and [run["run_id"] for run in report["runs"]] == [summary.run_id]
    assert sorted(scene["scene"] for scene in report["scenes"]) == ["room", "street"]
    assert report["broken"] == len(report["broken_shots"]) == sum(
        1 for job in jobs if job["candidates"][0]["continuity"]["reasons"])
    assert set(report["runs"][0]["lowest_identity"]) == {"courier", "detective"}

    out = tmp_path / "sheet.png"
    assert main(["continuity", "sheet", "--project", "demo", "--character", "courier", "--out", str(out),
                 "--size", "96", "--json"]) == 0
    sheet = json.loads(capsys.readouterr().out)
    assert len(sheet["images"]) == 2 and all(0.0 <= row["identity"] <= 1.0 for row in sheet["images"])
    with Image.open(out) as image:
        assert image.width >= 2 * 96 and image.height > 96


def test_grid_and_contact_sheet_show_the_continuity_badge(workspace, demo):  # noqa: F811
    from kroma_kit import analytics
    from kroma_kit.pipeline.contact_sheet import render_contact_sheet, run_contact_sheet
    from kroma_kit.widgets.candidate_grid import CandidateGrid

    summary = execute_run(workspace, local_request(scenes=1, candidates=2))
    logged = {c["candidate_index"]: c["continuity"] for c in _log(summary)["jobs"][0]["candidates"]}
    rows = analytics.records(analytics.candidates(workspace, run_id=summary.run_id))
    assert {row["candidate_index"]: row["continuity_verdict"] for row in rows} == {
        index: block["verdict"] for index, block in logged.items()}
    assert all(json.loads(row["continuity_reasons"]) == logged[row["candidate_index"]]["reasons"] for row in rows)

    grid = CandidateGrid(workspace, run_id=summary.run_id, read_only=True)
    for (_, index), card in grid.cards.items():
        assert f"C {logged[index]['verdict'].upper()}" in card.badge.value

    sheet = run_contact_sheet(workspace, summary.run_id, tile=128)
    plain = render_contact_sheet([{**row, "continuity_verdict": None} for row in rows], title=sheet_title(sheet),
                                 tile=128, home=workspace.home, run_id=summary.run_id)
    assert sheet.image.size == plain.image.size and sheet.image.tobytes() != plain.image.tobytes()


def sheet_title(sheet) -> str:
    return f"demo · run {sheet.run_id[:8]} · style · gold outline = winner"


def test_qa_report_dashboard_has_a_continuity_view(workspace, demo):  # noqa: F811
    from kroma_kit.dashboards.qa_report import qa_report_dashboard

    summary = execute_run(workspace, local_request(scenes=2, candidates=1))
    broken = sum(1 for job in _log(summary)["jobs"] for c in job["candidates"] if c["continuity"]["reasons"])
    view = qa_report_dashboard(workspace, project="demo")
    assert view.error is None
    assert view.figures["continuity-scored"] == 2 and view.figures["continuity-broken"] == broken
    html = view.body.value
    assert 'data-section="continuity"' in html and 'data-table="continuity-by-run"' in html
    assert f'data-row="{summary.run_id}"' in html and 'data-row="street"' in html
    assert f'data-field="continuity-broken" data-value="{broken}"' in html


def test_qa_chart_panel_and_cli_draw_the_continuity_chart(workspace, demo, tmp_path, capsys):  # noqa: F811
    from PIL import Image

    from kroma_kit.cli.main import main
    from kroma_kit.widgets.qa_chart import QAChartPanel

    empty = QAChartPanel(workspace, project="demo", read_only=True)
    assert empty.continuity_png == b"" and empty.continuity_image.layout.display == "none"
    summary = execute_run(workspace, local_request(scenes=1, candidates=2))
    panel = QAChartPanel(workspace, project="demo", run_id=summary.run_id, read_only=True)
    assert panel.continuity_png.startswith(b"\x89PNG") and panel.continuity_image.layout.display is None
    assert "Continuity: 2 scored" in panel.facts.value
    out = tmp_path / "continuity.png"
    assert main(["continuity", "chart", "--project", "demo", "--run", summary.run_id, "--out", str(out)]) == 0
    with Image.open(out) as image:
        assert image.width == 900


def test_a_jobs_file_entry_declares_its_own_characters(workspace, demo, tmp_path):  # noqa: F811
    jobs = tmp_path / "jobs.json"
    jobs.write_text(json.dumps([
        {"id": "shot_courier", "prompt": "the courier alone", "mode": "characters", "characters": ["courier"],
         "input_images": ["inputs/scenes/street.png", "characters/courier.png"], "character_ref_count": 1},
        {"id": "shot_none", "prompt": "an empty street", "mode": "style", "characters": [],
         "input_images": ["inputs/scenes/room.png"]}]))
    summary = execute_run(workspace, local_request(candidates=1, jobs_file=jobs))
    by_job = {job["id"]: job["candidates"][0]["continuity"] for job in _log(summary)["jobs"]}
    assert [score["code"] for score in by_job["shot_courier"]["identity"]] == ["courier"]
    assert by_job["shot_none"]["identity"] == []
