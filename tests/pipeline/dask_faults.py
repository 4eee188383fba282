"""Faults injected into Dask workers by the distributed-execution tests: kept in their own small
module because a worker imports it (by reference) to run them."""

from __future__ import annotations

import os
from pathlib import Path


def kill_worker_once(marker: str, staging: str) -> None:
    """Kill this worker process the first time any task reaches this point (after its paid answer
    was staged); ``marker`` records that it happened, so the retried task lives."""
    try:
        fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return
    os.write(fd, f"{os.getpid()} {Path(staging).name}".encode())
    os.close(fd)
    os._exit(1)  # like an OOM kill: no cleanup, no answer
