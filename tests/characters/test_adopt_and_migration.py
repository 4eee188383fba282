"""A workspace made by the previous code (catalog at 0001, a project whose manifest lists
character refs, a finished run) migrates with every row kept, and its manifest characters become
characters with reference sets, once."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from kroma_kit.catalog.db import connect
from kroma_kit.catalog.migrations import available_migrations, migrate
from kroma_kit.characters import images, profiles, references
from kroma_kit.characters.adopt import adopt_all_projects, adopt_manifest_characters
from kroma_kit.cli.main import main

TABLES = ("projects", "runs", "run_jobs", "run_candidates", "assets", "cost_events", "audit_events",
          "prompt_templates", "project_storage")


def _counts(path: Path) -> dict[str, int]:
    conn = sqlite3.connect(path)
    try:
        return {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in TABLES}
    finally:
        conn.close()


def _wave1_workspace(home: Path, sample_files: Path) -> None:
    """The catalog as the previous release left it: migration 0001 only, with a project and a run."""
    import shutil

    from kroma_kit.catalog.migrations import split_sql
    from kroma_kit.catalog.projects import create_project
    from kroma_kit.pipeline.execute import execute_run
    from kroma_kit.pipeline.plan_model import PlanRequest
    from kroma_kit.project_setup import install_sample_project
    from kroma_kit.workspace import Workspace

    home.mkdir(parents=True)
    conn = connect(home / "catalog.db")
    conn.execute("CREATE TABLE schema_migrations (version TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    version, sql = available_migrations()[0]
    for statement in split_sql(sql):
        conn.execute(statement)
    conn.execute("INSERT INTO schema_migrations VALUES (?, 'then')", (version,))
    conn.close()
    ws = Workspace(home)
    (home / "projects").mkdir()
    project = create_project(ws, "old", "Old project")
    shutil.copytree(sample_files, project["root"], dirs_exist_ok=True)
    install_sample_project(Path(project["root"]), candidates=1)
    execute_run(ws, PlanRequest(project="old", stage="style", candidates=1, provider="local",
                                scene_refs=["inputs/scenes/room.png"]))


def test_wave1_workspace_migrates_keeping_every_row_and_adopts_its_characters(kroma_home, sample_files, capsys):
    _wave1_workspace(kroma_home, sample_files)
    before = _counts(kroma_home / "catalog.db")
    assert before["runs"] == 1 and before["assets"] > 0
    assert main(["db", "migrate", "--json"]) == 0
    out = capsys.readouterr().out
    assert "0002_knowledge" in out and '"created": [' in out
    after = _counts(kroma_home / "catalog.db")
    for table in TABLES:
        assert after[table] >= before[table], table
    assert after["runs"] == before["runs"] and after["run_candidates"] == before["run_candidates"]
    from kroma_kit.catalog import open_workspace

    ws = open_workspace(kroma_home)
    codes = [c.code for c in profiles.list_characters(ws, "old")]
    assert codes == ["courier", "detective"]
    refset = references.get_reference_set(ws, "old", "character:detective")
    assert [item.path.name for item in refset.items] == ["detective.png"]
    assert images.best_reference(ws, "old", "detective").provider == "import"
    manifest = (Path(ws.projects_dir) / "old" / "manifest.json").read_text()
    assert "characters/detective.png" in manifest  # the manifest is left as it was
    again = adopt_all_projects(ws)[0]
    assert again.created == [] and again.linked == [] and sorted(again.unchanged) == ["courier", "detective"]
    assert _counts(kroma_home / "catalog.db")["assets"] == after["assets"]


def test_adopt_reports_missing_files_and_keeps_going(workspace, chars_project):
    root = Path(chars_project["root"])
    manifest = root / "manifest.json"
    manifest.write_text(manifest.read_text().replace('"characters/detective.png"',
                                                     '"characters/detective.png", "characters/gone.png"'))
    report = adopt_manifest_characters(workspace, "demo")
    assert report.problems == ["characters/gone.png: file not found (left in the manifest)"]
    assert sorted(report.unchanged) == ["courier", "detective"]


def test_migration_creates_the_knowledge_tables_and_indexes(tmp_path):
    conn = connect(tmp_path / "c.db")
    migrate(conn)
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'index')")}
    for name in ("style_guides", "characters", "reference_sets", "reference_items", "character_images",
                 "idx_style_guides_one_default", "idx_characters_project_code"):
        assert name in names
