"""ProjectPicker: choose the project every other panel works on, or create one.

The picker is the notebook's first question ("which book am I working on?"), so it also answers
the next one at a glance: how many runs, assets and dollars the project holds so far (from
:func:`kroma_kit.analytics.project_summary`). Creating a project can install the sample scenes,
styles and characters, which is how a new artist gets a working manifest in one click.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import ipywidgets as widgets

from kroma_kit.widgets._common import Panel, button, esc, usd
from kroma_kit.workspace import Workspace


class ProjectPicker(Panel):
    """Select or create a project. ``.project`` is the selected slug; ``on_select(fn)`` calls
    ``fn(slug)`` whenever the selection changes (e.g. to point other panels at it)."""

    def __init__(self, ws: Workspace | None = None, *, project: str | None = None) -> None:
        super().__init__(ws, project=project)
        self._listeners: list[Callable[[str | None], None]] = []
        self._refreshing = False
        self.dropdown = widgets.Dropdown(description="Project", options=[], value=None)
        self.dropdown.add_class("kk-project")
        self.summary = widgets.HTML()
        self.summary.add_class("kk-project-summary")
        self.new_slug = widgets.Text(description="Slug", placeholder="my-book")
        self.new_name = widgets.Text(description="Name", placeholder="My Book")
        self.with_samples = widgets.Checkbox(value=True, description="Install sample scenes, styles and characters",
                                             indent=False)
        self.create_button = button("Create project", "kk-create", style="primary")
        self.create_button.on_click(self.action(self._create_from_form))
        self.dropdown.observe(self._on_dropdown, names="value")
        self.widget = widgets.VBox([
            widgets.HTML("<b>Project</b>"), self.dropdown, self.summary,
            widgets.HTML("<b>New project</b>"), self.new_slug, self.new_name, self.with_samples,
            self.create_button, self.status,
        ])
        self.widget.add_class("kk-project-picker")
        self.refresh(select=project)

    # ------------------------------------------------------------------ actions

    def refresh(self, select: str | None = None) -> list[str]:
        """Reload the project list from the catalog; keep (or set) the selection."""
        from kroma_kit.catalog.projects import list_projects

        projects = list_projects(self.ws)
        options = [(f"{p['name']} ({p['slug']})", p["slug"]) for p in projects]
        slugs = [slug for _, slug in options]
        wanted = select if select is not None else self.project
        previous = self.project
        self._refreshing = True
        try:
            self.dropdown.options = options
            self.dropdown.value = wanted if wanted in slugs else (slugs[0] if slugs else None)
        finally:
            self._refreshing = False
        self._selected(notify=self.dropdown.value != previous)
        return slugs

    def reload(self) -> None:
        self.refresh()

    def select(self, slug: str) -> None:
        """Make ``slug`` the selected project (it must exist)."""
        from kroma_kit.catalog.projects import get_project

        get_project(self.ws, slug)
        self.refresh(select=slug)

    def create(self, slug: str, name: str | None = None, *, samples: bool = True) -> dict[str, Any]:
        """Create the project (and its folders); with ``samples`` also the sample inputs and a
        manifest that uses them. Selects it and returns the project record."""
        from kroma_kit.project_setup import new_project

        project = new_project(self.ws, slug, name or None, samples=samples)
        message = f"Created project '{slug}' at {project['root']}"
        if samples:
            installed = project["samples"]
            message += (f" with {len(installed['scene_refs'])} sample scenes, "
                        f"{len(installed['style_refs'])} style refs, {len(installed['character_refs'])} characters")
        else:
            message += " with a starter manifest: add its first scene in the ManifestEditor"
        self.refresh(select=slug)
        self.set_status(message, "ok")
        return project

    def on_select(self, listener: Callable[[str | None], None]) -> None:
        """Call ``listener(slug)`` now and on every later selection change."""
        self._listeners.append(listener)
        listener(self.project)

    # ------------------------------------------------------------------ internals

    def _create_from_form(self) -> None:
        self.create(self.new_slug.value.strip(), self.new_name.value.strip() or None,
                    samples=self.with_samples.value)
        self.new_slug.value = ""
        self.new_name.value = ""

    def _on_dropdown(self, _change: dict[str, Any]) -> None:
        if not self._refreshing:
            self._selected(notify=True)

    def _selected(self, *, notify: bool) -> None:
        self.project = self.dropdown.value
        self._show_summary()
        if notify:
            for listener in self._listeners:
                listener(self.project)

    def _show_summary(self) -> None:
        if not self.project:
            self.summary.value = "<i>No projects yet: create one below.</i>"
            return
        from kroma_kit.analytics import project_summary
        from kroma_kit.catalog.projects import get_project

        root = get_project(self.ws, self.project)["root"]
        facts = project_summary(self.ws, self.project)
        rate = facts.get("qa_pass_rate")
        self.summary.value = (
            f"<div>Folder: <code>{esc(root)}</code><br>"
            f"Runs: {facts.get('total_runs', 0)} · assets: {facts.get('assets', 0)} · "
            f"spent: {usd(facts.get('cost_usd', 0))} · QA pass rate: "
            f"{'—' if rate is None else f'{float(rate):.0%}'} · last run: {esc(facts.get('last_run_at') or '—')}</div>")


def open_workbench(project: str = "demo", *, home: str | Path | None = None, samples: bool = True) -> Workspace:
    """A notebook's first cell: the workspace (``$KROMA_HOME``, else ``~/.kroma``) with
    ``project`` in it, created (with the sample inputs when ``samples``) if it is missing, so a
    notebook runs top to bottom on a fresh machine and reuses the project afterwards."""
    from kroma_kit.catalog import open_workspace
    from kroma_kit.catalog.projects import get_project
    from kroma_kit.errors import NotFoundError
    from kroma_kit.project_setup import new_project

    ws = open_workspace(home)
    try:
        get_project(ws, project)
    except NotFoundError:
        new_project(ws, project, samples=samples)
    return ws

