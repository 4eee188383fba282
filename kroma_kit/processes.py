"""Is the process that wrote this still alive? One answer, through :mod:`psutil`.

Run logs record the pid, host and start time of the process that owns a run, and analytics
snapshots name their temp folders after their pid; both must tell a live owner from a dead one
(or from a recycled pid) on any platform, not only where ``/proc`` exists.
"""

from __future__ import annotations

import os
import socket

import psutil

_DEAD = (psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD)


def this_host() -> str:
    return socket.gethostname()


def process_start_token(pid: int) -> str | None:
    """When ``pid`` started (seconds since the epoch, 2 decimals), so a pid reused by another
    process after a crash is not mistaken for the run's own process. None when it is gone."""
    try:
        return f"{psutil.Process(pid).create_time():.2f}"
    except (psutil.Error, OSError):
        return None


def process_alive(pid: int | None, start_token: str | None = None) -> bool:
    """Whether ``pid`` (on this host) is still the live process whose start token is ``start_token``.

    A token written by an older Kroma Kit (kernel jiffies, digits only) cannot be compared and only
    the pid is checked."""
    if not pid or pid <= 0:
        return False
    try:
        process = psutil.Process(pid)
        if process.status() in _DEAD:
            return False  # killed, not yet reaped
        started = process.create_time()
    except psutil.NoSuchProcess:
        return False
    except (psutil.AccessDenied, OSError):
        return True  # exists, owned by someone else: we cannot tell more
    if not start_token or start_token.isdigit():
        return True  # no token, or an older Kroma Kit's (kernel jiffies): the pid is all we can check
    try:
        return abs(float(start_token) - started) < 0.05
    except ValueError:
        return False  # not a start time this process could have had


def pid_running(pid: int) -> bool:
    """Whether any live process has ``pid`` (this process counts)."""
    return pid == os.getpid() or process_alive(pid)
