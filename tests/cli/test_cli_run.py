"""The CLI twins of the pipeline: dry, run (+ --resume), runs list/show/ingest, qa, archivebad."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

import tests.pipeline.runsupport as support
from kroma_kit.cli.main import main
from tests.conftest import cli_env
from tests.pipeline.runsupport import SCENES

# Fixtures shared with the pipeline tests.
demo = support.demo
fake = support.fake
openai_key = support.openai_key
sample_files = support.sample_files


def _json(capsys) -> dict | list:
    return json.loads(capsys.readouterr().out)


def test_dry_plans_without_writing_images(demo, capsys):
    assert main(["dry", "--project", "demo", "--stage", "weather", "--time", "night", "--weather", "rain",
                 "--json"]) == 0
    data = _json(capsys)
    assert data["status"] == "planned" and data["jobs_total"] == 4 and data["candidates_total"] == 12
    assert data["plan"]["jobs"][0]["prompt"].startswith("Preserve geometry")
    assert Path(data["run_log_path"]).is_file()
    assert not list((Path(demo["root"]) / "outputs").glob("*.png"))


def test_run_prints_a_table_outputs_and_the_run_log(demo, capsys):
    code = main(["run", "--project", "demo", "--scene-refs", f"{SCENES[0]},{SCENES[1]}", "--candidates", "2",
                 "--post-color", "--post-color-profile", "cold_rain"])
    out = capsys.readouterr().out
    assert code == 0
    assert "style_1_street" in out and "style_2_room" in out and "done" in out
    assert "Outputs:" in out and "color_corrected/style_1_street__c" in out and "_cold_rain.png" in out
    assert "Run log: " in out


def test_runs_list_and_show(demo, capsys):
    assert main(["run", "--project", "demo", "--scene-refs", SCENES[0], "--candidates", "1", "--json"]) == 0
    run_id = _json(capsys)["run_id"]
    assert main(["runs", "list", "--project", "demo", "--json"]) == 0
    assert [run["id"] for run in _json(capsys)] == [run_id]
    assert main(["runs", "show", run_id[:8], "--json"]) == 0
    shown = _json(capsys)
    assert shown["id"] == run_id and shown["jobs"][0]["candidates"][0]["status"] == "done"
    assert main(["runs", "show", run_id]) == 0
    assert "style_1_street" in capsys.readouterr().out
    log_path = Path(demo["root"]) / shown["run_log_path"]
    assert main(["runs", "ingest", str(log_path), "--json"]) == 0
    assert _json(capsys)["candidates"] == 1


def test_paid_run_without_confirm_spend_is_one_line_on_stderr(demo, fake, openai_key, capsys):
    code = main(["run", "--project", "demo", "--provider", "openai"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: Spending is locked. Add --confirm-spend")
    assert err.count("\n") == 1 and fake.requests == []


def test_bad_post_settings_stop_before_anything_is_written(demo, capsys):
    code = main(["run", "--project", "demo", "--scene-refs", SCENES[0], "--candidates", "1", "--json",
                 "--post-bg-remove", "--bg-remove-backends", "nope"])
    assert code == 2 and "nope" in capsys.readouterr().err
    assert not list((Path(demo["root"]) / "runs").glob("*.json"))


def test_failed_job_exits_1_after_the_log_is_written_and_ingested(workspace, demo, capsys):
    manifest_path = Path(demo["root"]) / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["output_guard"] = {"fail_on_chroma_exceed": True}
    manifest_path.write_text(json.dumps(manifest))
    code = main(["run", "--project", "demo", "--scene-refs", SCENES[0], "--candidates", "1"])
    captured = capsys.readouterr()
    assert code == 1 and "failed: 1 job(s) failed: style_1_street: all_candidates_failed_output_guard" in captured.err
    assert main(["runs", "list", "--project", "demo", "--json"]) == 0
    assert [run["status"] for run in _json(capsys)] == ["failed"]


def test_qa_records_reports_and_exits_1_on_hard_failures(workspace, demo, capsys):
    root = Path(demo["root"])
    folder = root / "qa"
    folder.mkdir()
    shutil.copy(root / "inputs/styles/warm_wash.png", folder / "color.png")  # far from the navy-ink hand
    Image.new("RGB", (32, 32), (128, 128, 128)).save(folder / "blank.png")
    assert main(["qa", "--input", "qa", "--project", "demo", "--json"]) == 1
    data = _json(capsys)
    assert data["summary"] == {"total_files": 2, "hard_failures": 1, "soft_warnings": 1}
    assert data["quality_reports_written"] == 2
    conn = workspace.connect()
    try:
        verdicts = sorted(r[0] for r in conn.execute("SELECT verdict FROM quality_reports").fetchall())
    finally:
        conn.close()
    assert verdicts == ["fail", "warn"]
    assert main(["qa", "--input", str(folder / "color.png")]) == 0
    assert "chroma_exceeds_threshold" in capsys.readouterr().out


def test_archivebad_moves_into_the_project_archive(demo, capsys):
    root = Path(demo["root"])
    folder = root / "rejects"
    folder.mkdir()
    shutil.copy(root / SCENES[0], folder / "a.png")
    Image.new("RGB", (32, 32), (128, 128, 128)).save(folder / "blank.png")
    assert main(["archivebad", "--input", "rejects", "--project", "demo", "--failing-only", "--json"]) == 0
    moved = _json(capsys)
    assert moved["moved_count"] == 1 and "blank_bad_" in moved["moved"][0]["to"]
    assert main(["archivebad", "--input", "rejects", "--project", "demo"]) == 0
    assert (root / "archive/bad").is_dir() and len(list((root / "archive/bad").iterdir())) == 2
    assert not list(folder.glob("*.png"))


def test_bad_arguments_and_unknown_project(kroma_home):
    env = cli_env(kroma_home)
    unknown = subprocess.run([sys.executable, "-m", "kroma_kit", "dry", "--project", "ghost"], env=env,
                             capture_output=True, text=True, timeout=60)
    assert unknown.returncode == 2 and unknown.stderr.startswith("error: Unknown project 'ghost'")
    assert "Traceback" not in unknown.stderr
    with pytest.raises(SystemExit) as caught:
        main(["dry", "--project", "demo", "--stage", "lighting"])
    assert caught.value.code == 2
