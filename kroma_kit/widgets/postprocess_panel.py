"""PostProcessPanel: background removal, upscale and colour on chosen outputs, after the fact.

A run can post-process its winners itself (``pipeline.postprocess`` settings); this panel is for
the other case: the artist picked the panels to keep and now wants cutouts, a print-size upscale
or a colour grade of just those. It lists a run's approved outputs, lets the artist tick steps
and backends, and runs :func:`kroma_kit.postprocess.batch.process_chain` on the selected files in
a background thread, with the project's own post-process configuration
(:func:`kroma_kit.pipeline.postchain.chain_config`) and folders, so every output is a catalog
asset ``derived_from`` its input, as with ``kroma bgremove | upscale | color``. Only free
backends are offered and the paid OpenAI refine is off: this panel never spends money.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from kroma_kit.widgets._common import BackgroundTask, Panel, UiDispatcher, button, html_table, records
from kroma_kit.workspace import Workspace

if TYPE_CHECKING:
    from kroma_kit.postprocess import ChainConfig, ChainResult, StepRecord

RESULT_COLUMNS = ("file", "step", "backend", "output", "ms", "error")


class PostProcessPanel(Panel):
    """Pick outputs (``outputs``: a multi-select of a run's final files), tick steps, run.

    ``select(paths)`` chooses files; ``set_steps(color=True, color_profile="noir", ...)`` sets
    the step controls; ``start()`` / ``wait()`` / ``run_and_wait()`` run the chain on every
    selected file and return one ChainResult per file (also in ``results``).
    """

    def __init__(self, ws: Workspace | None = None, *, project: str | None = None,
                 run_id: str | None = None) -> None:
        from kroma_kit.providers.bg_remove import PAID_BG_BACKENDS, bg_remover_codes
        from kroma_kit.providers.upscale import SCALES, upscaler_codes

        super().__init__(ws, project=project)
        self.task: BackgroundTask | None = None
        self.results: list[ChainResult] = []
        self._rows: list[dict[str, Any]] = []
        self.outputs = widgets.SelectMultiple(description="Outputs", options=[], rows=6,
                                              layout=widgets.Layout(width="95%"))
        self.outputs.add_class("kk-pp-outputs")
        self.bg_remove = widgets.Checkbox(description="Remove background", value=False, indent=False)
        self.bg_backend = widgets.Dropdown(description="with", options=[
            code for code in bg_remover_codes() if code not in PAID_BG_BACKENDS], value="auto")
        self.upscale = widgets.Checkbox(description="Upscale", value=False, indent=False)
        self.upscale_backend = widgets.Dropdown(description="with", options=upscaler_codes(), value="lanczos")
        self.upscale_scale = widgets.Dropdown(description="×", options=list(SCALES), value=2)
        self.color = widgets.Checkbox(description="Colour correct", value=False, indent=False)
        self.color_profile = widgets.Dropdown(description="profile", options=[])
        self.run_button = button("Run post-processing", "kk-pp-run", style="success")
        self.run_button.on_click(self.action(self.start))
        self.progress = widgets.IntProgress(value=0, min=0, max=1, description="Steps")
        self.progress.add_class("kk-pp-progress")
        self.table = widgets.HTML()
        self.table.add_class("kk-pp-table")
        self.widget = widgets.VBox([
            self.outputs,
            widgets.HBox([self.bg_remove, self.bg_backend]),
            widgets.HBox([self.upscale, self.upscale_backend, self.upscale_scale]),
            widgets.HBox([self.color, self.color_profile]),
            self.run_button, self.progress, self.status, self.table,
        ])
        self.widget.add_class("kk-postprocess-panel")
        if project or run_id:
            self.load(run_id)

    # ------------------------------------------------------------------ actions

    def load(self, run_id: str | None = None) -> list[str]:
        """List the approved (winner) files of ``run_id``, or of the project's latest real run."""
        from kroma_kit.analytics import run_detail, runs_table

        if run_id is None:
            runs = [row for row in records(runs_table(self.ws, self.require_project())) if row["mode"] == "run"]
            run_id = runs[0]["run_id"] if runs else None
        self._load_profiles()
        if run_id is None:
            self.outputs.options = []
            self.set_status("No runs yet: nothing to post-process.", "warn")
            return []
        detail = run_detail(self.ws, run_id)
        self.run_id = detail["run"]["run_id"]
        self.project = detail["run"]["project"]
        jobs = [job for job in records(detail["jobs"]) if job.get("final_path")]
        self.outputs.options = [(f"{job['job_key']} · {Path(job['final_path']).name}", job["final_path"])
                                for job in jobs]
        self.outputs.value = ()
        return [job["final_path"] for job in jobs]

    def reload(self) -> None:
        self.load(self.run_id)

    def select(self, paths: list[str] | None = None) -> tuple[str, ...]:
        """Select ``paths`` (every listed output when None)."""
        self.outputs.value = tuple(paths) if paths is not None else tuple(v for _, v in self.outputs.options)
        return self.outputs.value

    def set_steps(self, **values: Any) -> None:
        """Set step controls by name: bg_remove, bg_backend, upscale, upscale_backend,
        upscale_scale, color, color_profile."""
        controls = {"bg_remove": self.bg_remove, "bg_backend": self.bg_backend, "upscale": self.upscale,
                    "upscale_backend": self.upscale_backend, "upscale_scale": self.upscale_scale,
                    "color": self.color, "color_profile": self.color_profile}
        for key, value in values.items():
            if key not in controls:
                raise TypeError(f"unknown step setting {key!r}; expected one of {', '.join(controls)}")
            controls[key].value = value

    def start(self) -> BackgroundTask:
        """Run the ticked steps on every selected output in a background thread."""
        from kroma_kit.errors import KromaError

        files = list(self.outputs.value)
        if not files:
            raise KromaError("Select at least one output to post-process.")
        config = self._chain()
        steps = config.steps()
        if not steps:
            raise KromaError("Tick at least one step (background, upscale or colour).")
        if self.task is not None and self.task.running:
            raise RuntimeError("Post-processing is already running in this panel.")
        self.results, self._rows = [], []
        self.progress.value, self.progress.max, self.progress.bar_style = 0, len(files) * len(steps), "info"
        self.table.value = ""
        self.set_status(f"Post-processing {len(files)} file(s): {' → '.join(steps)}…")

        ws, project = self.ws, self.require_project()

        def work(cancel: threading.Event, ui: UiDispatcher) -> list[ChainResult]:
            from kroma_kit.postprocess.batch import process_chain

            return process_chain(ws, project, files, config, confirm_spend=False, should_stop=cancel.is_set,
                                 on_step=lambda path, record: ui.post(lambda: self._step_done(path, record)))

        self.task = BackgroundTask(work, on_done=self._finished, name="kroma-postprocess").start()
        self.run_button.disabled = True
        return self.task

    def wait(self, timeout: float | None = None) -> list[ChainResult]:
        if self.task is None:
            raise RuntimeError("Nothing started: call start() or run_and_wait().")
        return self.task.wait(timeout)

    def run_and_wait(self, timeout: float | None = None) -> list[ChainResult]:
        self.start()
        return self.wait(timeout)

    # ------------------------------------------------------------------ internals

    def _resolved(self) -> Any:
        from kroma_kit.catalog.projects import get_project
        from kroma_kit.config import resolve_project_settings

        return resolve_project_settings(Path(get_project(self.ws, self.require_project())["root"]))

    def _load_profiles(self) -> None:
        from kroma_kit.pipeline.postchain import chain_config

        config = chain_config(self._resolved())
        profiles = config.profiles()
        self.color_profile.options = sorted(profiles.profiles)
        wanted = config.color_profile or config.postprocess.color.profile
        self.color_profile.value = wanted if wanted in profiles.profiles else profiles.default_profile

    def _chain(self) -> ChainConfig:
        """The ticked steps over the project's chain settings, free backends only."""
        from kroma_kit.pipeline.postchain import chain_config

        config = replace(chain_config(self._resolved()), bg_remove=self.bg_remove.value,
                         upscale=self.upscale.value, color=self.color.value, bg_backends=[self.bg_backend.value],
                         refine_openai=False, upscale_backend=self.upscale_backend.value,
                         upscale_scale=int(self.upscale_scale.value), color_profile=self.color_profile.value,
                         confirm_spend=False)
        config.validate()
        return config

    def _step_done(self, path: str, record: StepRecord) -> None:
        fields = record.fields or {}
        self._rows.append({"file": Path(path).name, "step": record.step,
                           "backend": fields.get("backend") or fields.get("profile") or "",
                           "output": record.output or "", "ms": (record.timings_ms or {}).get("total"),
                           "error": "; ".join(record.errors) or (f"skipped: {record.skipped}" if record.skipped else "")})
        self.progress.value = min(self.progress.max, self.progress.value + 1)
        self.table.value = html_table(self._rows, RESULT_COLUMNS)

    def _finished(self, task: BackgroundTask) -> None:
        self.run_button.disabled = False
        if task.error is not None:
            self.progress.bar_style = "danger"
            self.show_error(task.error)
            return
        self.results = task.result
        failed = [r for r in self.results if not r.ok]
        self.progress.bar_style = "danger" if failed else "success"
        if failed:
            self.set_status(f"{len(failed)} of {len(self.results)} file(s) failed: "
                            f"{failed[0].failed_step}: {failed[0].error}", "error")
        else:
            outputs = ", ".join(Path(r.final_path).name for r in self.results)
            self.set_status(f"Done: {outputs}", "ok")
