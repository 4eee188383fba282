"""Agent instructions for the seeded dashboard workspace, made the real way (chat -> confirm ->
worker), with no side effect on runs, assets or QA rows (the other dashboards compare those):
a storage sync that fails (the project has no S3 storage enabled), a QA check canceled before it ran, and an
archive request left waiting for confirmation."""

from __future__ import annotations

from typing import Any


def seed_queue(ws: Any, project: str = "demo") -> dict[str, str]:
    from kroma_kit.copilot.service import cancel, confirm, send_message
    from kroma_kit.copilot.worker import WorkerOptions, run_worker

    sync = send_message(ws, project, "sync the project").instruction
    confirm(ws, project, sync.id)
    run_worker(ws, WorkerOptions(drain=True, project=project))
    qa = send_message(ws, project, "check the quality of the outputs").instruction
    cancel(ws, project, qa.id, reason="not now")
    archive = send_message(ws, project, "archive the bad outputs").instruction
    return {"failed": sync.id, "canceled": qa.id, "draft": archive.id}
