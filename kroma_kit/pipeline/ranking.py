"""Pick a job's winning candidate, and say why in words an artist can check.

The rule is the seed's (behaviour spec §3.3): among candidates whose status is ``done``, the
minimum of ``(hard_failures, soft_warnings, avg_chroma_exceed, candidate_index)`` wins; no
``done`` candidate means no winner. The continuity gate adds two keys: its break count right after
the hard failures, and how far past its limits a candidate is, after the chroma exceed; both are 0
without the gate, which leaves the seed's order. The seed only stored the winner; here the whole order and a
``reason`` naming the first metric that separated the winner from the runner-up are kept, so a
run log answers "why this one?" without re-running anything.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from kroma_kit.pipeline.guard_settings import GuardSettings
from kroma_kit.storage.runlog_model import CandidateRecord

DONE = "done"


@dataclass(frozen=True)
class Rank:
    """A candidate's guard score; lower is better on every field (seed ``summarize``)."""

    hard_failures: int = 0
    soft_warnings: int = 0
    avg_chroma_exceed: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> Rank:
        """Read a run log's ``rank`` block; missing fields are 0 like a freshly generated candidate."""
        data = data or {}
        return cls(int(data.get("hard_failures", 0)), int(data.get("soft_warnings", 0)),
                   float(data.get("avg_chroma_exceed", 0.0)))


def rank_from_report(report: Mapping[str, Any], threshold: float | None = None) -> Rank:
    """Score a guard report: its summary counts, and the mean over files with a numeric chroma of
    ``max(0, chroma - threshold)`` rounded to 4 decimals (0 when no file has one).

    ``threshold`` defaults to the report's own ``settings.max_chroma_delta``.
    """
    if threshold is None:
        threshold = float(report.get("settings", {}).get("max_chroma_delta", GuardSettings.max_chroma_delta))
    summary = report.get("summary", {})
    excesses = [max(0.0, float(entry["chroma_delta"]) - threshold)
                for entry in report.get("files", [])
                if isinstance(entry.get("chroma_delta"), int | float) and not isinstance(entry["chroma_delta"], bool)]
    average = round(sum(excesses) / len(excesses), 4) if excesses else 0.0
    return Rank(int(summary.get("hard_failures", 0)), int(summary.get("soft_warnings", 0)), average)


@dataclass(frozen=True)
class CandidateScore:
    """One candidate as ranking sees it: its index (1-based as in the run log), status and rank."""

    candidate_index: int
    status: str
    rank: Rank
    continuity_breaks: int = 0
    continuity_severity: float = 0.0
    continuity_reason: str | None = None

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> CandidateScore:
        """Read a run log candidate (``{candidate_index, status, rank{...}, continuity{...}}``)."""
        continuity = data.get("continuity") or {}
        return cls(int(data["candidate_index"]), str(data["status"]), Rank.from_mapping(data.get("rank")),
                   int(continuity.get("breaks") or 0), float(continuity.get("severity") or 0.0),
                   "; ".join(continuity.get("reasons") or []) or None)

    @classmethod
    def from_record(cls, record: CandidateRecord) -> CandidateScore:
        """Score a candidate of the typed run log by its fields (what a live run ranks); the
        continuity block is free-form, read by the keys the model declares for it."""
        rank = record.rank
        continuity = record.continuity or {}
        return cls(record.candidate_index, record.status,
                   Rank(int(rank.hard_failures), int(rank.soft_warnings), float(rank.avg_chroma_exceed))
                   if rank is not None else Rank(),
                   int(continuity.get("breaks") or 0), float(continuity.get("severity") or 0.0),
                   "; ".join(continuity.get("reasons") or []) or None)

    @property
    def eligible(self) -> bool:
        return self.status == DONE

    def sort_key(self) -> tuple[int, int, int, float, float, int]:
        # Continuity breaks come after hard failures and before the chroma warnings; how far past
        # the limits breaks only ties the seed's metrics.
        return (self.rank.hard_failures, self.continuity_breaks, self.rank.soft_warnings,
                self.rank.avg_chroma_exceed, self.continuity_severity, self.candidate_index)


@dataclass(frozen=True)
class RankedCandidate:
    """A candidate with its place in the order (1 = best). Ineligible ones come after all ``done``."""

    position: int
    score: CandidateScore

    def to_dict(self) -> dict[str, Any]:
        return {"position": self.position, "candidate_index": self.score.candidate_index,
                "status": self.score.status, "eligible": self.score.eligible,
                "rank": self.score.rank.to_dict(),
                **({"continuity": {"breaks": self.score.continuity_breaks, "severity": self.score.continuity_severity}}
                   if self.score.continuity_breaks or self.score.continuity_severity else {})}


@dataclass(frozen=True)
class RankingResult:
    """The full order, the winner's index (None when no candidate is ``done``) and why."""

    ordered: list[RankedCandidate]
    winner_index: int | None
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"winner_index": self.winner_index, "reason": self.reason,
                "ordered": [item.to_dict() for item in self.ordered]}


def _pair(winner: float, runner_up: float) -> str:
    """Two averages at 2 decimals, or 4 when 2 would print them equal."""
    digits = 2 if f"{winner:.2f}" != f"{runner_up:.2f}" else 4
    return f"{winner:.{digits}f} vs {runner_up:.{digits}f}"


def _why(winner: CandidateScore, runner_up: CandidateScore) -> str:
    best, next_best = winner.rank, runner_up.rank
    if best.hard_failures != next_best.hard_failures:
        why = f"fewest hard failures ({best.hard_failures} vs {next_best.hard_failures})"
    elif winner.continuity_breaks != runner_up.continuity_breaks:
        why = (f"fewest continuity breaks ({winner.continuity_breaks} vs {runner_up.continuity_breaks}); "
               f"#{runner_up.candidate_index}: {runner_up.continuity_reason}")
    elif best.soft_warnings != next_best.soft_warnings:
        why = f"fewest soft warnings ({best.soft_warnings} vs {next_best.soft_warnings})"
    elif best.avg_chroma_exceed != next_best.avg_chroma_exceed:
        why = f"lowest avg chroma exceed {_pair(best.avg_chroma_exceed, next_best.avg_chroma_exceed)}"
    elif winner.continuity_severity != runner_up.continuity_severity:
        why = (f"closest to the references (continuity {_pair(winner.continuity_severity, runner_up.continuity_severity)} "
               f"past the limits); #{runner_up.candidate_index}: {runner_up.continuity_reason}")
    else:
        why = f"tie on all metrics; lowest index ({winner.candidate_index} vs {runner_up.candidate_index})"
    return f"{why}; runner-up candidate {runner_up.candidate_index}"


def _statuses(scores: Iterable[CandidateScore]) -> str:
    return ", ".join(f"#{score.candidate_index} {score.status}" for score in scores)


def rank_candidates(scores: Iterable[CandidateScore]) -> RankingResult:
    """Order the candidates and choose the winner by the seed's rule.

    ``reason`` reads e.g. "fewest soft warnings (0 vs 1); runner-up candidate 2",
    "lowest avg chroma exceed 0.12 vs 0.50; ...", "tie on all metrics; lowest index (1 vs 3); ...",
    "only done candidate (#2 failed_output_guard)" or "no candidate is done (#1 failed_output_guard)"
    (``#N`` is the candidate index).
    """
    candidates = list(scores)
    indexes = [score.candidate_index for score in candidates]
    if len(set(indexes)) != len(indexes):
        raise ValueError(f"Candidate indexes must be unique, got {indexes}.")
    eligible = sorted((score for score in candidates if score.eligible), key=CandidateScore.sort_key)
    others = sorted((score for score in candidates if not score.eligible), key=CandidateScore.sort_key)
    ordered = [RankedCandidate(position, score) for position, score in enumerate(eligible + others, start=1)]

    if not candidates:
        return RankingResult(ordered, None, "no candidates")
    if not eligible:
        return RankingResult(ordered, None, f"no candidate is done ({_statuses(others)})")
    winner = eligible[0]
    if len(eligible) == 1:
        reason = "only candidate" if not others else f"only done candidate ({_statuses(others)})"
    else:
        reason = _why(winner, eligible[1])
    return RankingResult(ordered, winner.candidate_index, reason)
