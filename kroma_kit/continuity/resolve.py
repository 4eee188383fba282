"""Where a project's continuity context comes from: the ONE place that knows.

The style reference set is the manifest's ``style_refs`` (the same files the style lock uses).
Characters come from the knowledge tables: every live character of the project with its
reference files (best reference first, then the newest portfolio view of each angle) and the
signature colours of its ``identity_constraints_json``. A project without character rows (an
older workspace not yet migrated) falls back to the manifest's ``character_refs``: one character
per file, its code the file's stem, plus any images in ``characters/<code>/``, with signature
colours derived from the images.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kroma_kit.catalog.continuity_reports import passing_outputs
from kroma_kit.catalog.projects import get_project
from kroma_kit.config import ProjectSettings, resolve_project_settings
from kroma_kit.continuity.context import CharacterReference, ContinuityContext, StyleReference
from kroma_kit.continuity.gate import GateSettings
from kroma_kit.imaging import is_image_path, sanitize_stem, sha256_file
from kroma_kit.workspace import Workspace

CHARACTER_STAGES = ("characters",)
MAX_OUTPUTS = 48  # newest earlier outputs the calibration reads (a few ms each)


def _resolve(root: Path, ref: str) -> Path:
    path = Path(ref).expanduser()
    return path if path.is_absolute() else root / path


def resolve_context(ws: Workspace | None, project_root: Path, settings: ProjectSettings, *,
                    project: str | None = None) -> ContinuityContext:
    """The project's style reference set and characters (see the module docstring)."""
    manifest = settings.manifest
    style_paths = tuple(_resolve(project_root, ref) for ref in manifest.style_refs)
    characters = _catalog_characters(ws, project) if ws is not None and project else {}
    if not characters:
        characters = _manifest_characters(project_root, manifest.character_refs)
    outputs = _passing_outputs(ws, project) if ws is not None and project and style_paths else ()
    return ContinuityContext(StyleReference(style_paths) if style_paths else None, characters, project=project,
                             outputs=outputs)


def _passing_outputs(ws: Workspace, project: str) -> tuple[tuple[str, Path], ...]:
    """Earlier outputs that passed the gate or were approved, whose files still hold the bytes
    that passed (a later run of the same job overwrites ``outputs/<job>__c1.png``: a run in
    another hand must not widen the calibration through a file name)."""
    project_id = get_project(ws, project)["id"]
    rows = passing_outputs(ws, project_id, limit=MAX_OUTPUTS)
    return tuple((str(row["stage"] or "style"), Path(row["storage_uri"])) for row in rows
                 if Path(row["storage_uri"]).is_file() and row.get("sha256")
                 and sha256_file(Path(row["storage_uri"])) == row["sha256"])


def _catalog_characters(ws: Workspace, project: str) -> dict[str, CharacterReference]:
    """Characters of the knowledge layer that have at least one reference file on disk."""
    from kroma_kit.catalog.character_images import reference_files
    from kroma_kit.catalog.db import connect
    from kroma_kit.catalog.knowledge import list_characters

    project_id = get_project(ws, project)["id"]
    conn = connect(ws.catalog_path, read_only=True)
    try:
        found: dict[str, CharacterReference] = {}
        for row in list_characters(conn, project_id):
            paths = tuple(dict.fromkeys(Path(ref["storage_uri"]) for ref in reference_files(conn, project_id, row["code"])
                                        if Path(ref["storage_uri"]).is_file()))
            if paths:
                signature = tuple((row.get("identity") or {}).get("signature_colors") or ())
                found[row["code"]] = CharacterReference(row["code"], paths, signature_colours_hex=signature)
        return found
    finally:
        conn.close()


def _manifest_characters(project_root: Path, character_refs: Sequence[str]) -> dict[str, CharacterReference]:
    characters: dict[str, CharacterReference] = {}
    for ref in character_refs:
        sheet = _resolve(project_root, ref)
        code = sanitize_stem(sheet.name, fallback="character").replace("_", "-")
        portfolio = project_root / "characters" / code
        extra = tuple(sorted(p for p in portfolio.iterdir() if p.is_file() and is_image_path(p))) \
            if portfolio.is_dir() else ()
        previous = characters.get(code)
        paths = (previous.paths if previous else ()) + (sheet,) + tuple(p for p in extra if p != sheet)
        characters[code] = CharacterReference(code, tuple(dict.fromkeys(paths)))
    return characters


def declared_characters(context: ContinuityContext, stage: str | None,
                        declared: Sequence[str] | None = None) -> list[str]:
    """The characters a shot declares: the job's own list when it has one (a jobs-file entry's
    ``characters``; codes the project does not know are left out), else every project character
    in the ``characters`` stage (the stage that places them) and none before it."""
    if declared is not None:
        return [code for code in dict.fromkeys(str(c) for c in declared) if code in context.characters]
    return sorted(context.characters) if stage in CHARACTER_STAGES else []


@dataclass(frozen=True)
class ProjectContinuity:
    """A project as the gate sees it: where it lives, its context and its gate settings."""

    slug: str
    root: Path
    context: ContinuityContext
    settings: GateSettings

    def to_dict(self) -> dict[str, Any]:
        style = self.context.style
        return {"project": self.slug, "root": str(self.root),
                "style_refs": [p.as_posix() for p in style.paths] if style else [],
                "characters": {code: {"paths": [p.as_posix() for p in ref.paths],
                                      "signature_colours_hex": list(ref.signature_colours_hex)}
                               for code, ref in sorted(self.context.characters.items())},
                "settings": {"enabled": self.settings.enabled, "fail_on_break": self.settings.fail_on_break,
                             "margin": self.settings.margin}}


def load_project(ws: Workspace, slug: str) -> ProjectContinuity:
    """Look the project up in the catalog, resolve its settings and build its context."""
    project = get_project(ws, slug)
    root = Path(project["root"])
    settings = resolve_project_settings(root)
    return ProjectContinuity(slug, root, resolve_context(ws, root, settings, project=slug),
                             GateSettings.from_mapping(settings.settings.continuity.model_dump()))
