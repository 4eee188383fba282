"""RunPanel: start a run without freezing the notebook, watch it candidate by candidate, stop it.

The run executes on a background thread (``execute_run``), and its progress events arrive on the
executor's worker threads. Widgets are only ever changed on the UI thread: events are posted to
a :class:`~kroma_kit.widgets._common.UiDispatcher` (see there for the ipykernel >= 7 reason).
Cancel sets the run's ``threading.Event``: calls in flight finish and are recorded, no new call
starts, and the run ends ``partial``. The spend decision is the PlanPanel's: a paid run only goes
out with the confirmation ticked there, and the pipeline itself refuses otherwise.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from kroma_kit.errors import SpendError
from kroma_kit.pipeline import events as ev
from kroma_kit.widgets._common import (
    VERDICT_COLOURS,
    BackgroundTask,
    Panel,
    UiDispatcher,
    button,
    describe_error,
    esc,
    html_table,
    usd,
)
from kroma_kit.widgets.plan_panel import PlanPanel
from kroma_kit.workspace import Workspace

if TYPE_CHECKING:
    from kroma_kit.pipeline.plan_model import PlanRequest
    from kroma_kit.pipeline.summary import RunSummary

ROW_COLUMNS = ("job", "candidate", "status", "verdict", "chroma_exceed", "cost_usd", "winner", "output")


class RunPanel(Panel):
    """Run button, cancel, progress bar, live per-candidate table.

    ``plan`` is the PlanPanel whose request (and spend confirmation) is run; one is built when
    not given, with ``request_defaults`` (stage, time, weather, candidates, provider, from_run).
    ``start()`` returns at once; ``wait()`` blocks until the run ends; ``run_and_wait()`` does
    both (for notebooks and tests). ``rows`` holds one dict per candidate, keyed (job, index).
    """

    def __init__(self, ws: Workspace | None = None, *, project: str | None = None, plan: PlanPanel | None = None,
                 **request_defaults: Any) -> None:
        if plan is not None:
            ws, project = ws or plan.ws, project or plan.project
        super().__init__(ws, project=project)
        self.plan = plan if plan is not None else PlanPanel(self.ws, project=project, **request_defaults)
        self.task: BackgroundTask | None = None
        self.summary: RunSummary | None = None
        self.rows: dict[tuple[str, int], dict[str, Any]] = {}
        self._listeners: list[Callable[[RunSummary], None]] = []
        self.run_button = button("Run", "kk-run", style="success", tooltip="Start the run in the background")
        self.cancel_button = button("Cancel", "kk-cancel", style="danger",
                                    tooltip="Stop new calls; calls in flight finish and are recorded")
        self.cancel_button.disabled = True
        self.run_button.on_click(self.action(self.start))
        self.cancel_button.on_click(self.action(self.cancel))
        self.progress = widgets.IntProgress(value=0, min=0, max=1, description="Candidates",
                                            bar_style="info")
        self.progress.add_class("kk-progress")
        self.counter = widgets.HTML()
        self.table = widgets.HTML()
        self.table.add_class("kk-run-table")
        self.widget = widgets.VBox([
            self.plan.widget, widgets.HBox([self.run_button, self.cancel_button]),
            widgets.HBox([self.progress, self.counter]), self.status, self.table,
        ])
        self.widget.add_class("kk-run-panel")

    # ------------------------------------------------------------------ actions

    @property
    def running(self) -> bool:
        return self.task is not None and self.task.running

    def start(self) -> BackgroundTask:
        """Start the PlanPanel's request on a background thread and return at once."""
        from kroma_kit.pipeline.execute import execute_run

        if self.running:
            raise RuntimeError("A run is already in progress in this panel; cancel it or wait for it.")
        request = self.plan.request()
        if self.plan.confirmed:
            self._check_confirmed_cost(request)
        confirm = self.plan.use_confirmation()
        self._reset()
        self.set_status(f"Starting {request.stage} run on {request.provider}…")

        def work(cancel: threading.Event, ui: UiDispatcher) -> RunSummary:
            return execute_run(self.ws, request, confirm_spend=confirm, cancel=cancel,
                               on_event=lambda event: ui.post(lambda: self._apply(event)))

        self.task = BackgroundTask(work, on_done=self._finished, on_idle=self._render,
                                   name="kroma-run-panel").start()
        self.run_button.disabled = True
        self.cancel_button.disabled = False
        return self.task

    def wait(self, timeout: float | None = None) -> RunSummary:
        """Block until the started run ends (applying its updates); return its summary."""
        if self.task is None:
            raise RuntimeError("No run started: call start() or run_and_wait().")
        return self.task.wait(timeout)

    def run_and_wait(self, timeout: float | None = None) -> RunSummary:
        """Start the run and block until it ends: the notebook and test face of the Run button."""
        self.start()
        return self.wait(timeout)

    def cancel(self) -> None:
        """Ask the run to stop: no new provider call starts; the run ends ``partial``."""
        if self.task is not None and self.task.running:
            self.task.cancel()
            self.cancel_button.disabled = True
            self.set_status("Cancelling: calls in flight finish and are recorded…", "warn")

    def on_finished(self, listener: Callable[[RunSummary], None]) -> None:
        """Call ``listener(summary)`` on the UI thread after every run that ends with a summary
        (e.g. ``run.on_finished(lambda s: grid.load(s.run_id))``)."""
        self._listeners.append(listener)

    def reload(self) -> None:
        """Follow a project change: the plan form reloads its defaults; the last run's rows go."""
        self.plan.set_project(self.project)
        self._reset()
        self.set_status("")

    def _check_confirmed_cost(self, request: PlanRequest) -> None:
        """The tick was given for the dry run on screen; if the manifest or settings changed since
        (more scenes, another model), the same request may now cost more: ask again."""
        from kroma_kit.pipeline.plan import plan_run

        confirmed = self.plan.dry.estimated_cost_usd if self.plan.dry is not None else 0.0
        now = plan_run(self.ws, request, mode="run").estimated_cost_usd
        if now > confirmed + 1e-9:
            raise SpendError(f"The plan now costs {usd(now)}, more than the {usd(confirmed)} you confirmed "
                             "(the manifest or settings changed): dry-run again and confirm the new cost.")

    # ------------------------------------------------------------------ event handling (UI thread)

    def _reset(self) -> None:
        self.rows = {}
        self.summary = None
        self.run_id = None
        self.progress.value = 0
        self.progress.max = 1
        self.progress.bar_style = "info"
        self.counter.value = ""
        self.table.value = ""

    def _apply(self, event: ev.RunEvent) -> None:
        if isinstance(event, ev.Planned):
            self.run_id = event.run_id
            self.progress.max = max(1, event.candidates_total)
            self.progress.value = event.candidates_total - event.candidates_to_run
            self.set_status(f"Run {event.run_id[:8]}: {event.jobs_total} jobs, {event.candidates_to_run} "
                            f"candidates to generate, estimated {usd(event.estimated_cost_usd)}")
        elif isinstance(event, ev.Started):
            self._row(event)["status"] = "running"
        elif isinstance(event, ev.CandidateDone):
            self._row(event).update(status=event.status, cost_usd=event.cost_usd,
                                    output=event.output or event.error or "")
            self.progress.value = min(self.progress.max, self.progress.value + 1)
        elif isinstance(event, ev.GuardResult):
            self._row(event).update(verdict=event.verdict,
                                    chroma_exceed=(event.rank or {}).get("avg_chroma_exceed"))
        elif isinstance(event, ev.JobDone):
            for (job, index), row in self.rows.items():
                if job == event.job_id:
                    row["winner"] = "★" if index == event.selected_candidate else ""
        elif isinstance(event, ev.Finished):
            ok = event.status == "done"
            self.progress.bar_style = "success" if ok else "warning"
            reason = f" ({event.status_reason})" if event.status_reason else ""
            self.set_status(f"Run {event.run_id[:8]} {event.status}{reason}: {event.jobs_done} jobs done, "
                            f"{event.jobs_failed} failed, cost {usd(event.actual_cost_usd)}", "ok" if ok else "warn")
        elif isinstance(event, ev.Failed):
            self.progress.bar_style = "danger"
            self.set_status(event.error, "error")

    def _row(self, event: ev.Started | ev.CandidateDone | ev.GuardResult) -> dict[str, Any]:
        key = (event.job_id, event.candidate_index)
        if key not in self.rows:
            self.rows[key] = {"job": event.job_id, "candidate": event.candidate_index, "status": "planned",
                              "verdict": None, "chroma_exceed": None, "cost_usd": None, "winner": "",
                              "output": ""}
        return self.rows[key]

    def _render(self) -> None:
        jobs: dict[str, int] = {}
        for job, _index in self.rows:  # jobs in the order the run reached them, not alphabetical
            jobs.setdefault(job, len(jobs))
        ordered = [self.rows[key] for key in sorted(self.rows, key=lambda key: (jobs[key[0]], key[1]))]
        self.table.value = html_table(ordered, ROW_COLUMNS, formats={
            "cost_usd": lambda v: "" if v is None else usd(v),
            "verdict": _verdict_badge,
            "chroma_exceed": lambda v: "" if v is None else f"{float(v):.2f}",
        })
        self.counter.value = f"{self.progress.value}/{self.progress.max}"

    def _finished(self, task: BackgroundTask) -> None:
        self.run_button.disabled = False
        self.cancel_button.disabled = True
        if task.error is not None:
            self.progress.bar_style = "danger"
            hint = " In this panel: dry-run, check the cost, then tick “Confirm spend”." \
                if isinstance(task.error, SpendError) else ""
            self.set_status(describe_error(task.error) + hint, "error")
            return
        self.summary = task.result
        self.run_id = self.summary.run_id
        self.plan.refresh_runs()  # the next stage can start from this run
        for listener in self._listeners:
            try:
                listener(self.summary)
            except Exception as exc:  # noqa: BLE001 - e.g. a grid that could not reload: say so here
                self.show_error(exc)


def _verdict_badge(verdict: Any) -> str:
    if not verdict:
        return ""
    colour = VERDICT_COLOURS.get(str(verdict), "#555")
    return f"<span style='color:{colour};font-weight:bold'>{esc(str(verdict).upper())}</span>"
