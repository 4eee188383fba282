"""The shared part of each dashboard's last (self-check) cell.

The cell runs everywhere the notebook runs: under nbval in CI, and in Voilà for a stakeholder,
where a passing check prints nothing. So it must hold on an empty workspace too (the page then
shows a plain message, which is correct), while CI must still prove the kernel read the seeded
workspace and drew real figures. The harness says so through two variables:
``KROMA_DASHBOARD_EXPECT_HOME`` (the view must read exactly that workspace; figures are then
compared with a second analytics read, since nothing writes meanwhile) and
``KROMA_DASHBOARD_EXPECT_DATA=1`` (the page must show figures, not an empty-state message).
"""

from __future__ import annotations

from typing import Any

from kroma_kit.dashboards.base import DashboardView
from kroma_kit.dashboards.context import expect_data, expected_home


def check_rendered(view: DashboardView) -> dict[str, Any]:
    """Assert the view rendered without error (and with data when a harness expects it); return its figures."""
    assert view.error is None, f"{view.title} failed to render: {view.error}"
    assert view.renders >= 1, f"{view.title} never rendered"
    home = expected_home()
    if home is not None:
        assert view.workspace.home == home, (
            f"{view.title} read workspace {view.workspace.home}, expected {home}: the kernel did not "
            "inherit KROMA_HOME from the test session")
    if expect_data():
        assert view.has_data, f"{view.title} shows no data for the seeded workspace: {view.message}"
    return view.figures


def harness_active() -> bool:
    """True under a test harness (``KROMA_DASHBOARD_EXPECT_HOME`` set), where the workspace holds
    still, so figures can be compared exactly with a second analytics read. In a live dashboard a
    run may write between the page's read and the check's, so the comparison is skipped there."""
    return expected_home() is not None
