"""Atomic file writes: temp file in the same folder, fsync, rename.

A crash or a full disk mid-write never leaves a half-written image, run log or setting behind:
readers see either the old file or the new one. Every file Kroma Kit writes goes through here.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _default_file_mode() -> int:
    """0666 minus the process umask: what ``open()`` would give, unlike mkstemp's 0600."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


_FILE_MODE = _default_file_mode()


def atomic_write_with(path: str | os.PathLike[str], writer: Callable[[IO[bytes]], None]) -> Path:
    """Call ``writer(fileobj)`` on a temp file beside ``path``, then move it into place."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            writer(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_name, _FILE_MODE)
        os.replace(tmp_name, target)
    except BaseException:
        try:
            os.unlink(tmp_name)
        except FileNotFoundError:
            pass
        raise
    _fsync_dir(target.parent)
    return target


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically."""
    return atomic_write_with(path, lambda handle: handle.write(data))


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike[str], payload: Any) -> Path:
    """Write pretty JSON (2-space indent, trailing newline) atomically."""
    return atomic_write_text(path, json.dumps(payload, indent=2, ensure_ascii=False, default=str) + "\n")


def file_stamp(now: datetime | None = None) -> str:
    """Timestamp safe for file names, as the seed uses: ISO with ':' and '.' replaced by '-'."""
    moment = now or datetime.now(UTC)
    return moment.strftime("%Y-%m-%dT%H-%M-%S-") + f"{moment.microsecond // 1000:03d}Z"


def move_to_archive(path: str | os.PathLike[str], archive_dir: str | os.PathLike[str], tag: str) -> Path:
    """Move ``path`` into ``archive_dir`` as ``<sanitized stem>_<tag>_<stamp><ext>`` (the seed's
    naming) and return the new path.

    Used for ``archive/replaced`` (an output about to be overwritten) and ``archive/bad`` (a
    guard failure). Nothing is ever deleted; a name clash gets a counter, never an overwrite.
    """
    source = Path(path)
    folder = Path(archive_dir)
    folder.mkdir(parents=True, exist_ok=True)
    from kroma_kit.imaging import sanitize_stem

    base = f"{sanitize_stem(source.name, fallback='file')}_{tag}_{file_stamp()}"
    candidate = folder / f"{base}{source.suffix}"
    counter = 1
    while candidate.exists():
        candidate = folder / f"{base}-{counter}{source.suffix}"
        counter += 1
    shutil.move(str(source), str(candidate))
    return candidate
