"""The catalog rows a run log ingests to, in a form that compares across versions and workspaces.

Used by ``test_runlog_model.py`` and, once, to write ``tests/fixtures/runlogs/*.rows.json`` with
the code before the run log became a typed model (``python -m tests.storage.runlog_rows``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "runlogs"
TABLES = {"runs": "id", "run_jobs": "id", "run_candidates": "id", "cost_events": "event_key",
          "quality_reports": "id", "assets": "storage_uri", "asset_links": "id"}
# Stamped at ingest time or random per ingest: not part of what a log says.
VOLATILE = {"created_at", "updated_at", "ingested_at", "id", "asset_id", "parent_asset_id", "child_asset_id",
            "final_asset_id", "output_asset_id", "run_log_asset_id", "project_id", "storage_uri", "local_path"}


def ingest_fixture(ws: Any, name: str, through: Any = None) -> dict[str, Any]:
    """Create project ``demo`` (no files), copy the fixture log into its ``runs/`` as written by
    the demo, pointed at this project's id (passed ``through`` a function first, when given), and
    ingest it."""
    from kroma_kit.catalog.projects import create_project
    from kroma_kit.catalog.runs import ingest_run_log

    project = create_project(ws, "demo", "Demo")
    data = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    data["project_id"] = project["id"]
    if through is not None:
        data = through(data)
    target = Path(project["root"]) / "runs" / f"{data['run_id']}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return ingest_run_log(ws, target)


def catalog_rows(ws: Any) -> dict[str, list[dict[str, Any]]]:
    """Every row the ingest wrote, volatile columns left out, in a stable order."""
    conn = ws.connect()
    try:
        out = {}
        for table in TABLES:
            rows = [dict(row) for row in conn.execute(f"SELECT * FROM {table}").fetchall()]
            rows = [{k: v for k, v in row.items() if k not in VOLATILE} for row in rows]
            for row in rows:
                if row.get("kind") == "run_log":  # the file names this workspace's project id
                    row.pop("sha256", None)
            out[table] = sorted(rows, key=lambda row: json.dumps(row, sort_keys=True, default=str))
    finally:
        conn.close()
    return out


if __name__ == "__main__":  # write the golden rows with whatever code is on PYTHONPATH
    import tempfile

    try:
        from kroma_kit.catalog import open_workspace
    except ImportError:
        from kroma_kit.workspace import open_workspace  # the code before the House refactor
    for fixture in sys.argv[1:] or [p.name for p in FIXTURES.glob("*.json") if not p.name.endswith(".rows.json")]:
        with tempfile.TemporaryDirectory() as home:
            ws = open_workspace(home)
            ingest_fixture(ws, fixture)
            rows = catalog_rows(ws)
        (FIXTURES / fixture.replace(".json", ".rows.json")).write_text(
            json.dumps(rows, indent=1, sort_keys=True, default=str) + "\n", encoding="utf-8")
