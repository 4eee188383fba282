"""StoragePanel: a project's storage policy and its S3 mirror in one place.

Shows where the project lives (local root, bucket, prefix, endpoint), lets the artist change the
S3 settings, and runs a dry run, a push or a pull in the background with a byte progress bar and
the summary the CLI prints; below, the recent syncs (failed ones too) and the project's secret
names (never values). Every button is a method here and a ``kroma storage`` / ``kroma sync``
command.
"""

from __future__ import annotations

import threading
from typing import Any

import ipywidgets as widgets

from kroma_kit.widgets._common import BackgroundTask, Panel, UiDispatcher, button, esc, html_table
from kroma_kit.workspace import Workspace


class _WidgetProgress:
    """The sync's progress protocol, feeding an IntProgress through the UI dispatcher."""

    def __init__(self, bar: widgets.IntProgress, ui: UiDispatcher) -> None:
        self.bar, self.ui, self.done = bar, ui, 0
        self._lock = threading.Lock()  # uploads report from several threads

    def start(self, files: int, total_bytes: int, label: str) -> None:
        def show() -> None:
            self.bar.max, self.bar.value, self.bar.description = max(total_bytes, 1), 0, f"{files} files"
            self.bar.bar_style = ""
        self.ui.post(show)

    def advance(self, nbytes: int) -> None:
        with self._lock:
            self.done += nbytes
            value = self.done
        self.ui.post(lambda: setattr(self.bar, "value", min(value, self.bar.max)))

    def close(self) -> None:
        return None


class StoragePanel(Panel):
    """Storage policy + push/pull for one project. ``push()``, ``pull()`` and ``save_s3()`` do what
    the buttons do; ``wait()`` blocks until the running sync ends and returns its report."""

    def __init__(self, ws: Workspace | None = None, *, project: str | None = None) -> None:
        super().__init__(ws, project=project)
        self.task: BackgroundTask | None = None
        self.report: Any = None
        self.policy = widgets.HTML()
        self.policy.add_class("kk-storage-policy")
        self.bucket = widgets.Text(description="Bucket")
        self.prefix = widgets.Text(description="Prefix")
        self.region = widgets.Text(description="Region")
        self.profile = widgets.Text(description="Profile")
        self.endpoint = widgets.Text(description="Endpoint", placeholder="https://s3.example.com (optional)")
        self.enabled = widgets.Checkbox(description="S3 sync enabled", indent=False)
        self.save_button = button("Save S3 settings", "kk-save-s3")
        self.dry_button = button("Dry run push", "kk-push-dry")
        self.push_button = button("Push", "kk-push", style="primary")
        self.pull_button = button("Pull", "kk-pull")
        self.save_button.on_click(self.action(self.save_s3))
        self.dry_button.on_click(self.action(lambda: self.push(dry_run=True)))
        self.push_button.on_click(self.action(self.push))
        self.pull_button.on_click(self.action(self.pull))
        self.progress = widgets.IntProgress(value=0, min=0, max=1, description="idle")
        self.summary = widgets.HTML()
        self.summary.add_class("kk-sync-summary")
        self.history = widgets.HTML()
        self.history.add_class("kk-sync-history")
        self.secrets = widgets.HTML()
        self.secrets.add_class("kk-secret-names")
        self.widget = widgets.VBox([
            widgets.HTML("<b>Storage</b>"), self.policy,
            widgets.HBox([widgets.VBox([self.bucket, self.prefix, self.region]),
                          widgets.VBox([self.profile, self.endpoint, self.enabled])]),
            widgets.HBox([self.save_button, self.dry_button, self.push_button, self.pull_button]),
            self.progress, self.summary, self.status,
            widgets.HTML("<b>Recent syncs</b>"), self.history,
            widgets.HTML("<b>Secrets</b> (names only)"), self.secrets,
        ])
        self.widget.add_class("kk-storage-panel")
        if project:
            self.reload()

    def reload(self) -> None:
        from kroma_kit.security.secrets import list_secrets
        from kroma_kit.sync.history import sync_history
        from kroma_kit.sync.policy import show_policy

        slug = self.require_project()
        policy = show_policy(self.ws, slug)
        self.policy.value = html_table([{"root": policy["root"], "destination": policy["destination"] or "—",
                                         "enabled": policy["s3_enabled"], "mode": policy["mode"]}])
        for field, key in ((self.bucket, "s3_bucket"), (self.prefix, "s3_prefix"), (self.region, "s3_region"),
                           (self.profile, "s3_profile"), (self.endpoint, "s3_endpoint_url")):
            field.value = policy.get(key) or ""
        self.enabled.value = bool(policy["s3_enabled"])
        runs = [{"when": r["started_at"], "direction": r["direction"], "status": r["status"],
                 "moved": r["summary"].get("transferred", 0), "failed": r["summary"].get("failed", 0),
                 "error": r.get("error") or ""} for r in sync_history(self.ws, slug, limit=10)]
        self.history.value = html_table(runs)
        self.secrets.value = html_table([{k: s[k] for k in ("provider_code", "secret_name", "has_value",
                                                            "updated_at")} for s in list_secrets(self.ws, slug)])

    def save_s3(self) -> dict[str, Any]:
        from kroma_kit.sync.policy import set_s3

        saved = set_s3(self.ws, self.require_project(), bucket=self.bucket.value, prefix=self.prefix.value,
                       region=self.region.value, profile=self.profile.value, endpoint_url=self.endpoint.value,
                       enabled=self.enabled.value)
        self.reload()
        self.set_status(f"Saved: {saved['destination'] or 'no bucket'}", "ok")
        return saved

    def push(self, *, dry_run: bool = False, delete: bool = False) -> BackgroundTask:
        from kroma_kit.sync.push import push_project

        slug = self._check_policy()
        return self._start(lambda progress: push_project(self.ws, slug, dry_run=dry_run, delete=delete,
                                                         progress=progress, triggered_by="panel"))

    def pull(self) -> BackgroundTask:
        from kroma_kit.sync.pull import pull_project

        slug = self._check_policy()
        return self._start(lambda progress: pull_project(self.ws, slug, progress=progress, triggered_by="panel"))

    def _check_policy(self) -> str:
        """Refuse at once (inline) when S3 is off or has no bucket, before any thread starts."""
        from kroma_kit.catalog.projects import get_project
        from kroma_kit.sync.policy import s3_location

        slug = self.require_project()
        s3_location(self.ws, get_project(self.ws, slug))
        return slug

    def _start(self, work: Any) -> BackgroundTask:
        if self.task is not None and self.task.running:
            raise RuntimeError("A sync is already running for this panel; wait for it to finish.")

        def run(_cancel: threading.Event, ui: UiDispatcher) -> Any:
            return work(_WidgetProgress(self.progress, ui))

        self.set_status("Syncing…")
        self.task = BackgroundTask(run, on_done=self._done, name="kroma-sync").start()
        return self.task

    def _done(self, task: BackgroundTask) -> None:
        if task.error is not None:
            self.progress.bar_style = "danger"
            self.show_error(task.error)
        else:
            report = self.report = task.result
            self.progress.bar_style = "success" if report.ok else "warning"
            moved = len(next(iter(report.planned.values()), [])) if report.dry_run else report.transferred
            self.summary.value = (f"<span data-status='{esc(report.status)}'>{esc(report.direction)} "
                                  f"{esc(report.destination)}: {report.files_total} files, moved {moved} "
                                  f"({report.bytes_transferred} bytes){' (dry run)' if report.dry_run else ''}, "
                                  f"unchanged {report.unchanged + report.verified}, failed {len(report.failed)}</span>")
            self.set_status("Done." if report.ok else f"{len(report.failed)} file(s) failed; run it again to retry.",
                            "ok" if report.ok else "warn")
        self.reload()

    def wait(self, timeout: float | None = 120) -> Any:
        """Block until the running sync ends; return its report (raises its error)."""
        if self.task is None:
            raise RuntimeError("No sync started.")
        return self.task.wait(timeout)
