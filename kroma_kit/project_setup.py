"""Setting a project up: the sample content, the project manifest, and checks that the files
the manifest names are really usable images.

Every project has a manifest file from the moment it exists: a new (or re-rooted, empty) project
gets a starter one with no refs and the default stage prompts, so ``kroma config validate``,
``kroma manifest ...`` and the ManifestEditor work on it at once and the artist's next step is
adding a scene, not writing JSON by hand.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kroma_kit.config import (
    ProjectSettings,
    configured_manifest_path,
    resolve_pipeline_settings,
    resolve_project_settings,
)
from kroma_kit.errors import ImageInputError
from kroma_kit.storage.atomic import atomic_write_json
from kroma_kit.workspace import Workspace


def resolve_ref(project_root: Path | None, ref: str) -> Path:
    """A manifest path: absolute as given, relative to the project root otherwise."""
    path = Path(ref).expanduser()
    if path.is_absolute() or project_root is None:
        return path
    return project_root / path


def starter_manifest() -> dict[str, Any]:
    """A manifest with no refs yet and the default stage prompts (built-in < app settings), written
    out in full so the artist sees in the file what each stage will be told."""
    prompts = resolve_project_settings(None).manifest.prompts
    return {"scene_refs": [], "style_refs": [], "character_refs": [], "prompts": dict(prompts)}


def project_manifest_path(root: Path) -> Path:
    """Where the project's settings (``pipeline.manifest_path``) put its manifest, existing or not."""
    settings, _sources = resolve_pipeline_settings(Path(root))
    return configured_manifest_path(settings, Path(root))


def ensure_project_manifest(root: Path) -> Path | None:
    """Write the starter manifest where the project's settings expect its manifest, unless a
    file is already there (an artist's manifest is never overwritten). Returns the path written,
    or ``None`` when the project already had one."""
    path = project_manifest_path(root)
    if path.exists():
        return None
    atomic_write_json(path, starter_manifest())
    return path


def new_project(ws: Workspace, slug: str, name: str | None = None, *, description: str = "",
                root: str | Path | None = None, samples: bool = False) -> dict[str, Any]:
    """Create a project ready to use: its catalog row and folders, then either the sample inputs
    with a manifest using them (``samples``) or the starter manifest. The CLI's
    ``kroma project create`` and the ProjectPicker both create projects through here."""
    from kroma_kit.catalog.projects import create_project

    project = create_project(ws, slug, name, description=description, root=root)
    project_root = Path(project["root"])
    if samples:
        project["samples"] = install_sample_project(project_root)
    ensure_project_manifest(project_root)
    project["manifest"] = str(project_manifest_path(project_root))
    return project


def reroot_project(ws: Workspace, slug: str, path: str | Path) -> dict[str, Any]:
    """Point the project at another local folder (``kroma project set-root``); an empty folder gets
    the standard sub-folders and the starter manifest, a folder with a manifest keeps it."""
    from kroma_kit.catalog.projects import set_local_root

    storage = set_local_root(ws, slug, path)
    written = ensure_project_manifest(Path(storage["resolved_root"]))
    storage["manifest_created"] = str(written) if written else None
    return storage


def manifest_notes(resolved: ProjectSettings, slug: str) -> list[str]:
    """What a valid manifest still lacks before a run can start, each with the command to fix it."""
    if resolved.manifest.scene_refs:
        return []
    return [f"no scenes yet (one job is made per scene): add one with "
            f"`kroma manifest add-ref --project {slug} --kind scene FILE` or the ManifestEditor panel"]


# The samples are drawn in navy ink, not grey: normal candidates of every stage measure chroma
# ~8-19 (style, day, characters) up to ~36 (the deep-blue night pass), while the warm-wash hand
# measures ~36-52 and a strongly coloured image far more. 38 lets the sample's own hand pass and
# warns on a different one (the app default, 2.0, suits grey drawing hands only).
SAMPLE_OUTPUT_GUARD = {"max_chroma_delta": 38.0}


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
            "output_guard": dict(SAMPLE_OUTPUT_GUARD),
        })
        installed["manifest"] = str(manifest_path)
    return installed


def check_manifest_files(resolved: ProjectSettings) -> list[str]:
    """Every referenced scene, style and character file must exist and decode; returns problems.
    A manifest with no scenes yet is valid (see :func:`manifest_notes` for what it still needs)."""
    from kroma_kit.imaging import open_image

    manifest = resolved.manifest
    problems: list[str] = []
    for field_name in ("scene_refs", "style_refs", "character_refs"):
        for ref in getattr(manifest, field_name):
            try:
                open_image(resolve_ref(resolved.project_root, ref)).close()
            except ImageInputError as exc:
                problems.append(f"{field_name}: {exc}")
    return problems
