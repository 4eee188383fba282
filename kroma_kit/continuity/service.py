"""Project-level continuity actions, the functions the CLI and panels call: calibrate, show,
check images. Each returns plain data (the CLI prints it as a table or JSON)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from kroma_kit.continuity.calibrate import Calibration
from kroma_kit.continuity.gate import ContinuityGate, ContinuityResult
from kroma_kit.continuity.resolve import ProjectContinuity, load_project
from kroma_kit.continuity.store import calibration_path, ensure_calibration, is_current, load_calibration
from kroma_kit.errors import InputError
from kroma_kit.imaging import list_images
from kroma_kit.workspace import Workspace


def _require_references(project: ProjectContinuity) -> None:
    if project.context.style is None and not project.context.characters:
        raise InputError(f"Project '{project.slug}' has no style_refs and no character_refs in its manifest: "
                         "there is nothing to check continuity against. Add references with "
                         "`kroma manifest` or the manifest editor.")


def calibrate_project(ws: Workspace, slug: str, *, force: bool = True) -> dict[str, Any]:
    """Calibrate the project from its reference sets and store it (``force``: even when current)."""
    project = load_project(ws, slug)
    _require_references(project)
    calibration, made = ensure_calibration(project.root, project.context, project.settings, force=force)
    return _describe(project, calibration, made_now=made)


def show_calibration(ws: Workspace, slug: str) -> dict[str, Any]:
    """The stored calibration, the thresholds in force (settings overrides applied) and whether it
    is current; ``calibration`` None when the project was never calibrated."""
    project = load_project(ws, slug)
    stored = load_calibration(project.root)
    if stored is None:
        return {"project": slug, "path": str(calibration_path(project.root)), "calibration": None,
                "current": False, "references": project.to_dict(),
                "hint": f"run `kroma continuity calibrate --project {slug}`"}
    return _describe(project, stored, made_now=False)


def _describe(project: ProjectContinuity, calibration: Calibration, *, made_now: bool) -> dict[str, Any]:
    limits = project.settings.thresholds(calibration)
    return {"project": project.slug, "path": str(calibration_path(project.root)), "made_now": made_now,
            "current": is_current(calibration, project.context, project.settings),
            "made_at": calibration.made_at, "margin": calibration.margin,
            "thresholds": {"style_parts": limits.style_parts, "style_drift_max": limits.style_drift_max,
                           "style_by_stage": limits.style_by_stage, "identity_min": limits.identity_min,
                           "identity_min_lit": limits.identity_min_lit},
            "calibrated": {"style_parts": calibration.style_parts, "style_drift_max": calibration.style_drift_max,
                           "style_by_stage": calibration.style_by_stage, "identity_min": calibration.identity_min,
                           "identity_min_lit": calibration.identity_min_lit},
            "method": calibration.method,
            "signatures": calibration.signatures, "spreads": calibration.spreads,
            "references": project.to_dict()}


def project_gate(ws: Workspace, slug: str) -> tuple[ProjectContinuity, ContinuityGate]:
    """The project's gate with its current calibration (made and stored first when missing or stale)."""
    project = load_project(ws, slug)
    _require_references(project)
    calibration, _ = ensure_calibration(project.root, project.context, project.settings)
    return project, ContinuityGate(project.context, calibration, project.settings)


def check_images(ws: Workspace, slug: str, inputs: Sequence[str | os.PathLike[str]],
                 characters: Sequence[str] = ()) -> list[ContinuityResult]:
    """Score every image under ``inputs`` (files or folders) for style and the given characters."""
    project, gate = project_gate(ws, slug)
    for code in characters:
        project.context.character(code)  # an unknown code stops before any work, naming the known ones
    files: list[Path] = []
    for item in inputs:
        files.extend(list_images(item))
    if not files:
        raise InputError(f"No images found under {', '.join(str(i) for i in inputs)}.")
    return [gate.score(file, characters) for file in files]
