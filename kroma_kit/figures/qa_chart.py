"""The QA chart as PNG bytes: chroma distribution by verdict and pass rate by stage.

Pure drawing from rows (no query, no widget): the QA panel, the QA dashboard and
``kroma analytics chart qa`` draw through here, so a chart saved from the terminal is the one on
screen. matplotlib's Agg canvas draws into bytes.
"""

from __future__ import annotations

import io
from typing import Any

from kroma_kit.figures.palette import VERDICT_COLOURS


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
