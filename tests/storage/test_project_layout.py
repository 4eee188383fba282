"""ProjectLayout's path answers: ``inside`` refuses escapes (resolved), ``relative`` names the
project's own files as the project spells them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kroma_kit.errors import StorageError
from kroma_kit.workspace import ProjectLayout


def test_relative_names_files_under_the_root_and_keeps_outside_paths_absolute(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    layout = ProjectLayout(root).ensure()
    (root / "outputs" / "a.png").write_bytes(b"x")
    assert layout.relative(root / "outputs" / "a.png") == "outputs/a.png"
    assert layout.relative(root) == "."
    outside = tmp_path / "elsewhere" / "b.png"
    assert layout.relative(outside) == outside.as_posix()
    # a ".." spelling is resolved: it may leave the root
    assert layout.relative(root / "outputs" / ".." / ".." / "elsewhere" / "b.png") == outside.as_posix()
    assert layout.relative(root / "outputs" / ".." / "inputs" / "c.png") == "inputs/c.png"


def test_relative_keeps_a_symlinked_folder_under_the_project_name(tmp_path: Path) -> None:
    """outputs/ on another disk (a symlink) is still ``outputs/...`` in records: portable."""
    disk = tmp_path / "big-disk"
    disk.mkdir()
    root = tmp_path / "proj"
    root.mkdir()
    os.symlink(disk, root / "outputs")
    layout = ProjectLayout(root)
    assert layout.relative(root / "outputs" / "a.png") == "outputs/a.png"


def test_a_root_reached_through_a_symlink_still_gives_relative_paths(tmp_path: Path) -> None:
    real = tmp_path / "real"
    (real / "outputs").mkdir(parents=True)
    os.symlink(real, tmp_path / "link")
    layout = ProjectLayout(tmp_path / "link")
    assert layout.relative(real / "outputs" / "a.png") == "outputs/a.png"  # resolved spelling
    assert layout.relative(tmp_path / "link" / "outputs" / "a.png") == "outputs/a.png"


def test_inside_refuses_escapes_through_dotdot_and_symlinks(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    layout = ProjectLayout(root).ensure()
    with pytest.raises(StorageError):
        layout.inside("../outside.png")
    os.symlink(tmp_path, root / "escape")
    with pytest.raises(StorageError):
        layout.inside("escape/x.png")
    assert layout.inside("outputs/a.png") == (root / "outputs" / "a.png").resolve()
