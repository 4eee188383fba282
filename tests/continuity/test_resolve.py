"""The gate's references come from the knowledge layer: each character's reference files and the
signature colours of its identity constraints; a project with no character rows falls back to
the manifest's loose character files."""

from __future__ import annotations

from pathlib import Path

from kroma_kit.catalog.db import connect
from kroma_kit.catalog.knowledge import list_characters
from kroma_kit.characters.samples import install_sample_characters
from kroma_kit.config import resolve_project_settings
from kroma_kit.continuity.resolve import resolve_context
from tests.pipeline.runsupport import demo, sample_files  # noqa: F401


def test_characters_come_from_the_knowledge_tables(workspace, demo):  # noqa: F811
    root = Path(demo["root"])
    settings = resolve_project_settings(root)
    before = resolve_context(workspace, root, settings, project="demo")
    assert before.characters and all(ref.signature_colours_hex == () for ref in before.characters.values())

    install_sample_characters(workspace, demo, {"style_refs": ["inputs/styles/noir_ink.png"]})
    conn = connect(workspace.catalog_path, read_only=True)
    try:
        rows = {row["code"]: row for row in list_characters(conn, demo["id"])}
    finally:
        conn.close()
    context = resolve_context(workspace, root, settings, project="demo")
    assert set(context.characters) == set(rows)
    for code, ref in context.characters.items():
        assert list(ref.signature_colours_hex) == rows[code]["identity"]["signature_colors"] != []
        assert ref.paths and all(path.is_file() for path in ref.paths)
