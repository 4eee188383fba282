"""Cost events in the catalog: the one place a paid call's cost becomes a row.

Runs book theirs when their log is ingested (``event_key`` makes that idempotent); standalone
post-processing books each paid step as it finishes. Both go through :func:`upsert_cost_event`,
so the columns and the ``meta_json`` they carry never differ between the two.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from typing import Any

from kroma_kit.catalog.db import to_json, utcnow

COLUMN_KEYS = ("provider_code", "operation_code", "model", "units", "cost_usd", "currency", "event_key", "job_id",
               "candidate_index")


def upsert_cost_event(conn: sqlite3.Connection, row_id: str, project_id: str, run_id: str | None,
                      event: Mapping[str, Any]) -> None:
    """Insert ``event`` (a run log's ``cost_events`` entry shape) or, when its ``event_key`` is
    already booked for the project, update its cost, units, model and meta. Keys that are not
    columns (``usage``, ``at``, ...) go into ``meta_json``."""
    meta = {key: value for key, value in event.items() if key not in COLUMN_KEYS}
    conn.execute(
        "INSERT INTO cost_events (id, project_id, run_id, job_key, candidate_index, provider_code, "
        "operation_code, model_name, units, cost_usd, currency, event_key, meta_json, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT(project_id, event_key) DO UPDATE SET cost_usd = excluded.cost_usd, "
        "units = excluded.units, model_name = excluded.model_name, meta_json = excluded.meta_json",
        (row_id, project_id, run_id, event.get("job_id"), event.get("candidate_index"), event["provider_code"],
         event["operation_code"], event.get("model"), float(event.get("units") or 0), float(event["cost_usd"] or 0),
         event.get("currency") or "USD", event["event_key"], to_json(meta), event.get("at") or utcnow()))


def project_spent_usd(conn: sqlite3.Connection, project_id: str, *, exclude_run: str | None = None) -> float:
    """What the project has paid so far (sum of its cost events), optionally leaving one run out."""
    row = conn.execute("SELECT COALESCE(SUM(cost_usd), 0) FROM cost_events WHERE project_id = ? "
                       "AND (? IS NULL OR run_id IS NULL OR run_id != ?)",
                       (project_id, exclude_run, exclude_run)).fetchone()
    return float(row[0])
