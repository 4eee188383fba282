"""The catalog tests run on both engines (SQLite file and a real PostgreSQL server)."""

from tests.pg_server import both_engines as pytest_generate_tests  # noqa: F401
