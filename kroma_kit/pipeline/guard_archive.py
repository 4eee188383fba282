"""The guard's consequence: failing images move to ``archive/bad`` (nothing is deleted).

:func:`archive_bad` is the seed's ``archive-bad`` (move every image under a path);
:func:`archive_failing` moves only what a report failed (what the pipeline does per candidate and
``kroma archivebad`` does after an audit).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kroma_kit.errors import ImageInputError
from kroma_kit.imaging import IMAGE_EXTENSIONS, is_image_path, list_images
from kroma_kit.storage.atomic import move_to_archive

if TYPE_CHECKING:
    pass

from kroma_kit.pipeline.guard_settings import (
    BAD_TAG,
)

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
