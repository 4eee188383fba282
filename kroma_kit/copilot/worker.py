"""The instruction worker: reserve, run, record; never leave an instruction stuck.

Each loop first takes back instructions whose worker is gone (a lock older than
``max_locked_seconds``, or a worker process on this host that no longer exists: SIGKILL leaves no
chance to clean up), then reserves the next queued one (priority, then age) in one
``BEGIN IMMEDIATE``. While an instruction runs, a heartbeat thread refreshes the lock and turns a
cancel request into the executor's cancel event. The instruction runs in-process through the same
functions as the CLI (:mod:`.executors`), or is handed to an external agent (:mod:`.dispatch`).
Results and errors are events; when an instruction ends, its chat gets an assistant message.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from kroma_kit.catalog import chat
from kroma_kit.catalog import instruction_queue as queue
from kroma_kit.catalog import instructions as ins
from kroma_kit.catalog.projects import get_project
from kroma_kit.copilot.context import ProjectContext
from kroma_kit.copilot.dispatch import AgentTarget, agent_target, dispatch, full_envelope
from kroma_kit.copilot.executors import Canceled, MissingCapability, Outcome, StepContext, executor_for
from kroma_kit.errors import KromaError, NotFoundError, ProviderError
from kroma_kit.providers.http import RetryPolicy
from kroma_kit.workspace import Workspace


@dataclass
class WorkerOptions:
    """``kroma worker`` options (seed names and defaults, kroma-behavior.md §7.1)."""

    once: bool = False          # process at most one instruction, then exit
    drain: bool = False         # process until the queue is empty, then exit
    project: str | None = None
    poll_interval_s: float = 2.0
    max_locked_seconds: float = 120.0
    max_attempts: int | None = None   # default: the instruction's own, else copilot.worker_max_attempts
    retry_backoff_s: float = 10.0
    dispatch_retries: int = 2         # extra HTTP tries per attempt when dispatching to an agent API
    dispatch_backoff_s: float = 1.5
    worker_id: str = field(default_factory=lambda: new_worker_id())


@dataclass
class WorkerStats:
    processed: int = 0
    done: int = 0
    failed: int = 0
    canceled: int = 0
    retried: int = 0
    reclaimed: int = 0


def new_worker_id() -> str:
    """``host:pid:random``: the host and pid let another worker tell that this one died."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def owner_is_dead(owner: str) -> bool:
    """True when ``owner`` is a worker id of this host whose process no longer exists."""
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    try:  # a zombie (killed, not yet reaped by its parent) is dead too
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rpartition(")")[2].split()[0] == "Z"
    except OSError:
        return False


def run_worker(ws: Workspace, options: WorkerOptions, *, stop: threading.Event | None = None,
               on_finish: Callable[[ins.Instruction], None] | None = None) -> WorkerStats:
    """The loop behind ``kroma worker``. Returns when ``once``/``drain`` say so or ``stop`` is set."""
    stop = stop or threading.Event()
    stats = WorkerStats()
    project_id = get_project(ws, options.project)["id"] if options.project else None
    while not stop.is_set():
        stats.reclaimed += len(queue.reclaim_stale(ws, max_locked_seconds=options.max_locked_seconds,
                                                 is_dead=owner_is_dead,
                                                 default_max_attempts=options.max_attempts or
                                                 ins.DEFAULT_MAX_ATTEMPTS))
        item = queue.reserve_next(ws, options.worker_id, project_id=project_id)
        if item is None:
            if options.once or options.drain:
                break
            stop.wait(options.poll_interval_s)
            continue
        final = process(ws, item, options, stats)
        if on_finish is not None and final is not None:
            on_finish(final)
        if options.once:
            break
    return stats


def process(ws: Workspace, item: ins.Instruction, options: WorkerOptions,
            stats: WorkerStats | None = None) -> ins.Instruction | None:
    """Run one reserved instruction to an end (or a scheduled retry) and record it."""
    stats = stats or WorkerStats()
    stats.processed += 1
    cancel = threading.Event()
    lost = threading.Event()
    beating = threading.Event()
    beat = threading.Thread(target=_heartbeat, args=(ws, item.id, options, cancel, lost, beating), daemon=True)
    beat.start()
    limit = options.max_attempts or item.max_attempts or ins.DEFAULT_MAX_ATTEMPTS
    try:
        outcome = _execute(ws, item, options, cancel)
    except Canceled:
        outcome = Outcome("Stopped on request before it finished.", status="canceled")
    except (MissingCapability, NotFoundError) as exc:
        outcome = Outcome(str(exc), status="failed")
    except ProviderError as exc:
        if exc.retryable and item.attempts < limit:
            beating.set()
            beat.join()
            stats.retried += 1
            delay = options.retry_backoff_s * item.attempts
            message = str(exc)
            return _guarded(lambda: queue.retry_later(ws, item.id, options.worker_id, message, delay))
        outcome = Outcome(str(exc), status="failed")
    except KromaError as exc:
        outcome = Outcome(str(exc), status="failed")
    except Exception as exc:  # noqa: BLE001 - a bug in one executor must not kill the worker
        outcome = Outcome(f"internal error: {type(exc).__name__}: {exc}", status="failed")
    finally:
        beating.set()
        beat.join()
    if lost.is_set():
        return None
    error = outcome.message if outcome.status == "failed" else None
    final = _guarded(lambda: queue.finish_instruction(ws, item.id, options.worker_id, outcome.status,
                                                    message=outcome.message, result=outcome.result, error=error))
    if final is None:
        return None
    setattr(stats, outcome.status, getattr(stats, outcome.status) + 1)
    if final.session_id:
        chat.add_message(ws, final.session_id, "assistant",
                         f"Instruction {final.id[:8]} ({final.action}) {final.status}: {outcome.message}",
                         data={"instruction_id": final.id, "status": final.status, "result": outcome.result})
    return final


def _guarded(write: Callable[[], ins.Instruction]) -> ins.Instruction | None:
    """A final write that finds the lock gone (taken back meanwhile) records nothing."""
    try:
        return write()
    except queue.LockLost:
        return None


def _execute(ws: Workspace, item: ins.Instruction, options: WorkerOptions, cancel: threading.Event) -> Outcome:
    ctx = ProjectContext.load(ws, item.payload.get("project_slug") or _slug(ws, item.project_id))
    if ctx.project_id != item.project_id:
        raise NotFoundError(f"Instruction {item.id[:8]} names project {ctx.slug}, which is not the project it "
                            "belongs to; refused (project scope).")
    target: AgentTarget | None = agent_target(ctx.settings.agent_api_url)
    if target is not None:
        policy = RetryPolicy(max_attempts=options.dispatch_retries + 1, base_delay_s=options.dispatch_backoff_s)
        result = dispatch(target, full_envelope(item, ctx.slug), policy=policy)
        queue.record_step(ws, item.id, options.worker_id, "dispatched", message=f"agent answered {result.remote_status}",
                        payload={"http_status": result.http_status, "attempts": result.attempts})
        return Outcome(f"agent {result.remote_status}: {result.message}",
                       {"remote_status": result.remote_status, "response": result.response}, status=result.status)
    executor = executor_for(item)
    return executor(StepContext(ws, item, ctx, options.worker_id, cancel))


def _slug(ws: Workspace, project_id: str) -> str:
    from kroma_kit.catalog.projects import list_projects

    for project in list_projects(ws, include_archived=True):
        if project["id"] == project_id:
            return str(project["slug"])
    raise NotFoundError(f"The instruction's project {project_id} no longer exists.")


def _heartbeat(ws: Workspace, instruction_id: str, options: WorkerOptions, cancel: threading.Event,
               lost: threading.Event, done: threading.Event) -> None:
    interval = max(0.2, min(5.0, options.max_locked_seconds / 4))
    while not done.wait(interval):
        try:
            if queue.heartbeat(ws, instruction_id, options.worker_id):
                cancel.set()
        except queue.LockLost:
            lost.set()
            cancel.set()
            return
        except Exception:  # noqa: BLE001 - a busy catalog must not stop the work; the next beat retries
            time.sleep(0)
