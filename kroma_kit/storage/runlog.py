"""The run log file: ``<project_root>/runs/<run_id>.json``, the reproducibility artifact of a run.

It is written when the run starts (status ``running``, pid, host) and rewritten atomically (temp
file, fsync, rename) every time a candidate or job settles, so a crash at any moment leaves a
valid log that says exactly what was paid for and which files exist. Everything needed to replay
the run is in it: the resolved settings and manifest (with its hash), prompts, inputs, provider,
model and parameters, seeds, every candidate with its QA and rank, the winner and why, post
steps, costs, timings, errors and every retry. No secret is ever written (keys live in the
environment and never enter settings).

The keys follow the seed's log (kroma-behavior.md §5.1) so old tooling can read it; what the seed
lacked is added (``schema_version``, ``run_id``, ``status``/``status_reason``, timestamps, pid/host,
``settings_snapshot``, ``manifest``/``manifest_hash``, budgets, costs, per-candidate seed, sha256,
attempts, timings, and top-level ``cost_events`` whose ``event_key`` makes catalog ingest
idempotent). Paths are relative to the project root ('/' separators) when inside it, else absolute.

This module alone reads, validates, migrates and writes run-log files (:class:`RunLog` for a log
being written, :func:`read_run_log`/:func:`load_run_log` for a finished one); the typed model is
:mod:`kroma_kit.storage.runlog_model`. It sits below the catalog and the pipeline so that both
can read logs without importing each other.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from kroma_kit.clock import utcnow
from kroma_kit.errors import InputError
from kroma_kit.storage.atomic import atomic_write_bytes, atomic_write_json
from kroma_kit.storage.runlog_entries import (
    GENERATION_OPERATION,
    STEP_BLOCKS,
    JobSettlement,
    PaidCall,
    actual_cost,
    add_cost_event,
    adopt_overrides,
    apply_settlement,
    apply_winner_choice,
    attempt_records,
    cost_event_key,
    find_candidate,
    find_job,
)
from kroma_kit.storage.runlog_lock import run_log_lock
from kroma_kit.storage.runlog_model import SCHEMA_VERSION, CandidateRecord, JobRecord, RunLogModel

__all__ = ["GENERATION_OPERATION", "STEP_BLOCKS", "JobSettlement", "PaidCall", "RunLog",
           "actual_cost", "as_run_log", "attempt_records", "cost_event_key", "job_entry",
           "load_run_log", "mark_log_interrupted", "parse_run_log", "read_run_log", "run_log_path",
           "validate_run_log", "write_run_log"]


# --------------------------------------------------------------------------- reading

def parse_run_log(data: Any, source: str = "run log") -> RunLogModel:
    """The typed model of a run log's JSON data, or InputError naming what is wrong.

    Migration point: a log with an older ``schema_version`` is brought to this version here (the
    only version so far is 1; the original tool's logs load as they are, extra keys kept)."""
    if not isinstance(data, dict):
        raise InputError(f"{source} is not a JSON object.")
    version = data.get("schema_version")
    if isinstance(version, int) and version > SCHEMA_VERSION:
        raise InputError(f"{source} has schema_version {version}, newer than this Kroma Kit reads "
                         f"({SCHEMA_VERSION}). Upgrade kroma-kit to read it.")
    try:
        model = RunLogModel.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()[:5])
        raise InputError(f"{source} is not a valid Kroma run log: {problems}") from None
    keys = [event.event_key for event in model.cost_events]
    if len(keys) != len(set(keys)):
        raise InputError(f"{source} has duplicate cost_events event_key values.")
    return model


def as_run_log(log: RunLogModel | dict[str, Any]) -> RunLogModel:
    """The typed model of ``log`` (already one, or its JSON data)."""
    return log if isinstance(log, RunLogModel) else parse_run_log(log)


def job_entry(job: JobRecord | dict[str, Any]) -> JobRecord:
    """The typed model of one job of a log (already one, or its JSON data)."""
    return job if isinstance(job, JobRecord) else JobRecord.model_validate(job)


def validate_run_log(data: Any, source: str = "run log") -> dict[str, Any]:
    """Check the shape of a run log; return the data unchanged or raise InputError naming the fields."""
    parse_run_log(data, source)
    return data


def _read_json(path: str | os.PathLike[str]) -> tuple[Path, Any]:
    file = Path(path)
    try:
        return file, json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"Run log not found: {file}") from None
    except OSError as exc:
        raise InputError(f"Cannot read run log {file}: {exc.strerror or exc}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"Run log {file} is not valid JSON: {exc}") from None


def read_run_log(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and validate a run log file; its JSON data (see :func:`load_run_log` for the model)."""
    file, data = _read_json(path)
    return validate_run_log(data, f"Run log {file}")


def load_run_log(path: str | os.PathLike[str]) -> RunLogModel:
    """Read a run log file as the typed model: what readers use (fields, not string keys)."""
    file, data = _read_json(path)
    return parse_run_log(data, f"Run log {file}")


def write_run_log(path: str | os.PathLike[str], log: RunLogModel | dict[str, Any]) -> None:
    """Write a whole run log atomically, in the seed's 2-space layout, under the log's lock."""
    data = log.to_dict() if isinstance(log, RunLogModel) else log
    with run_log_lock(path):
        atomic_write_json(path, data)


def mark_log_interrupted(path: str | os.PathLike[str], reason: str) -> bool:
    """Set a ``running`` log on disk to ``interrupted`` with ``reason`` (read again under the lock:
    an override may have just written it). True when the file changed; a broken log is left alone."""
    with run_log_lock(path):
        try:
            data = read_run_log(path)
        except InputError:
            return False
        if data.get("status") != "running":
            return False
        data.update(status="interrupted", status_reason=reason, updated_at=utcnow())
        atomic_write_json(path, data)
    return True


def run_log_path(project_root: Path, run_id: str) -> Path:
    return Path(project_root) / "runs" / f"{run_id}.json"


class RunLog:
    """A run log being written: the log's data, one lock, one atomic file write per change.

    Callers change it only through named methods (:meth:`set_run`, :meth:`set_candidate`,
    :meth:`settle_job` ...), each a change and a write under the lock, so the file on disk is always
    one consistent snapshot and no caller ever holds the log's data; reads return typed copies
    (:meth:`job`, :meth:`candidate`, :attr:`model`).

    This object is not the only writer of the file: an artist may override a job's winner
    (:mod:`kroma_kit.pipeline.review`) while this process runs or resumes the run. Every write
    therefore happens under the run log's cross-process lock (:mod:`kroma_kit.storage.runlog_lock`)
    and first adopts what another process wrote since this one last wrote (the file's identity
    changed): the artist's choice is merged into memory, never overwritten by a stale copy.
    """

    def __init__(self, path: Path, data: RunLogModel | dict[str, Any]) -> None:
        self.path = Path(path)
        # JSON data, not the model: every change is rewritten with the C encoder (cheap for a log
        # that grows with each candidate); reads and writes go through the methods below.
        self._data = data.to_dict() if isinstance(data, RunLogModel) else data
        self._lock = threading.RLock()  # guards ``_data``
        self._write_lock = threading.Lock()  # one file write at a time, outside the data lock
        self._version = 0
        self._written = 0
        # What this object last wrote or read (inode, times, size). None until then: the data may
        # have been read before another process rewrote the file, so the first write checks it.
        self._disk_stamp: tuple[int, int, int, int] | None = None

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> RunLog:
        """The log at ``path``, read and validated, ready to be changed."""
        return cls(Path(path), read_run_log(path))

    @property
    def run_id(self) -> str:
        return self._data["run_id"]

    # ----------------------------------------------------------------- reads (typed copies)

    @property
    def model(self) -> RunLogModel:
        """The log as it is now, as the typed model (a validated copy: read fields from it)."""
        with self._lock:
            return RunLogModel.model_validate(json.loads(_compact(self._data)))

    def head(self) -> RunLogModel:
        """The run-level fields as they are now (``jobs`` and ``cost_events`` left empty): a cheap
        copy for a reader that needs the run's settings, not its growing lists."""
        with self._lock:
            data = {key: value for key, value in self._data.items() if key not in ("jobs", "cost_events")}
            return RunLogModel.model_validate({**json.loads(_compact(data)), "jobs": []})

    def job_ids(self) -> list[str]:
        with self._lock:
            return [job["id"] for job in self._data["jobs"]]

    def job(self, job_id: str) -> JobRecord:
        """A typed copy of job ``job_id`` as it is now (KeyError when the log has no such job)."""
        with self._lock:
            return JobRecord.model_validate(json.loads(_compact(find_job(self._data, job_id))))

    def candidate(self, job_id: str, index: int) -> CandidateRecord:
        """A typed copy of candidate ``index`` of job ``job_id`` as it is now."""
        with self._lock:
            return CandidateRecord.model_validate(json.loads(_compact(find_candidate(self._data, job_id, index))))

    def current(self) -> dict[str, Any]:
        """A snapshot that includes what another process wrote (see :meth:`adopt_foreign_changes`);
        what a catalog write should mirror."""
        self.adopt_foreign_changes()
        return self.snapshot()

    def snapshot(self) -> dict[str, Any]:
        """A deep copy of the whole log's JSON data as this process knows it now."""
        with self._lock:
            return json.loads(_compact(self._data))

    def job_snapshot(self, job_id: str) -> dict[str, Any] | None:
        """A deep copy of one job's JSON data as it is now (None when the log has no such job): where
        its files are at this moment, for a catalog write that found a file moved since its snapshot."""
        with self._lock:
            for job in self._data["jobs"]:
                if job["id"] == job_id:
                    return json.loads(_compact(job))
        return None

    # ----------------------------------------------------------------- named changes

    def save(self, *, pretty: bool = False) -> None:
        """Write the log as it is (the first write of a run, or of a resume)."""
        self._update(None, pretty=pretty)

    def set_run(self, *, write: bool = True, pretty: bool = False, **fields: Any) -> None:
        """Set run-level fields by name (``status=``, ``status_reason=``, ``finished_at=`` ...)."""
        _check_fields(RunLogModel, fields)
        self._update(lambda data: data.update(fields), write=write, pretty=pretty)

    def set_job(self, job_id: str, *, write: bool = True, **fields: Any) -> None:
        """Set fields of job ``job_id`` by name (``status=``, ``failure_reason=`` ...)."""
        _check_fields(JobRecord, fields)
        self._update(lambda data: find_job(data, job_id).update(fields), write=write)

    def start_job(self, job_id: str) -> None:
        """A candidate of job ``job_id`` starts: the job is ``running`` (in memory only; the next
        write carries it, a start is not worth an fsync)."""
        def change(data: dict[str, Any]) -> None:
            job = find_job(data, job_id)
            if job["status"] in ("planned", "skipped_budget", "failed"):
                job["status"] = "running"
        self._update(change, write=False)

    def set_candidate(self, job_id: str, index: int, *, paid: PaidCall | None = None, write: bool = True,
                      **fields: Any) -> None:
        """Set fields of candidate ``index`` of job ``job_id`` by name and, when ``paid`` is given,
        book that call's cost event in the same write (the money and the candidate never disagree)."""
        _check_fields(CandidateRecord, fields)

        def change(data: dict[str, Any]) -> None:
            find_candidate(data, job_id, index).update(fields)
            if paid is not None:
                add_cost_event(data, paid.provider, paid.model, job_id, index, paid.cost_usd, paid.usage,
                               operation=paid.operation)
        self._update(change, write=write)

    def fail_unsettled_candidate(self, job_id: str, index: int, error: str) -> None:
        """Candidate ``index`` crashed (a bug, not a provider failure): ``failed`` with ``error``
        unless it already settled."""
        def change(data: dict[str, Any]) -> None:
            candidate = find_candidate(data, job_id, index)
            if candidate["status"] in ("planned", "generated"):
                candidate.update(status="failed", error=error)
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

        def change(data: dict[str, Any]) -> CandidateRecord:
            candidate = find_candidate(data, job_id, index)
            moved = move_failing() if move_failing is not None else None
            if moved and isinstance(fields.get("output_guard"), dict):
                fields["output_guard"] = {**fields["output_guard"], "bad_archive": moved}
            candidate.update(fields)
            if add_cost_usd:
                candidate["cost_usd"] = round(float(candidate.get("cost_usd") or 0) + add_cost_usd, 6)
            return CandidateRecord.model_validate(json.loads(_compact(candidate)))
        return self._update(change)

    def settle_job(self, job_id: str, settled: JobSettlement) -> JobRecord:
        """Record what ranking decided for job ``job_id`` (see :func:`apply_settlement`: a winner an
        artist chose stays); returns the settled job."""
        def change(data: dict[str, Any]) -> JobRecord:
            job = find_job(data, job_id)
            apply_settlement(job, settled)
            return JobRecord.model_validate(json.loads(_compact(job)))
        return self._update(change)

    def settle_run(self, status: str, status_reason: str | None, *, candidates_not_started: int) -> None:
        """The run's final status, written in the seed's 2-space layout."""
        self.set_run(status=status, status_reason=status_reason, finished_at=utcnow(),
                     candidates_not_started=candidates_not_started, pretty=True)

    def choose_winner(self, job_id: str, index: int, review: dict[str, Any], reason: str, *,
                      write: bool = True) -> JobRecord:
        """An artist's choice of candidate ``index`` as job ``job_id``'s winner (``review`` is the
        ``winner_override`` entry; see :func:`apply_winner_choice`); returns the changed job."""
        def change(data: dict[str, Any]) -> JobRecord:
            job = find_job(data, job_id)
            apply_winner_choice(job, index, review, reason)
            return JobRecord.model_validate(json.loads(_compact(job)))
        return self._update(change, write=write)

    def record_cost(self, provider: str, model: str | None, job_id: str, index: int, cost: float,
                    usage: dict[str, Any], *, operation: str = GENERATION_OPERATION) -> None:
        """Append a paid call's cost event once (see :func:`add_cost_event`) and write."""
        self._update(lambda data: add_cost_event(data, provider, model, job_id, index, cost, usage,
                                                 operation=operation))

    # ----------------------------------------------------------------- the write

    def _update(self, change: Callable[[dict[str, Any]], Any] | None = None, *, write: bool = True,
                pretty: bool = False) -> Any:
        """Apply ``change`` and write the file atomically. While the run is going the JSON is
        compact (the C encoder: a growing log rewritten after every candidate must stay cheap);
        ``pretty=True`` (the final write) gives the seed's 2-space layout. ``write=False`` only
        changes memory, for states not worth an fsync (a job starting)."""
        with self._lock:
            result = change(self._data) if change is not None else None
            if not write:
                return result
            self._data["updated_at"] = utcnow()
            self._data["actual_cost_usd"] = actual_cost(self._data)
            self._version += 1
            mine = self._version
        # The fsync happens outside the data lock so other workers keep going; writes are
        # serialised and coalesced: whoever writes takes the newest state, and a change returns
        # only once a write that includes it is on disk.
        with self._write_lock:
            if self._written >= mine and not pretty:
                return result
            with run_log_lock(self.path):
                self._adopt_foreign()
                with self._lock:
                    version = self._version
                    text = json.dumps(self._data, indent=2, ensure_ascii=False, default=str) + "\n" if pretty \
                        else _compact(self._data)
                atomic_write_bytes(self.path, text.encode("utf-8"))
                self._disk_stamp = _stamp(self.path)
            self._written = version
        return result

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
            disk = json.loads(self.path.read_bytes())
        except (OSError, ValueError):
            return False  # not ours to repair: the next write replaces it
        with self._lock:
            changed = adopt_overrides(self._data, disk)
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


def _compact(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str)

