"""ManifestEditor: refs as thumbnails, the pipeline's own validation inline, prompt versions."""

from __future__ import annotations

import json
from pathlib import Path

import ipywidgets as widgets

from kroma_kit.catalog.prompts import prompt_history
from kroma_kit.pipeline.plan import plan_run
from kroma_kit.pipeline.plan_model import PlanRequest
from kroma_kit.widgets import ManifestEditor


def _thumbnails(editor: ManifestEditor) -> list[widgets.Image]:
    found = []

    def walk(widget: widgets.Widget) -> None:
        if isinstance(widget, widgets.Image):
            found.append(widget)
        for child in getattr(widget, "children", ()):
            walk(child)
    walk(editor.refs_box)
    return found


def test_valid_manifest_shows_refs_and_prompts(workspace, demo_project):
    editor = ManifestEditor(workspace, project="demo")
    assert editor.problems == [] and "Manifest valid" in editor.errors.value
    manifest = json.loads((Path(demo_project["root"]) / "manifest.json").read_text())
    expected = len(manifest["scene_refs"]) + len(manifest["style_refs"]) + len(manifest["character_refs"])
    thumbs = _thumbnails(editor)
    assert len(thumbs) == expected and all(t.format == "webp" and t.value[:4] == b"RIFF" for t in thumbs)
    assert {"style_base", "time_night", "weather_rain", "characters_base"} <= set(editor.prompt_boxes)


def test_broken_manifest_error_names_file_and_key(workspace, demo_project):
    path = Path(demo_project["root"]) / "manifest.json"
    data = json.loads(path.read_text())
    data["generation"]["candidates"] = 0
    path.write_text(json.dumps(data))

    editor = ManifestEditor(workspace, project="demo")
    assert len(editor.problems) == 1
    assert str(path) in editor.errors.value and "generation.candidates" in editor.errors.value
    assert editor.prompt_boxes == {} and "Fix the manifest" in editor.prompts_box.children[0].value

    path.write_text("{not json")
    editor.validate_button.click()
    assert "invalid JSON at line 1" in editor.errors.value


def test_missing_ref_file_is_reported_with_its_field(workspace, demo_project):
    root = Path(demo_project["root"])
    (root / "inputs" / "scenes" / "room.png").unlink()
    editor = ManifestEditor(workspace, project="demo")
    assert any(p.startswith("scene_refs:") and "room.png" in p for p in editor.problems)
    assert "room.png" in editor.errors.value


def test_saving_a_prompt_makes_version_2_and_the_next_plan_uses_it(workspace, demo_project):
    editor = ManifestEditor(workspace, project="demo")
    editor.set_prompt("time_night", "Moonless night, sodium lamps, hard ink shadows.")
    editor.save_buttons["time_night"].click()

    history = prompt_history(workspace, "demo", "time_night")
    assert [(h["version"], h["is_active"]) for h in history] == [(2, True), (1, False)]
    assert history[1]["text"] == "Night scene with controlled deep shadows, no topology changes."
    assert "version 2 of 2" in editor.prompt_versions["time_night"].value
    manifest = json.loads((Path(demo_project["root"]) / "manifest.json").read_text())
    assert manifest["prompts"]["time_night"].startswith("Moonless night")
    assert len(manifest["scene_refs"]) == 4  # only the prompt changed
    plan = plan_run(workspace, PlanRequest(project="demo", stage="time", time="night"))
    assert "Moonless night, sodium lamps" in plan.jobs[0].prompt

    assert editor.save_prompt("time_night", "Moonless night, wet asphalt.") == 3


def test_empty_prompt_is_refused_inline_and_nothing_is_written(workspace, demo_project):
    path = Path(demo_project["root"]) / "manifest.json"
    before = path.read_text()
    editor = ManifestEditor(workspace, project="demo")
    editor.set_prompt("style_base", "   ")
    editor.save_buttons["style_base"].click()
    assert "empty" in editor.status.value and path.read_text() == before
    assert prompt_history(workspace, "demo", "style_base") == []
