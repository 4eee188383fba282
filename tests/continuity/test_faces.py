"""Where the gate's scores show: report, continuity sheet, the qa_report dashboard, the QA chart
panel, the candidate grid and the contact sheet. One scored characters-stage run (two scenes,
two candidates each) is made once for the module and only read by the tests."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from PIL import Image

from kroma_kit.cli.main import main
from kroma_kit.pipeline.execute import execute_run
from tests.pipeline.runsupport import demo, local_request, sample_files  # noqa: F401


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory, sample_files: Path):  # noqa: F811
    import shutil

    from kroma_kit.catalog import open_workspace
    from kroma_kit.catalog.projects import create_project

    home = tmp_path_factory.mktemp("faces-home")
    saved = os.environ.get("KROMA_HOME")
    os.environ["KROMA_HOME"] = str(home)  # the CLI and the panels find this workspace
    try:
        ws = open_workspace(home)
        project = create_project(ws, "demo", "Demo")
        shutil.copytree(sample_files, project["root"], dirs_exist_ok=True)
        summary = execute_run(ws, local_request(scenes=2, candidates=2, stage="characters"))
        log = json.loads(Path(summary.run_log_path).read_text())
        yield ws, summary, log
    finally:
        if saved is None:
            os.environ.pop("KROMA_HOME", None)
        else:
            os.environ["KROMA_HOME"] = saved


def _blocks(log) -> dict[tuple[str, int], dict]:
    return {(job["id"], c["candidate_index"]): c["continuity"] for job in log["jobs"] for c in job["candidates"]}


def test_characters_stage_scores_each_character(scored) -> None:
    _, _, log = scored
    for block in _blocks(log).values():
        assert sorted(score["code"] for score in block["identity"]) == ["courier", "detective"]


def test_report_and_sheet_look_back_over_the_project(scored, tmp_path, capsys) -> None:
    ws, summary, log = scored
    blocks = _blocks(log)
    assert main(["continuity", "report", "--project", "demo", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["scored"] == 4 and [run["run_id"] for run in report["runs"]] == [summary.run_id]
    assert sorted(scene["scene"] for scene in report["scenes"]) == ["room", "street"]
    assert report["broken"] == len(report["broken_shots"]) == sum(1 for b in blocks.values() if b["reasons"])
    assert set(report["runs"][0]["lowest_identity"]) == {"courier", "detective"}

    out = tmp_path / "sheet.png"
    assert main(["continuity", "sheet", "--project", "demo", "--character", "courier", "--out", str(out),
                 "--size", "96", "--json"]) == 0
    sheet = json.loads(capsys.readouterr().out)
    assert len(sheet["images"]) == 2 and all(0.0 <= row["identity"] <= 1.0 for row in sheet["images"])
    with Image.open(out) as image:
        assert image.width >= 2 * 96 and image.height > 96
    # the review twin
    assert main(["review", "sheet", "--project", "demo", "--character", "detective", "--continuity",
                 "--out", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["character"] == "detective"
    assert main(["review", "sheet", "--project", "demo", "--continuity", "--out", str(out)]) == 2
    assert "needs --character" in capsys.readouterr().err
    assert main(["review", "sheet", "abcdef12", "--project", "demo", "--character", "detective",
                 "--out", str(out)]) == 2
    assert "no RUN_ID" in capsys.readouterr().err


def test_grid_and_contact_sheet_show_the_continuity_badge(scored) -> None:
    from kroma_kit import analytics
    from kroma_kit.pipeline.contact_sheet import render_contact_sheet, run_contact_sheet
    from kroma_kit.widgets.candidate_grid import CandidateGrid

    ws, summary, log = scored
    blocks = _blocks(log)
    rows = analytics.records(analytics.candidates(ws, run_id=summary.run_id))
    assert {(row["job_key"], row["candidate_index"]): row["continuity_verdict"] for row in rows} == {
        key: block["verdict"] for key, block in blocks.items()}
    assert all(json.loads(row["continuity_reasons"]) == blocks[(row["job_key"], row["candidate_index"])]["reasons"]
               for row in rows)
    grid = CandidateGrid(ws, run_id=summary.run_id, read_only=True)
    for key, card in grid.cards.items():
        assert f"C {blocks[key]['verdict'].upper()}" in card.badge.value
    sheet = run_contact_sheet(ws, summary.run_id, tile=128)
    plain = render_contact_sheet([{**row, "continuity_verdict": None} for row in rows], title="plain", tile=128,
                                 home=ws.home, run_id=summary.run_id)
    assert sheet.image.size == plain.image.size
    box = sheet.layout.cell_box(0, 0)
    corner = (box[0] + 8 + 128 - 40, box[1] + 8 + 2, box[0] + 8 + 128 - 4, box[1] + 8 + 20)
    assert sheet.image.crop(corner).tobytes() != plain.image.crop(corner).tobytes()  # the badge is there


def test_qa_report_dashboard_has_a_continuity_view(scored) -> None:
    from kroma_kit.dashboards.qa_report import qa_report_dashboard

    ws, summary, log = scored
    broken = sum(1 for block in _blocks(log).values() if block["reasons"])
    view = qa_report_dashboard(ws, project="demo")
    assert view.error is None
    assert view.figures["continuity-scored"] == 4 and view.figures["continuity-broken"] == broken
    html = view.body.value
    assert 'data-section="continuity"' in html and 'data-table="continuity-by-run"' in html
    assert f'data-row="{summary.run_id}"' in html and 'data-row="street"' in html
    assert f'data-field="continuity-broken" data-value="{broken}"' in html
    assert view.chart.continuity_image in view.chart_box.children


def test_qa_chart_panel_and_cli_draw_the_continuity_chart(scored, tmp_path) -> None:
    from kroma_kit.widgets.qa_chart import QAChartPanel

    ws, summary, _ = scored
    panel = QAChartPanel(ws, project="demo", run_id=summary.run_id, read_only=True)
    assert panel.continuity_png.startswith(b"\x89PNG") and panel.continuity_image.layout.display is None
    assert "Continuity: 4 scored" in panel.facts.value
    out = tmp_path / "continuity.png"
    assert main(["continuity", "chart", "--project", "demo", "--run", summary.run_id, "--out", str(out)]) == 0
    with Image.open(out) as image:
        assert image.width == 900


def test_qa_chart_panel_hides_the_continuity_chart_before_any_score(workspace, demo) -> None:  # noqa: F811
    from kroma_kit.widgets.qa_chart import QAChartPanel

    empty = QAChartPanel(workspace, project="demo", read_only=True)
    assert empty.continuity_png == b"" and empty.continuity_image.layout.display == "none"
