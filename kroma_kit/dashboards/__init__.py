"""Stakeholder dashboards: the views behind the Voilà pages in ``dashboards/``.

Each dashboard notebook is a title, one import from here, a call that builds a view and
``display``. The views compose ipywidgets around HTML built from :mod:`kroma_kit.analytics`;
they only read (never write or lock the catalog), so any number of tabs can stay open while a
run is writing.
"""

from kroma_kit.dashboards.costs import CostsView, costs_dashboard
from kroma_kit.dashboards.overview import ProjectOverviewView, project_overview_dashboard
from kroma_kit.dashboards.qa_report import QAReportView, qa_report_dashboard
from kroma_kit.dashboards.run_viewer import RunViewerView, run_viewer_dashboard
from kroma_kit.dashboards.selftest import check_rendered, harness_active

__all__ = [
    "CostsView", "ProjectOverviewView", "QAReportView", "RunViewerView", "check_rendered", "costs_dashboard",
    "harness_active",
    "project_overview_dashboard", "qa_report_dashboard", "run_viewer_dashboard",
]
