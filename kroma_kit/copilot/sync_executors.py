"""Executors of the ``storage_sync`` instructions: ``sync_push`` (asked for in the chat or over the
API) and ``sync_pull`` (over the API). They run the same incremental S3 push and verified pull
as ``kroma sync push|pull`` (sha256-checked, audited, recorded in ``sync_runs``), so a sync the
worker ran is indistinguishable from one made by hand."""

from __future__ import annotations

from kroma_kit.copilot.executors import Outcome, StepContext
from kroma_kit.sync.pull import pull_project
from kroma_kit.sync.push import push_project
from kroma_kit.sync.report import SyncReport


def _outcome(report: SyncReport, verb: str) -> Outcome:
    result = {"destination": report.destination, "dry_run": report.dry_run, "files_total": report.files_total,
              "transferred": report.transferred, "bytes_transferred": report.bytes_transferred,
              "unchanged": report.unchanged, "verified": report.verified, "deleted": report.deleted,
              "archived": report.archived, "skipped": report.skipped, "reason": report.reason,
              "planned": report.planned, "failed": dict(report.failed), "sync_id": report.sync_id}
    if report.skipped:
        return Outcome(f"Skipped: {report.reason} ({report.destination}).", result)
    if report.dry_run:
        planned = sum(len(items) for items in report.planned.values())
        return Outcome(f"Dry run: {planned} change(s) planned against {report.destination}; nothing moved.", result)
    text = (f"{verb} {report.transferred} file(s) ({report.bytes_transferred} bytes) "
            f"{'to' if verb == 'Pushed' else 'from'} {report.destination}; {report.unchanged} unchanged.")
    if report.failed:
        return Outcome(text + f" {len(report.failed)} failed (the next sync retries them).", result, status="failed")
    return Outcome(text, result)


def sync_push(ctx: StepContext) -> Outcome:
    ctx.check_cancel()
    execution = ctx.payload.get("execution") or {}
    report = push_project(ctx.ws, ctx.project.slug, dry_run=bool(execution.get("dry_run")),
                          delete=bool(execution.get("delete")),
                          allow_missing_local=bool(execution.get("allow_missing_local")),
                          triggered_by=str(execution.get("triggered_by") or "copilot"))
    return _outcome(report, "Pushed")


def sync_pull(ctx: StepContext) -> Outcome:
    ctx.check_cancel()
    execution = ctx.payload.get("execution") or {}
    report = pull_project(ctx.ws, ctx.project.slug, dry_run=bool(execution.get("dry_run")),
                         triggered_by=str(execution.get("triggered_by") or "copilot"))
    return _outcome(report, "Pulled")
