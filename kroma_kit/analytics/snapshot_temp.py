"""Snapshot temp folders: one per process under the system temp folder, removed at exit, and
the folders of processes that died without their exit hook swept on first use.

Each folder can hold a whole compressed copy of a catalog, so a Voilà kernel killed by its server
(or any SIGKILL) must not leave one behind for good.
"""

from __future__ import annotations

import atexit
import os
from pathlib import Path

from kroma_kit.processes import pid_running

_folders: set[Path] = set()
FOLDER_PREFIX = "kroma-snapshot-"
_swept = False


def sweep_stale_folders(tempdir: Path) -> list[Path]:
    """Remove snapshot folders left by processes that died without running their exit hook
    (a Voilà kernel killed by the server, a SIGKILL): each can hold a whole copy of a catalog.
    A folder is stale when the pid in its name is no longer running; once per process."""
    import shutil

    global _swept
    if _swept:
        return []
    _swept = True
    removed = []
    for folder in tempdir.glob(f"{FOLDER_PREFIX}*-*"):
        pid_text = folder.name[len(FOLDER_PREFIX):].split("-", 1)[0]
        if not pid_text.isdigit() or int(pid_text) == os.getpid() or pid_running(int(pid_text)):
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed


@atexit.register
def _remove_folders() -> None:
    import shutil

    for folder in list(_folders):
        shutil.rmtree(folder, ignore_errors=True)


def keep_folder(folder: Path) -> None:
    """Remove ``folder`` when this process exits."""
    _folders.add(folder)


def forget_folder(folder: Path) -> None:
    """``folder`` was removed already; nothing to do at exit."""
    _folders.discard(folder)
