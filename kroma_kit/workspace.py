"""Where things live: the workspace (``KROMA_HOME``), its catalog, and each project's folders.

One rule finds the workspace, so the CLI, a notebook, a Voilà dashboard and the worker all
agree whatever their working directory: ``$KROMA_HOME`` when set, otherwise ``~/.kroma``.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kroma_kit.errors import StorageError
from kroma_kit.postgres import connect as connect_postgres
from kroma_kit.postgres import is_postgres_url, redact
from kroma_kit.sqlite_held import borrow

DEFAULT_HOME = "~/.kroma"
CATALOG_FILE = "catalog.db"
CATALOG_URL_ENV = "KROMA_CATALOG_URL"  # postgresql://... puts the catalog on PostgreSQL


def workspace_home(home: str | os.PathLike[str] | None = None) -> Path:
    """Resolve the workspace folder: explicit argument, else ``$KROMA_HOME``, else ``~/.kroma``."""
    raw = home if home is not None else os.environ.get("KROMA_HOME") or DEFAULT_HOME
    return Path(raw).expanduser().resolve()


BUSY_TIMEOUT_MS = 15000  # how long a writer waits for the catalog's write lock



def catalog_url_from_env() -> str | None:
    """``$KROMA_CATALOG_URL`` when it names a PostgreSQL catalog; ``None`` keeps the SQLite file.
    Anything else set there is refused, so a typo never silently means "use SQLite"."""
    raw = (os.environ.get(CATALOG_URL_ENV) or "").strip()
    if not raw:
        return None
    if not is_postgres_url(raw):
        raise StorageError(f"{CATALOG_URL_ENV} must be a postgresql://user@host:port/database URL "
                           f"(or unset for <KROMA_HOME>/{CATALOG_FILE}), got {raw[:40]!r}.")
    return raw


class CatalogFile(type(Path())):  # type: ignore[misc]
    """``<home>/catalog.db``, remembering the PostgreSQL URL that replaces it when one is set.

    Why a path that knows its URL: every module opens the catalog with
    ``connect(ws.catalog_path)``; carrying the URL here makes that same call open PostgreSQL,
    so no caller has to change. ``exists()``/``is_file()`` answer for the catalog (a URL's
    catalog "exists"); paths derived from it are plain paths."""

    catalog_url: str | None = None

    def exists(self, *args: Any, **kwargs: Any) -> bool:
        return bool(self.catalog_url) or super().exists(*args, **kwargs)

    def is_file(self) -> bool:
        return bool(self.catalog_url) or super().is_file()


def catalog_file(path: str | os.PathLike[str], catalog_url: str | None) -> Path:
    found = CatalogFile(path)
    found.catalog_url = catalog_url
    return found


def connect(path: str | os.PathLike[str], *, read_only: bool = False) -> Any:
    """Open the catalog with the pragmas every connection needs: the SQLite file at ``path``,
    or PostgreSQL when ``path`` is a ``postgresql://`` URL or a workspace's :class:`CatalogFile`
    carrying one (a :class:`kroma_kit.postgres.Connection` with the same surface).

    ``isolation_level=None`` means autocommit: writers group statements with :func:`transaction`.
    """
    url = getattr(path, "catalog_url", None) or (path if is_postgres_url(path) else None)
    if url:
        return connect_postgres(str(url), read_only=read_only)
    return connect_sqlite(path, read_only=read_only)


def connect_sqlite(path: str | os.PathLike[str], *, read_only: bool = False,
                   factory: type[sqlite3.Connection] = sqlite3.Connection) -> sqlite3.Connection:
    """Open a SQLite catalog file (WAL, foreign keys, busy timeout), whatever the environment says;
    inside :func:`kroma_kit.sqlite_held.holding` on this thread, the held connection is lent instead."""
    db_path = Path(path)
    held = borrow(db_path, read_only=read_only)
    if held is not None:
        return held
    if read_only:
        conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_MS / 1000,
                               isolation_level=None, check_same_thread=True, factory=factory)
    else:
        db_path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(db_path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, factory=factory)
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys = ON")
    if not read_only:
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
        if str(mode).lower() != "wal":
            conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
    return conn


@dataclass(frozen=True)
class Workspace:
    """A workspace folder: ``catalog.db`` plus ``projects/<slug>/`` by default."""

    home: Path
    catalog_url: str | None = field(default_factory=catalog_url_from_env)

    @property
    def catalog_path(self) -> Path:
        """The SQLite file, or the :class:`CatalogFile` standing for the PostgreSQL catalog."""
        return catalog_file(self.home / CATALOG_FILE, self.catalog_url)

    @property
    def catalog_label(self) -> str:
        """Where the catalog is, for messages: the file, or the URL without its password."""
        return redact(self.catalog_url) if self.catalog_url else str(self.home / CATALOG_FILE)

    @property
    def engine(self) -> str:
        """``"postgresql"`` or ``"sqlite"``: which engine holds this workspace's catalog."""
        return "postgresql" if self.catalog_url else "sqlite"

    @property
    def projects_dir(self) -> Path:
        return self.home / "projects"

    def connect(self, *, read_only: bool = False) -> Any:
        """Open the catalog (SQLite: WAL, foreign keys, busy timeout; or PostgreSQL). The schema
        must already exist (:func:`kroma_kit.catalog.open_workspace` applies migrations)."""
        return connect(self.catalog_path, read_only=read_only)


@dataclass(frozen=True)
class ProjectLayout:
    """The folders of one project root (ARCHITECTURE decision 4, seed 000 names)."""

    root: Path

    FOLDERS = (
        "inputs", "inputs/scenes", "inputs/styles", "characters", "outputs", "background_removed",
        "upscaled", "color_corrected", "runs", "archive/bad", "archive/replaced", "exports", ".kroma",
    )

    @property
    def inputs(self) -> Path:
        return self.root / "inputs"

    @property
    def scenes(self) -> Path:
        return self.root / "inputs" / "scenes"

    @property
    def styles(self) -> Path:
        return self.root / "inputs" / "styles"

    @property
    def characters(self) -> Path:
        return self.root / "characters"

    @property
    def outputs(self) -> Path:
        return self.root / "outputs"

    @property
    def background_removed(self) -> Path:
        return self.root / "background_removed"

    @property
    def upscaled(self) -> Path:
        return self.root / "upscaled"

    @property
    def color_corrected(self) -> Path:
        return self.root / "color_corrected"

    @property
    def runs(self) -> Path:
        return self.root / "runs"

    @property
    def archive_bad(self) -> Path:
        return self.root / "archive" / "bad"

    @property
    def archive_replaced(self) -> Path:
        return self.root / "archive" / "replaced"

    @property
    def exports(self) -> Path:
        return self.root / "exports"

    @property
    def settings_dir(self) -> Path:
        return self.root / ".kroma"

    @property
    def thumbnails(self) -> Path:
        return self.root / ".kroma" / "thumbnails"

    def ensure(self) -> ProjectLayout:
        for name in self.FOLDERS:
            (self.root / name).mkdir(parents=True, exist_ok=True)
        return self

    def inside(self, path: str | os.PathLike[str]) -> Path:
        """Resolve ``path`` (relative to the root, or absolute) and refuse anything outside the root."""
        candidate = Path(path)
        resolved = (candidate if candidate.is_absolute() else self.root / candidate).resolve()
        root = self.root.resolve()
        if resolved != root and root not in resolved.parents:
            raise StorageError(f"Path {path} is outside the project root {root}.")
        return resolved

    def relative(self, path: str | os.PathLike[str]) -> str:
        """A path relative to the project root with '/' separators, or absolute when outside it.

        A path already spelled under the root (no ``..``) is answered lexically: it is how the
        project names its own files (a symlinked ``outputs/`` stays ``outputs/...``, portable), and
        it costs no ``realpath`` walk (about a dozen ``lstat`` calls, paid several times for every
        candidate of a run). Anything else is resolved first, as before."""
        given = Path(path)
        if given.is_absolute() and ".." not in given.parts:
            try:
                return given.relative_to(self.root).as_posix()
            except ValueError:
                pass
        resolved = given.resolve()
        try:
            return resolved.relative_to(self.root.resolve()).as_posix()
        except ValueError:
            return resolved.as_posix()
