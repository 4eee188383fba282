"""What a sync has to do, decided from plain data: the local files, what the last sync recorded,
and one LIST of the bucket. No network and no catalog here, so the rules are easy to test.

Push rules (local -> S3), per project-relative path:
- not in the bucket -> upload;
- in the bucket with the size and ETag our last sync recorded for the same sha256 -> unchanged
  (the object is the one we wrote, whose metadata says that sha256);
- in the bucket but unknown to the state -> ``verify``: read the object's sha256 metadata (HEAD)
  and skip when it matches, else upload;
- in the bucket, not local -> deleted only with ``--delete``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from kroma_kit.storage.s3 import RemoteObject

# Rebuildable caches and in-flight temp files never travel.
EXCLUDED_DIRS = (".kroma/thumbnails/",)
TEMP_SUFFIXES = (".tmp", ".part")


@dataclass(frozen=True)
class LocalFile:
    rel_path: str
    path: Path
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class StateEntry:
    """What the last successful sync left at one key."""

    rel_path: str
    size_bytes: int
    mtime_ns: int
    sha256: str
    etag: str | None


@dataclass
class PushPlan:
    upload: list[LocalFile] = field(default_factory=list)
    verify: list[LocalFile] = field(default_factory=list)
    unchanged: list[LocalFile] = field(default_factory=list)
    delete: list[RemoteObject] = field(default_factory=list)
    remote_only: list[RemoteObject] = field(default_factory=list)


def is_synced_path(rel_path: str) -> bool:
    name = rel_path.rsplit("/", 1)[-1]
    if any(rel_path.startswith(prefix) for prefix in EXCLUDED_DIRS):
        return False
    return not (name.startswith(".") and name.endswith(TEMP_SUFFIXES))


def scan_local(root: Path) -> list[LocalFile]:
    """Every regular file under ``root`` (symlinks are not followed), sorted by path."""
    found: list[LocalFile] = []
    root = Path(root)
    for folder, dirs, files in os.walk(root, followlinks=False):
        dirs.sort()
        for name in files:
            path = Path(folder) / name
            try:
                info = path.lstat()
            except FileNotFoundError:
                continue
            if not path.is_file() or path.is_symlink():
                continue
            rel = path.relative_to(root).as_posix()
            if is_synced_path(rel):
                found.append(LocalFile(rel, path, info.st_size, info.st_mtime_ns))
    return sorted(found, key=lambda f: f.rel_path)


def known_sha(local: LocalFile, state: dict[str, StateEntry]) -> str | None:
    """The sha256 the state holds for a file whose size and mtime did not change since."""
    entry = state.get(local.rel_path)
    if entry and entry.size_bytes == local.size and entry.mtime_ns == local.mtime_ns:
        return entry.sha256
    return None


def plan_push(local: Iterable[LocalFile], shas: dict[str, str], state: dict[str, StateEntry],
              remote: dict[str, RemoteObject], *, delete: bool) -> PushPlan:
    """Sort every file into upload / verify / unchanged, and remote-only objects into delete."""
    plan = PushPlan()
    local_paths = set()
    for item in local:
        local_paths.add(item.rel_path)
        obj = remote.get(item.rel_path)
        if obj is None:
            plan.upload.append(item)
            continue
        entry = state.get(item.rel_path)
        if (entry is not None and entry.sha256 == shas[item.rel_path] and entry.etag == obj.etag
                and entry.size_bytes == obj.size == item.size):
            plan.unchanged.append(item)
        elif obj.size != item.size:
            plan.upload.append(item)
        else:
            plan.verify.append(item)
    for rel, obj in sorted(remote.items()):
        if rel not in local_paths:
            (plan.delete if delete else plan.remote_only).append(obj)
    return plan
