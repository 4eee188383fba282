"""What each post-processing step reports, and the file helpers every step shares.

A :class:`StepRecord` is the seed's per-step dict (``bg_remove = {input, output, backend,
backends_tried, refine_openai, refine_error}``, ``upscale = {backend, input, output, scale,
model}``, ``color = {input, output, profile, settings}``) plus timings, errors, notes, cost and
the archived file, so the run log and the catalog get everything from one object.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kroma_kit.errors import ConfigError, StorageError
from kroma_kit.providers.base import Attempt
from kroma_kit.storage.atomic import atomic_write_with, move_to_archive

if TYPE_CHECKING:
    from PIL import Image

OUTPUT_FORMATS = ("png", "jpg", "webp")


@dataclass
class StepRecord:
    """One step on one file. ``fields`` holds the seed's step-specific keys."""

    step: str
    input: str
    output: str | None
    fields: dict[str, Any] = field(default_factory=dict)
    timings_ms: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    archived: list[str] = field(default_factory=list)  # files moved to archive/replaced
    cost_usd: float = 0.0
    usage: dict[str, Any] = field(default_factory=dict)
    attempts: list[Attempt] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.output is not None and not self.errors

    @property
    def skipped(self) -> str | None:
        """Why the step left its input unchanged on purpose (e.g. no plain background), else None."""
        return self.fields.get("skipped")

    def to_dict(self) -> dict[str, Any]:
        """The run-log form: the seed's keys first, then the extras."""
        return {"input": self.input, "output": self.output, **self.fields, "timings_ms": dict(self.timings_ms),
                "errors": list(self.errors), "notes": list(self.notes), "archived": list(self.archived),
                "cost_usd": self.cost_usd, "usage": dict(self.usage),
                "attempts": [attempt.to_dict() for attempt in self.attempts]}


def normalise_format(fmt: str, *, allow_auto: bool = False, input_path: Path | None = None) -> str:
    """``png|jpg|jpeg|webp`` -> ``png|jpg|webp``; ``auto`` keeps the input's (png when unusual)."""
    value = str(fmt).strip().lower().lstrip(".")
    value = "jpg" if value == "jpeg" else value
    if allow_auto and value == "auto":
        suffix = (input_path.suffix.lower().lstrip(".") if input_path else "png")
        suffix = "jpg" if suffix == "jpeg" else suffix
        return suffix if suffix in OUTPUT_FORMATS else "png"
    if value not in OUTPUT_FORMATS:
        raise ConfigError(f"Invalid output format '{fmt}': use png, jpg or webp.")
    return value


def prepare_target(target: Path, archive_dir: str | os.PathLike[str] | None) -> list[str]:
    """Before writing ``target``: move an existing file to ``archive_dir`` (seed archive/replaced).
    Returns the archived paths (empty when nothing was there or archiving is off)."""
    if archive_dir is None or not target.is_file():
        return []
    try:
        return [str(move_to_archive(target, archive_dir, "replaced"))]
    except OSError as exc:
        raise StorageError(f"Cannot archive {target} to {archive_dir} before replacing it: {exc}") from exc


def save_image(image: Image.Image, target: Path, fmt: str) -> Path:
    """Write ``image`` atomically as ``fmt``. JPEG has no alpha, so a transparent image is
    flattened onto white first (the seed's rule); PNG and WebP keep RGBA (WebP quality 95)."""
    from PIL import Image

    if fmt == "jpg":
        if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
            rgba = image.convert("RGBA")
            flat = Image.new("RGB", rgba.size, (255, 255, 255))
            flat.paste(rgba, mask=rgba.getchannel("A"))
            image = flat
        else:
            image = image.convert("RGB")
        options: dict[str, Any] = {"format": "JPEG", "quality": 95}
    elif fmt == "webp":
        options = {"format": "WEBP", "quality": 95}
    else:
        options = {"format": "PNG"}
    try:
        return atomic_write_with(target, lambda handle: image.save(handle, **options))
    except OSError as exc:
        raise StorageError(f"Cannot write {target}: {exc}") from exc
