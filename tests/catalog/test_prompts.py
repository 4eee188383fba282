"""Prompt templates: numbered versions per project, and publishing into the manifest the pipeline reads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kroma_kit.catalog.projects import create_project
from kroma_kit.catalog.prompts import prompt_history, save_prompt, stage_of
from kroma_kit.errors import ConfigError, InputError
from kroma_kit.manifest_edit import publish_prompt


def test_versions_count_up_and_only_the_newest_is_active(workspace, demo_project):
    assert save_prompt(workspace, "demo", "weather_rain", None, "Rain one.") == 1
    assert save_prompt(workspace, "demo", "weather_rain", "weather", "Rain two.") == 2
    history = prompt_history(workspace, "demo", "weather_rain")
    assert [(h["version"], h["text"], h["is_active"], h["stage"]) for h in history] == [
        (2, "Rain two.", True, "weather"), (1, "Rain one.", False, "weather")]

    create_project(workspace, "other")
    assert save_prompt(workspace, "other", "weather_rain", None, "Elsewhere.") == 1  # per project
    assert len(prompt_history(workspace, "demo", "weather_rain")) == 2


@pytest.mark.parametrize(("name", "stage", "text", "message"), [
    ("style_base", None, "  ", "empty"),
    ("sky_base", None, "Blue.", "does not start with a stage"),
    ("style_base", "lighting", "Soft.", "Unknown stage"),
])
def test_bad_prompts_are_refused(workspace, demo_project, name, stage, text, message):
    with pytest.raises(InputError, match=message):
        save_prompt(workspace, "demo", name, stage, text)
    assert prompt_history(workspace, "demo", name) == []


def test_stage_of_reads_the_key_prefix():
    assert [stage_of(n) for n in ("style_base", "time_night", "weather_rain", "characters_base")] == [
        "style", "time", "weather", "characters"]


def test_publish_keeps_the_old_text_as_version_1_and_writes_only_that_key(workspace, demo_project):
    path = Path(demo_project["root"]) / "manifest.json"
    before = json.loads(path.read_text())
    assert publish_prompt(workspace, "demo", "style_base", "One heavy brush hand.") == 2
    after = json.loads(path.read_text())
    assert after["prompts"] == {"style_base": "One heavy brush hand."}
    assert {k: v for k, v in after.items() if k != "prompts"} == before
    assert prompt_history(workspace, "demo", "style_base")[1]["text"].startswith("Preserve geometry")
    assert publish_prompt(workspace, "demo", "style_base", "Two.") == 3  # no second baseline


def test_publish_on_a_project_without_its_manifest_says_so(workspace):
    create_project(workspace, "bare")  # the app settings name manifest.json, which it lacks
    with pytest.raises(ConfigError, match="Manifest not found"):
        publish_prompt(workspace, "bare", "time_day", "Noon.")
    assert prompt_history(workspace, "bare", "time_day") == []


def test_publish_refuses_on_a_broken_manifest_and_records_nothing(workspace, demo_project):
    path = Path(demo_project["root"]) / "manifest.json"
    path.write_text('{"prompts": ["not", "a", "map"]}')
    with pytest.raises(ConfigError, match="prompts"):
        publish_prompt(workspace, "demo", "style_base", "New.")
    assert path.read_text() == '{"prompts": ["not", "a", "map"]}'
    assert prompt_history(workspace, "demo", "style_base") == []
