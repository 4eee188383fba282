"""Setting a project up: the sample content, the project manifest, and checks that the files
the manifest names are really usable images."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kroma_kit.config import ProjectSettings
from kroma_kit.errors import ImageInputError
from kroma_kit.storage.atomic import atomic_write_json


def resolve_ref(project_root: Path | None, ref: str) -> Path:
    """A manifest path: absolute as given, relative to the project root otherwise."""
    path = Path(ref).expanduser()
    if path.is_absolute() or project_root is None:
        return path
    return project_root / path


def install_sample_project(root: Path, *, candidates: int = 3) -> dict[str, Any]:
    """Draw the sample scenes/styles/characters into ``root`` and write its ``manifest.json``
    (only when the project has none, so an artist's manifest is never overwritten)."""
    from kroma_kit.samples import install_samples

    installed = install_samples(root)
    manifest_path = root / "manifest.json"
    if not manifest_path.exists():
        atomic_write_json(manifest_path, {
            "scene_refs": installed["scene_refs"],
            "style_refs": installed["style_refs"][:1],
            "character_refs": installed["character_refs"],
            "generation": {"candidates": candidates},
        })
        installed["manifest"] = str(manifest_path)
    return installed


def check_manifest_files(resolved: ProjectSettings) -> list[str]:
    """Every referenced scene, style and character file must exist and decode; returns problems."""
    from kroma_kit.imaging import open_image

    manifest = resolved.manifest
    problems: list[str] = []
    if not manifest.scene_refs:
        problems.append("manifest has no scene_refs (one job is made per scene)")
    for field_name in ("scene_refs", "style_refs", "character_refs"):
        for ref in getattr(manifest, field_name):
            try:
                open_image(resolve_ref(resolved.project_root, ref)).close()
            except ImageInputError as exc:
                problems.append(f"{field_name}: {exc}")
    return problems
