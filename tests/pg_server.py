"""A real PostgreSQL server for the tests (and the bench): Debian's binaries, started in a temp
folder on 127.0.0.1 with a free port, as the unprivileged ``postgres`` user when we are root
(PostgreSQL refuses to run as root; CI runs as root).

One server per pytest session; one migrated template database, so each test gets a fresh,
migrated catalog with ``CREATE DATABASE ... TEMPLATE`` (a file copy, ~0.1 s) instead of
running the migrations again. Durability is off (``fsync``): a test server holds nothing to keep.
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ENGINES = ("sqlite", "postgresql")
PG_BIN_DIRS = ("/usr/lib/postgresql/17/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/15/bin")
TEMPLATE = "kroma_template"


def pg_bin_dir() -> Path | None:
    """Where ``initdb``/``pg_ctl`` are (``$KROMA_PG_BIN`` first), or ``None`` when not installed."""
    for raw in (os.environ.get("KROMA_PG_BIN"), *PG_BIN_DIRS):
        if raw and (Path(raw) / "initdb").is_file() and (Path(raw) / "pg_ctl").is_file():
            return Path(raw)
    found = shutil.which("initdb")
    return Path(found).parent if found and shutil.which("pg_ctl") else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class PgServer:
    """A running server; :meth:`new_database` hands out fresh migrated catalogs."""

    folder: Path
    port: int
    bin_dir: Path
    user: str | None
    _counter: itertools.count = field(default_factory=lambda: itertools.count(1))

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(sql)  # type: ignore[arg-type]

    def new_database(self, *, migrated: bool = True) -> str:
        """A new database (a copy of the migrated template, or empty); returns its URL."""
        name = f"kroma_t{os.getpid()}_{next(self._counter)}"
        self.admin(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{TEMPLATE}"' if migrated else ""))
        return self.url(name)

    def release(self, url: str) -> None:
        """Close this process's pooled connections to ``url`` (the database goes with the server)."""
        from kroma_kit.postgres import close_pool

        close_pool(url)

    def drop_database(self, url: str) -> None:
        from kroma_kit.postgres import close_pool

        close_pool(url)
        name = url.rsplit("/", 1)[1]
        self.admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.folder / "data"), "-m", "immediate", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)

    def _run(self, *argv: str) -> None:
        cmd = list(argv)
        if self.user:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)


def start_server(*, durable: bool = False) -> PgServer:
    """initdb + start a server in a new temp folder; the migrated template is created too.
    ``durable`` keeps fsync on (the bench); tests run without it."""
    bin_dir = pg_bin_dir()
    if bin_dir is None:
        raise FileNotFoundError("PostgreSQL server binaries (initdb, pg_ctl) not found; install Debian's "
                                "`postgresql` package or set KROMA_PG_BIN.")
    user = "postgres" if os.geteuid() == 0 else None
    folder = Path(tempfile.mkdtemp(prefix="kroma-pg-"))
    if user:
        entry = pwd.getpwnam(user)
        os.chown(folder, entry.pw_uid, entry.pw_gid)
    server = PgServer(folder, _free_port(), bin_dir, user)
    data = folder / "data"
    server._run(str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "--no-sync",
                "--locale=C", "--encoding=UTF8")
    settings = f"-c listen_addresses=127.0.0.1 -c port={server.port} -k {folder} -c max_connections=200 " \
               f"-c shared_buffers=64MB"
    if not durable:
        settings += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    server._run(str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(folder / "server.log"), "-w", "-t", "60",
                "-o", settings, "start")
    server.admin(f'CREATE DATABASE "{TEMPLATE}"')
    migrate_url(server.url(TEMPLATE))
    from kroma_kit.postgres import close_pool

    close_pool(server.url(TEMPLATE))  # a template must have no connections when it is copied
    return server


def migrate_url(url: str) -> None:
    from kroma_kit.catalog.db import connect
    from kroma_kit.catalog.migrations import migrate

    conn = connect(url)
    try:
        migrate(conn)
    finally:
        conn.close()


def both_engines(metafunc: pytest.Metafunc) -> None:
    """``pytest_generate_tests`` for the packages whose tests run on both catalog engines: every
    test using the workspace runs on SQLite and PostgreSQL, except those marked ``sqlite_only``
    (they test SQLite's own machinery: WAL, its lock, the snapshot's change-log triggers) and
    those that parametrize ``catalog_engine`` themselves (PostgreSQL-only behaviour)."""
    own = any("catalog_engine" in str(mark.args[0]) for mark in metafunc.definition.iter_markers("parametrize"))
    if "catalog_engine" in metafunc.fixturenames and not own \
            and not metafunc.definition.get_closest_marker("sqlite_only"):
        metafunc.parametrize("catalog_engine", ENGINES, indirect=True)
