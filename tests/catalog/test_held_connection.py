"""held_open lends its one connection to the holding thread's short connections: each of them
would otherwise parse the catalog's schema again. A borrower must see what a fresh connection
gives, and nothing it leaves behind may reach the next one."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from kroma_kit.catalog.db import held_open, transaction
from kroma_kit.sqlite_held import HeldConnection
from kroma_kit.workspace import Workspace


@pytest.fixture
def ws(tmp_path) -> Workspace:
    ws = Workspace(tmp_path, catalog_url=None)
    conn = ws.connect()
    conn.execute("CREATE TABLE notes (text TEXT)")
    conn.close()
    return ws


def notes(ws: Workspace) -> list[str]:
    conn = ws.connect()
    try:
        return [row[0] for row in conn.execute("SELECT text FROM notes ORDER BY rowid")]
    finally:
        conn.close()


def test_short_connections_of_the_holding_thread_share_the_held_one(ws):
    with held_open(ws):
        first = ws.connect()
        first.execute("INSERT INTO notes VALUES ('a')")
        first.close()
        second = ws.connect()
        try:
            assert second is first and isinstance(second, HeldConnection)
            assert second.execute("SELECT text FROM notes").fetchone()["text"] == "a"  # sqlite3.Row, as always
        finally:
            second.close()
    assert notes(ws) == ["a"]
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        first.execute("SELECT 1")  # the block's end closed it


def test_a_second_connection_while_one_is_lent_is_a_fresh_one(ws):
    with held_open(ws):
        outer = ws.connect()
        try:
            with transaction(outer):
                outer.execute("INSERT INTO notes VALUES ('outer')")
                inner = ws.connect()  # opened inside the outer's transaction: it must not join it
                try:
                    assert inner is not outer and not inner.in_transaction
                    assert inner.execute("SELECT COUNT(*) FROM notes").fetchone()[0] == 0  # not committed yet
                finally:
                    inner.close()
        finally:
            outer.close()
    assert notes(ws) == ["outer"]


def test_other_threads_open_their_own(ws):
    seen = []
    with held_open(ws):
        mine = ws.connect()
        mine.close()

        def other() -> None:
            conn = ws.connect()
            seen.append(conn is mine)
            conn.execute("INSERT INTO notes VALUES ('thread')")
            conn.close()

        thread = threading.Thread(target=other)
        thread.start()
        thread.join()
    assert seen == [False] and notes(ws) == ["thread"]


def test_what_a_borrower_leaves_behind_does_not_reach_the_next(ws):
    with held_open(ws):
        careless = ws.connect()
        careless.execute("BEGIN IMMEDIATE")
        careless.execute("INSERT INTO notes VALUES ('never committed')")
        careless.row_factory = None
        careless.close()  # as closing a connection does: the open transaction is rolled back
        careless.close()  # closing twice is allowed, and must not close it for the next borrower
        after = ws.connect()
        try:
            assert not after.in_transaction
            row = after.execute("SELECT COUNT(*) AS n FROM notes").fetchone()
            assert isinstance(row, sqlite3.Row) and row["n"] == 0
        finally:
            after.close()
    assert notes(ws) == []


def test_a_read_only_borrower_cannot_write_and_the_next_one_can(ws):
    with held_open(ws):
        reader = ws.connect(read_only=True)
        try:
            with pytest.raises(sqlite3.OperationalError, match="readonly|read-only|query_only"):
                reader.execute("INSERT INTO notes VALUES ('no')")
        finally:
            reader.close()
        writer = ws.connect()
        try:
            writer.execute("INSERT INTO notes VALUES ('yes')")
        finally:
            writer.close()
    assert notes(ws) == ["yes"]


def test_a_borrower_still_holding_it_when_the_block_ends_closes_it_itself(ws):
    with held_open(ws):
        kept = ws.connect()
    kept.execute("INSERT INTO notes VALUES ('late')")  # still usable: its holder has not closed it
    kept.close()
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        kept.execute("SELECT 1")
    assert notes(ws) == ["late"]


def test_a_nested_block_keeps_the_outer_connection(ws):
    with held_open(ws):
        outer = ws.connect()
        outer.close()
        with held_open(ws):
            inner = ws.connect()
            inner.close()
        again = ws.connect()
        again.close()
        assert inner is outer and again is outer
        again.execute("SELECT 1")  # the inner block's end did not close the outer's connection
