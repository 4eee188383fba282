"""What a plan is: the request (:class:`PlanRequest`), its jobs (:class:`PlannedJob`) and the
resolved, validated :class:`Plan` a run or a dry run works from.

These are the types the executor, the candidate workers, the post chain and the stage cache pass
around; making a plan (reading settings, the manifest, the scenes, checking every input) is
:mod:`kroma_kit.pipeline.plan`, which needs much more than these types do.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kroma_kit.config import ProjectSettings
from kroma_kit.providers.base import ImageProvider, ImageRequest
from kroma_kit.workspace import ProjectLayout


@dataclass
class PlanRequest:
    """What the user asked for. ``None`` means "from the settings/manifest"."""

    project: str
    stage: str = "style"
    time: str = "day"
    weather: str = "clear"
    candidates: int | None = None
    provider: str | None = None
    from_run: str | None = None
    jobs_file: Path | None = None
    scene_refs: list[str] | None = None
    settings_overrides: dict[str, Any] | None = None
    manifest_overrides: dict[str, Any] | None = None
    allow_many_candidates: bool = False
    allow_large_batch: bool = False
    postprocess: dict[str, Any] | None = None
    no_cache: bool = False  # force new work even where the stage cache holds this candidate's result

    def to_dict(self) -> dict[str, Any]:
        return {"project": self.project, "stage": self.stage, "time": self.time, "weather": self.weather,
                "candidates": self.candidates, "provider": self.provider, "from_run": self.from_run,
                "jobs_file": str(self.jobs_file) if self.jobs_file else None,
                "scene_refs": self.scene_refs, "settings_overrides": self.settings_overrides,
                "manifest_overrides": self.manifest_overrides,
                "allow_many_candidates": self.allow_many_candidates,
                "allow_large_batch": self.allow_large_batch, "postprocess": self.postprocess,
                "no_cache": self.no_cache}


@dataclass
class PlannedJob:
    """One job: one scene (or jobs-file entry) -> ``candidates`` provider calls."""

    id: str
    mode: str
    time: str
    weather: str
    prompt: str
    input_images: list[str]  # as recorded: relative to the project root when inside it
    candidates: int
    estimated_cost_usd: float = 0.0
    scene_key: str | None = None
    character_ref_count: int = 0
    source: dict[str, Any] = field(default_factory=dict)
    character_placements: list[dict[str, Any]] = field(default_factory=list)
    input_paths: list[Path] = field(default_factory=list, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "mode": self.mode, "time": self.time, "weather": self.weather,
                "prompt": self.prompt, "input_images": list(self.input_images),
                "candidates": self.candidates, "estimated_cost_usd": self.estimated_cost_usd,
                "scene_key": self.scene_key, "character_ref_count": self.character_ref_count,
                "source": dict(self.source), "character_placements": list(self.character_placements)}

    def image_request(self, seed: int, *, grayscale: bool = False) -> ImageRequest:
        return ImageRequest(prompt=self.prompt, input_images=list(self.input_paths), seed=seed,
                            stage=self.mode, time=self.time, weather=self.weather, grayscale=grayscale,
                            character_ref_count=self.character_ref_count,
                            character_placements=list(self.character_placements))


@dataclass
class Plan:
    """Everything a run needs, resolved and validated; :meth:`to_dict` is what a dry run shows."""

    project: str
    project_id: str
    project_root: Path
    stage: str
    time: str
    weather: str
    provider: str
    paid: bool
    model: str | None
    size: str | None
    quality: str | None
    provider_params: dict[str, Any]
    candidates: int
    max_candidates: int
    jobs: list[PlannedJob]
    estimated_cost_usd: float
    postprocess: dict[str, Any]
    output_guard: dict[str, Any]
    budgets: dict[str, float | None]
    concurrency: int
    archive_replaced: bool
    source: dict[str, Any]
    warnings: list[str]
    settings: ProjectSettings = field(repr=False)
    provider_obj: ImageProvider | None = field(default=None, repr=False)  # built once, reused by execute
    catalog_project: dict[str, Any] = field(default_factory=dict, repr=False)  # the row planned against

    @property
    def layout(self) -> ProjectLayout:
        return ProjectLayout(self.project_root)

    @property
    def candidates_total(self) -> int:
        return sum(job.candidates for job in self.jobs)

    def settings_snapshot(self) -> dict[str, Any]:
        """The resolved settings (no secrets live in settings: keys come from the environment)."""
        return self.settings.settings.model_dump(mode="json")

    def manifest_dict(self) -> dict[str, Any]:
        return self.settings.manifest.model_dump(mode="json")

    def manifest_hash(self) -> str:
        return manifest_hash(self.manifest_dict())

    def to_dict(self) -> dict[str, Any]:
        return {"project": self.project, "project_root": self.project_root.as_posix(),
                "stage": self.stage, "time": self.time, "weather": self.weather,
                "provider": self.provider, "paid": self.paid, "model": self.model, "size": self.size,
                "quality": self.quality, "provider_params": self.provider_params,
                "candidates": self.candidates, "max_candidates": self.max_candidates,
                "jobs_total": len(self.jobs), "candidates_total": self.candidates_total,
                "estimated_cost_usd": self.estimated_cost_usd, "postprocess": self.postprocess,
                "output_guard": self.output_guard, "budgets": self.budgets,
                "concurrency": self.concurrency, "archive_replaced": self.archive_replaced,
                "source": self.source, "warnings": list(self.warnings), "manifest_hash": self.manifest_hash(),
                "jobs": [job.to_dict() for job in self.jobs]}


def manifest_hash(manifest: dict[str, Any]) -> str:
    """sha256 of the manifest's canonical JSON (sorted keys, no spaces): equal manifests, equal hash."""
    canonical = json.dumps(manifest, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
