"""The stage cache's index: content key -> the candidate whose work it names (table
``stage_cache``, migration 0008). What a key is and when an entry may be reused is the
pipeline's business (:mod:`kroma_kit.pipeline.stage_cache`); this module only stores and finds
entries, in portable SQL (``?`` placeholders, ``ON CONFLICT ... DO UPDATE``) so it works on the
PostgreSQL catalog too."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from kroma_kit.catalog.db import from_json, to_json, transaction, utcnow
from kroma_kit.workspace import Workspace

_LOOKUP_BATCH = 200  # keys per query: far below any engine's parameter limit


@dataclass(frozen=True)
class CacheEntry:
    """One remembered candidate: where it was made and its run-log record (files, sha256, guard)."""

    cache_key: str
    run_id: str
    job_id: str
    candidate_index: int
    record: dict[str, Any]


def find_entries(ws: Workspace, project_id: str, keys: Iterable[str]) -> dict[str, CacheEntry]:
    """The entries of ``project_id`` for those of ``keys`` the cache knows, by key."""
    wanted = sorted(set(keys))
    found: dict[str, CacheEntry] = {}
    if not wanted:
        return found
    conn = ws.connect()
    try:
        for start in range(0, len(wanted), _LOOKUP_BATCH):
            batch = wanted[start:start + _LOOKUP_BATCH]
            marks = ", ".join("?" for _ in batch)
            rows = conn.execute(
                "SELECT cache_key, run_id, job_id, candidate_index, record_json FROM stage_cache "
                f"WHERE project_id = ? AND cache_key IN ({marks})", (project_id, *batch)).fetchall()
            for row in rows:
                found[row[0]] = CacheEntry(row[0], row[1], row[2], int(row[3]), from_json(row[4]))
    finally:
        conn.close()
    return found


def remember_entries(ws: Workspace, project_id: str, entries: Iterable[CacheEntry]) -> int:
    """Store ``entries`` (a newer candidate with a known key replaces the older); returns how many."""
    rows = [(project_id, entry.cache_key, entry.run_id, entry.job_id, entry.candidate_index,
             to_json(entry.record), utcnow()) for entry in entries]
    if not rows:
        return 0
    conn = ws.connect()
    try:
        with transaction(conn):
            conn.executemany(
                "INSERT INTO stage_cache (project_id, cache_key, run_id, job_id, candidate_index, record_json, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (project_id, cache_key) DO UPDATE SET "
                "run_id = excluded.run_id, job_id = excluded.job_id, candidate_index = excluded.candidate_index, "
                "record_json = excluded.record_json, created_at = excluded.created_at", rows)
    finally:
        conn.close()
    return len(rows)
