"""What the workers of one run (or one resume of it) share: :class:`RunContext`.

It sits below the executor, the candidate worker and the post chain, which all take it, so none
of them imports another to name its type.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
from dataclasses import dataclass, field
from typing import Any

from kroma_kit.config import ProjectSettings
from kroma_kit.pipeline import events as ev
from kroma_kit.pipeline.continuity_step import ContinuityStep
from kroma_kit.pipeline.executor import Executor, ThreadExecutor
from kroma_kit.pipeline.guard import GuardSettings
from kroma_kit.pipeline.plan import build_provider
from kroma_kit.pipeline.plan_model import PlannedJob
from kroma_kit.pipeline.recorder import CatalogRecorder
from kroma_kit.providers.base import ImageProvider
from kroma_kit.providers.spend import SpendGuard
from kroma_kit.storage.runlog_live import RunLog
from kroma_kit.storage.runlog_model import RunLogModel
from kroma_kit.workspace import ProjectLayout, Workspace

# The longest the continuity warm-up waits for the run's first calls to leave: calls the budget
# stops or a cancel never make must not keep the gate cold until the first candidate needs it.
FIRST_CALLS_WAIT_S = 0.25


def candidate_lane(calls_elsewhere: bool) -> contextlib.AbstractContextManager[Any]:
    """The lock a candidate holds while its answer is kept (file and log) and while it is judged
    (guard, continuity gate, settling): one candidate at a time. ``calls_elsewhere``: the workers
    wait for their images elsewhere (a service, a Dask cluster); otherwise there is no lane.

    Why: that work is mostly Python, and under the interpreter lock threads cannot run Python side
    by side anyway. Calls sent together come back together; eight candidates kept and judged
    interleaved all end late, so all eight workers call again late, together, and the next wave
    queues the same way. One at a time, the first answer is done first and its worker calls again
    first, no later than before for the others, and the calls stay staggered, so later waves do
    not queue at all. What runs in native code without the interpreter lock (the provider call,
    decoding the image, the post chain) stays outside. Measured at concurrency 8 against a service
    answering in 300 ms: the run 1.049 -> 1.039 s (medians of 12, docs/scaling.md §4.3).

    Only where the calls happen elsewhere: workers drawing images on this machine (the local
    provider) are busy, not waiting, there is no wave to keep apart, and a lane would only take
    away the native parts of judging that do run side by side (the demo run, 4 workers on 2
    cores: 0.95 s without, 0.98 s with). An interpreter without that lock (free-threaded CPython)
    runs candidates side by side: no lane either."""
    gil_enabled = getattr(sys, "_is_gil_enabled", None)
    if not calls_elsewhere or (gil_enabled is not None and not gil_enabled()):
        return contextlib.nullcontext()
    return threading.Lock()


@dataclass
class RunContext:
    """Everything the workers share for one run (or one resume of it)."""

    ws: Workspace
    project: dict[str, Any]
    layout: ProjectLayout
    log: RunLog
    jobs: list[PlannedJob]
    provider: ImageProvider
    guard_settings: GuardSettings
    settings: ProjectSettings
    archive_replaced: bool
    concurrency: int
    spend: SpendGuard
    events: ev.EventEmitter
    cancel: threading.Event
    grayscale: bool = False
    confirm_spend: bool = False
    executor: Executor = field(default_factory=ThreadExecutor)  # where generate / post chain run
    resumed: bool = False  # a resume: files of this run may be on disk that its log does not know
    recorder: CatalogRecorder = field(init=False)
    _pending: dict[str, int] = field(default_factory=dict, init=False)
    _pending_lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    _refiner: Any = field(default=None, init=False)
    _refiner_lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    _continuity: Any = field(default=None, init=False)
    _continuity_lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    lane: contextlib.AbstractContextManager[Any] = field(init=False)  # see candidate_lane
    _fixed_head: RunLogModel | None = field(default=None, init=False)
    _first_calls: int = field(default=0, init=False)  # calls the continuity warm-up lets leave first
    _calls_made: int = field(default=0, init=False)
    _first_calls_out: threading.Event = field(default_factory=threading.Event, init=False)

    def __post_init__(self) -> None:
        self.recorder = CatalogRecorder(self.ws, self.project, self.log)
        # A paid provider is a remote service; a non-thread executor runs the calls on a cluster.
        self.lane = candidate_lane(self.provider.paid or not isinstance(self.executor, ThreadExecutor))

    def refiner(self) -> Any:
        """The OpenAI provider for the cutout refine, built once per run from the project's
        ``providers.openai`` section (base URL, timeouts, attempts), as the image provider is: a
        gateway set in settings must serve the refine too, not only the generations."""
        with self._refiner_lock:
            if self._refiner is None:
                if getattr(self.provider, "code", None) == "openai":
                    self._refiner = self.provider
                else:
                    self._refiner = build_provider("openai", self.settings)
            return self._refiner

    def fixed_head(self) -> RunLogModel:
        """The run-level fields as the first caller saw them: for those a run never changes
        (project, size, quality, request), read by every candidate. One copy per run instead of
        one per candidate; :meth:`RunLog.head` is for the fields that do change (costs, status)."""
        if self._fixed_head is None:
            self._fixed_head = self.log.head()  # two threads racing here make the same copy
        return self._fixed_head

    def continuity(self) -> ContinuityStep | None:
        """The run's continuity gate, built once (calibrating the project first when needed);
        None when it is off or the project has no references."""
        with self._continuity_lock:
            if self._continuity is None:
                self._continuity = ContinuityStep.for_project(self.ws, self.layout.root, self.settings,
                                                              self.project.get("slug")) or False
            return self._continuity or None

    def warm_continuity(self, first_calls: int) -> threading.Thread:
        """Build the continuity gate and its style references on a background thread, while the
        run's first provider calls are in flight: the first finished candidates (a whole wave of
        them at once when workers run in parallel) then do not queue behind it. A failure here is
        left to the first candidate, which builds the gate again and records what went wrong.

        The thread first lets the run's first ``first_calls`` provider calls leave (see
        :meth:`call_leaving`; at most :data:`FIRST_CALLS_WAIT_S`): building the gate is tens of
        milliseconds of CPU which, under the interpreter lock, held back the sending of those
        calls, and every call of the first wave that leaves late ends late."""
        with self._pending_lock:
            self._first_calls = first_calls
            if self._calls_made >= first_calls:
                self._first_calls_out.set()

        def warm() -> None:
            self._first_calls_out.wait(FIRST_CALLS_WAIT_S)
            try:
                step = self.continuity()
                if step is not None:
                    step.gate.prepare()
            except Exception:  # noqa: BLE001 - the candidate that needs the gate meets it again
                logging.getLogger(__name__).debug("continuity warm-up failed", exc_info=True)

        thread = threading.Thread(target=warm, name="kroma-continuity-warmup", daemon=True)
        thread.start()
        return thread

    def call_leaving(self) -> None:
        """A worker is about to call the provider (counted for :meth:`warm_continuity`)."""
        if self._first_calls_out.is_set():
            return
        with self._pending_lock:
            self._calls_made += 1
            if self._first_calls and self._calls_made >= self._first_calls:
                self._first_calls_out.set()

    @property
    def postprocess_flags(self) -> Any:
        return self.settings.settings.pipeline.postprocess

    def record(self, job_id: str | None = None) -> None:
        """Queue the catalog update for ``job_id`` (None: the whole run); never blocks."""
        self.recorder.record(job_id)
