"""The continuity chart: style drift of every scored candidate against its limit, and each
character's identity against its minimum, in run order. A static PNG (matplotlib's Agg canvas,
no pyplot state), so the QA panel, the dashboard and the CLI draw the same picture."""

from __future__ import annotations

from typing import Any

from kroma_kit.catalog.continuity_reports import continuity_rows
from kroma_kit.catalog.projects import get_project
from kroma_kit.workspace import Workspace

COLOURS = {"pass": "#2e8b57", "warn": "#e6911e", "fail": "#c83232"}


def chart_rows(ws: Workspace, slug: str, run_id: str | None = None) -> list[dict[str, Any]]:
    """The project's scored candidates (of one run when given), oldest run first."""
    rows = continuity_rows(ws, get_project(ws, slug)["id"])
    return [row for row in rows if run_id is None or str(row["run_id"]) == run_id]


def draw_continuity_chart(rows: list[dict[str, Any]], *, title: str) -> bytes:
    """Two panels as PNG bytes: style drift per candidate with the limit line(s), and identity per
    declared character with its minimum; points coloured by the gate's verdict."""
    import io

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 3.2), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    style_ax, identity_ax = fig.subplots(1, 2, width_ratios=[3, 2])
    styled = [(i, row) for i, row in enumerate(rows) if row["block"].get("style")]
    if styled:
        for verdict, colour in COLOURS.items():
            points = [(i, row["block"]["style"]["style_drift"]) for i, row in styled if row["verdict"] == verdict]
            if points:
                style_ax.scatter(*zip(*points, strict=True), s=18, color=colour, label=verdict)
        for limit in sorted({row["block"]["style"]["threshold"] for _, row in styled}):
            style_ax.axhline(limit, color="#333", linestyle="--", linewidth=1)
        style_ax.legend(fontsize=8, loc="upper left")
    else:
        style_ax.text(0.5, 0.5, "no style scores", ha="center", va="center", transform=style_ax.transAxes)
    style_ax.set_ylim(bottom=0)
    style_ax.set_title("Style drift per candidate (dashed: limit)", fontsize=10)
    style_ax.set_xlabel("candidate (run order)", fontsize=9)
    codes = sorted({score["code"] for row in rows for score in row["block"].get("identity") or []})
    for x, code in enumerate(codes):
        scores = [(score["identity"], score["threshold"], score["broken"]) for row in rows
                  for score in row["block"].get("identity") or [] if score["code"] == code]
        identity_ax.scatter([x] * len(scores), [s[0] for s in scores], s=18,
                            color=[COLOURS["warn"] if s[2] else COLOURS["pass"] for s in scores])
        for minimum in {s[1] for s in scores}:
            identity_ax.hlines(minimum, x - 0.3, x + 0.3, color="#333", linestyle="--", linewidth=1)
    identity_ax.set_xticks(range(len(codes)), codes, fontsize=8)
    identity_ax.set_ylim(0, 1.02)
    identity_ax.set_title("Identity per character (dashed: minimum)" if codes else "no character declared",
                          fontsize=10)
    fig.suptitle(title, fontsize=10)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def continuity_chart_png(ws: Workspace, slug: str, run_id: str | None = None) -> bytes:
    """The chart of a project (or one of its runs) as PNG bytes."""
    rows = chart_rows(ws, slug, run_id)
    scope = f"run {run_id[:8]}" if run_id else "all runs"
    return draw_continuity_chart(rows, title=f"{slug} · continuity · {scope} · {len(rows)} scored")
