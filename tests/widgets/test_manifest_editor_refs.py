"""ManifestEditor ref editing: Add / Remove build a draft, Save refs writes it through
update_manifest, and every refusal lands inline in the panel."""

from __future__ import annotations

import json
from pathlib import Path

import ipywidgets as widgets
from PIL import Image

from kroma_kit.catalog.prompts import prompt_history
from kroma_kit.widgets import ManifestEditor


def _manifest(root: Path) -> dict:
    return json.loads((root / "manifest.json").read_text())


def _thumb_count(editor: ManifestEditor) -> int:
    def walk(widget: widgets.Widget) -> int:
        own = 1 if isinstance(widget, widgets.Image) else 0
        return own + sum(walk(child) for child in getattr(widget, "children", ()))
    return walk(editor.refs_box)


def test_add_remove_and_save_refs_through_the_buttons(workspace, demo_project, tmp_path):
    root = Path(demo_project["root"])
    source = tmp_path / "Night Alley.png"
    Image.new("RGB", (40, 30), (30, 30, 90)).save(source)
    editor = ManifestEditor(workspace, project="demo")
    shown_before = _thumb_count(editor)

    editor.ref_kind.value = "style"
    editor.ref_path.value = str(source)
    editor.add_ref_button.click()
    assert editor.last_error is None and editor.ref_path.value == ""
    assert editor.draft_refs["style_refs"] == ["inputs/styles/noir_ink.png", "inputs/styles/night_alley.png"]
    assert (root / "inputs" / "styles" / "night_alley.png").is_file()
    assert "unsaved changes" in editor.refs_title.value
    assert _manifest(root)["style_refs"] == ["inputs/styles/noir_ink.png"]  # only the draft changed

    editor.remove_buttons[("scene_refs", "inputs/scenes/room.png")].click()
    editor.ref_kind.value = "character"
    editor.ref_path.value = "inputs/styles/warm_wash.png"  # a file already in the project: used in place
    editor.add_ref_button.click()
    assert _thumb_count(editor) == shown_before + 1

    editor.save_refs_button.click()
    saved = _manifest(root)
    assert saved["style_refs"] == ["inputs/styles/noir_ink.png", "inputs/styles/night_alley.png"]
    assert "inputs/scenes/room.png" not in saved["scene_refs"] and len(saved["scene_refs"]) == 3
    assert saved["character_refs"][-1] == "inputs/styles/warm_wash.png"
    assert saved["generation"] == {"candidates": 3}
    assert "Saved refs" in editor.status.value and "unsaved" not in editor.refs_title.value
    assert editor.problems == []


def test_refused_refs_are_shown_inline_and_leave_draft_and_file_alone(workspace, demo_project, tmp_path):
    root = Path(demo_project["root"])
    Image.new("RGB", (8, 8)).save(root.parent / "escape.png")
    before = (root / "manifest.json").read_bytes()
    editor = ManifestEditor(workspace, project="demo")
    draft = {field: list(refs) for field, refs in editor.draft_refs.items()}

    editor.ref_path.value = "../escape.png"
    editor.add_ref_button.click()
    assert "points outside the project root" in editor.status.value and "#b42318" in editor.status.value

    editor.ref_path.value = "inputs/scenes/street.png"
    editor.add_ref_button.click()
    assert "already listed" in editor.last_error

    corrupt = tmp_path / "corrupt.png"
    corrupt.write_bytes(b"\x89PNG\r\n\x1a\nnope")
    editor.ref_path.value = str(corrupt)
    editor.add_ref_button.click()
    assert "corrupt.png" in editor.last_error
    assert editor.draft_refs == draft

    editor.ref_path.value = "characters/courier.png"
    editor.ref_kind.value = "scene"
    editor.add_ref_button.click()
    (root / "characters" / "courier.png").unlink()  # gone before Save: Save must refuse
    editor.save_refs_button.click()
    assert "Manifest not changed" in editor.status.value and "courier.png" in editor.status.value
    assert (root / "manifest.json").read_bytes() == before


def test_publishing_a_prompt_still_versions_after_ref_edits(workspace, demo_project):
    editor = ManifestEditor(workspace, project="demo")
    editor.remove_ref("scene", "inputs/scenes/harbor.png")
    editor.save_refs()
    editor.set_prompt("weather_rain", "Heavy rain, neon reflections.")
    editor.save_buttons["weather_rain"].click()
    assert [h["version"] for h in prompt_history(workspace, "demo", "weather_rain")] == [2, 1]
    saved = _manifest(Path(demo_project["root"]))
    assert saved["prompts"]["weather_rain"] == "Heavy rain, neon reflections."
    assert "inputs/scenes/harbor.png" not in saved["scene_refs"]
