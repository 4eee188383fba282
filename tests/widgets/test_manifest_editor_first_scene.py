"""The ManifestEditor on a project made from nothing: it opens the starter manifest without
problems, says there are no scenes yet, and its Add + Save refs write the first scene."""

from __future__ import annotations

import json
from pathlib import Path

from kroma_kit.config import resolve_project_settings
from kroma_kit.project_setup import new_project
from kroma_kit.samples import draw_scene
from kroma_kit.widgets import ManifestEditor


def test_editor_adds_the_first_scene_to_a_new_project(workspace, tmp_path):
    root = Path(new_project(workspace, "fresh", "Fresh")["root"])
    editor = ManifestEditor(workspace, project="fresh")
    assert editor.problems == [] and editor.resolved is not None
    assert "No scenes yet" in editor.errors.value
    assert str(root / "manifest.json") in editor.header.value
    assert set(editor.prompt_boxes) == set(resolve_project_settings(None).manifest.prompts)

    source = tmp_path / "harbor.png"
    draw_scene("harbor").resize((160, 120)).save(source)
    editor.ref_kind.value = "scene"
    editor.ref_path.value = str(source)
    editor.add_ref_button.click()
    assert editor.last_error is None and editor.draft_refs["scene_refs"] == ["inputs/scenes/harbor.png"]
    editor.save_refs_button.click()
    assert editor.last_error is None
    assert json.loads((root / "manifest.json").read_text())["scene_refs"] == ["inputs/scenes/harbor.png"]
    assert editor.problems == [] and "No scenes yet" not in editor.errors.value
