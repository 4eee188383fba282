"""check_image: the planner's decode check, remembered per unchanged file within a process."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PIL import Image

from kroma_kit.errors import ImageInputError
from kroma_kit.imaging import check_image


def _png(path: Path, colour: str = "navy") -> Path:
    Image.new("RGB", (32, 48), colour).save(path)
    return path


def test_a_file_corrupted_in_place_after_a_good_check_is_refused(tmp_path: Path) -> None:
    scene = _png(tmp_path / "scene.png")
    check_image(scene)
    size = scene.stat().st_size
    stat = scene.stat()
    with open(scene, "r+b") as handle:  # same size, same inode: only the times can tell
        handle.seek(size // 2)
        handle.write(b"\x00" * 16)
    os.utime(scene, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # even with the old mtime put back
    with pytest.raises(ImageInputError, match="scene.png"):
        check_image(scene)


def test_a_file_replaced_atomically_is_checked_again(tmp_path: Path) -> None:
    scene = _png(tmp_path / "scene.png")
    check_image(scene)
    broken = tmp_path / "broken.tmp"
    broken.write_bytes(b"not an image at all")
    os.replace(broken, scene)
    with pytest.raises(ImageInputError, match="Not a readable image"):
        check_image(scene)


def test_missing_and_bad_files_are_refused_every_time(tmp_path: Path) -> None:
    with pytest.raises(ImageInputError, match="not found"):
        check_image(tmp_path / "absent.png")
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"junk")
    for _ in range(2):  # a failure is never remembered as a pass
        with pytest.raises(ImageInputError):
            check_image(bad)
