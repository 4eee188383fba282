"""Stakeholder dashboards: the views behind the Voilà pages in ``dashboards/``.

Each dashboard notebook is a title, one import from here, a call that builds a view and
``display``. The views compose ipywidgets around HTML built from :mod:`kroma_kit.analytics`;
they only read (never write or lock the catalog), so any number of tabs can stay open while a
run is writing.

Names load lazily, as in :mod:`kroma_kit.widgets`: the CLI draws the same charts through
:mod:`kroma_kit.figures` (queried by :mod:`kroma_kit.analytics.pictures`) without importing
ipywidgets.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_VIEWS = {
    "CostsView": "kroma_kit.dashboards.costs",
    "costs_dashboard": "kroma_kit.dashboards.costs",
    "ProjectOverviewView": "kroma_kit.dashboards.overview",
    "project_overview_dashboard": "kroma_kit.dashboards.overview",
    "QAReportView": "kroma_kit.dashboards.qa_report",
    "qa_report_dashboard": "kroma_kit.dashboards.qa_report",
    "RunViewerView": "kroma_kit.dashboards.run_viewer",
    "run_viewer_dashboard": "kroma_kit.dashboards.run_viewer",
    "check_rendered": "kroma_kit.dashboards.selftest",
    "harness_active": "kroma_kit.dashboards.selftest",
}

__all__ = sorted(_VIEWS)


def __getattr__(name: str) -> Any:
    if name in _VIEWS:
        return getattr(import_module(_VIEWS[name]), name)
    raise AttributeError(f"module 'kroma_kit.dashboards' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
