"""The real thing behind the RunPanel's threading: in an ipykernel (>= 7) a run started from a cell
keeps updating the frontend after the cell has returned, and every update is addressed to that
cell. Drives a real kernel over ZMQ (no browser), as JupyterLab or Voilà would see it."""

from __future__ import annotations

import queue
import time

import pytest

jupyter_client = pytest.importorskip("jupyter_client.manager")

START_CELL = """
from kroma_kit.catalog import open_workspace
from kroma_kit.widgets import RunPanel
run = RunPanel(open_workspace(), project="demo", candidates=1)
run.start()
print(run.progress.model_id, run.status.model_id)
"""


def test_progress_reaches_the_frontend_after_the_cell_returned(kroma_home, demo_project):
    km, kc = jupyter_client.start_new_kernel(kernel_name="python3")
    try:
        cell_id = kc.execute(START_CELL)
        progress_id = status_id = None
        values: list[int] = []
        statuses: list[str] = []
        parents: set[str] = set()
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not any("done" in s for s in statuses):
            try:
                msg = kc.get_iopub_msg(timeout=1)
            except queue.Empty:
                continue
            content = msg["content"]
            if msg["msg_type"] == "stream" and progress_id is None:
                progress_id, status_id = content["text"].split()
            elif msg["msg_type"] == "error":
                pytest.fail("\n".join(content["traceback"]))
            elif msg["msg_type"] == "comm_msg" and content["data"].get("method") == "update":
                state = content["data"]["state"]
                if content["comm_id"] == progress_id and "value" in state:
                    values.append(state["value"])
                    parents.add(msg["parent_header"].get("msg_id"))
                if content["comm_id"] == status_id and "value" in state:
                    statuses.append(state["value"])
        assert values and values[-1] == 4, values
        assert any("done" in s for s in statuses), statuses
        assert parents == {cell_id}  # routed to the cell that started the run
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
