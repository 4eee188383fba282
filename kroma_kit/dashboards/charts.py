"""Moved to :mod:`kroma_kit.figures.charts`; this name stays for existing imports."""

from kroma_kit.figures.charts import *  # noqa: F403
from kroma_kit.figures.charts import (  # noqa: F401
    bar_chart,
    figure_html,
    figure_png,
    new_figure,
    paired_bars,
    plot_bars,
    plot_stacked_bars,
    stacked_bars,
)
