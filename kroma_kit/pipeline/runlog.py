"""The run log: ``<project_root>/runs/<run_id>.json``, the reproducibility artifact of a run.

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
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from kroma_kit.catalog.db import utcnow
from kroma_kit.errors import InputError
from kroma_kit.pipeline.loglock import run_log_lock
from kroma_kit.storage.atomic import atomic_write_bytes

SCHEMA_VERSION = 1
LOG_KIND = "kroma.run_log"
RUN_STATUSES = ("planned", "running", "done", "failed", "partial", "interrupted")
JOB_STATUSES = ("planned", "running", "done", "failed_output_guard", "failed", "skipped_budget")
CANDIDATE_STATUSES = ("planned", "generated", "done", "failed_output_guard", "failed")
SETTLED_CANDIDATE = ("generated", "done", "failed_output_guard")  # a file exists and was paid for


# --------------------------------------------------------------------------- validation models

class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class CandidateRecord(_Open):
    candidate_index: int = Field(ge=1)
    status: Literal["planned", "generated", "done", "failed_output_guard", "failed"]
    seed: int | None = None
    output: str | None = None
    cost_usd: float = 0.0


class JobRecord(_Open):
    id: str = Field(min_length=1)
    status: Literal["planned", "running", "done", "failed_output_guard", "failed", "skipped_budget"]
    prompt: str
    input_images: list[str]
    candidates: list[CandidateRecord] = Field(default_factory=list)


class CostEventRecord(_Open):
    provider_code: str
    operation_code: str
    cost_usd: float
    units: float = 0
    event_key: str = Field(min_length=1)
    job_id: str | None = None
    candidate_index: int | None = None


class RunLogRecord(_Open):
    schema_version: int
    run_id: str = Field(min_length=1)
    project: str = Field(min_length=1)
    mode: Literal["dry", "run"]
    status: Literal["planned", "running", "done", "failed", "partial", "interrupted"]
    jobs: list[JobRecord]
    cost_events: list[CostEventRecord] = Field(default_factory=list)


def validate_run_log(data: Any, source: str = "run log") -> dict[str, Any]:
    """Check the shape of a run log; return it unchanged or raise InputError naming the fields."""
    if not isinstance(data, dict):
        raise InputError(f"{source} is not a JSON object.")
    version = data.get("schema_version")
    if isinstance(version, int) and version > SCHEMA_VERSION:
        raise InputError(f"{source} has schema_version {version}, newer than this Kroma Kit reads "
                         f"({SCHEMA_VERSION}). Upgrade kroma-kit to read it.")
    try:
        RunLogRecord.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()[:5])
        raise InputError(f"{source} is not a valid Kroma run log: {problems}") from None
    keys = [event["event_key"] for event in data.get("cost_events", [])]
    if len(keys) != len(set(keys)):
        raise InputError(f"{source} has duplicate cost_events event_key values.")
    return data


def read_run_log(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and validate a run log file."""
    file = Path(path)
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"Run log not found: {file}") from None
    except OSError as exc:
        raise InputError(f"Cannot read run log {file}: {exc.strerror or exc}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"Run log {file} is not valid JSON: {exc}") from None
    return validate_run_log(data, f"Run log {file}")


# --------------------------------------------------------------------------- process identity

def this_host() -> str:
    return socket.gethostname()


def process_start_token(pid: int) -> str | None:
    """The kernel's start time of ``pid`` (Linux ``/proc/<pid>/stat`` field 22), so a pid reused
    by another process after a crash is not mistaken for the run's own process."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rfind(")") + 2:].split()
    return fields[19] if len(fields) > 19 else None


def process_alive(pid: int | None, start_token: str | None = None) -> bool:
    """Whether ``pid`` (on this host) is still the live process that wrote the run log."""
    if not pid or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc (not Linux): os.kill said it exists
    fields = text[text.rfind(")") + 2:].split()
    if fields and fields[0] in ("Z", "X"):
        return False  # killed, not yet reaped
    if start_token is not None and len(fields) > 19 and fields[19] != start_token:
        return False
    return True


# --------------------------------------------------------------------------- building and writing

def candidate_seed(run_id: str, job_id: str, candidate_index: int) -> int:
    """Deterministic per (run, job, candidate): a 31-bit int every provider accepts."""
    digest = hashlib.sha256(f"{run_id}/{job_id}/{candidate_index}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def candidate_filename(job_id: str, candidate_index: int, candidates: int) -> str:
    """The seed's naming: ``<job_id>.png`` for a single candidate, else ``<job_id>__c<k>.png``."""
    return f"{job_id}.png" if candidates == 1 else f"{job_id}__c{candidate_index}.png"


def cost_event_key(run_id: str, job_id: str, candidate_index: int, operation: str) -> str:
    return f"{run_id}:{job_id}:c{candidate_index}:{operation}"


def run_log_path(project_root: Path, run_id: str) -> Path:
    return Path(project_root) / "runs" / f"{run_id}.json"


def actual_cost(log: dict[str, Any]) -> float:
    return round(sum(float(event.get("cost_usd") or 0) for event in log.get("cost_events", [])), 6)


class RunLog:
    """A run log being written: one dict, one lock, one atomic file write per change.

    Worker threads call :meth:`update` with a function that edits the dict; the change and the
    write happen under the lock, so the file on disk is always one consistent snapshot.

    The dict is not the only writer of the file: an artist may override a job's winner
    (:mod:`kroma_kit.pipeline.review`) while this process runs or resumes the run. Every write
    therefore happens under the run log's cross-process lock (:mod:`kroma_kit.pipeline.loglock`)
    and first adopts what another process wrote since this one last wrote (the file's identity
    changed): the artist's choice is merged into memory, never overwritten by a stale copy.
    """

    def __init__(self, path: Path, data: dict[str, Any]) -> None:
        self.path = Path(path)
        self.data = data
        self._lock = threading.RLock()  # guards ``data``
        self._write_lock = threading.Lock()  # one file write at a time, outside the data lock
        self._version = 0
        self._written = 0
        # What this object last wrote or read (inode, times, size). None until then: ``data`` may
        # have been read before another process rewrote the file, so the first write checks it.
        self._disk_stamp: tuple[int, int, int, int] | None = None

    @property
    def run_id(self) -> str:
        return self.data["run_id"]

    def job(self, job_id: str) -> dict[str, Any]:
        for job in self.data["jobs"]:
            if job["id"] == job_id:
                return job
        raise KeyError(job_id)

    def update(self, change: Callable[[dict[str, Any]], Any] | None = None, *, write: bool = True,
               pretty: bool = False) -> Any:
        """Apply ``change`` and write the file atomically. While the run is going the JSON is
        compact (the C encoder: a growing log rewritten after every candidate must stay cheap);
        ``pretty=True`` (the final write) gives the seed's 2-space layout. ``write=False`` only
        changes memory, for states not worth an fsync (a job starting)."""
        with self._lock:
            result = change(self.data) if change is not None else None
            if not write:
                return result
            self.data["updated_at"] = utcnow()
            self.data["actual_cost_usd"] = actual_cost(self.data)
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
                    text = json.dumps(self.data, indent=2, ensure_ascii=False, default=str) + "\n" if pretty \
                        else _compact(self.data)
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
        from kroma_kit.pipeline.review import adopt_overrides

        with self._lock:
            changed = adopt_overrides(self.data, disk)
        self._disk_stamp = stamp
        return changed

    def current(self) -> dict[str, Any]:
        """A snapshot that includes what another process wrote (see :meth:`adopt_foreign_changes`);
        what a catalog write should mirror."""
        self.adopt_foreign_changes()
        return self.snapshot()

    def snapshot(self) -> dict[str, Any]:
        """A deep copy of the whole log as this process knows it now."""
        with self._lock:
            return json.loads(_compact(self.data))

    def job_snapshot(self, job_id: str) -> dict[str, Any] | None:
        """A deep copy of one job as it is now (None when the log has no such job): where its
        files are at this moment, for a catalog write that found a file moved since its snapshot."""
        with self._lock:
            for job in self.data["jobs"]:
                if job["id"] == job_id:
                    return json.loads(_compact(job))
        return None


def _stamp(path: Path) -> tuple[int, int, int, int] | None:
    """The identity of the file now at ``path``: every atomic replace changes it."""
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_ino, info.st_mtime_ns, info.st_ctime_ns, info.st_size


def _compact(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str)


def log_from_plan(plan: Any, run_id: str, mode: str, request: dict[str, Any] | None = None) -> dict[str, Any]:
    """A new run log for ``plan`` (a :class:`~kroma_kit.pipeline.plan.Plan`): every job and every
    candidate listed as ``planned`` with its seed and target file, so even a dry run records exactly
    what a real run would do and cost."""
    now = utcnow()
    layout = plan.layout
    pid = os.getpid()
    jobs = []
    for job in plan.jobs:
        record = job.to_dict()
        record.pop("candidates")
        candidates = []
        for index in range(1, job.candidates + 1):
            target = layout.outputs / candidate_filename(job.id, index, job.candidates)
            candidates.append({"candidate_index": index, "seed": candidate_seed(run_id, job.id, index),
                               "status": "planned", "output": layout.relative(target), "final_output": None,
                               "rank": {"hard_failures": 0, "soft_warnings": 0, "avg_chroma_exceed": 0.0},
                               "rank_position": None, "cost_usd": 0.0, "usage": {}, "attempts": [],
                               "timings": {}, "error": None})
        record.update({
            "status": "planned", "selected_candidate": None, "final_output": None, "output": None,
            "winner_reason": None, "failure_reason": None, "ranking": [],
            "planned_generation": {"candidates": job.candidates},
            "planned_postprocess": dict(plan.postprocess), "planned_output_guard": dict(plan.output_guard),
            "candidates": candidates,
        })
        jobs.append(record)
    return {
        "schema_version": SCHEMA_VERSION, "kind": LOG_KIND, "run_id": run_id, "timestamp": now,
        "project": plan.project, "project_id": plan.project_id, "mode": mode,
        "stage": plan.stage, "time": plan.time, "weather": plan.weather,
        "provider": plan.provider, "paid": plan.paid, "model": plan.model, "size": plan.size,
        "quality": plan.quality, "provider_params": plan.provider_params,
        "status": "planned" if mode == "dry" else "running", "status_reason": None,
        "started_at": now, "updated_at": now, "finished_at": now if mode == "dry" else None,
        "pid": pid, "host": this_host(), "process_start": process_start_token(pid),
        "generation": {"candidates": plan.candidates, "max_candidates": plan.max_candidates},
        "postprocess": dict(plan.postprocess), "output_guard": dict(plan.output_guard),
        "storage": {"project_root": plan.project_root.as_posix(), "resolved_from_backend": True},
        "source": dict(plan.source), "request": request or {}, "warnings": list(plan.warnings),
        "settings_snapshot": plan.settings_snapshot(), "manifest": plan.manifest_dict(),
        "manifest_hash": plan.manifest_hash(), "budgets": dict(plan.budgets),
        "concurrency": plan.concurrency, "archive_replaced": plan.archive_replaced,
        "estimated_cost_usd": plan.estimated_cost_usd, "actual_cost_usd": 0.0,
        "resumes": [], "jobs": jobs, "cost_events": [],
    }
