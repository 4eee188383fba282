"""Schema discovery answers alike on SQLite and PostgreSQL (tables, keys, references, parents
first), and rows naming missing parents are found on either engine."""

from __future__ import annotations

import sqlite3

import pytest

from kroma_kit.catalog.db import dialect, is_foreign_key_failure, new_id, utcnow
from kroma_kit.catalog.schema import (
    ForeignKey,
    dangling_references,
    foreign_keys,
    parents_first,
    primary_key,
    rows_parents_first,
    table_columns,
    unique_keys,
    user_tables,
)
from kroma_kit.errors import StorageError


def test_discovery_names_the_catalogs_keys_and_orders_parents_first(workspace) -> None:
    conn = workspace.connect(read_only=True)
    try:
        tables = user_tables(conn)
        assert {"projects", "runs", "run_jobs", "run_candidates", "character_images"} <= set(tables)
        assert not any(t.startswith("sqlite_") for t in tables)
        assert table_columns(conn, "run_jobs")[:2] == ["id", "run_id"]
        assert primary_key(conn, "runs") == ["id"]
        assert ForeignKey("run_id", "runs", "id") in foreign_keys(conn, "run_jobs")
        assert ForeignKey("parent_image_id", "character_images", "id") in foreign_keys(conn, "character_images")
        assert ["project_id", "code"] in unique_keys(conn, "characters")  # a partial unique index counts
        order = parents_first(tables, {t: [fk.parent for fk in foreign_keys(conn, t)] for t in tables})
        assert sorted(order) == tables
        assert order.index("projects") < order.index("runs") < order.index("run_jobs") < order.index("run_candidates")
        assert dangling_references(conn) == []
    finally:
        conn.close()


def test_dangling_references_are_found_on_either_engine(workspace) -> None:
    conn = workspace.connect()
    try:
        conn.execute("CREATE TABLE t_parent (id TEXT PRIMARY KEY)")
        conn.execute("INSERT INTO t_parent (id) VALUES ('held')")
        if dialect(conn) == "postgresql":  # keys here refuse such rows at once, unless added NOT VALID
            conn.execute("CREATE TABLE t_child (id TEXT PRIMARY KEY, parent_id TEXT)")
            conn.execute("INSERT INTO t_child VALUES ('ok', 'held'), ('lost', 'gone'), ('none', NULL)")
            conn.execute("ALTER TABLE t_child ADD CONSTRAINT t_child_parent FOREIGN KEY (parent_id) "
                         "REFERENCES t_parent (id) NOT VALID")
        else:
            conn.execute("CREATE TABLE t_child (id TEXT PRIMARY KEY, parent_id TEXT REFERENCES t_parent (id))")
            conn.execute("PRAGMA foreign_keys = OFF")
            conn.execute("INSERT INTO t_child VALUES ('ok', 'held'), ('lost', 'gone'), ('none', NULL)")
        found = dangling_references(conn, ["t_child"])
        assert [(p[0], p[2]) for p in found] == [("t_child", "t_parent")]
        assert dangling_references(conn) == found and dangling_references(conn, ["t_parent"]) == []
    finally:
        conn.close()


def test_a_missing_parent_is_told_apart_from_other_refusals_on_either_engine(workspace) -> None:
    conn = workspace.connect()
    try:
        with pytest.raises(sqlite3.IntegrityError) as missing:
            conn.execute("INSERT INTO audit_events (id, project_id, event_code, payload_json, created_at) "
                         "VALUES (?, 'no-such-project', 'x', '{}', ?)", (new_id(), utcnow()))
        taken = new_id()
        conn.execute("INSERT INTO audit_events (id, event_code, payload_json, created_at) VALUES (?, 'x', '{}', ?)",
                     (taken, utcnow()))
        with pytest.raises(sqlite3.IntegrityError) as duplicate:
            conn.execute("INSERT INTO audit_events (id, event_code, payload_json, created_at) "
                         "VALUES (?, 'x', '{}', ?)", (taken, utcnow()))
        assert is_foreign_key_failure(missing.value) and not is_foreign_key_failure(duplicate.value)
    finally:
        conn.close()


def test_a_cycle_of_tables_cannot_be_ordered_parents_first() -> None:
    assert parents_first(["b", "a", "c"], {"c": ["b", "c"], "b": ["a", "elsewhere"]}) == ["a", "b", "c"]
    with pytest.raises(StorageError, match="cycle among a, b"):
        parents_first(["a", "b", "c"], {"a": ["b"], "b": ["a"]})


def test_rows_of_a_self_referencing_table_come_after_their_parent() -> None:
    rows = [{"id": "a", "up": "c"}, {"id": "b", "up": "a"}, {"id": "c", "up": None}, {"id": "d", "up": "elsewhere"},
            {"id": "e", "up": "e"}]
    assert [r["id"] for r in rows_parents_first(rows, "id", "up")] == ["c", "d", "e", "a", "b"]
    circle = [{"id": "x", "up": "y"}, {"id": "y", "up": "x"}, {"id": "z", "up": None}]
    assert [r["id"] for r in rows_parents_first(circle, "id", "up")] == ["z", "x", "y"]
