"""Moved: drawing to :mod:`kroma_kit.figures`, the queries behind it to
:mod:`kroma_kit.analytics.pictures`. These names stay importable for existing callers."""

from kroma_kit.analytics.pictures import (
           THRESHOLD_SQL,
           QAChartData,
           cost_chart_png,
           qa_chart_data,
           qa_chart_png,
)
from kroma_kit.figures.costs import day_pivot, day_series, provider_totals
from kroma_kit.figures.palette import VERDICT_COLOURS
from kroma_kit.figures.qa_chart import draw_qa_chart

__all__ = ["THRESHOLD_SQL", "VERDICT_COLOURS", "QAChartData", "cost_chart_png", "day_pivot", "day_series",
           "draw_qa_chart", "provider_totals", "qa_chart_data", "qa_chart_png"]
