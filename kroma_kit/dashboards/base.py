"""The frame every dashboard view shares: title, project picker, empty states, error capture.

A view is an ``ipywidgets.VBox`` so a thin notebook can ``display`` it, and it keeps what it
shows in :attr:`DashboardView.figures` (machine-readable) so the notebook's self-check cell and
the tests can compare the page with :mod:`kroma_kit.analytics` without scraping HTML.

Reading never writes: the workspace comes from :func:`~kroma_kit.dashboards.context.read_workspace`
and every figure from an analytics call that opens its own short read-only session. A failure to
read is shown on the page in plain words and kept in :attr:`DashboardView.error` (the self-check
asserts it is empty) instead of replacing the page with a traceback.
"""

from __future__ import annotations

import logging
from typing import Any

import ipywidgets as widgets

from kroma_kit.dashboards import cards
from kroma_kit.dashboards.context import has_catalog, pick, read_workspace, requested_project
from kroma_kit.workspace import Workspace

log = logging.getLogger(__name__)


def full_width() -> widgets.Layout:
    """Stretch across the page. ``width="100%"`` would add the widget's 2 px margins on top and
    clip the right edge inside Voilà's output area."""
    return widgets.Layout(width="auto", align_self="stretch")


class EmptyState(Exception):
    """Raised inside a render to stop and show a plain message (no workspace, no runs, ...)."""

    def __init__(self, message_html: str, kind: str = "empty") -> None:
        super().__init__(message_html)
        self.message_html = message_html
        self.kind = kind


class DashboardView(widgets.VBox):
    """Base of the four dashboards. Subclasses implement :meth:`render_body`."""

    title = "Kroma Kit"
    css_name = "dashboard"

    def __init__(self, ws: Workspace | None = None, *, project: str | None = None) -> None:
        self.workspace = ws if ws is not None else read_workspace()
        self.project: str | None = None
        self.figures: dict[str, Any] = {}
        self.message: str | None = None
        self.error: str | None = None
        self.renders = 0
        self._listing_error: Exception | None = None
        self.header = widgets.HTML(layout=full_width())
        self.header.add_class("kk-header")
        self.project_select = widgets.Dropdown(description="Project", layout=widgets.Layout(width="360px"))
        self.project_select.add_class("kk-project-select")
        self.controls = widgets.HBox([self.project_select, *self.extra_controls()])
        self.controls.add_class("kk-controls")
        self.body = widgets.HTML(layout=full_width())
        self.body.add_class("kk-body")
        super().__init__([self.header, self.controls, self.body, *self.widgets_below_body()],
                         layout=full_width())
        self.add_class("kk-dash")
        self.add_class(f"kk-dash-{self.css_name}")
        self._load_projects(requested_project(project))
        self.project_select.observe(self._on_project, names="value")
        self.refresh()

    # ----------------------------------------------------------------------------- subclass hooks

    def extra_controls(self) -> list[widgets.Widget]:
        """Pickers shown beside the project picker (e.g. a run picker)."""
        return []

    def widgets_below_body(self) -> list[widgets.Widget]:
        """Widgets placed under the HTML body (e.g. the candidate grid)."""
        return []

    def render_body(self) -> str:
        """Return the body HTML for ``self.project`` and fill ``self.figures``."""
        raise NotImplementedError

    def on_project_changed(self) -> None:
        """Called after the project changed, before :meth:`refresh` (reload run lists here)."""

    def clear_extras(self) -> None:
        """Empty the widgets below the body when the page shows a message instead of figures."""

    # ----------------------------------------------------------------------------- state

    @property
    def has_data(self) -> bool:
        """True when the page shows figures rather than an empty-state message or an error."""
        return self.error is None and self.message is None and bool(self.figures)

    def refresh(self) -> None:
        """Re-read everything from the catalog and redraw (cheap: a few short read-only queries)."""
        self.figures = {}
        self.message = None
        self.error = None
        try:
            self._require_workspace()
            self._require_project()
            body = self.render_body()
        except EmptyState as empty:
            self.message = empty.message_html
            self.figures = {}
            body = cards.note(empty.message_html, kind=empty.kind)
        except Exception as exc:  # a page must say what broke, not vanish into a traceback
            log.exception("Dashboard %s failed to render", self.css_name)
            self.error = f"{type(exc).__name__}: {exc}"
            self.figures = {}
            body = cards.note(f"Could not read the catalog for this page: <code>{cards.esc(self.error)}</code>. "
                              "Reload the page; if it persists, report it with this message.", kind="error")
        if not self.figures:
            self.clear_extras()
        self.renders += 1
        self.header.value = cards.STYLE + self.header_html()
        self.body.value = body

    def header_html(self) -> str:
        subtitle = (f"Project <b>{cards.esc(self.project)}</b> · workspace <code>{cards.esc(self.workspace.home)}</code>"
                    if self.project else f"Workspace <code>{cards.esc(self.workspace.home)}</code>")
        # The notebook's markdown cell is the page title; this line says what the page is reading.
        return f'<div class="kk-sub" data-title="{cards.esc(self.css_name)}">{subtitle}</div>'

    # ----------------------------------------------------------------------------- projects

    def _load_projects(self, wanted: str | None) -> None:
        options: list[tuple[str, str]] = []
        self._listing_error = None
        if has_catalog(self.workspace):
            try:
                options = self.project_options()
            except Exception as exc:  # refresh() shows it on the page
                log.exception("Could not list projects")
                self._listing_error = exc
        slugs = [slug for _, slug in options]
        self.project = pick(wanted, slugs)
        self.project_select.options = options
        self.project_select.value = self.project
        self.project_select.disabled = not options
        self.on_project_changed()

    def project_options(self) -> list[tuple[str, str]]:
        from kroma_kit import analytics

        frame = analytics.project_overview(self.workspace)
        return [(f"{row.name} ({row.slug})" if row.name and row.name != row.slug else str(row.slug), str(row.slug))
                for row in frame.itertuples(index=False)]

    def _on_project(self, change: dict[str, Any]) -> None:
        if change["new"] == self.project:
            return
        self.project = change["new"]
        self.on_project_changed()
        self.refresh()

    def _require_workspace(self) -> None:
        if not has_catalog(self.workspace):
            raise EmptyState(
                f"This workspace is empty: there is no catalog at <code>{cards.esc(self.workspace.catalog_path)}</code> "
                "yet. Create a project with <code>kroma project create --slug &lt;slug&gt;</code> (or run "
                "<code>make demo</code>), or point <code>KROMA_HOME</code> at an existing workspace.",
                kind="empty-workspace")

    def _require_project(self) -> None:
        if self._listing_error is not None:
            raise self._listing_error
        if not self.project_select.options:
            raise EmptyState("There are no projects in this workspace yet. Create one with "
                             "<code>kroma project create --slug &lt;slug&gt;</code> or run <code>make demo</code>.",
                             kind="no-projects")
