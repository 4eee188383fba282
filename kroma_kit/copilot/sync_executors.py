"""Executor of the copilot's ``storage_sync:sync_push`` instruction: the same incremental S3 push
as ``kroma sync push`` (sha256-checked, audited, recorded in ``sync_runs``), so a push asked for
in the chat is indistinguishable from one made by hand."""

from __future__ import annotations

from kroma_kit.copilot.executors import Outcome, StepContext
from kroma_kit.sync.push import push_project


def sync_push(ctx: StepContext) -> Outcome:
    ctx.check_cancel()
    execution = ctx.payload.get("execution") or {}
    report = push_project(ctx.ws, ctx.project.slug, dry_run=bool(execution.get("dry_run")),
                          triggered_by="copilot")
    result = {"destination": report.destination, "files_total": report.files_total,
              "transferred": report.transferred, "bytes_transferred": report.bytes_transferred,
              "unchanged": report.unchanged, "failed": dict(report.failed), "sync_id": report.sync_id}
    text = (f"Pushed {report.transferred} file(s) ({report.bytes_transferred} bytes) to {report.destination}; "
            f"{report.unchanged} unchanged.")
    if report.failed:
        return Outcome(text + f" {len(report.failed)} failed (the next push retries them).", result, status="failed")
    return Outcome(text, result)
