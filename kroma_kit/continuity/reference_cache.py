"""Features of reference files, kept per process while the file stays the same.

Why: every run scores its candidates against the same style and character references, and a
run's gate computed their features afresh (a full-size decode and the feature passes: ~13 ms of
CPU per style reference), on the thread that warms the gate while the run's first provider calls
go out, so under the interpreter lock those calls left later. A notebook kernel, the worker or a
batch of CLI runs in one process makes many runs against unchanged references; they now pay once.

A file is known by its resolved path, inode, size and modification time: an edited, replaced or
moved reference is a new key and is read again. The features are shared between runs, so their
arrays are made read-only: a caller that tried to change one would fail loudly instead of
changing every later score. At most :data:`CACHE_SIZE` entries are kept (least recently used
first out); :func:`clear` empties it (tests, or a process that wants its memory back).
"""

from __future__ import annotations

import dataclasses
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

CACHE_SIZE = 128
Features = TypeVar("Features")

_entries: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
_lock = threading.Lock()


def file_features(kind: str, path: str | os.PathLike[str], compute: Callable[[Path], Features]) -> Features:
    """``compute(path)`` for the file as it is now, computed once per process per version of the
    file. ``kind`` names what is computed (two kinds of features of one file are two entries).
    A file that cannot be stat'ed is computed without caching, so its own error is raised."""
    file = Path(path)
    try:
        info = file.stat()
        key = (kind, str(file.resolve()), info.st_ino, info.st_size, info.st_mtime_ns)
    except OSError:
        return compute(file)
    with _lock:
        if key in _entries:
            _entries.move_to_end(key)
            return _entries[key]
    features = _read_only(compute(file))
    with _lock:
        _entries[key] = features
        _entries.move_to_end(key)
        while len(_entries) > CACHE_SIZE:
            _entries.popitem(last=False)
    return features


def clear() -> None:
    """Forget every cached entry."""
    with _lock:
        _entries.clear()


def _read_only(value: Any) -> Any:
    """``value`` with every numpy array in it (dataclass fields, tuples, lists) made read-only."""
    if isinstance(value, np.ndarray):
        value.setflags(write=False)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for field in dataclasses.fields(value):
            _read_only(getattr(value, field.name))
    elif isinstance(value, tuple | list):
        for item in value:
            _read_only(item)
    return value
