"""PlanPanel: what a run would do and cost, before anything is spent (the twin of `kroma dry`).

Money is guarded twice (ARCHITECTURE decision 7): the pipeline refuses a paid run without
``confirm_spend``, and this panel only lets the artist tick "confirm spend" after a dry run has
shown the estimate for exactly the request on screen. Any change to the form clears both the
plan and the confirmation, so a tick given for $0.40 never carries over to a $4.00 request.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from kroma_kit.config import STAGES, TIMES, WEATHERS
from kroma_kit.widgets._common import Panel, button, esc, html_table, records, usd
from kroma_kit.workspace import Workspace

if TYPE_CHECKING:
    from kroma_kit.pipeline.plan_model import PlanRequest
    from kroma_kit.pipeline.summary import RunSummary

NO_RUN = ("(manifest scenes)", "")  # "" not None: a Dropdown treats value None as "nothing selected"


class PlanPanel(Panel):
    """The run request form, the dry-run table (estimated cost per job and total) and the
    spend confirmation. ``run_dry()`` dry-runs; ``request()`` is the PlanRequest on screen;
    ``confirmed`` says whether the artist confirmed spending for the dry run shown."""

    def __init__(self, ws: Workspace | None = None, *, project: str | None = None, stage: str = "style",
                 time: str = "day", weather: str = "clear", candidates: int | None = None,
                 provider: str | None = None, from_run: str | None = None) -> None:
        super().__init__(ws, project=project)
        self.dry: RunSummary | None = None  # the dry run on screen
        self.paid = False
        self._quiet = False
        self.stage = widgets.Dropdown(description="Stage", options=list(STAGES), value=stage)
        self.time = widgets.Dropdown(description="Time", options=list(TIMES), value=time)
        self.weather = widgets.Dropdown(description="Weather", options=list(WEATHERS), value=weather)
        self.candidates = widgets.BoundedIntText(description="Candidates", min=1, max=64, value=1)
        self.provider = widgets.Dropdown(description="Provider", options=[])
        self.from_run = widgets.Dropdown(description="From run", options=[NO_RUN], value="")
        self.allow_many = widgets.Checkbox(description="Allow more candidates than the cap", value=False,
                                           indent=False)
        # Off = --no-cache: make every candidate again even where the stage cache holds it unchanged.
        self.use_cache = widgets.Checkbox(description="Reuse unchanged candidates (stage cache: free, instant)",
                                          value=True, indent=False)
        self.use_cache.add_class("kk-use-cache")
        self.dry_button = button("Dry run", "kk-dry", style="info", tooltip="Plan jobs and cost; no call is made")
        self.dry_button.on_click(self.action(self.run_dry))
        self.table = widgets.HTML()
        self.table.add_class("kk-plan-table")
        self.total = widgets.HTML()
        self.total.add_class("kk-plan-total")
        self.confirm = widgets.Checkbox(description="Confirm spend (dry-run a paid provider first)", value=False,
                                        disabled=True, indent=False)
        self.confirm.add_class("kk-confirm")
        self._form = [self.stage, self.time, self.weather, self.candidates, self.provider, self.from_run,
                      self.allow_many]
        self.widget = widgets.VBox([
            widgets.HBox([self.stage, self.time, self.weather]),
            widgets.HBox([self.candidates, self.provider, self.from_run]),
            self.allow_many, self.use_cache, self.dry_button, self.table, self.total, self.confirm, self.status,
        ])
        self.widget.add_class("kk-plan-panel")
        if project:
            self.load_defaults(candidates=candidates, provider=provider, from_run=from_run)
        for control in self._form:
            control.observe(self._form_changed, names="value")

    # ------------------------------------------------------------------ state

    @property
    def confirmed(self) -> bool:
        """True only when the artist ticked "confirm spend" for the plan on screen."""
        return bool(self.confirm.value) and self.dry is not None

    def request(self) -> PlanRequest:
        """The PlanRequest the form describes."""
        from kroma_kit.pipeline.plan_model import PlanRequest

        return PlanRequest(project=self.require_project(), stage=self.stage.value, time=self.time.value,
                           weather=self.weather.value, candidates=int(self.candidates.value),
                           provider=self.provider.value, from_run=self.from_run.value or None,
                           allow_many_candidates=bool(self.allow_many.value),
                           no_cache=not bool(self.use_cache.value))

    def set_request(self, **values: Any) -> None:
        """Set form fields by name (stage, time, weather, candidates, provider, from_run)."""
        controls = {"stage": self.stage, "time": self.time, "weather": self.weather,
                    "candidates": self.candidates, "provider": self.provider, "from_run": self.from_run,
                    "allow_many_candidates": self.allow_many, "use_cache": self.use_cache}
        for key, value in values.items():
            if key not in controls:
                raise TypeError(f"unknown request field {key!r}; expected one of {', '.join(controls)}")
            if key == "from_run":
                if value:
                    self.refresh_runs(include=value)
                value = value or ""
            controls[key].value = value

    def load_defaults(self, *, candidates: int | None = None, provider: str | None = None,
                      from_run: str | None = None) -> None:
        """Fill provider and candidates from the project's settings and manifest."""
        from kroma_kit.catalog.projects import get_project
        from kroma_kit.config import resolve_project_settings
        from kroma_kit.providers.base import image_provider_codes

        resolved = resolve_project_settings(Path(get_project(self.ws, self.require_project())["root"]))
        self.provider.options = image_provider_codes()
        self.provider.value = provider or resolved.settings.pipeline.provider
        self.candidates.value = candidates or resolved.manifest.generation.candidates
        self.refresh_runs(include=from_run)
        self.from_run.value = from_run or ""

    def reload(self) -> None:
        self.load_defaults()

    def use_confirmation(self) -> bool:
        """Hand the tick to one run and clear it: a second click on Run must be confirmed again,
        so one confirmation never pays for two runs."""
        confirmed = self.confirmed
        self.confirm.value = False
        return confirmed

    def refresh_runs(self, include: str | None = None) -> None:
        """List the project's finished runs as "from run" choices (for the next stage)."""
        from kroma_kit.analytics import runs_table

        rows = [row for row in records(runs_table(self.ws, self.require_project()))
                if row.get("mode") == "run" and row.get("status") in ("done", "partial")]
        options: list[tuple[str, str]] = [NO_RUN]
        options += [(f"{row['stage']} {row.get('time_of_day') or ''} {row.get('weather') or ''} · "
                     f"{str(row['run_id'])[:8]} · {row.get('created_at') or ''}", row["run_id"]) for row in rows]
        if include and include not in [value for _, value in options]:
            options.append((include, include))
        current = self.from_run.value
        self._quiet = True  # new choices are not a new request: keep the dry run and the tick
        try:
            self.from_run.options = options
            self.from_run.value = current if current in [value for _, value in options] else ""
        finally:
            self._quiet = False

    # ------------------------------------------------------------------ actions

    def run_dry(self) -> RunSummary:
        """Dry-run the request: the pipeline plans it and records a ``dry`` run (run log and
        catalog row, every job ``planned``) without calling anything. Shows jobs, the estimated
        cost per job and in total, and unlocks "confirm spend" when the provider is paid."""
        from kroma_kit.pipeline.execute import dry_run
        from kroma_kit.storage.runlog import load_run_log

        self._clear_plan()
        summary = dry_run(self.ws, self.request())
        log = load_run_log(summary.run_log_path)
        self.dry, self.paid = summary, bool(log.paid)
        rows = [{"job": job.id, "scene": (job.input_images or [""])[0],
                 "candidates": len(job.candidates), "estimated_cost_usd": job.estimated_cost_usd}
                for job in log.jobs]
        self.table.value = html_table(rows, formats={"estimated_cost_usd": usd})
        provider, model = log.provider, log.model
        self.total.value = (
            f"<b>Total: {usd(summary.estimated_cost_usd)}</b> for {summary.jobs_total} jobs, "
            f"{summary.candidates_total} provider calls · <code>{esc(provider)}</code> "
            f"({'paid' if self.paid else 'free'})" + (f" · model <code>{esc(model)}</code>" if model else "")
            + "".join(f"<br><span style='color:#9a6700'>⚠ {esc(w)}</span>" for w in summary.warnings))
        self.confirm.disabled = not self.paid
        self.confirm.description = (f"Confirm spending up to {usd(summary.estimated_cost_usd)} on {provider}"
                                    if self.paid else "No spend: this provider is free")
        self.set_status(f"Dry run {summary.run_id[:8]}: {summary.jobs_total} jobs planned; nothing was called "
                        "or spent.", "ok")
        return summary

    # ------------------------------------------------------------------ internals

    def _clear_plan(self) -> None:
        self.dry = None
        self.paid = False
        self.confirm.value = False
        self.confirm.disabled = True
        self.confirm.description = "Confirm spend (dry-run a paid provider first)"

    def _form_changed(self, _change: dict[str, Any]) -> None:
        if self.dry is not None and not self._quiet:
            self._clear_plan()
            self.table.value = ""
            self.total.value = ""
            self.set_status("The request changed: dry-run again to see the plan and its cost.", "warn")
