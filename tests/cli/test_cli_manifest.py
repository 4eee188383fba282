"""`kroma manifest` and `kroma prompt`: the ManifestEditor's actions from the shell, in-process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from kroma_kit.catalog.prompts import prompt_history
from kroma_kit.cli.main import main


def _json(capsys) -> dict | list:
    return json.loads(capsys.readouterr().out)


@pytest.fixture
def root(demo_project) -> Path:
    return Path(demo_project["root"])


def test_manifest_show_json_and_text(root, capsys):
    assert main(["manifest", "show", "--project", "demo", "--json"]) == 0
    data = _json(capsys)
    assert data["manifest_file"] == str(root / "manifest.json") and data["problems"] == []
    assert len(data["scene_refs"]) == 4 and data["style_refs"] == ["inputs/styles/noir_ink.png"]
    assert data["prompts"]["time_night"].startswith("Night scene")

    assert main(["manifest", "show", "--project", "demo"]) == 0
    text = capsys.readouterr().out
    assert "scene_refs (4):" in text and "  inputs/scenes/street.png" in text


def test_set_refs_replaces_or_appends(root, capsys):
    assert main(["manifest", "set-refs", "--project", "demo", "--scene", "inputs/scenes/room.png",
                 "inputs/scenes/street.png", "--json"]) == 0
    assert _json(capsys)["scene_refs"] == ["inputs/scenes/room.png", "inputs/scenes/street.png"]
    assert main(["manifest", "set-refs", "--project", "demo", "--style", "inputs/styles/warm_wash.png",
                 "--append", "--json"]) == 0
    assert _json(capsys)["style_refs"] == ["inputs/styles/noir_ink.png", "inputs/styles/warm_wash.png"]
    saved = json.loads((root / "manifest.json").read_text())
    assert saved["scene_refs"] == ["inputs/scenes/room.png", "inputs/scenes/street.png"]
    assert len(saved["style_refs"]) == 2 and saved["generation"] == {"candidates": 3}


def test_a_refused_ref_is_one_line_on_stderr_and_changes_nothing(root, capsys):
    before = (root / "manifest.json").read_bytes()
    code = main(["manifest", "set-refs", "--project", "demo", "--character", "../../etc/passwd"])
    captured = capsys.readouterr()
    assert code != 0 and captured.out == ""
    assert captured.err.startswith("error: Manifest not changed: character_refs: ref '../../etc/passwd'")
    assert len(captured.err.strip().splitlines()) == 1 and "Traceback" not in captured.err
    assert (root / "manifest.json").read_bytes() == before


def test_add_ref_copies_the_file_in_and_appends_it(root, tmp_path, capsys):
    source = tmp_path / "Hero Sheet.png"
    Image.new("RGB", (20, 30), (120, 80, 40)).save(source)
    assert main(["manifest", "add-ref", "--project", "demo", "--kind", "character", str(source), "--json"]) == 0
    data = _json(capsys)
    assert data["ref"] == "characters/hero_sheet.png" and data["refs"][-1] == "characters/hero_sheet.png"
    assert (root / "characters" / "hero_sheet.png").read_bytes() == source.read_bytes()

    missing = main(["manifest", "add-ref", "--project", "demo", "--kind", "style", str(tmp_path / "nope.png")])
    err = capsys.readouterr().err
    assert missing != 0 and err.startswith("error: Image not found") and len(err.strip().splitlines()) == 1


def test_prompt_save_versions_and_updates_the_manifest(workspace, root, tmp_path, capsys):
    assert main(["prompt", "save", "--project", "demo", "time_night", "--text", "Moonless night.", "--json"]) == 0
    assert _json(capsys)["version"] == 2
    prompt_file = tmp_path / "night.txt"
    prompt_file.write_text("Moonless night, wet asphalt.\n", encoding="utf-8")
    assert main(["prompt", "save", "--project", "demo", "time_night", "--file", str(prompt_file), "--json"]) == 0
    assert _json(capsys)["version"] == 3
    assert json.loads((root / "manifest.json").read_text())["prompts"]["time_night"] == "Moonless night, wet asphalt."
    assert prompt_history(workspace, "demo", "time_night")[0]["text"] == "Moonless night, wet asphalt."

    assert main(["prompt", "history", "--project", "demo", "time_night", "--json"]) == 0
    history = _json(capsys)
    assert [(h["version"], h["is_active"]) for h in history] == [(3, True), (2, False), (1, False)]
    assert main(["prompt", "history", "--project", "demo", "time_night"]) == 0
    assert capsys.readouterr().out.splitlines()[0].split() == ["version", "is_active", "created_at", "text"]


def test_prompt_save_refuses_a_blank_prompt_or_unreadable_file(workspace, root, tmp_path, capsys):
    before = (root / "manifest.json").read_bytes()
    assert main(["prompt", "save", "--project", "demo", "style_base", "--text", "   "]) != 0
    assert "is empty" in capsys.readouterr().err
    assert main(["prompt", "save", "--project", "demo", "style_base", "--file", str(tmp_path / "none.txt")]) != 0
    err = capsys.readouterr().err
    assert err.startswith("error: Cannot read prompt file") and len(err.strip().splitlines()) == 1
    assert (root / "manifest.json").read_bytes() == before
    assert prompt_history(workspace, "demo", "style_base") == []
