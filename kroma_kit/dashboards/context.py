"""Which workspace, project and run a dashboard shows, found without ever writing.

Dashboards are opened by people who did not set anything up, often in several tabs while a run
is writing. So, unlike :func:`~kroma_kit.workspace.open_workspace` (which creates folders and
applies migrations, i.e. writes to the catalog), this module only *looks*: the workspace is
``$KROMA_HOME`` (or ``~/.kroma``) as-is, and a missing catalog is reported as "empty workspace".

What to show comes, in order, from the explicit argument, the Voilà URL query
(``/voila/render/run_viewer.ipynb?project=demo&run=<id>``), the environment
(``KROMA_DASHBOARD_PROJECT`` / ``KROMA_DASHBOARD_RUN``; CI and links use these), and finally the
first project / newest run.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import parse_qs

from kroma_kit.workspace import Workspace, workspace_home

PROJECT_ENV = "KROMA_DASHBOARD_PROJECT"
RUN_ENV = "KROMA_DASHBOARD_RUN"
EXPECT_HOME_ENV = "KROMA_DASHBOARD_EXPECT_HOME"
EXPECT_DATA_ENV = "KROMA_DASHBOARD_EXPECT_DATA"


def read_workspace(home: str | os.PathLike[str] | None = None) -> Workspace:
    """The workspace a dashboard reads, resolved like everywhere else but never created or migrated."""
    return Workspace(workspace_home(home))


def has_catalog(ws: Workspace) -> bool:
    return ws.catalog_path.is_file()


def query_param(name: str) -> str | None:
    """A parameter of the Voilà page URL. Voilà puts the query in the kernel's ``QUERY_STRING``."""
    values = parse_qs(os.environ.get("QUERY_STRING", "")).get(name)
    return values[0] if values and values[0] else None


def requested_project(explicit: str | None = None) -> str | None:
    return explicit or query_param("project") or os.environ.get(PROJECT_ENV) or None


def requested_run(explicit: str | None = None) -> str | None:
    return explicit or query_param("run") or os.environ.get(RUN_ENV) or None


def pick(wanted: str | None, available: list[str]) -> str | None:
    """``wanted`` when it exists, else the first available (lists come newest / first already)."""
    if wanted and wanted in available:
        return wanted
    return available[0] if available else None


def expected_home() -> Path | None:
    """The workspace a test harness says the kernel must see (``KROMA_DASHBOARD_EXPECT_HOME``)."""
    raw = os.environ.get(EXPECT_HOME_ENV)
    return Path(raw).expanduser().resolve() if raw else None


def expect_data() -> bool:
    """True when a test harness says the page must show figures (``KROMA_DASHBOARD_EXPECT_DATA=1``)."""
    return os.environ.get(EXPECT_DATA_ENV) == "1"
