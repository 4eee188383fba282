"""Where a project's continuity context comes from: the ONE place that knows.

Today a project's references are its manifest's ``style_refs`` (the style reference set) and
``character_refs`` (one character per file, its code the file's stem, plus any images in
``characters/<code>/`` as its portfolio; signature colours derived from the images). When the
knowledge tables land (characters with ``identity_constraints_json``, reference sets, a default
style guide), :func:`resolve_context` is the function to point at them; nothing else changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kroma_kit.catalog.projects import get_project
from kroma_kit.config import ProjectSettings, resolve_project_settings
from kroma_kit.continuity.context import CharacterReference, ContinuityContext, StyleReference
from kroma_kit.continuity.gate import GateSettings
from kroma_kit.imaging import is_image_path, sanitize_stem
from kroma_kit.workspace import Workspace

CHARACTER_STAGES = ("characters",)


def _resolve(root: Path, ref: str) -> Path:
    path = Path(ref).expanduser()
    return path if path.is_absolute() else root / path


def resolve_context(ws: Workspace | None, project_root: Path, settings: ProjectSettings, *,
                    project: str | None = None) -> ContinuityContext:
    """The project's style reference set and characters (see the module docstring).

    ``ws`` is unused today; it is here so that reading the knowledge tables (characters,
    reference sets, the default style guide) changes this body only, not its callers.
    """
    manifest = settings.manifest
    style_paths = tuple(_resolve(project_root, ref) for ref in manifest.style_refs)
    characters: dict[str, CharacterReference] = {}
    for ref in manifest.character_refs:
        sheet = _resolve(project_root, ref)
        code = sanitize_stem(sheet.name, fallback="character").replace("_", "-")
        portfolio = project_root / "characters" / code
        extra = tuple(sorted(p for p in portfolio.iterdir() if p.is_file() and is_image_path(p))) \
            if portfolio.is_dir() else ()
        previous = characters.get(code)
        paths = (previous.paths if previous else ()) + (sheet,) + tuple(p for p in extra if p != sheet)
        characters[code] = CharacterReference(code, tuple(dict.fromkeys(paths)))
    return ContinuityContext(StyleReference(style_paths) if style_paths else None, characters, project=project)


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
