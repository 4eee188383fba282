"""Static charts for dashboards, panels and the CLI: matplotlib figures rendered to PNG and embedded as ``<img>``.

Why this route: it renders offline in Voilà, in JupyterLab and under nbval alike, needs no
JavaScript extension or CDN, and does not depend on the kernel's matplotlib backend (a CI
``MPLBACKEND=Agg`` turns ``plt.show()`` output into ``<Figure ...>`` text in Voilà). Figures are
built with :class:`matplotlib.figure.Figure` directly, never through pyplot, so no global figure
state leaks between the repeated renders of a long-lived dashboard kernel.

Each chart is wrapped in ``<figure class="kk-chart" data-chart="...">`` whose ``data-points``
attribute says how many values it plots, so a browser test can tell "empty" from "drawn".
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from typing import TYPE_CHECKING

from kroma_kit.figures.text import esc

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

PALETTE = ("#3b6ea5", "#e0a030", "#3b7a57", "#b03a2e", "#7a5ea8", "#5f9ea0", "#c06c84", "#8c8c8c")


def new_figure(width: float = 6.4, height: float = 3.0) -> Figure:
    """A pyplot-free figure on the Agg canvas (whatever backend the kernel was started with)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def figure_png(fig: Figure) -> bytes:
    """``fig`` as PNG bytes (the CLI saves these; dashboards inline them)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


def figure_html(fig: Figure, *, name: str, points: int, alt: str) -> str:
    """Render ``fig`` to PNG and wrap it in the stable ``kk-chart`` element."""
    encoded = base64.b64encode(figure_png(fig)).decode("ascii")
    return (f'<figure class="kk-chart" data-chart="{esc(name)}" data-points="{points}" style="margin:0">'
            f'<img alt="{esc(alt)}" src="data:image/png;base64,{encoded}"></figure>')


def _keep_bars_narrow(ax, count: int, minimum: int = 4) -> None:
    """With one or two bars matplotlib stretches them across the plot; pad the x range instead."""
    if 0 < count < minimum:
        pad = (minimum - count) / 2
        ax.set_xlim(-0.5 - pad, count - 0.5 + pad)


def _style_axes(ax) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(labelsize=8)
    ax.grid(axis="y", color="#eeeeee", linewidth=0.8)
    ax.set_axisbelow(True)


def bar_chart(labels: Sequence[str], values: Sequence[float], *, name: str, title: str,
              ylabel: str = "USD", color: str = PALETTE[0]) -> str:
    """One series of bars (cost by provider, cost by project)."""
    fig = new_figure(6.4, 2.8)
    plot_bars(fig.add_subplot(), labels, values, title=title, ylabel=ylabel, color=color)
    return figure_html(fig, name=name, points=len(values), alt=title)


def plot_bars(ax: Axes, labels: Sequence[str], values: Sequence[float], *, title: str, ylabel: str = "USD",
              color: str = PALETTE[0]) -> None:
    """Draw :func:`bar_chart`'s bars on ``ax`` (so a PNG can put several charts on one figure)."""
    heights = [float(v) for v in values]
    ax.bar([str(label) for label in labels], heights, color=color)
    if heights and min(heights) >= 0:
        ax.set_ylim(bottom=0)  # free providers only: no negative axis under zero-height bars
    _keep_bars_narrow(ax, len(labels))
    ax.set_title(title, fontsize=10, loc="left")
    ax.set_ylabel(ylabel, fontsize=8)
    _style_axes(ax)
    if len(labels) > 6:
        ax.tick_params(axis="x", labelrotation=30)


def stacked_bars(categories: Sequence[str], series: dict[str, Sequence[float]], *, name: str, title: str,
                 ylabel: str = "USD") -> str:
    """Bars per category stacked by series (cost per day stacked by provider)."""
    fig = new_figure(6.4, 2.8)
    plot_stacked_bars(fig.add_subplot(), categories, series, title=title, ylabel=ylabel)
    return figure_html(fig, name=name, points=len(categories), alt=title)


def plot_stacked_bars(ax: Axes, categories: Sequence[str], series: dict[str, Sequence[float]], *, title: str,
                      ylabel: str = "USD") -> None:
    """Draw :func:`stacked_bars`' bars on ``ax``."""
    bottoms = [0.0] * len(categories)
    for i, (label, values) in enumerate(series.items()):
        heights = [float(v) for v in values]
        ax.bar([str(c) for c in categories], heights, bottom=bottoms, label=str(label),
               color=PALETTE[i % len(PALETTE)])
        bottoms = [b + h for b, h in zip(bottoms, heights, strict=True)]
    if categories and min(bottoms) >= 0:
        ax.set_ylim(bottom=0)
    _keep_bars_narrow(ax, len(categories))
    ax.set_title(title, fontsize=10, loc="left")
    ax.set_ylabel(ylabel, fontsize=8)
    if series:
        ax.legend(fontsize=7, frameon=False)
    _style_axes(ax)
    if len(categories) > 6:
        ax.tick_params(axis="x", labelrotation=30)


def paired_bars(labels: Sequence[str], first: Sequence[float], second: Sequence[float], *, names: tuple[str, str],
                name: str, title: str, ylabel: str = "USD") -> str:
    """Two bars per label side by side (estimated vs actual cost per run)."""
    fig = new_figure(6.4, 2.8)
    ax = fig.add_subplot()
    xs = list(range(len(labels)))
    ax.bar([x - 0.2 for x in xs], [float(v) for v in first], width=0.4, label=names[0], color=PALETTE[1])
    ax.bar([x + 0.2 for x in xs], [float(v) for v in second], width=0.4, label=names[1], color=PALETTE[0])
    ax.set_xticks(xs, [str(label) for label in labels])
    _keep_bars_narrow(ax, len(labels))
    ax.set_title(title, fontsize=10, loc="left")
    ax.set_ylabel(ylabel, fontsize=8)
    ax.legend(fontsize=7, frameon=False)
    _style_axes(ax)
    if len(labels) > 4:
        ax.tick_params(axis="x", labelrotation=30)
    return figure_html(fig, name=name, points=len(labels), alt=title)
