"""The catalog: the system of record in SQLite (WAL). One module per domain."""
