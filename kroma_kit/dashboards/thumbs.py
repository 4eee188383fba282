"""Thumbnails as inline ``<img>`` tags for HTML dashboards.

The 256 px WebP comes from the workspace thumbnail cache (:mod:`kroma_kit.storage.thumbnails`),
so a repeated render reads a small cached file and never decodes the full image. It is inlined
as a ``data:`` URL because a Voilà page cannot reach files outside the served folder, and a
missing or broken image becomes a labelled placeholder rather than an error: a dashboard must
still render when someone has moved an output away.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kroma_kit.figures.text import esc, is_missing

log = logging.getLogger(__name__)

THUMB_SIZE = 256


def thumb_img(path: Any, sha256: Any = None, *, home: Path, alt: str = "",
              fetch: Callable[[Path], Path] | None = None) -> str:
    """``<img class="kk-tile-img">`` with the thumbnail inlined, or a ``kk-tile-missing`` box.

    ``home`` is the workspace folder whose cache holds the thumbnail (the view's workspace, which
    is not always ``$KROMA_HOME``). ``fetch`` brings a file that is not on disk back (an S3-first
    project's evicted cache, :func:`kroma_kit.sync.files.local_copy`); it is only called when no
    thumbnail of that sha256 is cached already.
    """
    from kroma_kit.errors import KromaError
    from kroma_kit.storage.thumbnails import thumbnail_cache_dir, thumbnail_data_url, thumbnail_path

    if is_missing(path) or not str(path):
        return '<div class="kk-tile-missing" data-thumb="none">no image</div>'
    source = Path(str(path))
    digest = None if is_missing(sha256) or not sha256 else str(sha256)
    try:
        if fetch is not None and not source.is_file() and not (
                digest and thumbnail_path(digest, THUMB_SIZE, cache_dir=thumbnail_cache_dir(home)).is_file()):
            source = fetch(source)
        url = thumbnail_data_url(source, digest, size=THUMB_SIZE, home=home)
    except (KromaError, OSError) as exc:
        log.info("No thumbnail for %s: %s", source, exc)
        return f'<div class="kk-tile-missing" data-thumb="missing" title="{esc(source)}">image missing</div>'
    return f'<img class="kk-tile-img" data-thumb="ok" alt="{esc(alt)}" title="{esc(source)}" src="{url}">'
