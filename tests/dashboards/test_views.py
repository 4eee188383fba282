"""The dashboard views without a browser: empty states, figures, and reading without writing."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kroma_kit import analytics
from kroma_kit.dashboards import (
    check_rendered,
    costs_dashboard,
    project_overview_dashboard,
    qa_report_dashboard,
    run_viewer_dashboard,
)
from kroma_kit.dashboards.context import read_workspace
from kroma_kit.dashboards.qa_report import DEFAULT_THRESHOLD
from tests.dashboards.seed import DEMO, EMPTY_PROJECT

BUILDERS = (project_overview_dashboard, run_viewer_dashboard, qa_report_dashboard, costs_dashboard)


def catalog_state(home: Path) -> tuple[str, int]:
    """The catalog's bytes and the size of its write-ahead log (what a writer would change).

    A reader may create an empty ``-wal``/``-shm`` pair: SQLite's WAL readers need the shared
    index; that is not a write to the catalog.
    """
    wal = home / "catalog.db-wal"
    return hashlib.sha256((home / "catalog.db").read_bytes()).hexdigest(), wal.stat().st_size if wal.exists() else 0


@pytest.mark.parametrize("build", BUILDERS, ids=lambda b: b.__name__)
def test_an_empty_workspace_says_so_and_creates_nothing(tmp_path: Path, build) -> None:
    home = tmp_path / "nothing-here"
    view = build(read_workspace(home))
    assert view.error is None
    assert "workspace is empty" in view.body.value and 'data-note="empty-workspace"' in view.body.value
    assert not view.has_data
    assert check_rendered(view) == {}
    assert not home.exists(), "a dashboard must never create the workspace or its catalog"


@pytest.mark.parametrize("build", BUILDERS, ids=lambda b: b.__name__)
def test_a_project_without_runs_says_so(seeded, build) -> None:
    view = build(read_workspace(seeded.home), project=EMPTY_PROJECT)
    assert view.error is None
    assert view.project == EMPTY_PROJECT
    if build is costs_dashboard:  # spending nothing is a figure: $0.00, with plain notes
        assert view.figures["cost-usd"] == 0 and 'data-note="no-costs"' in view.body.value
    else:
        assert "No runs yet" in view.body.value


def test_views_read_the_catalog_without_writing_it(seeded) -> None:
    ws = read_workspace(seeded.home)
    before = catalog_state(seeded.home)
    views = [build(ws) for build in BUILDERS]
    assert [v.error for v in views] == [None] * 4
    assert all(v.has_data for v in views)
    assert catalog_state(seeded.home) == before


def test_views_do_not_even_checkpoint_a_pending_wal(seeded, tmp_path: Path) -> None:
    """A writer that died (or is still running) leaves committed pages in the WAL; a reader that
    closes last must not fold them into the catalog file (that is a write, with its locks)."""
    home = tmp_path / "home"
    shutil.copytree(seeded.home, home)
    catalog = home / "catalog.db"
    subprocess.run([sys.executable, "-c", (
        "import os, sqlite3\n"
        f"conn = sqlite3.connect({str(catalog)!r}, isolation_level=None)\n"
        "conn.execute('PRAGMA wal_autocheckpoint = 0')\n"
        "conn.execute(\"INSERT INTO audit_events (id, event_code, payload_json, created_at) "
        "VALUES ('wal-probe', 'test.wal_probe', '{}', '2026-01-01T00:00:00.000Z')\")\n"
        "os._exit(0)  # no close, no checkpoint: the row stays in the WAL\n")], check=True)
    before = catalog_state(home)
    assert before[1] > 0
    for build in BUILDERS:
        assert build(read_workspace(home)).error is None
    assert catalog_state(home) == before


def test_switching_runs_redraws_the_run_viewer_and_qa_report(seeded) -> None:
    ws = read_workspace(seeded.home)
    viewer, qa = run_viewer_dashboard(ws), qa_report_dashboard(ws)
    assert viewer.run_id == str(analytics.runs_table(ws, DEMO).iloc[0]["run_id"])
    assert qa.run_id is None and qa.figures["scope"] == "all"

    paid = seeded.run_ids["time"]
    viewer.run_picker.widget.value = paid
    qa.run_picker.widget.value = paid
    assert viewer.grid.run_id == paid and viewer.figures["run-id"] == paid
    assert viewer.figures["actual-cost-usd"] == pytest.approx(analytics.run_detail(ws, paid)["run"]["actual_cost_usd"])
    counts = analytics.qa_by_run(ws, DEMO).set_index("run_id").loc[paid]
    assert (qa.figures["checked"], qa.figures["passed"], qa.figures["failed"]) == (
        counts["checked"], counts["passed"], counts["failed"])
    assert qa.chart.run_id == paid


def test_the_qa_threshold_is_the_one_the_run_log_recorded(seeded, tmp_path: Path) -> None:
    """Read from the run's typed log: a run checked at 3.5 shows 3.5; an unreadable log, the default."""
    ws = read_workspace(seeded.home)
    qa = qa_report_dashboard(ws)
    source = Path(analytics.runs_table(ws, DEMO).iloc[0]["run_log_path"])
    data = json.loads(source.read_text(encoding="utf-8"))
    data["output_guard"] = {**data["output_guard"], "max_chroma_delta": 3.5}
    recorded = tmp_path / "run.json"
    recorded.write_text(json.dumps(data), encoding="utf-8")
    assert qa._threshold(str(recorded)) == 3.5
    recorded.write_text("{not json", encoding="utf-8")
    assert qa._threshold(str(recorded)) == DEFAULT_THRESHOLD


def test_the_url_query_picks_project_and_run(seeded, monkeypatch: pytest.MonkeyPatch) -> None:
    """Voilà hands a page's query string to its kernel as QUERY_STRING."""
    style = seeded.run_ids["style"]
    monkeypatch.setenv("QUERY_STRING", f"project={DEMO}&run={style}")
    view = run_viewer_dashboard(read_workspace(seeded.home))
    assert (view.project, view.run_id) == (DEMO, style)
