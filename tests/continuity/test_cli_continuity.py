"""``kroma continuity eval|calibrate|show|check`` through the real CLI entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kroma_kit.cli.main import main


def _json(capsys: pytest.CaptureFixture[str], argv: list[str]) -> object:
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_eval_reports_rates_per_kind_and_confusion(small_set: Path, capsys, kroma_home) -> None:
    report = _json(capsys, ["continuity", "eval", "--set", str(small_set), "--json"])
    cases = json.loads((small_set / "cases.json").read_text())
    breaks = [case for case in cases if case["expect"] != "ok"]
    assert 0.0 <= report["detection_rate"] <= 1.0 and 0.0 <= report["false_alarm_rate"] <= 1.0
    assert report["cases"] == len(cases)
    assert sum(sum(row.values()) for row in report["confusion"].values()) == len(cases)
    flagged_breaks = sum(report["per_kind"][kind]["flagged"] for kind in ("style_break", "identity_break"))
    assert report["detection_rate"] == round(flagged_breaks / len(breaks), 4)
    assert report["confusion"]["ok"]["pass"] == report["per_kind"]["ok"]["cases"] - report["per_kind"]["ok"]["flagged"]
    assert {"ok:pose", "style_break:hue_swap", "identity_break:missing_feature"} <= set(report["per_kind"])
    # calibrated on refs only: the calibration records the reference files, never a case
    fingerprint = json.dumps(report["calibration"]["fingerprint"])
    assert "refs/" in fingerprint and "cases/" not in fingerprint

    assert main(["continuity", "eval", "--set", str(small_set)]) == 0
    text = capsys.readouterr().out
    assert "detection" in text and "confusion" in text and "identity_break:other_character" in text


def test_eval_of_a_folder_that_is_not_a_set_is_a_one_line_error(tmp_path: Path, capsys, kroma_home) -> None:
    assert main(["continuity", "eval", "--set", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "refs/style" in err and err.count("\n") == 1


def test_calibrate_show_and_check_a_project(demo_project, capsys) -> None:
    root = Path(demo_project["root"])
    shown = _json(capsys, ["continuity", "show", "--project", "demo", "--json"])
    assert shown["calibration"] is None and "calibrate" in shown["hint"]
    made = _json(capsys, ["continuity", "calibrate", "--project", "demo", "--json"])
    assert made["made_now"] and made["current"]
    assert set(made["thresholds"]["identity_min"]) == {"detective", "courier"}
    assert (root / ".kroma" / "continuity_calibration.json").is_file()
    shown = _json(capsys, ["continuity", "show", "--project", "demo", "--json"])
    assert shown["thresholds"] == made["thresholds"] and not shown["made_now"]

    results = _json(capsys, ["continuity", "check", "--project", "demo", "--json", "--character", "detective",
                             "--input", str(root / "characters"), str(root / "inputs" / "styles" / "warm_wash.png")])
    by_name = {Path(item["file"]).name: item for item in results}
    assert "identity" not in by_name["detective.png"]["kinds"]  # the reference itself
    assert by_name["detective.png"]["identity"][0]["identity"] == 1.0
    assert "identity" in by_name["courier.png"]["kinds"]  # another character declared as the detective
    assert "style" in by_name["warm_wash.png"]["kinds"]  # the other hand


def test_check_refuses_an_unknown_character(demo_project, capsys) -> None:
    root = Path(demo_project["root"])
    assert main(["continuity", "check", "--project", "demo", "--character", "mara",
                 "--input", str(root / "characters")]) == 2
    assert "detective" in capsys.readouterr().err
