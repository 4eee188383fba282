"""The pipeline's two hooks into S3-first storage (:mod:`kroma_kit.sync.s3_first`), kept here so the
run code holds one call at each point where outputs become final:

- :func:`after_candidate`: a candidate has settled; its image, post-chain outputs and (for a guard
  failure) its archived file go to the bucket now, not at the end of the run;
- :func:`after_run`: the run is settled and ingested; anything of the run not yet up (and uploads
  left pending by earlier failures) is retried, the outcome is written into the run log as
  ``s3_files``, and the run log itself goes up last.

Both are no-ops unless the project's storage mode is ``s3``; an upload failure never fails a
candidate or the run (the file stays local and pending).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from kroma_kit.storage.runlog_model import STEP_NAMES, CandidateRecord
from kroma_kit.sync.s3_first import is_s3_first, put_outputs

log = logging.getLogger(__name__)

_modes: dict[str, bool] = {}  # run id -> S3-first? (read once per run, not once per candidate)
_modes_lock = threading.Lock()


def _s3_first(ctx: Any) -> bool:
    run_id = ctx.log.run_id
    with _modes_lock:
        if run_id not in _modes:
            _modes[run_id] = is_s3_first(ctx.ws, ctx.project)
        return _modes[run_id]


def candidate_files(candidate: CandidateRecord) -> list[str]:
    """Every project-relative file a settled candidate left: raw, post-step outputs, final, archive."""
    files = [candidate.output, candidate.final_output]
    for step in STEP_NAMES:
        record = candidate.step(step)
        if record is not None and record.output:
            files.append(record.output)
    guard = candidate.guard_block()
    if guard is not None:
        files.append(guard.bad_archive)
    return [f for f in files if isinstance(f, str) and f]


def after_candidate(ctx: Any, job_id: str, index: int) -> None:
    """Upload what candidate ``index`` of ``job_id`` wrote (S3-first projects only)."""
    try:
        if not _s3_first(ctx):
            return
        put_outputs(ctx.ws, ctx.project, candidate_files(ctx.log.candidate(job_id, index)),
                    run_id=ctx.log.run_id, retry_pending=False)
    except Exception as exc:  # noqa: BLE001 - storage trouble never fails a paid candidate; after_run retries
        log.warning("S3-first upload after %s c%d deferred: %s: %s", job_id, index, type(exc).__name__, exc)


def after_run(ctx: Any) -> None:
    """Upload the rest of the run, note the outcome in the run log, then upload the run log."""
    try:
        if not _s3_first(ctx):
            return
        files = [rel for job in ctx.log.model.jobs for c in job.candidates for rel in candidate_files(c)]
        report = put_outputs(ctx.ws, ctx.project, files, run_id=ctx.log.run_id)
        ctx.log.set_run(s3_files=report.to_dict(), pretty=True)
        rel_log = ctx.layout.relative(ctx.log.path)
        put_outputs(ctx.ws, ctx.project, [rel_log], run_id=ctx.log.run_id, retry_pending=False)
    except Exception as exc:  # noqa: BLE001 - the run is settled; the next push completes the upload
        log.warning("S3-first upload of run %s deferred: %s: %s", ctx.log.run_id, type(exc).__name__, exc)
    finally:
        with _modes_lock:
            _modes.pop(ctx.log.run_id, None)
