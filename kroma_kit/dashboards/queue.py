"""Queue: what the copilot's agent instructions are doing, for a stakeholder.

Instructions of the chosen project by status (cards and a bar chart), each with its age, attempts
and last error, and the event log of one instruction (picked below the project). Read-only: the
catalog is read through read-only connections, so the page can stay open while workers write.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import ipywidgets as widgets

from kroma_kit.dashboards import cards, charts
from kroma_kit.dashboards.base import DashboardView, EmptyState
from kroma_kit.dashboards.cards import Card, Column
from kroma_kit.workspace import Workspace

STATUSES = ("draft", "queued", "running", "done", "failed", "canceled")
MAX_ROWS = 200


def age_seconds(created_at: str, finished_at: str | None, now: datetime | None = None) -> float:
    """Seconds from creation to the end (finished ones) or to now (open ones)."""
    start = cards.to_datetime(created_at)
    end = cards.to_datetime(finished_at) if finished_at else (now or datetime.now(UTC))
    return max(0.0, (end - start).total_seconds()) if start and end else 0.0


class QueueView(DashboardView):
    """Instructions by status, age, attempts and last error; one instruction's events."""

    title = "Queue"
    css_name = "queue"

    def __init__(self, ws: Workspace | None = None, *, project: str | None = None,
                 instruction: str | None = None) -> None:
        self.instruction_select = widgets.Dropdown(description="Instruction", layout=widgets.Layout(width="520px"))
        self.instruction_select.add_class("kk-instruction-select")
        from kroma_kit.dashboards.context import query_param

        self._wanted_instruction = instruction or query_param("instruction")
        super().__init__(ws, project=project)
        self.instruction_select.observe(lambda change: self.refresh() if change["new"] else None, names="value")

    def extra_controls(self) -> list[widgets.Widget]:
        return [self.instruction_select]

    def _items(self) -> list[Any]:
        from kroma_kit.catalog.instructions import list_instructions
        from kroma_kit.catalog.projects import get_project

        project_id = get_project(self.workspace, str(self.project))["id"]
        return list_instructions(self.workspace, project_id=project_id, limit=MAX_ROWS)

    def on_project_changed(self) -> None:
        if self.project is None or self._listing_error is not None:
            return
        items = self._items()
        options = [(f"{i.id[:8]} · {i.action} · {i.status}", i.id) for i in items]
        wanted = self._wanted_instruction if self._wanted_instruction in [o[1] for o in options] else None
        self.instruction_select.options = options
        self.instruction_select.value = wanted or (options[0][1] if options else None)

    def render_body(self) -> str:
        from kroma_kit.catalog.instructions import list_instruction_events

        items = self._items()
        if not items:
            raise EmptyState("No agent instructions in this project yet. Ask the copilot for work "
                             "(<code>kroma chat send --project P \"check the quality\"</code>).", kind="no-instructions")
        counts = dict.fromkeys(STATUSES, 0)
        for item in items:
            counts[item.status] += 1
        now = datetime.now(UTC)
        self.figures = {"total": len(items), **{f"status-{s}": n for s, n in counts.items()},
                        "attempts": sum(i.attempts for i in items),
                        "rows": [i.id for i in items]}
        summary = cards.cards([Card("total", "Instructions", cards.number(len(items)), len(items))]
                              + [Card(f"status-{s}", s.capitalize(), cards.number(n), n) for s, n in counts.items()],
                              name="queue-summary")
        chart = charts.bar_chart(list(counts), [float(n) for n in counts.values()], name="queue-by-status",
                                 title="Instructions by status", ylabel="count")
        rows = []
        for item in items:
            age = age_seconds(item.created_at, item.finished_at, now)
            rows.append([f'<code title="{cards.esc(item.id)}">{cards.esc(item.id[:8])}</code>',
                         cards.esc(f"{item.instruction_type}/{item.action}"), cards.esc(cards.shorten(item.objective, 60)),
                         cards.status_badge(item.status),
                         cards.value_cell(cards.duration(item.created_at, item.finished_at or now.isoformat()), age),
                         cards.value_cell(cards.number(item.attempts), item.attempts),
                         cards.esc(cards.shorten(item.last_error or "", 120)) or "—"])
        table = cards.table((Column("id", "Id"), Column("kind", "Type/action"), Column("objective", "Objective"),
                             Column("status", "Status"), Column("age", "Age", numeric=True),
                             Column("attempts", "Attempts", numeric=True), Column("error", "Last error")),
                            rows, name="instructions", row_keys=[i.id for i in items])
        chosen = self.instruction_select.value or items[0].id
        events = list_instruction_events(self.workspace, chosen)
        self.figures["events"] = [e["event_type"] for e in events]
        self.figures["events-of"] = chosen
        event_rows = [[cards.number(e["seq"]), cards.esc(cards.iso_utc(e["created_at"])), cards.esc(e["event_type"]),
                       cards.esc(f"{e['status_from'] or ''} → {e['status_to']}" if e["status_to"] else ""),
                       cards.esc(e["worker_id"] or ""), cards.esc(cards.shorten(e["message"], 140))] for e in events]
        event_table = cards.table((Column("seq", "#", numeric=True), Column("at", "At (UTC)"),
                                   Column("event", "Event"), Column("status", "Status"), Column("worker", "Worker"),
                                   Column("message", "Message")), event_rows, name="instruction-events",
                                  row_keys=[e["event_type"] for e in events])
        return "".join([
            summary,
            cards.section("Instructions by status", chart, name="by-status"),
            cards.section("Instructions (newest first)", table, name="instructions"),
            cards.section(f"Events of {chosen[:8]}", event_table, name="events"),
        ])


def queue_dashboard(ws: Workspace | None = None, *, project: str | None = None,
                    instruction: str | None = None) -> QueueView:
    """Build the queue dashboard (default: URL/env project, else the first project)."""
    return QueueView(ws, project=project, instruction=instruction)
