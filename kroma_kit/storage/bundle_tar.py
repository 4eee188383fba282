"""Bundle archives: write a ``.tar.gz`` with tidy members, and read one without trusting it.

Reading checks every member before anything is written: only regular files and folders, names
that are relative, free of ``..`` and inside the bundle's single root folder, no links, devices
or FIFOs, and sizes under the limits. Files are then extracted one by one into a staging folder
and hashed on the way; the caller compares them with ``metadata.json`` before it touches the
workspace (tar-slip and zip-bomb safe by construction, not by ``extractall``).
"""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial
from pathlib import Path, PurePosixPath

from kroma_kit.errors import InputError
from kroma_kit.storage.atomic import atomic_write_with

GiB = 1024 ** 3
MAX_MEMBER_BYTES = 4 * GiB
MAX_TOTAL_BYTES = 64 * GiB
MAX_MEMBERS = 500_000


@dataclass(frozen=True)
class BundleEntry:
    """One file to put in a bundle: from disk (``source``) or from memory (``data``)."""

    arcname: str
    source: Path | None = None
    data: bytes | None = None


@dataclass(frozen=True)
class StagedFile:
    rel_path: str  # relative to the bundle root
    path: Path
    size: int
    sha256: str


def _tidy(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mode = 0o755 if info.isdir() else 0o644
    return info


def write_tar_gz(target: Path, root_name: str, entries: Iterable[BundleEntry]) -> Path:
    """Write ``entries`` under ``<root_name>/`` into ``target`` atomically."""

    def writer(handle) -> None:
        # Level 1: images are already compressed; higher levels burn CPU for ~nothing on PNG/JPEG.
        with tarfile.open(fileobj=handle, mode="w:gz", compresslevel=1) as tar:
            for entry in entries:
                name = f"{root_name}/{entry.arcname}"
                if entry.data is not None:
                    info = _tidy(tarfile.TarInfo(name))
                    info.size = len(entry.data)
                    tar.addfile(info, io.BytesIO(entry.data))
                else:
                    assert entry.source is not None
                    info = _tidy(tar.gettarinfo(str(entry.source), arcname=name))
                    with open(entry.source, "rb") as source:
                        tar.addfile(info, source)

    return atomic_write_with(target, writer)


def _check_name(name: str) -> PurePosixPath:
    if not name or name.startswith("/") or "\\" in name or (len(name) > 1 and name[1] == ":"):
        raise InputError(f"Refusing bundle member {name!r}: absolute paths are not allowed.")
    path = PurePosixPath(name)
    if any(part in ("..",) for part in path.parts):
        raise InputError(f"Refusing bundle member {name!r}: '..' would escape the bundle.")
    return path


def checked_members(tar: tarfile.TarFile, *, max_member_bytes: int = MAX_MEMBER_BYTES,
                    max_total_bytes: int = MAX_TOTAL_BYTES) -> tuple[str, list[tarfile.TarInfo]]:
    """(bundle root folder, its regular-file members) after refusing anything hostile."""
    roots: set[str] = set()
    files: list[tarfile.TarInfo] = []
    total = 0
    for count, member in enumerate(tar, start=1):
        if count > MAX_MEMBERS:
            raise InputError(f"Refusing bundle: more than {MAX_MEMBERS} members.")
        path = _check_name(member.name)
        if member.issym() or member.islnk():
            raise InputError(f"Refusing bundle member {member.name!r}: links are not allowed.")
        if not (member.isfile() or member.isdir()):
            raise InputError(f"Refusing bundle member {member.name!r}: devices, FIFOs and other special "
                             "files are not allowed.")
        parts = [p for p in path.parts if p != "."]
        if not parts:
            continue
        roots.add(parts[0])
        if member.isfile():
            if member.size > max_member_bytes:
                raise InputError(f"Refusing bundle member {member.name!r}: {member.size} bytes is over the "
                                 f"{max_member_bytes}-byte limit per file.")
            total += member.size
            if total > max_total_bytes:
                raise InputError(f"Refusing bundle: more than {max_total_bytes} bytes in total.")
            if len(parts) < 2:
                raise InputError(f"Refusing bundle member {member.name!r}: files must sit in the bundle folder.")
            files.append(member)
    if len(roots) != 1:
        raise InputError(f"Not a Kroma bundle: expected one top folder, found {len(roots)} "
                         f"({', '.join(sorted(roots)[:5]) or 'none'}).")
    return roots.pop(), files


def stage_members(tar: tarfile.TarFile, root: str, members: list[tarfile.TarInfo], staging: Path) -> list[StagedFile]:
    """Extract regular files into ``staging`` (hashing as they are written); never follows links."""
    staged = []
    for member in members:
        rel = "/".join(p for p in PurePosixPath(member.name).parts[1:] if p != ".")
        target = staging / rel
        if staging.resolve() not in target.resolve().parents:
            raise InputError(f"Refusing bundle member {member.name!r}: it would land outside the staging folder.")
        target.parent.mkdir(parents=True, exist_ok=True)
        source = tar.extractfile(member)
        if source is None:
            raise InputError(f"Bundle member {member.name!r} cannot be read.")
        digest = hashlib.sha256()
        size = 0
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o644)
        with os.fdopen(fd, "wb") as out:
            for chunk in iter(partial(source.read, 1024 * 1024), b""):
                size += len(chunk)
                if size > member.size:
                    raise InputError(f"Bundle member {member.name!r} is longer than its header says.")
                digest.update(chunk)
                out.write(chunk)
        staged.append(StagedFile(rel, target, size, digest.hexdigest()))
    return staged


def stage_folder(folder: Path, *, max_member_bytes: int = MAX_MEMBER_BYTES) -> list[StagedFile]:
    """The files of an unpacked bundle folder, hashed in place (links and special files refused)."""
    staged = []
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if path.is_symlink():
            raise InputError(f"Refusing bundle file {rel!r}: links are not allowed.")
        if path.is_dir():
            continue
        if not path.is_file():
            raise InputError(f"Refusing bundle file {rel!r}: not a regular file.")
        size = path.stat().st_size
        if size > max_member_bytes:
            raise InputError(f"Refusing bundle file {rel!r}: {size} bytes is over the {max_member_bytes}-byte limit.")
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1024 * 1024), b""):
                digest.update(chunk)
        staged.append(StagedFile(rel, path, size, digest.hexdigest()))
    return staged
