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

This module and :mod:`kroma_kit.storage.runlog_live` (the :class:`RunLog` of a run being written)
alone read, validate, migrate and write run-log files (:func:`read_run_log`/:func:`load_run_log`
for a finished one); the typed model is :mod:`kroma_kit.storage.runlog_model`. It sits below the catalog and the pipeline so that both
can read logs without importing each other.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from kroma_kit.clock import utcnow
from kroma_kit.errors import InputError
from kroma_kit.storage.atomic import atomic_write_json
from kroma_kit.storage.runlog_entries import (
    GENERATION_OPERATION,
    STEP_BLOCKS,
    JobSettlement,
    PaidCall,
    actual_cost,
    attempt_records,
    cost_event_key,
)
from kroma_kit.storage.runlog_lock import run_log_lock
from kroma_kit.storage.runlog_model import SCHEMA_VERSION, JobRecord, RunLogModel

__all__ = ["GENERATION_OPERATION", "STEP_BLOCKS", "JobSettlement", "PaidCall",
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
