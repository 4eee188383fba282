"""One writer at a time for a run log, across threads and processes.

Two kinds of process rewrite a run log: the executor that owns the run (``execute_run`` or
``resume_run``, every time a candidate settles) and the artist's winner override
(:mod:`kroma_kit.pipeline.review`, from a notebook kernel or the CLI). Each write is an atomic
replace of the whole file, so without a lock the last writer wins and the other's change is
silently lost: an executor holding the log in memory would overwrite an override made while it
runs. With the lock, a writer reads what is on disk, merges, and replaces it without anyone
writing in between.

The lock is ``flock`` on a small hidden file beside the log (``runs/.<run_id>.json.lock``; the
log itself cannot carry it because every write gives it a new inode). It is re-entrant in the
thread that holds it (the override reads, writes and, if the catalog commit fails, restores the
log under one hold) and excludes the other threads of the process, which ``flock`` alone does
not promise for nested holds. Where ``fcntl`` does not exist (Windows) only the threads of one
process are serialised.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


class _PathLock:
    def __init__(self) -> None:
        self.thread_lock = threading.RLock()
        self.depth = 0
        self.fd: int | None = None


_registry: dict[str, _PathLock] = {}
_registry_guard = threading.Lock()


def lock_path(log_path: str | os.PathLike[str]) -> Path:
    """The lock file of a run log: hidden, beside it, never matched by ``runs/*.json``."""
    path = Path(log_path)
    return path.with_name(f".{path.name}.lock")


@contextmanager
def run_log_lock(log_path: str | os.PathLike[str]) -> Iterator[None]:
    """Hold the run log's write lock (blocking) for the ``with`` block."""
    key = Path(log_path).resolve().as_posix()
    with _registry_guard:
        entry = _registry.setdefault(key, _PathLock())
    with entry.thread_lock:
        if entry.depth == 0 and fcntl is not None:
            target = lock_path(key)
            target.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(target, os.O_RDWR | os.O_CREAT, 0o666)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
            except BaseException:
                os.close(fd)
                raise
            entry.fd = fd
        entry.depth += 1
        try:
            yield
        finally:
            entry.depth -= 1
            if entry.depth == 0 and entry.fd is not None:
                fd, entry.fd = entry.fd, None
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)
