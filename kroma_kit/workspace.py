"""Where things live: the workspace (``KROMA_HOME``), its catalog, and each project's folders.

One rule finds the workspace, so the CLI, a notebook, a Voilà dashboard and the worker all
agree whatever their working directory: ``$KROMA_HOME`` when set, otherwise ``~/.kroma``.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from kroma_kit.errors import StorageError

DEFAULT_HOME = "~/.kroma"
CATALOG_FILE = "catalog.db"


def workspace_home(home: str | os.PathLike[str] | None = None) -> Path:
    """Resolve the workspace folder: explicit argument, else ``$KROMA_HOME``, else ``~/.kroma``."""
    raw = home if home is not None else os.environ.get("KROMA_HOME") or DEFAULT_HOME
    return Path(raw).expanduser().resolve()


@dataclass(frozen=True)
class Workspace:
    """A workspace folder: ``catalog.db`` plus ``projects/<slug>/`` by default."""

    home: Path

    @property
    def catalog_path(self) -> Path:
        return self.home / CATALOG_FILE

    @property
    def projects_dir(self) -> Path:
        return self.home / "projects"

    def connect(self) -> sqlite3.Connection:
        """Open the catalog (WAL, foreign keys, busy timeout). The schema must already exist."""
        from kroma_kit.catalog.db import connect

        return connect(self.catalog_path)


def open_workspace(home: str | os.PathLike[str] | None = None, *, create: bool = True) -> Workspace:
    """Return the workspace, creating its folders and applying catalog migrations when needed.

    Migrations are additive and idempotent, so calling this from every process is safe.
    """
    from kroma_kit.catalog.db import connect
    from kroma_kit.catalog.migrations import migrate

    ws = Workspace(workspace_home(home))
    if not create and not ws.catalog_path.exists():
        raise StorageError(
            f"No Kroma workspace at {ws.home} (no {CATALOG_FILE}). Run `kroma init` or set KROMA_HOME."
        )
    ws.projects_dir.mkdir(parents=True, exist_ok=True)
    conn = connect(ws.catalog_path)
    try:
        migrate(conn)
    finally:
        conn.close()
    return ws


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
        """A path relative to the project root with '/' separators, or absolute when outside it."""
        resolved = Path(path).resolve()
        try:
            return resolved.relative_to(self.root.resolve()).as_posix()
        except ValueError:
            return resolved.as_posix()
