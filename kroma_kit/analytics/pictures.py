"""Pictures of the analytics numbers: the QA chart, the cost chart and a run's contact sheet.

Here the numbers are queried (:mod:`kroma_kit.analytics`) and handed to the pure drawing in
:mod:`kroma_kit.figures`; panels, dashboards and the CLI call these, so every face shows the same
picture of the same query.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kroma_kit.analytics.queries import records
from kroma_kit.analytics.views import LOG_GUARD_MAX_CHROMA
from kroma_kit.catalog.projects import get_project
from kroma_kit.errors import InputError, KromaError
from kroma_kit.figures.contact_sheet import DEFAULT_TILE, ContactSheet, render_contact_sheet
from kroma_kit.figures.costs import draw_cost_chart
from kroma_kit.figures.qa_chart import draw_qa_chart
from kroma_kit.storage.thumbnails import thumbnail_cache_dir, thumbnail_path
from kroma_kit.sync.files import local_copy
from kroma_kit.sync.s3_first import is_s3_first

if TYPE_CHECKING:
    from kroma_kit.workspace import Workspace

# The guard thresholds the runs were judged with, from their run logs.
THRESHOLD_SQL = f"""
SELECT DISTINCT TRY_CAST(log ->> '{LOG_GUARD_MAX_CHROMA}' AS DOUBLE) AS threshold
FROM run_logs WHERE project = ? AND mode = 'run' {{run_filter}}
ORDER BY threshold"""


@dataclass
class QAChartData:
    """What the QA chart plots: candidates with a chroma measurement, pass rate per stage (of the
    project), and the guard thresholds the runs were judged with."""

    rows: list[dict[str, Any]]
    stages: list[dict[str, Any]]
    thresholds: list[float]


def qa_chart_data(ws: Workspace, slug: str, run_id: str | None = None) -> QAChartData:
    """The chart's numbers for ``slug`` (every real run) or one ``run_id`` of it."""
    from kroma_kit import analytics

    if run_id is not None:
        frame = analytics.candidates(ws, run_id=run_id)
    else:
        frame = analytics.candidates(ws, slug=slug)
        frame = frame[frame["mode"] == "run"]
    rows = [row for row in records(frame) if row.get("chroma_delta") is not None]
    stages = records(analytics.qa_pass_rate_by_stage(ws, slug))
    run_filter = "AND run_id = ?" if run_id else ""
    params = [slug] + ([run_id] if run_id else [])
    thresholds = [float(t) for t in analytics.sql(ws, THRESHOLD_SQL.format(run_filter=run_filter),
                                                  params)["threshold"].dropna()]
    return QAChartData(rows, stages, thresholds)


def qa_chart_png(ws: Workspace, slug: str, run_id: str | None = None) -> bytes:
    """The panel's chart as PNG bytes without a panel (``kroma analytics chart qa``)."""
    if run_id is not None:  # a prefix works too, as everywhere in the CLI
        from kroma_kit.analytics import run_detail

        run = run_detail(ws, run_id)["run"]
        if run["project"] != slug:
            raise InputError(f"Run {run_id} belongs to project '{run['project']}', not '{slug}'.")
        run_id = str(run["run_id"])
    data = qa_chart_data(ws, slug, run_id)
    scope = f"run {run_id[:8]}" if run_id else "all runs"
    return draw_qa_chart(data.rows, data.stages, data.thresholds, title=f"{slug} · {scope}")


def cost_chart_png(ws: Workspace, slug: str) -> bytes:
    """The dashboard's cost by provider and cost per day charts side by side, as one PNG
    (``kroma analytics chart costs``)."""
    from kroma_kit import analytics

    return draw_cost_chart(analytics.cost_by_provider_day(ws, slug), slug)


def run_contact_sheet(ws: Workspace, run_id: str, *, project: str | None = None,
                      tile: int = DEFAULT_TILE) -> ContactSheet:
    """Build the sheet of ``run_id`` (a 6+ character prefix works); ``project``, when given, must
    be the run's project, so a sheet is never made of the wrong project's run by a stray id."""
    from kroma_kit import analytics
    from kroma_kit.storage.thumbnails import MAX_SIZE, MIN_SIZE

    if isinstance(tile, bool) or not isinstance(tile, int) or not 64 <= tile <= MAX_SIZE:
        raise InputError(f"Tile size must be a whole number of pixels from {max(64, MIN_SIZE)} to {MAX_SIZE}, "
                         f"got {tile!r}.")
    rows = analytics.records(analytics.candidates(ws, run_id=run_id))
    if not rows:
        raise InputError(f"Run {run_id} has no candidates yet: nothing to put on a contact sheet.")
    owner = rows[0]["project"]
    if project is not None and owner != project:
        raise InputError(f"Run {run_id} belongs to project '{owner}', not '{project}'.")
    full_id = str(rows[0]["run_id"])
    title = f"{owner} · run {full_id[:8]} · {rows[0].get('stage') or ''} · gold outline = winner"
    _fetch_evicted(ws, owner, rows, tile)
    return render_contact_sheet(rows, title=title,
                                tile=tile, home=ws.home, run_id=full_id)


def _fetch_evicted(ws: Workspace, slug: str, rows: list[dict[str, Any]], tile: int) -> None:
    """An S3-first project may have evicted candidates' images from its local cache: fetch back
    (sha256 verified) those whose thumbnail at this tile size is not cached either. One that cannot
    be fetched is drawn as a missing tile, like any missing file."""
    if not is_s3_first(ws, get_project(ws, slug)):
        return
    cache = thumbnail_cache_dir(ws.home)
    for row in rows:
        path, digest = row.get("final_path") or row.get("output_path"), row.get("sha256")
        if not path or Path(path).is_file() or (digest and thumbnail_path(digest, tile, cache_dir=cache).is_file()):
            continue
        try:
            local_copy(ws, slug, path)
        except KromaError:
            continue
