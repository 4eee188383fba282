"""ProjectPicker: creating a project (with the samples) and selecting one, driven like a user."""

from __future__ import annotations

import html
import json
from pathlib import Path

from kroma_kit.catalog.projects import get_project, list_projects
from kroma_kit.widgets import ProjectPicker


def test_create_with_samples_from_the_form(workspace):
    picker = ProjectPicker(workspace)
    assert picker.project is None and "No projects yet" in picker.summary.value

    picker.new_slug.value = "noir-book"
    picker.new_name.value = "Noir Book"
    picker.create_button.click()

    project = get_project(workspace, "noir-book")
    manifest = json.loads((Path(project["root"]) / "manifest.json").read_text())
    assert len(manifest["scene_refs"]) == 4
    assert all((Path(project["root"]) / ref).is_file() for ref in manifest["scene_refs"])
    assert picker.project == "noir-book" and picker.dropdown.value == "noir-book"
    assert "Runs: 0" in picker.summary.value and project["root"] in picker.summary.value
    assert "Created project 'noir-book'" in html.unescape(picker.status.value)  # the text the artist reads
    assert picker.new_slug.value == ""


def test_select_notifies_listeners_and_bad_slug_shows_inline(workspace, demo_project):
    picker = ProjectPicker(workspace)
    picker.create("empty", samples=False)
    starter = json.loads((Path(get_project(workspace, "empty")["root"]) / "manifest.json").read_text())
    assert starter["scene_refs"] == [] and starter["prompts"]  # a starter manifest, no sample scenes
    assert "starter manifest" in picker.status.value
    seen: list[str | None] = []
    picker.on_select(seen.append)
    picker.dropdown.value = "demo"
    assert seen == ["empty", "demo"] and picker.project == "demo"

    picker.new_slug.value = "Bad Slug!"
    picker.create_button.click()  # a button never raises: the error is shown where the artist looks
    assert "Invalid project slug" in picker.status.value and picker.last_error
    assert [p["slug"] for p in list_projects(workspace)] == ["demo", "empty"]


def test_panels_follow_the_picked_project(workspace, demo_project, local_run):
    from kroma_kit.widgets import CandidateGrid, QAChartPanel

    picker = ProjectPicker(workspace)
    picker.create("second", samples=False)
    grid = CandidateGrid(workspace, project="second", read_only=True)
    chart = QAChartPanel(workspace, project="second", read_only=True)
    assert grid.cards == {} and "0 candidates" in chart.facts.value
    picker.on_select(grid.set_project)
    picker.on_select(chart.set_project)

    picker.dropdown.value = "demo"
    assert grid.run_id == local_run.run_id and len(grid.cards) == 8
    assert chart.project == "demo" and "8 candidates" in chart.facts.value
