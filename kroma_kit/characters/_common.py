"""Small shared helpers of the characters service: project lookup and catalog connections."""

from __future__ import annotations

from typing import Any

from kroma_kit.catalog.access import reading, writing  # noqa: F401 (the package's read/write helpers)
from kroma_kit.catalog.projects import get_project
from kroma_kit.workspace import Workspace


def project_of(ws: Workspace, project: str | dict[str, Any]) -> dict[str, Any]:
    """A project row from its slug (or the row itself, passed through)."""
    return project if isinstance(project, dict) else get_project(ws, project)


