"""The API is a face: its modules hold no SQL and open no database; every route module exposes
one ``router`` and is registered in ``ROUTE_MODULES``."""

from __future__ import annotations

import re
from importlib import import_module
from pathlib import Path

import kroma_kit.server as server_package
from kroma_kit.server.app import ROUTE_MODULES

SERVER = Path(server_package.__file__).parent
SQL = re.compile(r"\b(SELECT\s.+\sFROM|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|CREATE\s+TABLE)\b", re.I)


def test_no_sql_and_no_database_in_the_server_face():
    for path in SERVER.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert not SQL.search(text), f"SQL in {path.relative_to(SERVER)}: move it to kroma_kit/catalog/"
        assert "import sqlite3" not in text and ".connect(" not in text, path


def test_every_route_module_is_registered():
    modules = {path.stem for path in (SERVER / "routes").glob("*.py") if path.stem != "__init__"}
    assert modules == set(ROUTE_MODULES)
    for name in ROUTE_MODULES:
        assert import_module(f"kroma_kit.server.routes.{name}").router.routes
