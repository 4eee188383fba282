"""What the copilot knows about one project when it reads a message: the names it may fill slots
with (scenes from the manifest, character codes, colour profiles) and the copilot settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kroma_kit.catalog.copilot_lookup import character_codes
from kroma_kit.catalog.projects import get_project
from kroma_kit.config import ProjectSettings, resolve_project_settings
from kroma_kit.errors import ConfigError
from kroma_kit.settings_models import CopilotSettings
from kroma_kit.workspace import Workspace

BUILTIN_COLOR_PROFILES = ("neutral", "cinematic_warm", "cold_rain")


@dataclass
class ProjectContext:
    """A project as the copilot sees it. Names are lower-case words (``rooftop``, ``cinematic_warm``)."""

    slug: str
    project_id: str
    root: Path
    scenes: list[str] = field(default_factory=list)
    scene_refs: dict[str, str] = field(default_factory=dict)  # scene name -> manifest ref
    characters: list[str] = field(default_factory=list)
    color_profiles: list[str] = field(default_factory=lambda: list(BUILTIN_COLOR_PROFILES))
    settings: CopilotSettings = field(default_factory=CopilotSettings)
    budget_per_run_usd: float | None = None
    max_candidates: int = 6
    output_guard: dict[str, Any] = field(default_factory=dict)  # the manifest's guard section, resolved

    @classmethod
    def load(cls, ws: Workspace, slug: str) -> ProjectContext:
        project = get_project(ws, slug, include_archived=False)
        root = Path(project["root"])
        try:
            resolved = resolve_project_settings(root)
        except ConfigError as exc:
            if "Manifest not found" not in str(exc):
                raise
            # A new project has no manifest yet: no scenes to name, the app's settings apply.
            resolved = resolve_project_settings(None)
        characters = character_codes(ws, project["id"]) or _stems(resolved.manifest.character_refs)
        return cls(slug=project["slug"], project_id=project["id"], root=root,
                   scenes=_stems(resolved.manifest.scene_refs),
                   scene_refs={Path(ref).stem.lower(): ref for ref in resolved.manifest.scene_refs}, characters=[c.lower() for c in characters],
                   color_profiles=_profiles(resolved), settings=resolved.settings.copilot,
                   budget_per_run_usd=resolved.settings.budgets.per_run_usd,
                   max_candidates=resolved.manifest.generation.max_candidates,
                   output_guard=resolved.manifest.output_guard.model_dump())

    def describe(self) -> dict[str, Any]:
        return {"project": self.slug, "scenes": self.scenes, "characters": self.characters,
                "color_profiles": self.color_profiles}


def _stems(refs: list[str]) -> list[str]:
    seen: list[str] = []
    for ref in refs:
        stem = Path(ref).stem.lower()
        if stem and stem not in seen:
            seen.append(stem)
    return seen


def _profiles(resolved: ProjectSettings) -> list[str]:
    names = list(BUILTIN_COLOR_PROFILES)
    names += [name for name in resolved.settings.color_profiles if name not in names]
    return names
