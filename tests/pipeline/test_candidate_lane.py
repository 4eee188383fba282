"""The candidate lane: parallel calls stay parallel, while keeping and judging their answers (the
Python-bound part of a candidate) happens one candidate at a time, in the order they arrive."""

from __future__ import annotations

import contextlib
import sys
import threading
import time

import pytest

import kroma_kit.pipeline.candidate as candidate_module
import kroma_kit.pipeline.guard as guard_module
from kroma_kit.pipeline.context import candidate_lane
from kroma_kit.pipeline.execute import execute_run
from tests.fakes.openai_images_server import FakeOpenAIImagesServer
from tests.pipeline.runsupport import local_request, openai_request


class Overlap:
    """Counts how many threads are inside the spied steps at once."""

    def __init__(self) -> None:
        self.inside = self.most = 0
        self.entered: list[str] = []
        self._lock = threading.Lock()

    def spy(self, name: str, func):
        def spied(*args, **kwargs):
            with self._lock:
                self.inside += 1
                self.most = max(self.most, self.inside)
                self.entered.append(name)
            try:
                time.sleep(0.01)  # long enough that a second thread would get in, were it let
                return func(*args, **kwargs)
            finally:
                with self._lock:
                    self.inside -= 1
        return spied


def test_calls_run_side_by_side_and_their_answers_are_kept_and_judged_one_at_a_time(
        workspace, demo, openai_key, monkeypatch):
    overlap = Overlap()
    monkeypatch.setattr(candidate_module, "atomic_write_bytes", overlap.spy("write", candidate_module.atomic_write_bytes))
    monkeypatch.setattr(guard_module, "audit", overlap.spy("guard", guard_module.audit))
    with FakeOpenAIImagesServer(latency_s=0.2) as fake:
        summary = execute_run(workspace, openai_request(fake, scenes=2, candidates=2), confirm_spend=True,
                              concurrency=4)
        peak = fake.peak_concurrency
    assert summary.status == "done" and summary.candidates_done == 4
    assert peak == 4  # the lane does not hold back the calls
    assert sorted(overlap.entered) == ["guard"] * 4 + ["write"] * 4
    assert overlap.most == 1  # four answers at once, yet never two candidates in the lane together


def test_the_lane_is_a_lock_for_calls_made_elsewhere_under_the_interpreter_lock(monkeypatch):
    lane = candidate_lane(True)
    assert lane.acquire(blocking=False) and not lane.acquire(blocking=False)
    lane.release()
    assert isinstance(candidate_lane(False), contextlib.nullcontext)  # images drawn here: no waves
    monkeypatch.setattr(sys, "_is_gil_enabled", lambda: False, raising=False)
    assert isinstance(candidate_lane(True), contextlib.nullcontext)  # free-threaded: side by side
    monkeypatch.setattr(sys, "_is_gil_enabled", lambda: True, raising=False)
    assert not isinstance(candidate_lane(True), contextlib.nullcontext)


def test_a_run_of_the_local_provider_judges_side_by_side(workspace, demo, monkeypatch):
    """Workers drawing images on this machine are busy, not waiting: no lane there."""
    lanes = []
    judge = candidate_module._judge

    def spied(ctx, *args, **kwargs):
        lanes.append(type(ctx.lane))
        return judge(ctx, *args, **kwargs)

    monkeypatch.setattr(candidate_module, "_judge", spied)
    summary = execute_run(workspace, local_request(scenes=1, candidates=2), concurrency=2)
    assert summary.status == "done" and lanes == [contextlib.nullcontext] * 2


@pytest.mark.parametrize("fails_in", ["write", "guard"])
def test_a_step_that_raises_inside_the_lane_releases_it(workspace, demo, openai_key, monkeypatch, fails_in):
    def broken(*args, **kwargs):
        raise OSError("disk full")

    target = (candidate_module, "atomic_write_bytes") if fails_in == "write" else (guard_module, "audit")
    monkeypatch.setattr(*target, broken)
    with FakeOpenAIImagesServer() as fake:
        summary = execute_run(workspace, openai_request(fake, scenes=2, candidates=2), confirm_spend=True,
                              concurrency=2)
    # Every candidate got through the lane and failed on its own: none waited forever on a lock
    # a failed one kept.
    assert summary.status == "failed" and summary.jobs_failed == 2
