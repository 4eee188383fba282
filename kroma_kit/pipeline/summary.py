"""What a finished (or planned, or stopped) run amounts to, for the CLI, panels and scripts."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from kroma_kit.storage.runlog import as_run_log
from kroma_kit.storage.runlog_model import RunLogModel

# CLI exit codes: done 0; some job failed 1; stopped early (budget, cancel) 3.
EXIT_CODES = {"planned": 0, "done": 0, "failed": 1, "partial": 3, "interrupted": 3, "running": 3}


@dataclass
class RunSummary:
    """The outcome of :func:`dry_run`, :func:`execute_run` or :func:`resume_run`."""

    run_id: str
    project: str
    status: str
    run_log_path: str
    jobs_total: int
    jobs_done: int
    jobs_failed: int
    estimated_cost_usd: float
    actual_cost_usd: float
    outputs: list[str] = field(default_factory=list)  # absolute paths of the jobs' final files
    mode: str = "run"
    status_reason: str | None = None
    jobs_skipped: int = 0
    candidates_total: int = 0
    candidates_done: int = 0
    candidates_cached: int = 0  # reused unchanged from the stage cache: no call, no cost
    warnings: list[str] = field(default_factory=list)
    jobs: list[dict[str, Any]] = field(default_factory=list, repr=False)

    @property
    def exit_code(self) -> int:
        return EXIT_CODES.get(self.status, 1)

    @property
    def ok(self) -> bool:
        return self.status in ("planned", "done")

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["exit_code"] = self.exit_code
        return data

    def table_rows(self) -> list[dict[str, Any]]:
        """One row per job: what the CLI prints under a run."""
        return [{"job": job["id"], "status": job["status"], "winner": job.get("selected_candidate"),
                 "candidates": f"{job['settled']}/{job['candidates']}" if self.mode == "run" else job["candidates"],
                 "cost_usd": job["cost_usd"],
                 "estimated_usd": job["estimated_cost_usd"], "final_output": job.get("final_output"),
                 "reason": job.get("reason")} for job in self.jobs]

    @classmethod
    def from_log(cls, log: RunLogModel | dict[str, Any], path: Path) -> RunSummary:
        """The summary of run log ``log`` (the typed model, or its JSON data) written at ``path``."""
        log = as_run_log(log)
        root = Path((log.storage or {})["project_root"])
        jobs = []
        outputs = []
        candidates_total = candidates_done = candidates_cached = 0
        for job in log.jobs:
            candidates = job.candidates
            settled = [c for c in candidates if c.status != "planned"]
            candidates_total += len(candidates)
            candidates_done += sum(1 for c in candidates if c.status == "done")
            candidates_cached += sum(1 for c in candidates if c.cached_from is not None)
            final = job.final_output
            if job.status == "done" and final:
                outputs.append((root / final).as_posix() if not Path(final).is_absolute() else final)
            jobs.append({"id": job.id, "status": job.status, "selected_candidate": job.selected_candidate,
                         "candidates": len(candidates), "settled": len(settled),
                         "cost_usd": round(sum(float(c.cost_usd or 0) for c in candidates), 6),
                         "estimated_cost_usd": job.estimated_cost_usd, "final_output": final,
                         "reason": job.winner_reason or job.failure_reason})
        return cls(
            run_id=log.run_id, project=log.project, status=log.status, run_log_path=Path(path).as_posix(),
            jobs_total=len(log.jobs), jobs_done=sum(1 for j in log.jobs if j.status == "done"),
            jobs_failed=sum(1 for j in log.jobs if j.status.startswith("failed")),
            estimated_cost_usd=float(log.estimated_cost_usd or 0),
            actual_cost_usd=float(log.actual_cost_usd or 0), outputs=outputs, mode=log.mode,
            status_reason=log.status_reason,
            jobs_skipped=sum(1 for j in log.jobs if j.status in ("skipped_budget", "planned"))
            if log.mode == "run" else 0,
            candidates_total=candidates_total, candidates_done=candidates_done, candidates_cached=candidates_cached,
            warnings=list(log.warnings or []), jobs=jobs)
