"""Thumbnails for candidate grids and dashboards: small WebP files in a rebuildable cache.

A grid of 200 candidates must open in well under a second, and the full-size PNGs take tens of
milliseconds each to decode. So every thumbnail is made once and kept, keyed by the source
file's sha256 (which the catalog already holds for every asset): a cache hit is one ``stat`` and
never decodes, or even reads, the source image. Identical files share one thumbnail.

Where the cache lives (decided here): one folder per *workspace*,
``<KROMA_HOME>/cache/thumbnails/<sha[:2]>/<sha>-<size>.webp``, not inside each project root.
Project roots are what gets synced to S3, exported and archived; a cache has no business
travelling with them, and content addressing already separates projects. Deleting the folder is
harmless: the next call rebuilds what it needs. Writes are atomic, so two kernels making the same
thumbnail at once both end with a whole file.

When no sha256 is given the file is hashed once per process and the digest remembered against
its (path, mtime, size), so a grid that is refreshed does not re-hash its images either.
"""

from __future__ import annotations

import base64
import io
import os
import re
import threading
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING

from kroma_kit.errors import ImageInputError, InputError
from kroma_kit.imaging import open_image, sha256_file
from kroma_kit.storage.atomic import atomic_write_bytes

if TYPE_CHECKING:
    from PIL import Image

DEFAULT_SIZE = 256
MIN_SIZE, MAX_SIZE = 16, 2048
WEBP_QUALITY = 80
CACHE_SUBDIR = ("cache", "thumbnails")

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_HASH_MEMO_LIMIT = 8192
_hash_memo: OrderedDict[tuple[str, int, int], str] = OrderedDict()
_hash_memo_lock = threading.Lock()


def thumbnail_cache_dir(home: str | os.PathLike[str] | None = None) -> Path:
    """The workspace's thumbnail folder (``home`` as :func:`~kroma_kit.workspace.workspace_home`)."""
    from kroma_kit.workspace import workspace_home

    return workspace_home(home).joinpath(*CACHE_SUBDIR)


def thumbnail_path(sha256: str, size: int = DEFAULT_SIZE, *,
                   cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Where the thumbnail of the file with this digest lives (it may not exist yet)."""
    digest = _check_sha256(sha256)
    folder = Path(cache_dir) if cache_dir is not None else thumbnail_cache_dir()
    return folder / digest[:2] / f"{digest}-{_check_size(size)}.webp"


def thumbnail(path: str | os.PathLike[str], sha256: str | None = None, size: int = DEFAULT_SIZE, *,
              cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Return the path of a WebP thumbnail (longest side ``size`` px) of the image at ``path``.

    Pass the catalog's ``sha256`` when you have it: a hit then touches only the cache. A miss
    decodes the source through :func:`~kroma_kit.imaging.open_image`, so a missing, corrupt or
    oversized file raises :class:`~kroma_kit.errors.ImageInputError` naming it.
    """
    source = Path(path)
    digest = _check_sha256(sha256) if sha256 else _digest_of(source)
    target = thumbnail_path(digest, size, cache_dir=cache_dir)
    if target.is_file():
        return target
    atomic_write_bytes(target, _render_webp(source, _check_size(size)))
    return target


def thumbnail_bytes(path: str | os.PathLike[str], sha256: str | None = None, size: int = DEFAULT_SIZE, *,
                    cache_dir: str | os.PathLike[str] | None = None) -> bytes:
    """The thumbnail's WebP bytes, e.g. for ``ipywidgets.Image(value=..., format="webp")``."""
    return thumbnail(path, sha256, size, cache_dir=cache_dir).read_bytes()


def thumbnail_data_url(path: str | os.PathLike[str], sha256: str | None = None, size: int = DEFAULT_SIZE, *,
                       home: str | os.PathLike[str] | None = None) -> str:
    """The thumbnail as a ``data:image/webp;base64,...`` URL, for an ``<img>`` in a panel or a
    Voilà page (neither can reach files outside its served folder). ``home`` is the workspace
    whose cache to use (None: ``$KROMA_HOME``). A missing or corrupt file raises
    :class:`~kroma_kit.errors.ImageInputError` naming it, so the caller can show its placeholder."""
    data = thumbnail_bytes(path, sha256, size, cache_dir=thumbnail_cache_dir(home))
    return "data:image/webp;base64," + base64.b64encode(data).decode("ascii")


def _render_webp(source: Path, size: int) -> bytes:
    from PIL import Image, ImageOps

    image = open_image(source)
    try:
        image = ImageOps.exif_transpose(image)
        image = image.convert(_target_mode(image))
        image.thumbnail((size, size), Image.Resampling.LANCZOS, reducing_gap=3.0)
        out = io.BytesIO()
        image.save(out, format="WEBP", quality=WEBP_QUALITY, method=4)
    except ImageInputError:
        raise
    except (OSError, ValueError) as exc:
        raise ImageInputError(f"Cannot make a thumbnail of {source}: {exc}") from exc
    return out.getvalue()


def _target_mode(image: Image.Image) -> str:
    """Keep transparency (background-removed cutouts) and drop everything else WebP can't hold."""
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (
        image.mode == "P" and "transparency" in image.info)
    return "RGBA" if has_alpha else "RGB"


def _digest_of(source: Path) -> str:
    """sha256 of ``source``, remembered per (path, mtime, size) for the life of the process."""
    try:
        stat = source.stat()
    except FileNotFoundError:
        raise ImageInputError(f"Image not found: {source}") from None
    except OSError as exc:
        raise ImageInputError(f"Cannot read image {source}: {exc.strerror or exc}") from exc
    key = (str(source.resolve()), stat.st_mtime_ns, stat.st_size)
    with _hash_memo_lock:
        known = _hash_memo.get(key)
        if known is not None:
            _hash_memo.move_to_end(key)
            return known
    try:
        digest = sha256_file(source)
    except OSError as exc:
        raise ImageInputError(f"Cannot read image {source}: {exc.strerror or exc}") from exc
    with _hash_memo_lock:
        _hash_memo[key] = digest
        while len(_hash_memo) > _HASH_MEMO_LIMIT:
            _hash_memo.popitem(last=False)
    return digest


def _check_sha256(value: str) -> str:
    digest = str(value).strip().lower()
    if not _SHA256.fullmatch(digest):
        raise InputError(f"Not a sha256 hex digest: {value!r} (expected 64 hex characters).")
    return digest


def _check_size(size: int) -> int:
    if isinstance(size, bool) or not isinstance(size, int) or not MIN_SIZE <= size <= MAX_SIZE:
        raise InputError(f"Thumbnail size must be a whole number of pixels from {MIN_SIZE} to "
                         f"{MAX_SIZE}, got {size!r}.")
    return size
