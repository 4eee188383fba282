"""A run log being written: the live log of a run (or a resume) in one process.

:class:`RunLog` holds the log while its run goes on, changes it only through named methods (what
happened: a candidate settled, a job was ranked, an artist chose a winner) and rewrites the file
atomically after each change, under the run log's cross-process lock. Finished logs are read with
:mod:`kroma_kit.storage.runlog`; the edits themselves are :mod:`kroma_kit.storage.runlog_entries`.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from pydantic import BaseModel

from kroma_kit.clock import utcnow
from kroma_kit.errors import InputError
from kroma_kit.storage.atomic import atomic_write_bytes
from kroma_kit.storage.open_record import OpenRecord
from kroma_kit.storage.runlog import load_run_log, parse_run_log
from kroma_kit.storage.runlog_entries import (
    GENERATION_OPERATION,
    JobSettlement,
    PaidCall,
    actual_cost,
    add_cost_event,
    adopt_overrides,
    apply_settlement,
    apply_winner_choice,
    begin_resume,
    find_candidate,
    find_job,
    reopen_unpaid_failures,
)
from kroma_kit.storage.runlog_lock import run_log_lock
from kroma_kit.storage.runlog_model import CandidateRecord, JobRecord, RunLogModel

__all__ = ["RunLog"]
logger = logging.getLogger(__name__)
Record = TypeVar("Record", bound=OpenRecord)
Viewed = TypeVar("Viewed")
# How long the background writer lets changes gather before it writes them; one more change to
# lose in a crash at most, which a resume recovers (every paid file carries its record).
WRITE_BEHIND_GATHER_S = 0.05


class MirrorCopy(NamedTuple):
    """:meth:`RunLog.mirror_copy`: a typed copy holding the run's fields and some of its jobs,
    with the counts of all of them (what the catalog's ``runs`` row shows)."""

    log: RunLogModel
    jobs_total: int
    jobs_done: int


class RunLog:
    """A run log being written: the typed model (:class:`RunLogModel`), one lock, atomic file writes.

    Callers change it only through named methods (:meth:`set_run`, :meth:`set_candidate`,
    :meth:`settle_job` ...), each a change of the model's fields (validated) and a write, so the
    file on disk is always one consistent snapshot and no caller ever holds the model; reads return
    typed copies (:meth:`job`, :meth:`candidate`, :attr:`model`). While a run's workers go on the
    writes happen behind them (:meth:`start_write_behind`).

    This object is not the only writer of the file: an artist may override a job's winner
    (:mod:`kroma_kit.pipeline.review`) while this process runs or resumes the run. Every write
    therefore happens under the run log's cross-process lock (:mod:`kroma_kit.storage.runlog_lock`)
    and first adopts what another process wrote since this one last wrote (the file's identity
    changed): the artist's choice is merged into memory, never overwritten by a stale copy.
    """

    def __init__(self, path: Path, data: RunLogModel | dict[str, Any]) -> None:
        # A caller's model or data is copied in: the model this object holds is its own.
        self._hold(Path(path), parse_run_log(data.to_dict() if isinstance(data, RunLogModel) else data))

    def _hold(self, path: Path, log: RunLogModel) -> None:
        self.path = path
        # The typed model: changes set its fields through the named methods below; each write
        # serialises it with pydantic-core.
        self._log = log
        self._lock = threading.RLock()  # guards ``_log``
        self._write_lock = threading.Lock()  # one file write at a time, outside the data lock
        self._version = 0
        self._written = 0
        self._writer: threading.Thread | None = None  # the write-behind thread, while a run's workers go on
        self._writer_cond = threading.Condition()
        self._closing = False
        # What this object last wrote or read (inode, times, size). None until then: the data may
        # have been read before another process rewrote the file, so the first write checks it.
        self._disk_stamp: tuple[int, int, int, int] | None = None

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> RunLog:
        """The log at ``path``, read and validated, ready to be changed."""
        log = cls.__new__(cls)
        log._hold(Path(path), load_run_log(path))  # read once and validated: nobody else holds it
        return log

    @property
    def run_id(self) -> str:
        return self._log.run_id

    # ----------------------------------------------------------------- reads (typed copies)

    @property
    def model(self) -> RunLogModel:
        """The log as it is now, as the typed model (a validated copy: read fields from it)."""
        with self._lock:
            return _copy(self._log)

    def read(self, view: Callable[[RunLogModel], Viewed]) -> Viewed:
        """``view(log)`` on the live log, under its data lock, without copying it: for a reader
        that needs a few values of a large log (a whole copy is milliseconds per hundred
        candidates). ``view`` must only read, and return values made from the log, never a part
        of it: a record handed out would go on changing under its holder."""
        with self._lock:
            return view(self._log)

    def head(self) -> RunLogModel:
        """The run-level fields as they are now (``jobs`` and ``cost_events`` left empty): a cheap
        copy for a reader that needs the run's settings, not its growing lists."""
        with self._lock:
            text = _head_json(self._log)
        return RunLogModel.model_validate({**json.loads(text), "jobs": []})

    def job_ids(self) -> list[str]:
        with self._lock:
            return [job.id for job in self._log.jobs]

    def job(self, job_id: str) -> JobRecord:
        """A typed copy of job ``job_id`` as it is now (KeyError when the log has no such job)."""
        with self._lock:
            return _copy(find_job(self._log, job_id))

    def candidate(self, job_id: str, index: int) -> CandidateRecord:
        """A typed copy of candidate ``index`` of job ``job_id`` as it is now."""
        with self._lock:
            return _copy(find_candidate(self._log, job_id, index))

    def current(self) -> dict[str, Any]:
        """A snapshot that includes what another process wrote (see :meth:`adopt_foreign_changes`);
        what a catalog write should mirror."""
        self.adopt_foreign_changes()
        return self.snapshot()

    def current_model(self) -> RunLogModel:
        """:meth:`current` as the typed model: a validated copy made in Rust both ways (no
        Python JSON parse, no validation of Python data), what the catalog mirror reads fields of."""
        self.adopt_foreign_changes()
        return self.model

    def mirror_copy(self, job_ids: Collection[str] | None = None) -> MirrorCopy:
        """What the catalog mirror writes, as one consistent copy taken after adopting another
        process's changes: the run-level fields, the jobs ``job_ids`` (None: all) and their cost
        events, and the run's job counts. Only the named jobs are copied, so a mirror write costs
        what changed, not the whole log (a copy of a 400-candidate log after every candidate was
        most of a long run's mirror time)."""
        self.adopt_foreign_changes()
        with self._lock:
            jobs = self._log.jobs
            total, done = len(jobs), sum(1 for job in jobs if job.status == "done")
            if job_ids is None:
                return MirrorCopy(_copy(self._log), total, done)
            head = _head_json(self._log)
            chosen = [_json(job) for job in jobs if job.id in job_ids]
            events = [_json(event) for event in self._log.cost_events if event.job_id in job_ids]
        separator = b"," if head != b"{}" else b""
        text = (head[:-1] + separator + b'"jobs":[' + b",".join(chosen) + b'],"cost_events":['
                + b",".join(events) + b"]}")
        return MirrorCopy(RunLogModel.model_validate_json(text), total, done)

    def snapshot(self) -> dict[str, Any]:
        """A deep copy of the whole log's JSON data as this process knows it now."""
        with self._lock:
            return json.loads(_json(self._log))

    def job_snapshot(self, job_id: str) -> JobRecord | None:
        """A typed copy of one job as it is now, or None when the log has no such job (the
        catalog ingest's ``current_job``): where its files are at this moment, for a catalog write
        that found a file moved since its snapshot, and the job the mirror writes."""
        with self._lock:
            job = self._log.job(job_id)
            return _copy(job) if job is not None else None

    # ----------------------------------------------------------------- named changes

    def save(self, *, pretty: bool = False) -> None:
        """Write the log as it is (the first write of a run, or of a resume)."""
        self._update(None, pretty=pretty)

    def set_run(self, *, write: bool = True, pretty: bool = False, **fields: Any) -> None:
        """Set run-level fields by name (``status=``, ``status_reason=``, ``finished_at=`` ...)."""
        _check_fields(RunLogModel, fields)
        self._update(lambda log: log.set(**fields), write=write, pretty=pretty)

    def set_job(self, job_id: str, *, write: bool = True, **fields: Any) -> None:
        """Set fields of job ``job_id`` by name (``status=``, ``failure_reason=`` ...)."""
        _check_fields(JobRecord, fields)
        self._update(lambda log: find_job(log, job_id).set(**fields), write=write)

    def start_job(self, job_id: str) -> None:
        """A candidate of job ``job_id`` starts: the job is ``running`` (in memory only; the next
        write carries it, a start is not worth an fsync)."""
        def change(log: RunLogModel) -> None:
            job = find_job(log, job_id)
            if job.status in ("planned", "skipped_budget", "failed"):
                job.set(status="running")
        self._update(change, write=False)

    def set_candidate(self, job_id: str, index: int, *, paid: PaidCall | None = None, write: bool = True,
                      **fields: Any) -> None:
        """Set fields of candidate ``index`` of job ``job_id`` by name and, when ``paid`` is given,
        book that call's cost event in the same write (the money and the candidate never disagree)."""
        _check_fields(CandidateRecord, fields)

        def change(log: RunLogModel) -> None:
            find_candidate(log, job_id, index).set(**fields)
            if paid is not None:
                add_cost_event(log, paid.provider, paid.model, job_id, index, paid.cost_usd, paid.usage,
                               operation=paid.operation)
        self._update(change, write=write)

    def fail_unsettled_candidate(self, job_id: str, index: int, error: str) -> None:
        """Candidate ``index`` crashed (a bug, not a provider failure): ``failed`` with ``error``
        unless it already settled."""
        def change(log: RunLogModel) -> None:
            candidate = find_candidate(log, job_id, index)
            if candidate.status in ("planned", "generated"):
                candidate.set(status="failed", error=error)
        self._update(change)

    def settle_candidate_guard(self, job_id: str, index: int, *, move_failing: Callable[[], str | None] | None = None,
                               add_cost_usd: float = 0.0, **fields: Any) -> CandidateRecord:
        """Record the output guard's verdict on candidate ``index`` (``status=``, ``rank=``,
        ``output_guard=`` ... by name) with ``add_cost_usd`` (its paid post steps) added to its
        cost; returns the settled candidate.

        ``move_failing`` (the move of a failing file to ``archive/bad``) runs here, under the data
        lock, and the path it returns is recorded as the guard's ``bad_archive`` in the same
        change: no snapshot of the log (the catalog mirror's) ever names a place the file has
        already left without saying where it is now."""
        _check_fields(CandidateRecord, fields)

        def change(log: RunLogModel) -> CandidateRecord:
            candidate = find_candidate(log, job_id, index)
            moved = move_failing() if move_failing is not None else None
            if moved and isinstance(fields.get("output_guard"), dict):
                fields["output_guard"] = {**fields["output_guard"], "bad_archive": moved}
            candidate.set(**fields)
            if add_cost_usd:
                candidate.set(cost_usd=round(float(candidate.cost_usd or 0) + add_cost_usd, 6))
            return _copy(candidate)
        # A file that left its target waits for the write that says where it went.
        return self._update(change, sync=move_failing is not None)

    def settle_job(self, job_id: str, settled: JobSettlement) -> JobRecord:
        """Record what ranking decided for job ``job_id`` (see :func:`apply_settlement`: a winner an
        artist chose stays); returns the settled job."""
        def change(log: RunLogModel) -> JobRecord:
            job = find_job(log, job_id)
            apply_settlement(job, settled)
            return _copy(job)
        return self._update(change)

    def settle_run(self, status: str, status_reason: str | None, *, candidates_not_started: int) -> None:
        """The run's final status, written in the seed's 2-space layout."""
        self.set_run(status=status, status_reason=status_reason, finished_at=utcnow(),
                     candidates_not_started=candidates_not_started, pretty=True)

    def choose_winner(self, job_id: str, index: int, review: dict[str, Any], reason: str, *,
                      write: bool = True) -> JobRecord:
        """An artist's choice of candidate ``index`` as job ``job_id``'s winner (``review`` is the
        ``winner_override`` entry; see :func:`apply_winner_choice`); returns the changed job."""
        def change(log: RunLogModel) -> JobRecord:
            job = find_job(log, job_id)
            apply_winner_choice(job, index, review, reason)
            return _copy(job)
        return self._update(change, write=write)

    def reopen_unpaid_failures(self) -> None:
        """Resume: failed candidates that cost nothing are ``planned`` again (see
        :func:`reopen_unpaid_failures`); in memory, the resume's first write carries it."""
        self._update(reopen_unpaid_failures, write=False)

    def begin_resume(self, *, pid: int, host: str, process_start: str | None, budgets: dict[str, Any],
                     concurrency: int) -> None:
        """The run goes on in this process (see :func:`begin_resume`): the resume's first write."""
        self._update(lambda log: begin_resume(log, pid=pid, host=host, process_start=process_start,
                                               budgets=budgets, concurrency=concurrency))

    def record_cost(self, provider: str, model: str | None, job_id: str, index: int, cost: float,
                    usage: dict[str, Any], *, operation: str = GENERATION_OPERATION) -> None:
        """Append a paid call's cost event once (see :func:`add_cost_event`) and write."""
        self._update(lambda log: add_cost_event(log, provider, model, job_id, index, cost, usage,
                                                 operation=operation))

    # ----------------------------------------------------------------- the write

    def _update(self, change: Callable[[RunLogModel], Any] | None = None, *, write: bool = True,
                pretty: bool = False, sync: bool = False) -> Any:
        """Apply ``change`` to the model and write the file atomically. While the run is going the
        JSON is compact (pydantic-core's serializer, in Rust: a growing log rewritten after every
        candidate must stay cheap); ``pretty=True`` (the final write) gives the seed's 2-space
        layout. ``write=False`` only changes memory, for states not worth an fsync (a job starting).
        Under write-behind (:meth:`start_write_behind`) the change returns once it is in memory,
        unless ``sync`` or ``pretty`` asks to wait for the write."""
        with self._lock:
            result = change(self._log) if change is not None else None
            if not write:
                return result
            self._log.set(updated_at=utcnow(), actual_cost_usd=actual_cost(self._log))
            self._version += 1
            mine = self._version
        if self._writer is not None and not (sync or pretty):
            with self._writer_cond:
                self._writer_cond.notify()
            return result
        self._write(mine, pretty=pretty)
        return result

    def _write(self, mine: int, *, pretty: bool = False) -> None:
        """Write the newest state unless a write that includes version ``mine`` is on disk. The
        fsync happens outside the data lock so other workers keep going; writes are serialised
        and coalesced: whoever writes takes the newest state."""
        with self._write_lock:
            if self._written >= mine and not pretty:
                return
            with run_log_lock(self.path):
                self._adopt_foreign()
                with self._lock:
                    version = self._version
                    data = _json(self._log, indent=2) + b"\n" if pretty else _json(self._log)
                atomic_write_bytes(self.path, data)
                self._disk_stamp = _stamp(self.path)
            self._written = version

    # ----------------------------------------------------------------- write-behind

    def start_write_behind(self) -> None:
        """While a run's workers go on, changes return once they are in memory and one background
        thread writes the newest snapshot, again and again while changes come: no worker waits
        on an fsync (eight of them queueing on the log's writes were the serial part of a run).
        The writer lets the changes of a burst gather (``WRITE_BEHIND_GATHER_S``) and writes
        them at once: fewer fsyncs queueing with the workers' own.

        Still true: each write is one consistent snapshot, atomic, under the cross-process lock,
        after adopting an artist's override. A crash loses at most the changes not yet written,
        and the run resumes: every candidate's file carries its embedded record (a resume adopts
        it instead of paying again). A change that moves a file away from where the written log
        says it is (a guard failure archived) waits for its write (``sync``)."""
        with self._writer_cond:
            if self._writer is None:
                self._closing = False
                self._writer = threading.Thread(target=self._write_behind, name="kroma-runlog", daemon=True)
                self._writer.start()

    def stop_write_behind(self, *, flush: bool = True) -> None:
        """Write what is pending and stop the background writer; from now on every change waits
        for its write again. Raises what that last write raises. ``flush=False`` leaves what is
        pending to the caller's next change, which writes it (a run settling right after: one
        atomic write and its fsyncs instead of two back to back)."""
        with self._writer_cond:
            thread, self._closing = self._writer, True
            self._writer_cond.notify_all()
        if thread is not None:
            thread.join()
        self._writer = None
        if flush:
            self._write(self._version)

    def _write_behind(self) -> None:
        while True:
            with self._writer_cond:
                while self._written >= self._version and not self._closing:
                    self._writer_cond.wait()
                if self._closing:
                    return  # stop_write_behind writes what is pending, in its caller's thread
                # Gather the burst of changes that follows before writing: each write is two
                # fsyncs, and while workers run side by side those queue with the fsyncs of the
                # workers' own image files (8 workers: ~5 ms an fsync instead of <1 ms).
                deadline = time.monotonic() + WRITE_BEHIND_GATHER_S
                while not self._closing and (left := deadline - time.monotonic()) > 0:
                    self._writer_cond.wait(timeout=left)
                if self._closing:
                    return
            try:
                self._write(self._version)
            except Exception:  # noqa: BLE001 - the writer must not die silently; the next write retries
                logger.warning("run log %s: background write failed; writes wait for the file again",
                               self.path, exc_info=True)
                self._writer = None  # later changes write themselves (and raise to their caller)
                return

    def adopt_foreign_changes(self) -> bool:
        """Merge into memory what another process wrote to the file since this object last wrote
        or read it (an artist's winner override). True when something was taken."""
        with run_log_lock(self.path):
            return self._adopt_foreign()

    def _adopt_foreign(self) -> bool:
        stamp = _stamp(self.path)
        if stamp is None or stamp == self._disk_stamp:
            return False
        try:
            disk = load_run_log(self.path)
        except InputError:
            return False  # not ours to repair: the next write replaces it
        with self._lock:
            changed = adopt_overrides(self._log, disk)
        self._disk_stamp = stamp
        return changed


def _check_fields(model: type[BaseModel], fields: dict[str, Any]) -> None:
    """A named update may only set fields the model names: a typo must fail, not add a key."""
    unknown = sorted(set(fields) - set(model.model_fields))
    if unknown:
        raise KeyError(f"{model.__name__} has no field {', '.join(unknown)}")


def _stamp(path: Path) -> tuple[int, int, int, int] | None:
    """The identity of the file now at ``path``: every atomic replace changes it."""
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_ino, info.st_mtime_ns, info.st_ctime_ns, info.st_size


def _json(record: OpenRecord, indent: int | None = None) -> bytes:
    """The record as UTF-8 JSON with exactly the keys it holds (no defaults added), by
    pydantic-core's serializer (Rust: no Python encoder walks the growing log)."""
    return record.to_json_bytes() if indent is None else \
        type(record).__pydantic_serializer__.to_json(record, indent=indent, exclude_unset=True)


def _head_json(log: RunLogModel) -> bytes:
    """The run-level fields as JSON: the log without its growing lists (``jobs``, ``cost_events``)."""
    return type(log).__pydantic_serializer__.to_json(log, exclude_unset=True, exclude={"jobs", "cost_events"})


def _copy(record: Record) -> Record:
    """An independent typed copy of ``record`` (through JSON, both ways in Rust)."""
    return type(record).model_validate_json(_json(record))
