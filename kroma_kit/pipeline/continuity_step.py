"""The continuity gate as a pipeline step: one gate per run, one score per finished candidate.

The gate itself lives in :mod:`kroma_kit.continuity` (which never imports the pipeline); this
module builds it for a run (the project's context from :func:`kroma_kit.continuity.resolve.
resolve_context`, its stored calibration, made first when missing or stale) and turns a score into
the run log's ``continuity`` block. A run whose project has no references, or that turned the
gate off (``continuity.enabled = false``), gets no block and pays nothing.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kroma_kit.config import ProjectSettings
from kroma_kit.continuity.gate import CONTINUITY_BREAK, CONTINUITY_WARNING, ContinuityGate, GateSettings
from kroma_kit.continuity.resolve import declared_characters, resolve_context
from kroma_kit.continuity.store import ensure_calibration
from kroma_kit.errors import KromaError
from kroma_kit.workspace import Workspace

if TYPE_CHECKING:
    from PIL import Image

log = logging.getLogger(__name__)


class ContinuityStep:
    """A run's gate, and the characters each stage declares."""

    def __init__(self, gate: ContinuityGate, made_at: str) -> None:
        self.gate = gate
        self.made_at = made_at

    @classmethod
    def for_project(cls, ws: Workspace | None, root: Path, settings: ProjectSettings,
                    slug: str | None) -> ContinuityStep | None:
        """The step for a project, or None when the gate is off or there is nothing to compare with."""
        gate_settings = GateSettings.from_mapping(settings.settings.continuity.model_dump())
        if not gate_settings.enabled:
            return None
        context = resolve_context(ws, root, settings, project=slug)
        if context.style is None and not context.characters:
            return None
        calibration, _ = ensure_calibration(root, context, gate_settings)
        return cls(ContinuityGate(context, calibration, gate_settings), calibration.made_at)

    def check(self, final: Path, stage: str, declared: Any = None, placements: Any = None, *,
              decoded: Image.Image | None = None) -> dict[str, Any]:
        """The ``continuity`` block of a candidate: verdict, reasons, breaks, severity and scores.
        ``declared``: the job's own character list, when it has one; ``placements``: the job's
        ``character_placements`` (identity is scored inside each one's box); ``decoded``: the
        file's image when the caller decoded it already (for the guard). A file the gate
        cannot read is recorded as an error, never a crash of the run."""
        codes = list(declared) if isinstance(declared, list | tuple) else None
        boxes = [place for place in placements or () if isinstance(place, dict)]
        try:
            characters = declared_characters(self.gate.context, stage, codes)
            result = self.gate.score(final if decoded is None else decoded, characters, stage=stage, placements=boxes)
        except (KromaError, OSError, ValueError) as exc:
            log.warning("continuity check of %s failed: %s", final, exc)
            return {"verdict": "error", "error": str(exc), "breaks": 0, "severity": 0.0, "reasons": []}
        data = result.to_dict()
        data.pop("file", None)
        data.update(breaks=result.breaks, calibration_made_at=self.made_at,
                    flag=(CONTINUITY_BREAK if result.verdict == "fail" else CONTINUITY_WARNING) if result.broken
                    else None)
        return data
