"""Layered settings: built-in < app < project < call-time, each value knows its source, and a
broken file says which file, which key and what was expected."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kroma_kit.config import BUILTIN, NO_INVENTION_SENTENCE, read_settings_file, resolve_project_settings
from kroma_kit.errors import ConfigError


@pytest.fixture
def app_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "app-settings"
    folder.mkdir()
    return folder


@pytest.fixture
def project_root(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / ".kroma").mkdir(parents=True)
    return root


def test_builtin_defaults_when_no_files(app_dir: Path) -> None:
    resolved = resolve_project_settings(None, app_dir=app_dir)
    assert resolved.settings.pipeline.provider == "local"
    assert resolved.settings.pipeline.concurrency == 4
    assert resolved.manifest.safe_batch_limit == 20
    assert resolved.manifest.generation.max_candidates == 6
    assert resolved.manifest.output_guard.max_chroma_delta == 2.0
    assert resolved.manifest.policy.default_no_invention is True
    assert "noir drawing hand" in resolved.manifest.prompts["style_base"]
    assert resolved.settings_resolved.source_of("pipeline.provider") == BUILTIN
    assert NO_INVENTION_SENTENCE == "Do not invent new object categories."


def test_each_layer_overrides_the_one_below(app_dir: Path, project_root: Path) -> None:
    (app_dir / "pipeline.settings.toml").write_text(
        '[pipeline]\nprovider = "openai"\nconcurrency = 2\n[budgets]\nper_run_usd = 3.0\nper_project_usd = 30.0\n')
    (project_root / ".kroma" / "pipeline.settings.toml").write_text("[pipeline]\nconcurrency = 6\n")
    resolved = resolve_project_settings(project_root, app_dir=app_dir,
                                        overrides={"budgets": {"per_run_usd": 1.5}})
    s = resolved.settings
    assert (s.pipeline.provider, s.pipeline.concurrency, s.budgets.per_run_usd, s.budgets.per_project_usd) == \
        ("openai", 6, 1.5, 30.0)
    src = resolved.settings_resolved.source_of
    assert src("pipeline.provider").endswith("app-settings/pipeline.settings.toml")
    assert src("pipeline.concurrency").endswith("project/.kroma/pipeline.settings.toml")
    assert src("budgets.per_run_usd") == "override"
    assert src("pipeline.archive_replaced") == BUILTIN
    explained = resolved.explain()["settings"]
    assert explained["pipeline.concurrency"] == {"value": 6, "source": src("pipeline.concurrency")}


def test_project_settings_may_be_json(app_dir: Path, project_root: Path) -> None:
    (project_root / ".kroma" / "pipeline.settings.json").write_text(json.dumps({"pipeline": {"concurrency": 3}}))
    assert resolve_project_settings(project_root, app_dir=app_dir).settings.pipeline.concurrency == 3


def test_manifest_sections_merge_key_by_key_and_top_level_keys_replace(app_dir: Path, project_root: Path) -> None:
    (app_dir / "manifest.json").write_text(json.dumps({
        "style_refs": ["a.png", "b.png"], "generation": {"candidates": 2, "max_candidates": 4},
        "prompts": {"style_base": "APP BASE", "extra_key": "kept"}}))
    (project_root / "manifest.json").write_text(json.dumps({
        "style_refs": ["c.png"], "generation": {"candidates": 3}, "prompts": {"time_day": "PROJECT DAY"}}))
    resolved = resolve_project_settings(project_root, app_dir=app_dir,
                                        manifest_overrides={"output_guard": {"enforce_grayscale": True}})
    m = resolved.manifest
    assert m.style_refs == ["c.png"]
    assert (m.generation.candidates, m.generation.max_candidates) == (3, 4)
    assert m.prompts["style_base"] == "APP BASE"
    assert m.prompts["time_day"] == "PROJECT DAY"
    assert m.prompts["extra_key"] == "kept"
    assert m.prompts["time_night"].startswith("Night scene")
    assert m.output_guard.enforce_grayscale is True and m.output_guard.max_chroma_delta == 2.0
    src = resolved.manifest_resolved.source_of
    assert src("generation.max_candidates").endswith("manifest.json") and "app-settings" in src("generation.max_candidates")
    assert src("generation.candidates") == str(project_root / "manifest.json")
    assert src("output_guard.enforce_grayscale") == "override"


@pytest.mark.parametrize(("payload", "expected"), [
    ({"generation": {"candidates": 0}}, "generation.candidates"),
    ({"safe_batch_limit": "many"}, "safe_batch_limit"),
    ({"output_guard": {"max_chroma_delta": -1}}, "output_guard.max_chroma_delta"),
    ({"scene_refs": ["ok.png", "  "]}, "scene_refs"),
    ({"prompts": {"style_base": 5}}, "prompts.style_base"),
    ({"unknown_key": 1}, "unknown_key"),
])
def test_broken_manifest_names_file_key_and_expectation(app_dir: Path, project_root: Path, payload: dict,
                                                        expected: str) -> None:
    (project_root / "manifest.json").write_text(json.dumps(payload))
    with pytest.raises(ConfigError) as caught:
        resolve_project_settings(project_root, app_dir=app_dir)
    message = str(caught.value)
    assert str(project_root / "manifest.json") in message
    assert expected in message


def test_manifest_syntax_error_names_line(app_dir: Path, project_root: Path) -> None:
    (project_root / "manifest.json").write_text('{"scene_refs": [\n  "a.png",\n}')
    with pytest.raises(ConfigError, match=r"manifest.json: invalid JSON at line 3"):
        resolve_project_settings(project_root, app_dir=app_dir)


def test_bad_settings_value_names_layer(app_dir: Path, project_root: Path) -> None:
    (project_root / ".kroma" / "pipeline.settings.toml").write_text("[pipeline]\nconcurrency = 0\n")
    with pytest.raises(ConfigError, match=r"pipeline.settings.toml: pipeline.concurrency: .*greater than"):
        resolve_project_settings(project_root, app_dir=app_dir)


def test_named_manifest_that_is_missing_is_an_error(app_dir: Path, project_root: Path) -> None:
    (project_root / ".kroma" / "pipeline.settings.toml").write_text('[pipeline]\nmanifest_path = "nope.json"\n')
    with pytest.raises(ConfigError, match="Manifest not found: .*nope.json"):
        resolve_project_settings(project_root, app_dir=app_dir)


def test_repo_app_settings_are_valid() -> None:
    resolved = resolve_project_settings(None)
    app_file = resolved.settings_resolved.source_of("budgets.per_run_usd")
    assert app_file.endswith("settings/pipeline.settings.toml")  # the file sets it, not a built-in None
    assert resolved.settings.budgets.per_run_usd == read_settings_file(Path(app_file))["budgets"]["per_run_usd"] > 0
    assert resolved.manifest_resolved.source_of("prompts.style_base").endswith("settings/manifest.json")
