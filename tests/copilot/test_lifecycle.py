"""The instruction lifecycle table: every legal move works and records an event, every illegal one
is refused with a clear error and changes nothing."""

from __future__ import annotations

import itertools

import pytest

from kroma_kit.catalog import instruction_queue as queue
from kroma_kit.catalog import instructions as ins
from kroma_kit.catalog.projects import create_project

WORKER = "test-worker"


@pytest.fixture
def project(workspace):
    return create_project(workspace, "life", "Life")


def _make(ws, project, status: str) -> ins.Instruction:
    """An instruction brought to ``status`` through legal moves only."""
    item = ins.create_instruction(ws, project["id"], "qa_check", {"objective": "check"},
                                  requires_confirmation=status == "draft" or status == "canceled")
    if status == "draft":
        return item
    if status == "canceled":
        return ins.cancel_instruction(ws, item.id)
    if status == "queued":
        return item
    running = queue.reserve_next(ws, WORKER, project_id=project["id"])
    assert running is not None and running.id == item.id
    if status == "running":
        return running
    return queue.finish_instruction(ws, item.id, WORKER, status, error="boom" if status == "failed" else None)


def _force(ws, item: ins.Instruction, target: str) -> None:
    """Try ``item.status -> target`` through the one low-level mover."""
    conn = ws.connect()
    try:
        with ins.transaction(conn):
            row = ins._row(conn, item.id)
            ins._move(conn, row, target, "test")
    finally:
        conn.close()


@pytest.mark.parametrize("current,target", list(itertools.product(ins.STATUSES, ins.STATUSES)))
def test_transition_table(workspace, project, current, target):
    item = _make(workspace, project, current)
    assert item.status == current
    events_before = len(ins.list_instruction_events(workspace, item.id))
    if target in ins.TRANSITIONS[current]:
        _force(workspace, item, target)
        after = ins.get_instruction(workspace, item.id)
        assert after.status == target
        events = ins.list_instruction_events(workspace, item.id)
        assert len(events) == events_before + 1
        assert (events[-1]["status_from"], events[-1]["status_to"]) == (current, target)
    else:
        with pytest.raises(ins.IllegalTransition, match=f"is {current}; it cannot become {target}"):
            _force(workspace, item, target)
        assert ins.get_instruction(workspace, item.id).status == current
        assert len(ins.list_instruction_events(workspace, item.id)) == events_before


@pytest.mark.parametrize("status", ins.STATUSES)
def test_confirm_only_from_draft(workspace, project, status):
    item = _make(workspace, project, status)
    if status == "draft":
        confirmed = ins.confirm_instruction(workspace, item.id)
        assert confirmed.status == "queued" and confirmed.confirmed_by_user_id and confirmed.queued_at
        assert [e["event_type"] for e in ins.list_instruction_events(workspace, item.id)] == ["created", "confirmed"]
    else:
        with pytest.raises(ins.IllegalTransition, match="only a draft can be confirmed"):
            ins.confirm_instruction(workspace, item.id)
        assert ins.get_instruction(workspace, item.id).status == status


@pytest.mark.parametrize("status", ins.STATUSES)
def test_cancel_rules(workspace, project, status):
    item = _make(workspace, project, status)
    if status in ("draft", "queued"):
        assert ins.cancel_instruction(workspace, item.id, reason="changed my mind").status == "canceled"
    elif status == "running":
        after = ins.cancel_instruction(workspace, item.id)
        assert after.status == "running" and after.cancel_requested
        assert queue.heartbeat(workspace, item.id, WORKER) is True
        assert ins.list_instruction_events(workspace, item.id)[-1]["event_type"] == "cancel_requested"
    else:
        with pytest.raises(ins.IllegalTransition, match="cannot be canceled"):
            ins.cancel_instruction(workspace, item.id)
        assert ins.get_instruction(workspace, item.id).status == status


def test_no_confirmation_queues_at_once_and_priority_then_age(workspace, project):
    low = ins.create_instruction(workspace, project["id"], "qa_check", {}, requires_confirmation=False, priority=200)
    first = ins.create_instruction(workspace, project["id"], "qa_check", {}, requires_confirmation=False)
    second = ins.create_instruction(workspace, project["id"], "qa_check", {}, requires_confirmation=False)
    assert [e["event_type"] for e in ins.list_instruction_events(workspace, first.id)] == ["created", "queued"]
    order = [queue.reserve_next(workspace, WORKER).id for _ in range(3)]
    assert order == [first.id, second.id, low.id]
    assert queue.reserve_next(workspace, WORKER) is None


def test_lock_lost_and_reclaim(workspace, project):
    item = ins.create_instruction(workspace, project["id"], "qa_check", {}, requires_confirmation=False,
                                  max_attempts=2)
    queue.reserve_next(workspace, "w-dead")
    assert queue.reclaim_stale(workspace, max_locked_seconds=3600) == []
    taken = queue.reclaim_stale(workspace, max_locked_seconds=3600, is_dead=lambda owner: owner == "w-dead")
    assert [t.status for t in taken] == ["queued"]
    with pytest.raises(queue.LockLost):
        queue.finish_instruction(workspace, item.id, "w-dead", "done")
    queue.reserve_next(workspace, "w2")
    assert [t.status for t in queue.reclaim_stale(workspace, max_locked_seconds=0)] == ["failed"]
    kinds = [e["event_type"] for e in ins.list_instruction_events(workspace, item.id)]
    assert kinds.count("attempt_abandoned") == 2 and kinds[-1] == "error"


def test_unknown_type_is_refused(workspace, project):
    with pytest.raises(ins.IllegalTransition, match="Unknown instruction type"):
        ins.create_instruction(workspace, project["id"], "rm_rf", {}, requires_confirmation=False)
