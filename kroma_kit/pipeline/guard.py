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

This module checks files and folders; its parts live beside it: settings and reason names in
:mod:`~kroma_kit.pipeline.guard_settings`, the pixel maths in :mod:`~kroma_kit.pipeline.pixel_metrics`,
the candidate score in :mod:`~kroma_kit.pipeline.ranking` (``Rank``, ``rank_from_report``) and the
archive moves in :mod:`~kroma_kit.pipeline.guard_archive`; their names stay importable from here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kroma_kit.errors import ImageInputError
from kroma_kit.imaging import list_images, open_image

if TYPE_CHECKING:
    from PIL import Image

from kroma_kit.pipeline.guard_archive import archive_bad, archive_failing  # noqa: F401 (re-exported)
from kroma_kit.pipeline.guard_settings import (
    BLANK_IMAGE,
    CHROMA_EXCEEDS_THRESHOLD,
    IMAGE_READ_FAILED,
    INPUT_NOT_FOUND,
    NO_IMAGES_FOUND,
    NOT_GRAYSCALE_LIKE,
    WRONG_DIMENSIONS,
    GuardSettings,
)
from kroma_kit.pipeline.pixel_metrics import (  # noqa: F401 (re-exported)
    PixelStats,
    chroma_delta,
    naive_chroma_delta,
    pixel_stats,
)
from kroma_kit.pipeline.ranking import Rank, rank_from_report  # noqa: F401 (re-exported)

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


def check_file(path: str | os.PathLike[str], settings: GuardSettings | None = None, *,
               decoded: Image.Image | None = None) -> dict[str, Any]:
    """Check one image and return its report entry (the seed's shape plus ``size``, ``luma_std``
    and ``verdict``). Never raises for a bad image: unreadable files, bombs and corrupt data
    become the hard reason ``image_read_failed`` with the reason in ``error``. ``decoded``: the
    file's image as the caller already decoded it (see :func:`audit`)."""
    settings = settings or GuardSettings()
    try:
        image = decoded if decoded is not None else open_image(path)
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


def audit(input_path: str | os.PathLike[str], settings: GuardSettings | None = None, *,
          decoded: Image.Image | None = None) -> dict[str, Any]:
    """Check a file, or every image under a folder (recursive, sorted), into the seed's report:
    ``{input, settings, summary{total_files, hard_failures, soft_warnings}, files[]}``.

    ``decoded``: the image of the file ``input_path`` as the caller already decoded it (a run
    decodes each candidate once for the guard and the continuity gate: tens of ms for a 1024x1536 PNG).

    A missing input or a folder with no images is one synthetic failing entry
    (``input_not_found`` / ``no_images_found``) with ``hard_failures`` 1 and ``total_files`` 0, as
    the seed reports it. This always checks; honouring ``settings.enabled`` is :func:`run_qa`'s job.
    """
    settings = settings or GuardSettings()
    source = Path(input_path)
    images: list[Path] = []
    if decoded is not None:
        images = [source]
        files = [check_file(source, settings, decoded=decoded)]
    elif not source.exists():
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


