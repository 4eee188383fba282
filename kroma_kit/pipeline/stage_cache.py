"""Stage caching by content hash: a candidate whose work is unchanged is reused, not made again.

A candidate's *key* is the sha256 of everything that decides its image and its verdict: the
input images' content (sha256, not paths), the prompt, stage/time/weather, the provider, model
and parameters, its seed, the cast placements, and the settings that change the output (post
chain, output guard, continuity gate, grayscale). Seeds are drawn per run from the run id, so the
seed part of the key is the candidate's *seed slot* (its index under that rule): a re-run draws
"the same" seed, and a reused candidate records the seed its image was really made with.

Why it pays: a re-run of an unchanged stage (a rerun after editing one scene, a resume, a second
artist re-running the stage) costs nothing and takes a blink; only what changed is made again.

Reuse is safe or not at all. An entry is reused only when the earlier candidate was ``done`` and
its files are still there with the recorded sha256; a missing or changed file means the work is
done again, with a note in the run's warnings. Reused candidates carry ``cached_from`` (run, job,
candidate) and cost 0: no provider call, no cost event, nothing charged to the spend guard.
``--no-cache`` (``PlanRequest.no_cache``) or ``pipeline.stage_cache = false`` forces new work;
keys are still recorded so the next run can reuse it.

The executor calls two functions: :func:`reuse_cached` on the scheduled tasks before any work is
dispatched, :func:`remember_run` once the run has settled. The index itself lives in the catalog
(:mod:`kroma_kit.catalog.stage_cache`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kroma_kit.catalog.stage_cache import CacheEntry, find_entries, remember_entries
from kroma_kit.imaging import sha256_file
from kroma_kit.pipeline import events as ev
from kroma_kit.storage.atomic import atomic_write_bytes

if TYPE_CHECKING:
    from kroma_kit.pipeline.context import RunContext
    from kroma_kit.pipeline.plan_model import PlannedJob
    from kroma_kit.storage.runlog_model import RunLogModel

log = logging.getLogger(__name__)

KEY_VERSION = 1  # bump when what a key covers changes: old entries then simply never match
# Provider description keys that say where or whether a call goes, not what it makes.
_NOT_OUTPUT = frozenset({"configured", "base_url", "paid", "timeout_s", "max_attempts"})
# The candidate fields a reuse takes from the earlier candidate: its files, their digests, how
# they were made and judged. Money, attempts and timings are this run's (nothing was spent).
_REUSED_FIELDS = ("seed", "sha256", "bytes", "final_sha256", "model", "provider_params", "rank", "output_guard",
                  "bg_remove", "bg_refine_openai", "upscale", "color", "continuity")

Task = tuple[Any, int, str]  # (PlannedJob, candidate index, action) as the executor schedules them


def cache_key(*, inputs_sha256: list[str], prompt: str, stage: str | None, time_of_day: str | None,
              weather: str | None, provider: dict[str, Any], seed: int | str,
              placements: list[dict[str, Any]] | None = None, character_ref_count: int = 0,
              settings: dict[str, Any] | None = None) -> str:
    """The content key of one candidate's work (hex sha256 of a canonical JSON document)."""
    document = {
        "v": KEY_VERSION, "inputs": list(inputs_sha256), "prompt": prompt, "stage": stage,
        "time": time_of_day, "weather": weather, "seed": seed,
        "provider": {key: value for key, value in sorted(provider.items()) if key not in _NOT_OUTPUT},
        "placements": placements or [], "character_ref_count": character_ref_count, "settings": settings or {},
    }
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def output_settings(ctx: RunContext) -> dict[str, Any]:
    """The settings of this run that change a candidate's files or verdict."""
    head = ctx.log.head()
    return {"postprocess": ctx.postprocess_flags.model_dump(mode="json"),
            "output_guard": ctx.guard_settings.report_settings(),
            "continuity": ctx.settings.settings.continuity.model_dump(mode="json"),
            "grayscale": ctx.grayscale, "size": head.size, "quality": head.quality}


def cache_enabled(ctx: RunContext) -> bool:
    request = ctx.log.head().get("request") or {}
    return bool(ctx.settings.settings.pipeline.stage_cache) and not request.get("no_cache")


def candidate_keys(ctx: RunContext, tasks: list[Task]) -> dict[tuple[str, int], str]:
    """The key of every task's candidate, by (job id, candidate index)."""
    digests: dict[Path, str] = {}
    settings = output_settings(ctx)
    provider = dict(ctx.log.head().provider_params or {})
    keys = {}
    for job, index, _action in tasks:
        if len(job.input_paths) != len(job.input_images):
            continue  # inputs not resolved to files: no key, so never reused (made as without a cache)
        try:
            inputs = []
            for path in job.input_paths:
                if path not in digests:
                    digests[path] = sha256_file(path)
                inputs.append(digests[path])
        except OSError as exc:  # the provider call reports an unreadable input properly; no key here
            log.warning("stage cache: no key for %s c%d: %s", job.id, index, exc)
            continue
        keys[(job.id, index)] = cache_key(
            inputs_sha256=inputs, prompt=job.prompt, stage=job.mode, time_of_day=job.time, weather=job.weather,
            provider=provider, seed=f"run-drawn:c{index}", placements=job.character_placements,
            character_ref_count=job.character_ref_count, settings=settings)
    return keys


def reuse_cached(ctx: RunContext, tasks: list[Task]) -> list[Task]:
    """Settle from the cache every ``generate`` task whose key names a reusable earlier candidate;
    returns the tasks left to dispatch. Every candidate to be made gets its key recorded."""
    fresh = [task for task in tasks if task[2] == "generate"]
    if not fresh:
        return tasks
    clock = time.perf_counter()
    keys = candidate_keys(ctx, fresh)
    for (job_id, index), key in keys.items():
        ctx.log.set_candidate(job_id, index, cache_key=key, write=False)
    if not cache_enabled(ctx):
        return tasks
    left, notes, reused = [], [], 0
    try:
        entries = find_entries(ctx.ws, ctx.project["id"], keys.values())
    except Exception as exc:  # noqa: BLE001 - no cache is slower, never wrong: the run goes on without it
        entries = {}
        notes.append(f"stage cache: lookup failed ({type(exc).__name__}: {exc}); every candidate is made")
    for task in tasks:
        job, index, action = task
        entry = entries.get(keys.get((job.id, index), ""))
        if action != "generate" or entry is None:
            left.append(task)
            continue
        problem = _reuse(ctx, job, index, entry, clock)
        if problem is None:
            reused += 1
            with ctx._pending_lock:
                ctx._pending[job.id] -= 1
        else:
            notes.append(f"stage cache: {job.id} c{index}: {problem}; made again")
            left.append(task)
    if notes:
        ctx.log.set_run(warnings=[*ctx.log.head().warnings, *notes], write=False)
    # No write here: the reused candidates reach the file (and the catalog) with their job's
    # settling, which follows at once for a job whose candidates were all reused.
    log.debug("stage cache: %d of %d candidate(s) reused", reused, len(fresh))
    return left


def _reuse(ctx: RunContext, job: PlannedJob, index: int, entry: CacheEntry, clock: float) -> str | None:
    """Make candidate ``index`` of ``job`` the cached one; returns why it cannot be, or None."""
    record = entry.record
    where = f"run {entry.run_id} {entry.job_id} c{entry.candidate_index}"
    if record.get("status") != "done" or not record.get("output") or not record.get("sha256"):
        return f"the cached candidate ({where}) has no finished file"
    root = ctx.layout.root
    raw, final = record["output"], record.get("final_output") or record["output"]
    files = {raw: record["sha256"], final: record.get("final_sha256") or record["sha256"]}  # one when no post chain
    for rel, digest in files.items():
        path = root / rel
        if not path.is_file():
            return f"the cached file {rel} ({where}) is missing"
        if sha256_file(path) != digest:
            return f"the cached file {rel} ({where}) has changed since (sha256 differs)"
    target = ctx.log.candidate(job.id, index).output
    if target != raw:
        if final != raw:  # a post chain's file: its name follows the raw one, which differs here
            return f"the cached candidate ({where}) has post-processed files under another name"
        atomic_write_bytes(root / target, (root / raw).read_bytes())
        raw = final = target
    fields = {name: record[name] for name in _REUSED_FIELDS if name in record}
    ctx.log.set_candidate(
        job.id, index, write=False, **fields, status="done", output=raw, final_output=final, cost_usd=0.0,
        usage={}, attempts=[], error=None, timings={"cached_ms": int((time.perf_counter() - clock) * 1000)},
        cached_from={"run_id": entry.run_id, "job_id": entry.job_id, "candidate_index": entry.candidate_index})
    ctx.events.emit(ev.CandidateDone(ctx.log.run_id, job_id=job.id, candidate_index=index, status="done",
                                     output=final, cost_usd=0.0, reused=True))
    return None


def remember_run(ctx: RunContext) -> int:
    """Index every candidate this run made and finished (not the reused ones) under its key.
    Never fails the run: a catalog error only costs the next run its cache hits."""
    def made(log: RunLogModel) -> list[tuple[str, str, int, bytes]]:
        # Read in place (no copy of the whole log): each record leaves as its JSON text.
        return [(candidate.cache_key, job.id, candidate.candidate_index, candidate.to_json_bytes())
                for job in log.jobs for candidate in job.candidates
                if candidate.status == "done" and candidate.cache_key and candidate.cached_from is None]

    entries = [CacheEntry(key, ctx.log.run_id, job_id, index, json.loads(record))
               for key, job_id, index, record in ctx.log.read(made)]
    try:
        return remember_entries(ctx.ws, ctx.project["id"], entries)
    except Exception as exc:  # noqa: BLE001 - the run's work is done and recorded; the index is a bonus
        log.warning("stage cache: could not record %d candidate(s) of run %s: %s", len(entries), ctx.log.run_id, exc)
        return 0
