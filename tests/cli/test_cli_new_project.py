"""A project from nothing, as a new user meets it: `kroma project create` (no samples) or
`kroma project set-root` on an empty folder gives a valid starter manifest; `config validate`
says it has no scenes yet and how to add one; `dry`/`run` refuse with that same hint; the first
`manifest add-ref --kind scene` makes it runnable."""

from __future__ import annotations

import json
from pathlib import Path

from kroma_kit.catalog.projects import create_project
from kroma_kit.cli.main import main
from kroma_kit.config import resolve_project_settings
from kroma_kit.samples import draw_scene


def _run(capsys, *args: str) -> tuple[int, dict, str]:
    code = main([*args, "--json"])
    captured = capsys.readouterr()
    return code, (json.loads(captured.out) if captured.out.strip() else {}), captured.err


def _scene_file(tmp_path: Path) -> Path:
    path = tmp_path / "My Street.png"
    draw_scene("street").resize((192, 128)).save(path)
    return path


def test_new_project_has_a_valid_starter_manifest_and_takes_its_first_scene(kroma_home, tmp_path, capsys):
    code, project, _err = _run(capsys, "project", "create", "--slug", "mine", "--name", "Mine")
    assert code == 0
    root = Path(project["root"])
    manifest_file = root / "manifest.json"
    assert project["manifest"] == str(manifest_file)
    starter = json.loads(manifest_file.read_text())
    assert starter["scene_refs"] == [] and starter["style_refs"] == [] and starter["character_refs"] == []
    assert starter["prompts"] == resolve_project_settings(None).manifest.prompts  # the default prompts

    code, report, _err = _run(capsys, "config", "validate", "--project", "mine")
    assert code == 0 and report["valid"] is True and report["problems"] == []
    assert report["manifest_file"] == str(manifest_file) and report["scenes"] == 0
    assert len(report["notes"]) == 1 and "no scenes yet" in report["notes"][0]
    assert "kroma manifest add-ref --project mine --kind scene FILE" in report["notes"][0]

    assert main(["config", "validate", "--project", "mine"]) == 0
    text = capsys.readouterr().out
    assert "valid: True" in text and "note: no scenes yet" in text

    for command in (["dry", "--project", "mine"], ["run", "--project", "mine"]):
        code, _out, err = _run(capsys, *command)
        assert code != 0 and "Traceback" not in err and len(err.strip().splitlines()) == 1
        assert err.startswith("error: Project 'mine' has no scenes yet")
        assert "kroma manifest add-ref --project mine --kind scene FILE" in err
    assert list((root / "runs").glob("*.json")) == []  # a refused run leaves no run log

    code, added, _err = _run(capsys, "manifest", "add-ref", "--project", "mine", "--kind", "scene",
                             str(_scene_file(tmp_path)))
    assert code == 0 and added["refs"] == ["inputs/scenes/my_street.png"]
    saved = json.loads(manifest_file.read_text())
    assert saved["scene_refs"] == ["inputs/scenes/my_street.png"] and saved["prompts"] == starter["prompts"]

    code, report, _err = _run(capsys, "config", "validate", "--project", "mine")
    assert code == 0 and report["valid"] and report["scenes"] == 1 and report["notes"] == []
    code, plan, _err = _run(capsys, "dry", "--project", "mine")
    assert code == 0 and [job["id"] for job in plan["jobs"]] == ["style_1_my_street"]
    code, run, _err = _run(capsys, "run", "--project", "mine", "--candidates", "1")
    assert code == 0 and run["status"] == "done" and run["jobs_done"] == 1
    assert [Path(out).name for out in run["outputs"]] == ["style_1_my_street.png"]


def test_set_root_on_an_empty_folder_writes_the_starter_and_keeps_an_existing_manifest(kroma_home, tmp_path,
                                                                                        capsys):
    assert main(["project", "create", "--slug", "mine"]) == 0
    capsys.readouterr()
    empty = tmp_path / "empty-root"
    empty.mkdir()
    code, storage, _err = _run(capsys, "project", "set-root", "mine", str(empty))
    assert code == 0 and storage["manifest_created"] == str(empty / "manifest.json")
    code, report, _err = _run(capsys, "config", "validate", "--project", "mine")
    assert code == 0 and report["valid"] and report["manifest_file"] == str(empty / "manifest.json")
    assert report["scenes"] == 0 and report["notes"]

    kept = tmp_path / "artist-root"
    kept.mkdir()
    mine = b'{"scene_refs": [], "generation": {"candidates": 2}}'
    (kept / "manifest.json").write_bytes(mine)
    code, storage, _err = _run(capsys, "project", "set-root", "mine", str(kept))
    assert code == 0 and storage["manifest_created"] is None
    assert (kept / "manifest.json").read_bytes() == mine


def test_a_project_without_any_manifest_is_told_how_to_get_one_and_edits_create_it(workspace, tmp_path,
                                                                                   capsys):
    root = Path(create_project(workspace, "old", "Old")["root"])  # made before starter manifests
    assert not (root / "manifest.json").exists()
    code, _out, err = _run(capsys, "config", "validate", "--project", "old")
    assert code != 0 and "Manifest not found" in err and "kroma manifest init --project" in err
    assert not (root / "manifest.json").exists()  # validating never writes

    code, added, _err = _run(capsys, "manifest", "add-ref", "--project", "old", "--kind", "scene",
                             str(_scene_file(tmp_path)))
    assert code == 0 and added["refs"] == ["inputs/scenes/my_street.png"]
    assert json.loads((root / "manifest.json").read_text())["scene_refs"] == added["refs"]

    code, init, _err = _run(capsys, "manifest", "init", "--project", "old")
    assert code == 0 and init["created"] is False  # an existing manifest is never replaced
    assert json.loads((root / "manifest.json").read_text())["scene_refs"] == added["refs"]
