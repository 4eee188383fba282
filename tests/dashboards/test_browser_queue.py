"""The queue dashboard in headless Chromium against the seeded workspace: counts by status, the
instruction rows and one instruction's events are what the catalog holds."""

from __future__ import annotations

import pytest

from kroma_kit.catalog.instructions import count_by_status, list_instruction_events, list_instructions
from kroma_kit.catalog.projects import get_project
from tests.dashboards.conftest import save_screenshot
from tests.dashboards.seed import DEMO
from tests.dashboards.test_browser import assert_clean, card, images_loaded, open_dashboard, row_keys

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]


def test_queue_matches_the_catalog(page, probe, voila, seeded, seeded_ws):
    failed = seeded.instruction_ids["failed"]
    open_dashboard(page, voila, "queue.ipynb", '.kk-cards[data-cards="queue-summary"]',
                   f"?project={DEMO}&instruction={failed}")
    project_id = get_project(seeded_ws, DEMO)["id"]
    counts = count_by_status(seeded_ws, project_id)
    assert counts["failed"] == 1 and counts["canceled"] == 1 and counts["draft"] == 1
    for status, n in counts.items():
        assert int(card(page, f"status-{status}")) == n
    items = list_instructions(seeded_ws, project_id=project_id)
    assert row_keys(page, "instructions") == [i.id for i in items]
    error = page.locator(f'table[data-table="instructions"] tr[data-row="{failed}"] td[data-col="error"]').inner_text()
    assert "S3 storage is disabled" in error
    events = [e["event_type"] for e in list_instruction_events(seeded_ws, failed)]
    assert row_keys(page, "instruction-events") == events and events[-1] == "error"
    assert len(images_loaded(page, "figure.kk-chart img")) == 1
    assert_clean(page, probe)
    save_screenshot(page, "queue")
