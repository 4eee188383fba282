"""A run read inside one project: the REST API's ``/projects/{slug}/runs/{run_id}`` routes. Only a
full run id of that project is found; another project's run is "not found" (no prefix search, so
a caller scoped to one project learns nothing about another's runs).

Like ``kroma runs list|show``, these call the explicit recovery first
(:func:`~kroma_kit.catalog.runs.mark_interrupted_runs`): a run whose process died shows as
``interrupted``, never ``running`` forever. It writes only when such a run exists."""

from __future__ import annotations

from typing import Any

from kroma_kit.catalog.access import reading
from kroma_kit.catalog.projects import get_project
from kroma_kit.catalog.runs import get_run, list_runs, mark_interrupted_runs
from kroma_kit.errors import NotFoundError
from kroma_kit.workspace import Workspace


def check_run_in_project(ws: Workspace, slug: str, run_id: str) -> str:
    """``run_id`` if it is a run of project ``slug``; otherwise "not found"."""
    project_id = get_project(ws, slug)["id"]
    with reading(ws) as conn:
        owner = conn.execute("SELECT project_id FROM runs WHERE id = ?", (run_id,)).fetchone()
    if owner is None or owner[0] != project_id:
        raise NotFoundError(f"Unknown run '{run_id}' in project '{slug}'. List runs with "
                            f"`kroma runs list --project {slug}`.")
    return run_id


def get_project_run(ws: Workspace, slug: str, run_id: str) -> dict[str, Any]:
    """The run with its jobs (each with candidates) and cost events, if it belongs to ``slug``."""
    run = get_run(ws, check_run_in_project(ws, slug, run_id))
    if run["status"] == "running" and mark_interrupted_runs(ws, slug):
        run = get_run(ws, run_id)
    return run


def list_project_runs(ws: Workspace, slug: str, *, limit: int = 200) -> list[dict[str, Any]]:
    """The project's runs, newest first, after the recovery of runs whose process died."""
    mark_interrupted_runs(ws, slug)
    return list_runs(ws, slug, limit=limit)
