"""Validating a project's layered settings before a run (the REST API's ``runs/validate-config``;
the same checks and fields as ``kroma config validate``): the resolved settings and manifest, every scene/style/character file
the manifest names, and optionally candidate files layered on top (a settings file, a manifest,
a post-process config). Candidate files must lie inside the project root: an API caller may not
make the server read arbitrary files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kroma_kit.catalog.projects import get_project
from kroma_kit.config import read_settings_file, resolve_project_settings
from kroma_kit.errors import ConfigError
from kroma_kit.postprocess.config import load_postprocess_config
from kroma_kit.project_setup import check_manifest_files, manifest_notes
from kroma_kit.workspace import ProjectLayout, Workspace

FILE_FIELDS = ("app_settings_path", "project_settings_path", "manifest_path", "postprocess_config_path")


def validate_project_config(ws: Workspace, slug: str, *, files: dict[str, str | None] | None = None,
                            raise_on_problems: bool = True) -> dict[str, Any]:
    """Resolve and check the project's settings; ``files`` (paths relative to the project root)
    are layered on top: the two settings files as overrides, the manifest over the project's.
    Problems -> :class:`ConfigError` naming every one (or listed, with ``raise_on_problems=False``)."""
    project = get_project(ws, slug)
    layout = ProjectLayout(Path(project["root"]))
    given = {key: value for key, value in (files or {}).items() if value}
    unknown = sorted(set(given) - set(FILE_FIELDS))
    if unknown:
        raise ConfigError(f"Unknown config file field(s): {', '.join(unknown)}; expected {', '.join(FILE_FIELDS)}.")
    paths = {key: layout.inside(value) for key, value in given.items()}
    for key, path in paths.items():
        if not path.is_file():
            raise ConfigError(f"{key}: file {given[key]!r} not found in the project.")
    overrides: dict[str, Any] = {}
    for key in ("app_settings_path", "project_settings_path"):
        if key in paths:
            overrides = {**overrides, **read_settings_file(paths[key])}
    manifest = read_settings_file(paths["manifest_path"]) if "manifest_path" in paths else None
    resolved = resolve_project_settings(layout.root, overrides=overrides or None, manifest_overrides=manifest)
    if "postprocess_config_path" in paths:
        load_postprocess_config(paths["postprocess_config_path"])
    problems = check_manifest_files(resolved)
    result = {"project": project["slug"], "valid": not problems, "problems": problems,
              "notes": manifest_notes(resolved, project["slug"]),
              "manifest_file": str(resolved.manifest_file) if resolved.manifest_file else None,
              "scenes": len(resolved.manifest.scene_refs), "style_refs": len(resolved.manifest.style_refs),
              "character_refs": len(resolved.manifest.character_refs),
              "files_checked": {key: layout.relative(path) for key, path in paths.items()}}
    if problems and raise_on_problems:
        raise ConfigError(f"Project '{project['slug']}' settings are not usable: " + "; ".join(problems))
    return result
