"""Long work started by the API: a run goes on a background thread of the server and the request
answers at once with its run id; progress is read from the run routes (the catalog rows and the
run log are written as candidates finish). The seed ran the pipeline inside the request and held it
open for the whole run (kroma-behavior.md §10 #26).

Everything goes through :meth:`RunLauncher.start` (:meth:`~RunLauncher.launch` a new run,
:meth:`~RunLauncher.resume` a stopped one), the one place a later worker process takes over.
Validation and the spend rules run before the id is returned: bad input, an unconfirmed paid run
or a colliding run are refused as errors of the request, and nothing is written for them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kroma_kit.catalog.projects import project_layout
from kroma_kit.characters.generation import CharacterRunRequest, generate_character_images
from kroma_kit.errors import KromaError
from kroma_kit.pipeline.events import Planned, RunEvent
from kroma_kit.pipeline.execute import execute_run
from kroma_kit.pipeline.plan_model import PlanRequest
from kroma_kit.pipeline.resume import resume_run
from kroma_kit.workspace import Workspace

log = logging.getLogger("kroma_kit.server.runs")
START_TIMEOUT_S = 300.0


def confined_refs(ws: Workspace, slug: str, refs: list[str] | None) -> list[str] | None:
    """Ref paths sent over HTTP, each resolved inside the project root (absolute paths elsewhere
    and ``..`` climbing out are refused), as paths relative to the root."""
    if refs is None:
        return None
    layout = project_layout(ws, slug)
    return [layout.relative(layout.inside(ref)) for ref in refs]


@dataclass
class _Started:
    ready: threading.Event = field(default_factory=threading.Event)
    planned: Planned | None = None
    error: BaseException | None = None

    @property
    def run_id(self) -> str | None:
        return self.planned.run_id if self.planned else None


class RunLauncher:
    """The runs this server started: each on its own thread with a cancel switch, so a shutdown
    stops new provider calls and lets the runs end ``partial`` (resumable) instead of dying."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runs: dict[str, tuple[threading.Thread, threading.Event]] = {}

    def launch(self, ws: Workspace, request: PlanRequest, *, confirm_spend: bool = False,
               concurrency: int | None = None) -> Planned:
        """Start a new run of ``request`` (see :meth:`start`)."""
        return self.start(lambda on_event, cancel: execute_run(
            ws, request, confirm_spend=confirm_spend, concurrency=concurrency, on_event=on_event, cancel=cancel),
            label=request.project)

    def resume(self, ws: Workspace, run_id: str, *, confirm_spend: bool = False,
               concurrency: int | None = None) -> Planned:
        """Finish a partial, interrupted or failed run under its own id (see :meth:`start`)."""
        return self.start(lambda on_event, cancel: resume_run(
            ws, run_id, confirm_spend=confirm_spend, concurrency=concurrency, on_event=on_event, cancel=cancel),
            label=run_id)

    def generate_character(self, ws: Workspace, request: CharacterRunRequest, *,
                           confirm_spend: bool = False) -> Planned:
        """Start a character image run (reference, 360° set or scene image; see :meth:`start`):
        the images are recorded on the character when the run ends."""
        return self.start(lambda on_event, cancel: generate_character_images(
            ws, request, confirm_spend=confirm_spend, on_event=on_event, cancel=cancel),
            label=f"{request.project}-{request.code}")

    def start(self, run: Callable[[Callable[[RunEvent], None], threading.Event], Any], *, label: str) -> Planned:
        """Call ``run(on_event, cancel)`` on a new thread; return its ``Planned`` event (run id,
        jobs, estimated cost) once the run is planned and its run log and catalog row exist. An
        error raised before that (bad input, spend refused) is raised here instead."""
        started = _Started()
        cancel = threading.Event()

        def on_event(event: RunEvent) -> None:
            if isinstance(event, Planned) and not started.ready.is_set():
                started.planned = event
                started.ready.set()

        def work() -> None:
            try:
                run(on_event, cancel)
            except BaseException as exc:  # noqa: BLE001 - reported to the request, or logged
                if not started.ready.is_set():
                    started.error = exc
                    started.ready.set()
                elif not isinstance(exc, KromaError):
                    log.exception("run %s failed", started.run_id)
            finally:
                with self._lock:
                    self._runs.pop(started.run_id or "", None)

        thread = threading.Thread(target=work, name=f"kroma-run-{label}", daemon=True)
        thread.start()
        if not started.ready.wait(START_TIMEOUT_S):
            cancel.set()
            raise KromaError(f"The run ({label}) did not start within {START_TIMEOUT_S:.0f} s; it was cancelled.")
        if started.error is not None:
            raise started.error
        assert started.planned is not None
        with self._lock:
            if thread.is_alive():
                self._runs[started.planned.run_id] = (thread, cancel)
        return started.planned

    def active(self) -> list[str]:
        with self._lock:
            return sorted(run_id for run_id, (thread, _) in self._runs.items() if thread.is_alive())

    def shutdown(self, timeout: float = 60.0) -> None:
        """Cancel every run still going (calls in flight finish and are recorded) and wait."""
        with self._lock:
            runs = list(self._runs.values())
        for _, cancel in runs:
            cancel.set()
        for thread, _ in runs:
            thread.join(timeout)
