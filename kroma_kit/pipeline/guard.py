"""Output guard (QA): is a generated image usable, and how far is it from one grey drawing hand?

The math and the report shape are the seed's (behaviour spec §2), so run logs and ranks stay
comparable with the original tool: ``chroma_delta = (mean|R-G| + mean|R-B| + mean|G-B|) / 3``
over 8-bit RGB, rounded to 4 decimals; ``grayscale_like = chroma_delta <= threshold``; hard vs
soft ``chroma_exceeds_threshold`` per ``fail_on_chroma_exceed``; summary counts per file.

Where the seed was wrong or blind, this module differs on purpose:

- transparent pixels (alpha 0) are left out of the chroma mean: the seed counted the raw RGB
  hidden under a background-removed cutout (spec §10.10), failing clean cutouts;
- new hard reasons the seed never checked: ``blank_image`` (near-uniform over the opaque pixels,
  or nothing opaque at all) and ``wrong_dimensions`` (when an expected size is set);
- every file entry carries a ``verdict`` ("pass" | "warn" | "fail"), its ``size`` and ``luma_std``.

Archiving lives here too because it is the guard's consequence: :func:`archive_bad` is the seed's
``archive-bad`` (move every image under a path), :func:`archive_failing` moves only what a report
failed (what the pipeline does per candidate and ``kroma archivebad`` does after an audit).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from kroma_kit.errors import ConfigError, ImageInputError
from kroma_kit.imaging import IMAGE_EXTENSIONS, is_image_path, list_images, open_image
from kroma_kit.storage.atomic import move_to_archive

if TYPE_CHECKING:
    from PIL import Image

NOT_GRAYSCALE_LIKE = "not_grayscale_like"
CHROMA_EXCEEDS_THRESHOLD = "chroma_exceeds_threshold"
IMAGE_READ_FAILED = "image_read_failed"
BLANK_IMAGE = "blank_image"
WRONG_DIMENSIONS = "wrong_dimensions"
INPUT_NOT_FOUND = "input_not_found"
NO_IMAGES_FOUND = "no_images_found"

BAD_TAG = "bad"  # archive/bad names: <stem>_bad_<stamp><ext>


# --------------------------------------------------------------------------- settings

@dataclass(frozen=True)
class GuardSettings:
    """What the guard checks. Defaults are the seed's; the extra checks are ours.

    ``blank_std_threshold`` is the luma standard deviation (0..255) under which an image counts as
    blank; 0 turns the check off (a std is never below 0). ``expected_size`` is (width, height).
    """

    enabled: bool = True
    max_chroma_delta: float = 2.0
    enforce_grayscale: bool = False
    fail_on_chroma_exceed: bool = False
    expected_size: tuple[int, int] | None = None
    blank_std_threshold: float = 1.0

    def __post_init__(self) -> None:
        for name in ("enabled", "enforce_grayscale", "fail_on_chroma_exceed"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"output_guard.{name} must be true or false, got {getattr(self, name)!r}.")
        for name in ("max_chroma_delta", "blank_std_threshold"):
            value = getattr(self, name)
            # The seed's Python clamped a negative threshold to 0 silently; like its Rust port we refuse it.
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
                raise ConfigError(f"output_guard.{name} must be a finite number >= 0, got {value!r}.")
            object.__setattr__(self, name, float(value))
        object.__setattr__(self, "expected_size", _parse_size(self.expected_size))

    @classmethod
    def from_mapping(cls, section: Mapping[str, Any] | None) -> GuardSettings:
        """Build from the manifest's ``output_guard`` section (or a run log's copy of it).

        Unknown keys are refused so a typo (``max_chroma``) cannot silently fall back to a default.
        ``expected_size`` may be ``"WxH"``, ``[w, h]`` or null.
        """
        if section is None:
            return cls()
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(section) - known)
        if unknown:
            raise ConfigError(f"Unknown output_guard key(s): {', '.join(unknown)}. "
                              f"Known: {', '.join(sorted(known))}.")
        return cls(**dict(section))

    def to_dict(self) -> dict[str, Any]:
        """Every setting, in the form :meth:`from_mapping` reads back (for run logs)."""
        return {"enabled": self.enabled, **self.report_settings()}

    def report_settings(self) -> dict[str, Any]:
        """The report's ``settings`` block: the seed's three keys, then ours."""
        return {
            "max_chroma_delta": self.max_chroma_delta,
            "enforce_grayscale": self.enforce_grayscale,
            "fail_on_chroma_exceed": self.fail_on_chroma_exceed,
            "expected_size": _format_size(self.expected_size),
            "blank_std_threshold": self.blank_std_threshold,
        }


def _parse_size(value: Any) -> tuple[int, int] | None:
    if value is None:
        return None
    if isinstance(value, str):
        width_text, sep, height_text = value.strip().lower().partition("x")
        if not sep or not width_text.isdigit() or not height_text.isdigit():
            raise ConfigError(f"output_guard.expected_size must look like '1024x1536', got {value!r}.")
        value = (int(width_text), int(height_text))
    if (not isinstance(value, list | tuple) or len(value) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value)):
        raise ConfigError(f"output_guard.expected_size must be 'WxH' or [width, height], got {value!r}.")
    return (value[0], value[1])


def _format_size(size: tuple[int, int] | None) -> str | None:
    return f"{size[0]}x{size[1]}" if size else None


# --------------------------------------------------------------------------- pixel metrics

def _has_alpha(image: Image.Image) -> bool:
    return "A" in image.getbands() or "a" in image.getbands() or "transparency" in image.info


@dataclass(frozen=True)
class PixelStats:
    """Histograms (256 bins, exact counts) over the visible pixels of an image: the channel spread
    ``max(R,G,B) - min(R,G,B)`` and the luma (ITU-R 601, as Pillow's "L"). Every guard metric
    derives from these two."""

    spread: np.ndarray
    luma: np.ndarray | None

    @property
    def visible(self) -> int:
        return int(self.spread.sum())

    def chroma_delta(self) -> float | None:
        # For three numbers |r-g| + |r-b| + |g-b| == 2 * (max - min), so the seed's mean of three
        # difference images is 2 * mean(spread) / 3, and the integer total keeps it exact.
        if not self.visible:
            return None
        return round(2 * int(self.spread @ _LEVELS) / (3 * self.visible), 4)

    def luma_std(self) -> float | None:
        if self.luma is None or not self.visible:
            return None
        mean = float(self.luma @ _LEVELS) / self.visible
        return round(math.sqrt(max(float(self.luma @ _LEVELS**2) / self.visible - mean * mean, 0.0)), 4)


_LEVELS = np.arange(256, dtype=np.int64)
_STRIP_ROWS = 128  # ~400 KB a strip: stays in cache and reuses memory instead of faulting in full-size copies


def _has_alpha(image: Image.Image) -> bool:
    return "A" in image.getbands() or "a" in image.getbands() or "transparency" in image.info


def _histogram(values: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    # Float32 counts are exact here: a strip holds at most 128 x 8192 pixels, far below 2**24.
    return cv2.calcHist([values], [0], mask, [256], [0, 256]).ravel().astype(np.int64)


def pixel_stats(image: Image.Image, *, with_luma: bool = True) -> PixelStats:
    """Scan the image as the seed decodes it (8-bit RGB; palette and grey expanded) in strips of
    rows, leaving out pixels whose alpha is 0. Strips, not one full-size array: on these machines
    page-faulting fresh full-size temporaries costs more than the arithmetic."""
    alpha = _has_alpha(image)
    mode = "RGBA" if alpha else "RGB"
    source = image if image.mode == mode else image.convert(mode)
    width, height = source.size
    spread_total = np.zeros(256, dtype=np.int64)
    luma_total = np.zeros(256, dtype=np.int64) if with_luma else None
    for top in range(0, height, _STRIP_ROWS):
        strip = np.asarray(source.crop((0, top, width, min(height, top + _STRIP_ROWS))))
        channels = cv2.split(strip)
        red, green, blue = channels[:3]
        mask = cv2.threshold(channels[3], 0, 255, cv2.THRESH_BINARY)[1] if alpha else None
        spread = cv2.subtract(cv2.max(cv2.max(red, green), blue), cv2.min(cv2.min(red, green), blue))
        spread_total += _histogram(spread, mask)
        if luma_total is not None:
            luma = cv2.cvtColor(strip, cv2.COLOR_RGBA2GRAY if alpha else cv2.COLOR_RGB2GRAY)
            luma_total += _histogram(luma, mask)
    return PixelStats(spread_total, luma_total)


def chroma_delta(image: Image.Image) -> float | None:
    """The seed's chroma metric (0 = grey, 170 = a pure primary), over the visible pixels only.

    Palette and grey images are expanded to RGB like the seed (a grey image gives 0). Pixels with
    alpha 0 are ignored; a fully transparent image has no colour to judge and gives None.
    """
    return pixel_stats(image, with_luma=False).chroma_delta()


def naive_chroma_delta(image: Image.Image) -> float | None:
    """The same metric written as the seed's formula, one pixel at a time in plain Python.

    It exists as the reference the vectorised :func:`chroma_delta` is checked and timed against;
    never use it on real work (it is two orders of magnitude slower).
    """
    alpha = _has_alpha(image)
    data = image.convert("RGBA" if alpha else "RGB").tobytes()
    step = 4 if alpha else 3
    sum_rg = sum_rb = sum_gb = count = 0
    for offset in range(0, len(data), step):
        if alpha and data[offset + 3] == 0:
            continue
        red, green, blue = data[offset], data[offset + 1], data[offset + 2]
        sum_rg += abs(red - green)
        sum_rb += abs(red - blue)
        sum_gb += abs(green - blue)
        count += 1
    if count == 0:
        return None
    return round((sum_rg / count + sum_rb / count + sum_gb / count) / 3, 4)


# --------------------------------------------------------------------------- per file and per input

def _verdict(entry: Mapping[str, Any]) -> str:
    if entry["hard_fail_reasons"]:
        return "fail"
    return "warn" if entry["soft_warnings"] else "pass"


def _new_entry(path: str | os.PathLike[str]) -> dict[str, Any]:
    return {"file": str(path), "chroma_delta": None, "grayscale_like": None,
            "hard_fail_reasons": [], "soft_warnings": []}


def _failed_entry(path: str | os.PathLike[str], reason: str, error: str | None = None) -> dict[str, Any]:
    entry = _new_entry(path)
    entry["hard_fail_reasons"].append(reason)
    if error is not None:
        entry["error"] = error
    entry["verdict"] = "fail"
    return entry


def check_file(path: str | os.PathLike[str], settings: GuardSettings | None = None) -> dict[str, Any]:
    """Check one image and return its report entry (the seed's shape plus ``size``, ``luma_std``
    and ``verdict``). Never raises for a bad image: unreadable files, bombs and corrupt data
    become the hard reason ``image_read_failed`` with the reason in ``error``."""
    settings = settings or GuardSettings()
    try:
        image = open_image(path)
        stats = pixel_stats(image)
    except (ImageInputError, OSError, ValueError) as exc:
        return _failed_entry(path, IMAGE_READ_FAILED, str(exc))

    entry = _new_entry(path)
    hard: list[str] = entry["hard_fail_reasons"]
    soft: list[str] = entry["soft_warnings"]
    chroma = stats.chroma_delta()
    entry["chroma_delta"] = chroma
    if chroma is not None:
        grayscale_like = chroma <= settings.max_chroma_delta
        entry["grayscale_like"] = grayscale_like
        if settings.enforce_grayscale and not grayscale_like:
            hard.append(NOT_GRAYSCALE_LIKE)
        if not grayscale_like:
            (hard if settings.fail_on_chroma_exceed else soft).append(CHROMA_EXCEEDS_THRESHOLD)

    luma_std = stats.luma_std()
    if luma_std is None or luma_std < settings.blank_std_threshold:
        hard.append(BLANK_IMAGE)
    if settings.expected_size is not None and image.size != settings.expected_size:
        hard.append(WRONG_DIMENSIONS)
    entry["size"] = list(image.size)
    entry["luma_std"] = luma_std
    entry["verdict"] = _verdict(entry)
    return entry


def audit(input_path: str | os.PathLike[str], settings: GuardSettings | None = None) -> dict[str, Any]:
    """Check a file, or every image under a folder (recursive, sorted), into the seed's report:
    ``{input, settings, summary{total_files, hard_failures, soft_warnings}, files[]}``.

    A missing input or a folder with no images is one synthetic failing entry
    (``input_not_found`` / ``no_images_found``) with ``hard_failures`` 1 and ``total_files`` 0, as
    the seed reports it. This always checks; honouring ``settings.enabled`` is :func:`run_qa`'s job.
    """
    settings = settings or GuardSettings()
    source = Path(input_path)
    images: list[Path] = []
    if not source.exists():
        files = [_failed_entry(source, INPUT_NOT_FOUND)]
    else:
        try:
            images = list_images(source)
        except OSError as exc:
            files = [_failed_entry(source, IMAGE_READ_FAILED, str(exc))]
        else:
            if images:
                files = [check_file(image, settings) for image in images]
            else:
                files = [_failed_entry(source, NO_IMAGES_FOUND)]
    return {
        "input": str(source),
        "settings": settings.report_settings(),
        "summary": {
            "total_files": len(images),
            "hard_failures": sum(1 for entry in files if entry["hard_fail_reasons"]),
            "soft_warnings": sum(1 for entry in files if entry["soft_warnings"]),
        },
        "files": files,
    }


def run_qa(input_path: str | os.PathLike[str], settings: GuardSettings | None = None) -> dict[str, Any]:
    """The seed's ``qa`` command result: a skip notice when the guard is disabled, else
    ``{ok, enabled, has_hard_failures, input, summary, report}``; ``ok`` is False on hard failures."""
    settings = settings or GuardSettings()
    if not settings.enabled:
        return {"ok": True, "skipped": True, "enabled": False, "reason": "output_guard_disabled"}
    report = audit(input_path, settings)
    hard_failures = report["summary"]["hard_failures"]
    return {"ok": hard_failures == 0, "enabled": True, "has_hard_failures": hard_failures > 0,
            "input": report["input"], "summary": report["summary"], "report": report}


# --------------------------------------------------------------------------- rank

@dataclass(frozen=True)
class Rank:
    """A candidate's guard score; lower is better on every field (seed ``summarize``)."""

    hard_failures: int = 0
    soft_warnings: int = 0
    avg_chroma_exceed: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> Rank:
        """Read a run log's ``rank`` block; missing fields are 0 like a freshly generated candidate."""
        data = data or {}
        return cls(int(data.get("hard_failures", 0)), int(data.get("soft_warnings", 0)),
                   float(data.get("avg_chroma_exceed", 0.0)))


def rank_from_report(report: Mapping[str, Any], threshold: float | None = None) -> Rank:
    """Score a guard report: its summary counts, and the mean over files with a numeric chroma of
    ``max(0, chroma - threshold)`` rounded to 4 decimals (0 when no file has one).

    ``threshold`` defaults to the report's own ``settings.max_chroma_delta``.
    """
    if threshold is None:
        threshold = float(report.get("settings", {}).get("max_chroma_delta", GuardSettings.max_chroma_delta))
    summary = report.get("summary", {})
    excesses = [max(0.0, float(entry["chroma_delta"]) - threshold)
                for entry in report.get("files", [])
                if isinstance(entry.get("chroma_delta"), int | float) and not isinstance(entry["chroma_delta"], bool)]
    average = round(sum(excesses) / len(excesses), 4) if excesses else 0.0
    return Rank(int(summary.get("hard_failures", 0)), int(summary.get("soft_warnings", 0)), average)


# --------------------------------------------------------------------------- archive/bad

def _move_all(files: Iterable[tuple[Path, dict[str, Any]]], archive_dir: Path) -> dict[str, Any]:
    moved: list[dict[str, Any]] = []
    failed: list[dict[str, str]] = []
    for source, extra in files:
        try:
            target = move_to_archive(source, archive_dir, BAD_TAG)
        except OSError as exc:
            failed.append({"file": str(source), "error": str(exc)})
            continue
        moved.append({"from": str(source), "to": str(target), **extra})
    return {"ok": not failed, "archive_dir": str(archive_dir), "moved_count": len(moved),
            "moved": moved, "failed": failed}


def _inside(path: Path, folder: Path) -> bool:
    return path.resolve().is_relative_to(folder.resolve())


def archive_bad(input_path: str | os.PathLike[str], archive_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """The seed's ``archive-bad``: move every image under ``input_path`` (a file or a folder,
    recursive) into ``archive_dir`` as ``<stem>_bad_<stamp><ext>``. Nothing is deleted.

    Returns ``{ok, archive_dir, moved_count, moved: [{from, to}], failed: [{file, error}]}``;
    ``ok`` is False when some move failed (the others still happened). Images already inside
    ``archive_dir`` are left alone, so pointing it at a project root does not re-archive the archive.
    Raises :class:`ImageInputError` when the input is missing or holds no images.
    """
    folder = Path(archive_dir)
    images = [image for image in list_images(input_path)
              if is_image_path(image) and not _inside(image, folder)]
    if not images:
        raise ImageInputError(f"No images found under {input_path} (looked for {' '.join(IMAGE_EXTENSIONS)}, "
                              f"outside {folder}): nothing to archive.")
    return _move_all(((image, {}) for image in images), folder)


def archive_failing(report: Mapping[str, Any], archive_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """Move only the files a guard report failed (entries with hard reasons) into ``archive_dir``.

    This is what the pipeline does to a candidate that fails the guard, and what
    ``kroma archivebad`` does after an audit. File paths are taken as written in the report
    (relative ones against the current folder). Entries that are not files on disk (the synthetic
    ``input_not_found`` / ``no_images_found`` ones, or files moved since) are listed in
    ``skipped``. Returns :func:`archive_bad`'s shape plus ``skipped``; each ``moved`` item also
    carries the ``reasons`` it failed for. Nothing failing is not an error: ``moved_count`` is 0.
    """
    to_move: list[tuple[Path, dict[str, Any]]] = []
    skipped: list[dict[str, str]] = []
    for entry in report.get("files", []):
        reasons = list(entry.get("hard_fail_reasons") or [])
        if not reasons:
            continue
        path = Path(entry["file"])
        if not path.is_file():
            skipped.append({"file": str(path), "reason": "not_a_file"})
            continue
        to_move.append((path, {"reasons": reasons}))
    result = _move_all(to_move, Path(archive_dir))
    result["skipped"] = skipped
    return result
