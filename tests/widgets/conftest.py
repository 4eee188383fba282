"""Fixtures for the panel tests: a finished local run made through the RunPanel itself."""

from __future__ import annotations

import pytest


@pytest.fixture
def local_run(workspace, demo_project):
    """A done style run of the demo project (4 scenes x 2 candidates, local provider)."""
    from kroma_kit.widgets import RunPanel

    panel = RunPanel(workspace, project="demo", candidates=2, provider="local")
    summary = panel.run_and_wait(timeout=120)
    assert summary.status == "done"
    return summary
