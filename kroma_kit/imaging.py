"""Opening images safely and describing files.

Every image Kroma Kit reads from a user (scenes, style refs, post-process inputs) comes through
:func:`open_image`, so a missing, corrupt, truncated or decompression-bomb file stops with one
error that names the file, before any paid call.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from kroma_kit.errors import ImageInputError

if TYPE_CHECKING:
    from PIL import Image

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff")
MAX_IMAGE_PIXELS = 64_000_000  # 8000 x 8000: far above any provider size, far below a bomb
MAX_IMAGE_BYTES = 100 * 1024 * 1024

MIME_BY_EXT = {
    ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp",
    ".bmp": "image/bmp", ".tif": "image/tiff", ".tiff": "image/tiff",
}


def is_image_path(path: str | os.PathLike[str]) -> bool:
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


def list_images(path: str | os.PathLike[str]) -> list[Path]:
    """A file, or every image under a folder (recursive, sorted by path as the seed's Python does)."""
    root = Path(path)
    if not root.exists():
        raise ImageInputError(f"Input not found: {root}")
    if root.is_file():
        return [root]
    return sorted(p for p in root.rglob("*") if p.is_file() and is_image_path(p))


def sanitize_stem(name: str, fallback: str = "") -> str:
    """The seed's sanitizer: drop the extension, runs of chars outside [A-Za-z0-9_-] -> '_',
    strip '_', lowercase. Used for job ids and derived file names. Existing '__' is kept, as the seed's
    Python did: ``style_1_scene_01__c2.png`` -> ``style_1_scene_01__c2_nobg.png`` (kroma-behavior §4.1)."""
    stem = re.sub(r"\.[A-Za-z0-9]+$", "", Path(name).name)
    cleaned = re.sub(r"[^A-Za-z0-9_-]+", "_", stem).strip("_").lower()
    return cleaned or fallback


def open_image(path: str | os.PathLike[str], *, max_pixels: int = MAX_IMAGE_PIXELS,
               max_bytes: int = MAX_IMAGE_BYTES) -> Image.Image:
    """Open and fully decode an image, or raise :class:`ImageInputError` naming the file.

    Checks size on disk and pixel count from the header before decoding, so a bomb is refused
    without allocating it.
    """
    file = Path(path)
    if not file.exists():
        raise ImageInputError(f"Image not found: {file}")
    if not file.is_file():
        raise ImageInputError(f"Not a file: {file}")
    _check_size(file.stat().st_size, max_bytes, str(file), where=" on disk")
    return _decode(file, str(file), max_pixels)


_CHECKED: OrderedDict[tuple[str, int, int, int, int, int], None] = OrderedDict()
_CHECKED_LOCK = threading.Lock()
_CHECKED_MAX = 4096


def check_image(path: str | os.PathLike[str]) -> None:
    """Raise :class:`ImageInputError` unless ``path`` opens and decodes as :func:`open_image` would
    (default limits).

    Why a memo: a run plans by decoding every input image (a corrupt scene must stop the run
    before any money moves), and re-runs of a stage plan the same files again. A file that decoded
    before with the same path, inode, size and modification/change times (ns) is not decoded twice
    in a process; any write to it, or an atomic replace, changes the key and it is checked anew.
    """
    file = Path(path)
    try:
        info = file.stat()
    except OSError:
        info = None  # open_image names the problem
    key = None if info is None else (str(file.absolute()), info.st_dev, info.st_ino, info.st_size,
                                     info.st_mtime_ns, info.st_ctime_ns)
    if key is not None:
        with _CHECKED_LOCK:
            if key in _CHECKED:
                _CHECKED.move_to_end(key)
                return
    open_image(file).close()
    if key is not None:
        with _CHECKED_LOCK:
            _CHECKED[key] = None
            while len(_CHECKED) > _CHECKED_MAX:
                _CHECKED.popitem(last=False)


def open_image_bytes(data: bytes, name: str, *, max_pixels: int = MAX_IMAGE_PIXELS,
                     max_bytes: int = MAX_IMAGE_BYTES) -> Image.Image:
    """:func:`open_image` for bytes that never were a file here (a browser upload); ``name``
    is what errors call them, so the artist can tell which of several uploads was refused.

    Same limits and the same checks in the same order, so an upload is refused exactly when
    the same file given by path would be.
    """
    _check_size(len(data), max_bytes, name)
    return _decode(io.BytesIO(data), name, max_pixels)


def _check_size(size: int, max_bytes: int, label: str, *, where: str = "") -> None:
    if size == 0:
        raise ImageInputError(f"Image is empty (0 bytes): {label}")
    if size > max_bytes:
        raise ImageInputError(f"Image too large{where} ({size} bytes > {max_bytes}): {label}")


def _decode(source: Path | BinaryIO, label: str, max_pixels: int) -> Image.Image:
    """Read the header, refuse a bomb by pixel count, then decode fully into memory."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(source) as probe:
            width, height = probe.size
            if width * height > max_pixels:
                raise ImageInputError(
                    f"Image too large ({width}x{height} = {width * height} pixels > {max_pixels}); "
                    f"refusing a possible decompression bomb: {label}")
            probe.load()
            image = probe.copy()
    except ImageInputError:
        raise
    except UnidentifiedImageError as exc:
        raise ImageInputError(f"Not a readable image: {label}") from exc
    except Image.DecompressionBombError as exc:
        raise ImageInputError(f"Refusing a decompression bomb: {label} ({exc})") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageInputError(f"Corrupt or truncated image: {label} ({exc})") from exc
    return image


def sha256_file(path: str | os.PathLike[str]) -> str:
    return _read_through(path)[0]


def _read_through(path: str | os.PathLike[str], head_bytes: int = 0) -> tuple[str, int, bytes]:
    """One pass over the file: (sha256, size, its first ``head_bytes`` bytes)."""
    digest = hashlib.sha256()
    size = 0
    head = b""
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            head = head or block[:head_bytes]
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size, head


@dataclass(frozen=True)
class FileInfo:
    """What the catalog records about a file (``assets`` columns)."""

    path: Path
    sha256: str
    size_bytes: int
    mime_type: str
    width: int | None
    height: int | None


def describe_file(path: str | os.PathLike[str]) -> FileInfo:
    """sha256, size, mime and (for images) dimensions read from the header only.

    The file is read once: its hash and size come from the same bytes (consistent even if it is
    replaced meanwhile), and a PNG's dimensions from the header in those bytes. Other images are
    probed by Pillow (header only). Every candidate of every run is registered this way."""
    file = Path(path)
    digest, size, head = _read_through(file, PNG_HEADER_BYTES)
    width = height = None
    mime = MIME_BY_EXT.get(file.suffix.lower(), "application/octet-stream")
    if is_image_path(file):
        png = png_size(head)
        if png is not None:
            (width, height), mime = png, "image/png"
        else:
            from PIL import Image

            try:
                with Image.open(file) as probe:
                    width, height = probe.size
                    mime = Image.MIME.get(probe.format or "", mime)
            except Exception:  # noqa: BLE001 - a non-image with an image suffix keeps its guessed mime
                pass
    elif file.suffix.lower() == ".json":
        mime = "application/json"
    return FileInfo(file, digest, size, mime, width, height)


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_HEADER_BYTES = 24  # signature, the IHDR chunk's length and type, width, height


def png_size(head: bytes) -> tuple[int, int] | None:
    """(width, height) from the first bytes of a PNG (its IHDR chunk comes first), or None when
    ``head`` is not the start of a PNG or names an impossible size (Pillow then judges the file)."""
    if len(head) < PNG_HEADER_BYTES or not head.startswith(PNG_SIGNATURE) or head[12:16] != b"IHDR":
        return None
    width, height = int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
    return (width, height) if width > 0 and height > 0 else None
