"""The worker's reservations under concurrency, on each engine's own means: SQLite's write lock,
PostgreSQL's ``FOR UPDATE SKIP LOCKED``. Two reservers never take the same instruction."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from kroma_kit.catalog import instruction_queue as queue
from kroma_kit.catalog.db import connect
from kroma_kit.catalog.instructions import create_instruction
from kroma_kit.catalog.projects import create_project

COUNT = 12


def _queue(ws, count: int) -> list[str]:
    project_id = create_project(ws, "busy", "Busy")["id"]
    return [create_instruction(ws, project_id, "custom", {"n": n}, requires_confirmation=False).id
            for n in range(count)]


def test_two_concurrent_reservers_take_every_instruction_exactly_once(workspace) -> None:
    queued = _queue(workspace, COUNT)

    def reserver(worker_id: str) -> list[str]:
        taken = []
        while (item := queue.reserve_next(workspace, worker_id)) is not None:
            taken.append(item.id)
        return taken

    with ThreadPoolExecutor(2) as pool:
        first, second = pool.map(reserver, ["w1", "w2"])
    assert sorted(first + second) == sorted(queued)  # all taken, none twice
    assert not set(first) & set(second)


@pytest.mark.parametrize("catalog_engine", ["postgresql"], indirect=True)
def test_a_reserver_skips_the_row_another_worker_is_locking_instead_of_waiting(workspace) -> None:
    """While one worker's pick holds the oldest instruction's row lock (its transaction still
    open), a second worker gets the next instruction at once: SKIP LOCKED, not a lock wait."""
    queued = _queue(workspace, 2)
    holder = connect(workspace.catalog_path)
    try:
        holder.execute("BEGIN")
        held = holder.execute(queue.PICK_SQL.format(scope="") + queue.POSTGRES_PICK_SUFFIX,
                              ("9999-12-31T00:00:00.000Z",)).fetchone()["id"]
        assert held == queued[0]
        started = time.perf_counter()
        item = queue.reserve_next(workspace, "w2")
        waited = time.perf_counter() - started
        assert item is not None and item.id == queued[1] and item.status == "running"
        assert waited < 5, f"the reservation waited {waited:.1f}s on the held row"
        holder.execute("ROLLBACK")
        assert queue.reserve_next(workspace, "w3").id == queued[0]  # released: taken next
    finally:
        holder.close()
