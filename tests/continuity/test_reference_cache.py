"""The per-process cache of reference features: computed once per version of a file, a changed
file read again, shared arrays read-only."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from kroma_kit.continuity import reference_cache
from kroma_kit.continuity.features import style_features
from kroma_kit.errors import ImageInputError


@pytest.fixture(autouse=True)
def empty_cache():
    reference_cache.clear()
    yield
    reference_cache.clear()


def _reference(path: Path, colour: tuple[int, int, int]) -> Path:
    Image.new("RGB", (64, 48), colour).save(path)
    return path


def _counting(calls: list[Path]):
    def compute(path: Path):
        calls.append(path)
        return style_features(path)
    return compute


def test_same_file_is_computed_once_and_shared_read_only(tmp_path):
    path = _reference(tmp_path / "style.png", (20, 30, 90))
    calls: list[Path] = []
    first = reference_cache.file_features("style", path, _counting(calls))
    again = reference_cache.file_features("style", tmp_path / "." / "style.png", _counting(calls))
    assert again is first and len(calls) == 1
    for array in (first.histogram, first.tone_cdf, first.palette[0]):  # fields, and arrays in a tuple
        with pytest.raises(ValueError, match="read-only"):
            array[...] = 0


def test_changed_file_and_other_kind_are_computed_again(tmp_path):
    path = _reference(tmp_path / "style.png", (20, 30, 90))
    calls: list[Path] = []
    first = reference_cache.file_features("style", path, _counting(calls))
    reference_cache.file_features("other", path, _counting(calls))
    assert len(calls) == 2  # two kinds of one file are two entries
    _reference(path, (200, 40, 10))  # the reference replaced by another image
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))  # even within one clock tick
    changed = reference_cache.file_features("style", path, _counting(calls))
    assert len(calls) == 3 and changed is not first
    assert not np.array_equal(np.asarray(changed.histogram), np.asarray(first.histogram))


def test_missing_file_raises_its_own_error_and_is_not_cached(tmp_path):
    calls: list[Path] = []
    with pytest.raises(ImageInputError, match="not found"):
        reference_cache.file_features("style", tmp_path / "gone.png", _counting(calls))
    with pytest.raises(ImageInputError, match="not found"):
        reference_cache.file_features("style", tmp_path / "gone.png", _counting(calls))
    assert len(calls) == 2


def test_least_recently_used_entries_leave_first(tmp_path, monkeypatch):
    monkeypatch.setattr(reference_cache, "CACHE_SIZE", 2)
    paths = [_reference(tmp_path / f"ref{n}.png", (10 * n, 20, 30)) for n in range(3)]
    calls: list[Path] = []
    for path in paths[:2]:
        reference_cache.file_features("style", path, _counting(calls))
    reference_cache.file_features("style", paths[0], _counting(calls))  # ref0 used again: ref1 is oldest
    reference_cache.file_features("style", paths[2], _counting(calls))  # ref1 leaves
    assert len(calls) == 3
    reference_cache.file_features("style", paths[0], _counting(calls))
    assert len(calls) == 3
    reference_cache.file_features("style", paths[1], _counting(calls))
    assert len(calls) == 4
