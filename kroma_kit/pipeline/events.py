"""One progress event stream for a run (ARCHITECTURE decision 9).

The executor reports what happens as plain dataclasses; the CLI turns them into a tqdm bar, a
notebook panel into widgets, a test into a list. There is exactly one stream so every face sees
the same run: planned -> started / candidate_done / guard_result (per candidate) -> job_done (per
job) -> finished, or failed when the run itself broke.

Threading: events are emitted from the executor's worker threads. :class:`EventEmitter`
serialises the calls with a lock, so a callback never runs twice at once and need not be
thread-safe itself, but it runs on a worker thread: keep it quick, and hand anything that must
happen on a UI thread over to that thread. A callback that raises is logged and ignored: a
broken progress bar must never stop (or be blamed for) a paid run.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from kroma_kit.catalog.db import utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunEvent:
    """Base of every event: which run, and when (ISO UTC)."""

    run_id: str
    at: str = field(default_factory=utcnow, kw_only=True)

    kind = "event"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, **asdict(self)}


@dataclass(frozen=True)
class Planned(RunEvent):
    """The run is about to start: how much work and money it is expected to take."""

    project: str
    jobs_total: int
    candidates_total: int
    candidates_to_run: int
    estimated_cost_usd: float
    run_log_path: str
    kind = "planned"


@dataclass(frozen=True)
class Started(RunEvent):
    """One candidate's provider call is starting (after the spend guard let it through)."""

    job_id: str
    candidate_index: int
    kind = "started"


@dataclass(frozen=True)
class CandidateDone(RunEvent):
    """One candidate finished: ``status`` is generated/done/failed_output_guard/failed."""

    job_id: str
    candidate_index: int
    status: str
    output: str | None
    cost_usd: float
    error: str | None = None
    reused: bool = False  # resumed: the file was already on disk and paid for
    kind = "candidate_done"


@dataclass(frozen=True)
class GuardResult(RunEvent):
    """The output guard's verdict on a candidate's final file."""

    job_id: str
    candidate_index: int
    verdict: str  # pass | warn | fail | skipped
    rank: dict[str, Any]
    checked_input: str | None
    kind = "guard_result"


@dataclass(frozen=True)
class JobDone(RunEvent):
    """A job is settled: winner picked (``done``), or failed, or skipped by the budget."""

    job_id: str
    status: str
    selected_candidate: int | None
    final_output: str | None
    reason: str | None
    kind = "job_done"


@dataclass(frozen=True)
class Finished(RunEvent):
    """The run ended (done, failed, partial) and its log and catalog rows are final."""

    status: str
    status_reason: str | None
    jobs_done: int
    jobs_failed: int
    actual_cost_usd: float
    kind = "finished"


@dataclass(frozen=True)
class Failed(RunEvent):
    """The run itself broke (not a provider error: those fail one candidate). The run log is
    still written with status ``failed`` before this is sent."""

    error: str
    kind = "failed"


EventCallback = Callable[[RunEvent], None]


class EventEmitter:
    """Deliver events to one optional callback, one at a time, never raising."""

    def __init__(self, callback: EventCallback | None = None) -> None:
        self._callback = callback
        self._lock = threading.Lock()

    def emit(self, event: RunEvent) -> None:
        if self._callback is None:
            return
        with self._lock:
            try:
                self._callback(event)
            except Exception:  # noqa: BLE001 - a progress consumer must not break a run
                log.exception("progress callback failed on %s event; ignored", event.kind)


class EventRecorder:
    """A callback that keeps every event (for tests, notebooks and post-mortems)."""

    def __init__(self) -> None:
        self.events: list[RunEvent] = []

    def __call__(self, event: RunEvent) -> None:
        self.events.append(event)

    def kinds(self) -> list[str]:
        return [event.kind for event in self.events]

    def of(self, kind: str) -> list[RunEvent]:
        return [event for event in self.events if event.kind == kind]
