"""Project functions: slug rules, storage policy, isolation."""

from __future__ import annotations

from pathlib import Path

import pytest

from kroma_kit.catalog import projects
from kroma_kit.errors import InputError, KromaError, NotFoundError


@pytest.mark.parametrize("slug", ["../x", "A B", "", "a" * 65, "café", "x/y", ".hidden", "-lead", "UPPER",
                                  "a\u200bb", "Ǆ", "con\n"])
def test_bad_slugs_are_refused_with_a_reason(workspace, slug: str) -> None:
    with pytest.raises(InputError) as caught:
        projects.create_project(workspace, slug, "x")
    assert "slug" in str(caught.value).lower()
    assert projects.list_projects(workspace) == []
    assert not any(workspace.projects_dir.iterdir())


@pytest.mark.parametrize("slug", ["a", "demo", "a" * 64, "ep-01_draft", "9lives"])
def test_good_slugs_create_projects_with_folders(workspace, slug: str) -> None:
    project = projects.create_project(workspace, slug, "Name")
    root = Path(project["root"])
    assert root == workspace.projects_dir / slug
    for folder in ("outputs", "runs", "archive/bad", "archive/replaced", "background_removed", "upscaled",
                   "color_corrected", "exports", "inputs", "characters"):
        assert (root / folder).is_dir(), folder


def test_duplicate_slug_is_refused(workspace) -> None:
    projects.create_project(workspace, "demo", "Demo")
    with pytest.raises(KromaError, match="already exists"):
        projects.create_project(workspace, "demo", "Again")


def test_unknown_project_names_known_ones(workspace) -> None:
    projects.create_project(workspace, "alpha", "Alpha")
    with pytest.raises(NotFoundError, match="Unknown project 'beta'.*alpha"):
        projects.get_project(workspace, "beta")


def test_absolute_project_root_is_used_for_layout(workspace, tmp_path: Path) -> None:
    elsewhere = tmp_path / "studio" / "ep1"
    project = projects.create_project(workspace, "ep1", "Episode 1", root=elsewhere)
    assert Path(project["root"]) == elsewhere.resolve()
    assert (elsewhere / "outputs").is_dir()
    moved = tmp_path / "moved-root"
    storage = projects.set_local_root(workspace, "ep1", moved)
    assert Path(storage["resolved_root"]) == moved.resolve()
    assert projects.project_layout(workspace, "ep1").outputs == moved.resolve() / "outputs"


def test_root_that_is_a_file_is_refused(workspace, tmp_path: Path) -> None:
    afile = tmp_path / "file.txt"
    afile.write_text("x")
    with pytest.raises(KromaError, match="not a folder"):
        projects.create_project(workspace, "p", "P", root=afile)


def test_update_archive_and_list(workspace) -> None:
    projects.create_project(workspace, "one", "One")
    projects.create_project(workspace, "two", "Two")
    updated = projects.update_project(workspace, "one", name="Uno", description="first", settings={"tone": "noir"})
    assert (updated["name"], updated["description"], updated["settings"]) == ("Uno", "first", {"tone": "noir"})
    projects.archive_project(workspace, "two")
    assert [p["slug"] for p in projects.list_projects(workspace)] == ["one"]
    assert [p["slug"] for p in projects.list_projects(workspace, include_archived=True)] == ["one", "two"]
    conn = workspace.connect()
    codes = [r[0] for r in conn.execute("SELECT event_code FROM audit_events ORDER BY created_at")]
    assert codes.count("project.created") == 2 and "project.archived" in codes and "project.updated" in codes
