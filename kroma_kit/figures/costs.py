"""Cost pictures: USD by provider and by day, from the cost events analytics returns.

Pure drawing and reshaping of frames (no query): the costs dashboard and
``kroma analytics chart costs`` draw through here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kroma_kit.figures import charts
from kroma_kit.figures.text import to_datetime

if TYPE_CHECKING:
    import pandas as pd


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


def draw_cost_chart(events: pd.DataFrame, slug: str) -> bytes:
    """Cost by provider and cost per day side by side, as one PNG, from
    :func:`kroma_kit.analytics.cost_by_provider_day` rows."""
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
    moment = to_datetime(value)
    return f"{moment:%Y-%m-%d}" if moment else str(value)[:10]
