"""Pictures from the CLI: `kroma review sheet` (the candidate grid as a PNG) and
`kroma analytics chart qa|costs` (the QA panel's and the costs dashboard's charts)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

import tests.pipeline.runsupport as support
from kroma_kit import analytics
from kroma_kit.cli.main import main
from kroma_kit.figures.contact_sheet import (
    MISSING_TILE,
    OUTLINE,
    PAD,
    WINNER_OUTLINE,
    SheetLayout,
    render_contact_sheet,
)
from tests.pipeline.runsupport import SCENES

demo = support.demo
sample_files = support.sample_files


@pytest.fixture
def run_id(demo, capsys) -> str:
    """A done local run: 2 jobs x 3 candidates."""
    assert main(["run", "--project", "demo", "--scene-refs", f"{SCENES[0]},{SCENES[1]}", "--candidates", "3",
                 "--json"]) == 0
    return json.loads(capsys.readouterr().out)["run_id"]


def _outline_pixels(image: Image.Image, box: tuple[int, int, int, int]) -> list[tuple[int, int, int]]:
    """The pixels along the four edges of a cell, where a winner's outline is drawn."""
    left, top, right, bottom = box
    inset = OUTLINE // 2
    edge = [(x, top + inset) for x in range(left, right + 1, 7)] + [(x, bottom - inset)
                                                                     for x in range(left, right + 1, 7)]
    edge += [(left + inset, y) for y in range(top, bottom + 1, 7)] + [(right - inset, y)
                                                                       for y in range(top, bottom + 1, 7)]
    return [image.getpixel(point) for point in edge]


def test_sheet_has_a_tile_per_candidate_and_outlines_the_winner(workspace, run_id, tmp_path, capsys):
    out = tmp_path / "sheets" / "run.png"
    assert main(["review", "sheet", run_id[:8], "--project", "demo", "--out", str(out), "--size", "128",
                 "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data == {"path": str(out.resolve()), "run_id": run_id, "jobs": 2, "candidates": 6}

    frame = analytics.candidates(workspace, run_id=run_id)
    layout = SheetLayout(jobs=2, columns=3, tile=128)
    with Image.open(out) as sheet:
        assert sheet.format == "PNG" and sheet.size == layout.size
        assert sheet.size[0] > 3 * (128 + 2 * PAD) and sheet.size[1] > 2 * 128
        sheet = sheet.convert("RGB")
        jobs = list(dict.fromkeys(frame["job_key"]))
        for row in frame.itertuples():
            box = layout.cell_box(jobs.index(row.job_key), int(row.candidate_index) - 1)
            edge = _outline_pixels(sheet, box)
            if row.is_winner:
                assert all(pixel == WINNER_OUTLINE for pixel in edge), (row.job_key, row.candidate_index)
            else:
                assert WINNER_OUTLINE not in edge
            left, top, _, _ = box
            centre = sheet.getpixel((left + PAD + 64, top + PAD + 64))
            assert centre != (255, 255, 255)  # a picture was pasted in the tile
    assert frame["is_winner"].sum() == 2  # one winner per job, so the check above saw both


def test_sheet_prints_the_path_and_refuses_an_unknown_run(run_id, tmp_path, capsys):
    out = tmp_path / "plain.png"
    assert main(["review", "sheet", run_id, "--project", "demo", "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out.resolve())
    with Image.open(out) as sheet:
        assert sheet.size == SheetLayout(2, 3, 256).size

    code = main(["review", "sheet", "feedfacecafe", "--project", "demo", "--out", str(tmp_path / "x.png")])
    err = capsys.readouterr().err.strip()
    assert code != 0 and err.startswith("error: Unknown run 'feedfacecafe'") and "\n" not in err
    assert not (tmp_path / "x.png").exists()

    code = main(["review", "sheet", run_id, "--project", "other", "--out", str(tmp_path / "y.png")])
    assert code != 0 and "belongs to project 'demo'" in capsys.readouterr().err


def test_a_candidate_without_an_image_gets_a_grey_tile_saying_why(tmp_path):
    rows = [
        {"job_key": "style_1_street", "candidate_index": 1, "status": "failed", "verdict": "fail",
         "chroma_delta": None, "is_winner": False, "final_path": None, "output_path": None, "sha256": None},
        {"job_key": "style_1_street", "candidate_index": 2, "status": "done", "verdict": "pass",
         "chroma_delta": 0.4, "is_winner": True, "final_path": str(tmp_path / "moved_away.png"),
         "output_path": None, "sha256": None},
    ]
    sheet = render_contact_sheet(rows, title="demo", tile=128, home=tmp_path / "home")
    assert sheet.layout.size == SheetLayout(1, 2, 128).size and sheet.candidates == 2
    for column in (0, 1):
        left, top, _, _ = sheet.layout.cell_box(0, column)
        assert sheet.image.getpixel((left + PAD + 100, top + PAD + 100)) == MISSING_TILE
    assert all(pixel == WINNER_OUTLINE for pixel in _outline_pixels(sheet.image, sheet.layout.cell_box(0, 1)))


@pytest.mark.parametrize("kind", ["qa", "costs"])
def test_analytics_chart_writes_a_png(run_id, tmp_path, capsys, kind):
    out = tmp_path / f"{kind}.png"
    assert main(["analytics", "chart", kind, "--project", "demo", "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out.resolve())
    with Image.open(out) as chart:
        assert chart.format == "PNG" and chart.width > 600 and chart.height > 250
        colours = chart.convert("RGB").getcolors(maxcolors=1 << 20)
        assert len(colours) > 20  # drawn, not a blank canvas


def test_qa_chart_of_one_run_and_clear_errors(run_id, tmp_path, capsys):
    out = tmp_path / "qa_run.png"
    assert main(["analytics", "chart", "qa", "--project", "demo", "--run", run_id[:8], "--out", str(out),
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["path"] == str(out.resolve())
    assert main(["analytics", "chart", "costs", "--project", "demo", "--run", run_id, "--out",
                 str(tmp_path / "c.png")]) != 0
    assert "qa chart only" in capsys.readouterr().err
    assert main(["analytics", "chart", "qa", "--project", "nope", "--out", str(tmp_path / "n.png")]) != 0
    assert capsys.readouterr().err.startswith("error: ")
    assert not Path(tmp_path / "n.png").exists()
