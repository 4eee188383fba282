"""The analytics numbers drawn as PNG bytes, with no widget: the QA chart and the cost chart.

The QAChartPanel (workbench and QA dashboard), the costs dashboard and ``kroma analytics chart``
all draw through here, so a chart saved from the terminal is the one on screen. Nothing here
imports ipywidgets: matplotlib's Agg canvas draws into bytes (see :mod:`kroma_kit.dashboards.charts`).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kroma_kit.analytics.queries import records
from kroma_kit.dashboards import charts

if TYPE_CHECKING:
    import pandas as pd

    from kroma_kit.workspace import Workspace

# The QA verdict colours of every badge, bar and tile (panels, dashboards, contact sheets).
VERDICT_COLOURS = {"pass": "#1b7f3b", "warn": "#b7791f", "fail": "#b42318"}
# The guard thresholds the runs were judged with, from their run logs.
THRESHOLD_SQL = """
SELECT DISTINCT TRY_CAST(log ->> '$.output_guard.max_chroma_delta' AS DOUBLE) AS threshold
FROM run_logs WHERE project = ? AND mode = 'run' {run_filter}
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
            from kroma_kit.errors import InputError

            raise InputError(f"Run {run_id} belongs to project '{run['project']}', not '{slug}'.")
        run_id = str(run["run_id"])
    data = qa_chart_data(ws, slug, run_id)
    scope = f"run {run_id[:8]}" if run_id else "all runs"
    return draw_qa_chart(data.rows, data.stages, data.thresholds, title=f"{slug} · {scope}")


def draw_qa_chart(rows: list[dict[str, Any]], stages: list[dict[str, Any]], thresholds: list[float], *,
                  title: str) -> bytes:
    """Both charts side by side, as PNG bytes (Agg canvas: no pyplot, no display backend)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(9, 3.4), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    hist, bars = fig.subplots(1, 2, width_ratios=[3, 2])
    verdicts = [v for v in ("pass", "warn", "fail") if any(r.get("verdict") == v for r in rows)]
    if rows:
        values = [[float(r["chroma_delta"]) for r in rows if r.get("verdict") == v] for v in verdicts]
        hist.hist(values, bins=20, stacked=True, label=verdicts, color=[VERDICT_COLOURS[v] for v in verdicts])
    else:
        hist.text(0.5, 0.5, "no QA-checked candidates yet", ha="center", va="center", transform=hist.transAxes)
    for threshold in thresholds:
        hist.axvline(threshold, color="black", linestyle="--", linewidth=1.2, label=f"threshold {threshold:g}")
    hist.yaxis.set_major_locator(MaxNLocator(integer=True))
    hist.set_xlabel("chroma delta (0 = grey)")
    hist.set_ylabel("candidates")
    hist.set_title(f"Chroma distribution · {title}", fontsize=10)
    if rows or thresholds:
        hist.legend(fontsize=8)
    names = [str(s["stage"]) for s in stages]
    rates = [float(s["pass_rate"] or 0) for s in stages]
    bars.bar(names, rates, color="#4c78a8")
    for position, stage in enumerate(stages):
        bars.text(position, float(stage["pass_rate"] or 0) + 0.02, f"{int(stage['passed']) + int(stage['warned'])}"
                  f"/{int(stage['checked'])}", ha="center", fontsize=8)
    bars.set_ylim(0, 1.1)
    bars.set_ylabel("pass rate (pass + warn)")
    bars.set_title("QA pass rate by stage (project)", fontsize=10)
    if not stages:
        bars.text(0.5, 0.5, "no runs yet", ha="center", va="center", transform=bars.transAxes)
    out = io.BytesIO()
    fig.savefig(out, format="png")
    return out.getvalue()


# --------------------------------------------------------------------------- costs

def provider_totals(events: pd.DataFrame) -> pd.DataFrame:
    """Events and USD per provider, biggest spender first (from :func:`analytics.cost_by_provider_day`)."""
    if not len(events):
        return events
    return (events.groupby("provider_code", as_index=False)[["cost_usd", "events"]].sum()
            .sort_values("cost_usd", ascending=False))


def day_pivot(events: pd.DataFrame) -> pd.DataFrame:
    """USD per UTC day (rows, 'YYYY-MM-DD') and provider (columns)."""
    frame = events.assign(day=events["day"].map(_day_text))
    return frame.pivot_table(index="day", columns="provider_code", values="cost_usd", aggfunc="sum",
                             fill_value=0.0).sort_index()


def day_series(pivot: pd.DataFrame) -> dict[str, list[float]]:
    """The stacked series of :func:`day_pivot`: paid providers only (free ones add nothing),
    unless nothing was paid."""
    paid = [c for c in pivot.columns if pivot[c].sum() > 0] or list(pivot.columns)
    return {str(c): pivot[c].tolist() for c in paid}


def cost_chart_png(ws: Workspace, slug: str) -> bytes:
    """The dashboard's cost by provider and cost per day charts side by side, as one PNG
    (``kroma analytics chart costs``)."""
    from kroma_kit import analytics

    events = analytics.cost_by_provider_day(ws, slug)
    fig = charts.new_figure(11, 3.2)
    by_provider_ax, by_day_ax = fig.subplots(1, 2)
    if len(events):
        totals = provider_totals(events)
        charts.plot_bars(by_provider_ax, totals["provider_code"].astype(str).tolist(), totals["cost_usd"].tolist(),
                         title=f"Cost by provider (USD) · {slug}")
        pivot = day_pivot(events)
        charts.plot_stacked_bars(by_day_ax, pivot.index.tolist(), day_series(pivot),
                                 title="Cost per day by provider (USD)")
    else:
        for ax in (by_provider_ax, by_day_ax):
            ax.text(0.5, 0.5, "no cost events yet", ha="center", va="center", transform=ax.transAxes)
            ax.set_axis_off()
    return charts.figure_png(fig)


def _day_text(value: Any) -> str:
    from kroma_kit.dashboards import cards

    moment = cards.to_datetime(value)
    return f"{moment:%Y-%m-%d}" if moment else str(value)[:10]
