"""Choosing a job's winner: the seed's tuple order, each tie-break level, and the reason given."""

from __future__ import annotations

import pytest

from kroma_kit.pipeline.guard import Rank
from kroma_kit.pipeline.ranking import CandidateScore, rank_candidates
from kroma_kit.storage.runlog_model import CandidateRecord


def done(index: int, hard: int = 0, soft: int = 0, excess: float = 0.0) -> CandidateScore:
    return CandidateScore(index, "done", Rank(hard, soft, excess))


def test_fewer_hard_failures_wins_first():
    result = rank_candidates([done(1, hard=1), done(2, hard=0, soft=3, excess=9.0)])
    assert result.winner_index == 2
    assert result.reason == "fewest hard failures (0 vs 1); runner-up candidate 1"


def test_then_fewer_soft_warnings():
    result = rank_candidates([done(1, soft=1), done(2, soft=0, excess=4.0), done(3, soft=2)])
    assert result.winner_index == 2
    assert result.reason.startswith("fewest soft warnings (0 vs 1)")
    assert [item.score.candidate_index for item in result.ordered] == [2, 1, 3]


def test_then_lower_average_chroma_exceed():
    result = rank_candidates([done(1, excess=0.5), done(2, excess=0.12)])
    assert result.winner_index == 2
    assert result.reason == "lowest avg chroma exceed 0.12 vs 0.50; runner-up candidate 1"


def test_close_averages_are_printed_with_enough_digits_to_differ():
    result = rank_candidates([done(1, excess=0.1204), done(2, excess=0.1201)])
    assert result.winner_index == 2
    assert "0.1201 vs 0.1204" in result.reason


def test_a_full_tie_goes_to_the_lowest_index():
    result = rank_candidates([done(3, soft=1, excess=0.3), done(1, soft=1, excess=0.3), done(2, soft=1, excess=0.3)])
    assert result.winner_index == 1
    assert result.reason == "tie on all metrics; lowest index (1 vs 2); runner-up candidate 2"
    assert [(item.position, item.score.candidate_index) for item in result.ordered] == [(1, 1), (2, 2), (3, 3)]


def test_only_done_candidates_can_win_even_with_a_better_rank():
    failed = CandidateScore(1, "failed_output_guard", Rank(0, 0, 0.0))
    generated = CandidateScore(3, "generated", Rank())
    result = rank_candidates([failed, done(2, soft=2, excess=1.5), generated])
    assert result.winner_index == 2
    assert result.reason == "only done candidate (#1 failed_output_guard, #3 generated)"
    assert [(item.position, item.score.candidate_index, item.score.eligible) for item in result.ordered] == [
        (1, 2, True), (2, 1, False), (3, 3, False)]


def test_no_done_candidate_means_no_winner():
    result = rank_candidates([CandidateScore(1, "failed_output_guard", Rank(1, 0, 0.0)),
                              CandidateScore(2, "failed", Rank())])
    assert result.winner_index is None
    assert result.reason.startswith("no candidate is done")
    assert rank_candidates([]).winner_index is None


def test_a_single_candidate_wins_alone():
    result = rank_candidates([done(1, soft=1)])
    assert (result.winner_index, result.reason) == (1, "only candidate")


def test_the_result_reads_from_and_writes_to_run_log_shapes():
    candidates = [
        {"candidate_index": 1, "status": "done", "rank": {"hard_failures": 0, "soft_warnings": 1, "avg_chroma_exceed": 3.41}},
        {"candidate_index": 2, "status": "done", "rank": {"hard_failures": 0, "soft_warnings": 0, "avg_chroma_exceed": 0}},
    ]
    result = rank_candidates(CandidateScore.from_mapping(item) for item in candidates)
    payload = result.to_dict()
    assert payload["winner_index"] == 2
    assert payload["ordered"][0] == {"position": 1, "candidate_index": 2, "status": "done", "eligible": True,
                                     "rank": {"hard_failures": 0, "soft_warnings": 0, "avg_chroma_exceed": 0.0}}


def test_a_typed_log_candidate_is_scored_by_its_fields():
    gated = CandidateRecord.model_validate({
        "candidate_index": 3, "status": "done",
        "rank": {"hard_failures": 1, "soft_warnings": 2, "avg_chroma_exceed": 0.5},
        "continuity": {"breaks": 2, "severity": 1.25, "reasons": ["face drift", "palette"]}})
    assert CandidateScore.from_record(gated) == CandidateScore(3, "done", Rank(1, 2, 0.5), 2, 1.25,
                                                               "face drift; palette")
    fresh = CandidateRecord.model_validate({"candidate_index": 1, "status": "failed"})
    assert CandidateScore.from_record(fresh) == CandidateScore(1, "failed", Rank())


def test_duplicate_indexes_are_refused():
    with pytest.raises(ValueError):
        rank_candidates([done(1), done(1)])
