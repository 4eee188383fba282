"""What every panel shares: the ``.widget`` face, inline errors, HTML tables, and the one safe
way to update widgets from a worker thread.

Why a dispatcher: runs report progress from the executor's worker threads, and a widget changed
on such a thread sends its update with whatever parent message that thread resolves. ipykernel
7.0 resolved none, so updates went missing (ipywidgets #4001/#4020, ipykernel #1450; see
reference/jupyter-testing.md, peer-anchors.md); later 7.x releases fall back to the last
executed cell, which is the wrong cell once the artist has moved on; and widget observers would
run on the worker thread, racing the kernel's own. So panels never touch a widget off the UI
thread: the worker posts a callable to a :class:`UiDispatcher`, which runs it on the kernel's
event loop in the context of the cell or click that started the work, or, when no event loop is
running (plain Python, pytest, a cell blocked in ``run_and_wait()``), when the owning thread
calls :meth:`UiDispatcher.drain`.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import queue
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import ipywidgets as widgets

from kroma_kit.analytics.queries import records  # noqa: F401 - the panels' one way to read frames
from kroma_kit.catalog import open_workspace
from kroma_kit.errors import KromaError
from kroma_kit.figures.palette import VERDICT_COLOURS  # noqa: F401 - re-exported for the panels
from kroma_kit.figures.text import esc  # noqa: F401 - the one HTML-escape, re-exported for the panels
from kroma_kit.workspace import Workspace

log = logging.getLogger(__name__)

STATUS_COLOURS = {"info": "#555", "ok": "#1b7f3b", "warn": "#9a6700", "error": "#b42318"}


def describe_error(exc: BaseException) -> str:
    """One line for the artist: a KromaError's own message already says what to do."""
    if isinstance(exc, KromaError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def html_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None, *,
               formats: Mapping[str, Callable[[Any], str]] | None = None) -> str:
    """A plain HTML table (renders offline in JupyterLab and Voilà, no JS)."""
    if not rows:
        return "<p><i>nothing to show</i></p>"
    cols = list(columns or rows[0].keys())
    fmt = dict(formats or {})
    head = "".join(f"<th style='text-align:left;padding:2px 8px'>{esc(c)}</th>" for c in cols)
    body = []
    for row in rows:
        cells = []
        for col in cols:
            value = row.get(col)
            shown = fmt[col](value) if col in fmt else esc(value)
            cells.append(f"<td style='padding:2px 8px'>{shown}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table class='kk-table'><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def usd(value: Any) -> str:
    """Dollars as money is shown everywhere in the panels (4 decimals: local runs cost $0)."""
    try:
        return f"${float(value):.4f}"
    except (TypeError, ValueError):
        return "—"


class Panel:
    """Base of the panels: a workspace, a project, a ``.widget`` and a status line.

    ``display(panel)`` works because the panel hands Jupyter its widget's mime bundle. Button
    callbacks go through :meth:`action` so an error lands inline in the status line (a raised
    exception in a widget callback only reaches the browser's log console). Methods called from
    Python raise as usual.
    """

    widget: widgets.Widget

    def __init__(self, ws: Workspace | None = None, *, project: str | None = None) -> None:
        self.ws = ws if ws is not None else open_workspace()
        self.project = project
        self.run_id: str | None = None
        self.status = widgets.HTML(value="")
        self.status.add_class("kk-status")
        self.last_error: str | None = None

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    def set_status(self, text: str, level: str = "info") -> None:
        colour = STATUS_COLOURS.get(level, STATUS_COLOURS["info"])
        self.status.value = f"<span style='color:{colour}'>{esc(text)}</span>" if text else ""
        if level == "error":
            self.last_error = text

    def show_error(self, exc: BaseException) -> None:
        self.set_status(describe_error(exc), "error")

    def action(self, method: Callable[..., Any]) -> Callable[[Any], None]:
        """Wrap ``method`` as a button callback that shows its error instead of losing it."""
        def on_click(_button: Any = None) -> None:
            try:
                method()
            except Exception as exc:  # noqa: BLE001 - shown to the artist, who can act on it
                self.show_error(exc)
        return on_click

    def require_project(self) -> str:
        if not self.project:
            raise KromaError("No project selected: pass project='<slug>' or pick one in ProjectPicker.")
        return self.project

    def set_project(self, slug: str | None) -> None:
        """Point the panel at another project (its latest run, where it shows runs) and reload it:
        ``picker.on_select(panel.set_project)`` keeps a notebook's panels on the picked project."""
        self.project = slug
        self.run_id = None
        if slug:
            self.reload()

    def reload(self) -> None:
        """Re-read what the panel shows from the catalog and the project files."""


def close_tree(widget: widgets.Widget) -> None:
    """Close a widget and everything inside it, so replaced views free their comms and images
    (a review session reloads grids many times; unclosed widgets live as long as the kernel)."""
    for child in getattr(widget, "children", ()):
        close_tree(child)
    widget.close()


def button(description: str, css_class: str, *, style: str = "", tooltip: str = "") -> widgets.Button:
    """A text button with a stable CSS class for browser tests (no icons: they need a CDN)."""
    btn = widgets.Button(description=description, button_style=style, tooltip=tooltip or description)
    btn.add_class(css_class)
    return btn


class UiDispatcher:
    """Run callables on the UI thread, posted from any thread (see the module docstring).

    Create it on the UI thread (in a cell or a button callback): it remembers that thread's
    running event loop and context. :meth:`post` is safe from any thread; callables run in order.
    ``on_idle`` runs after each drain that applied something: a panel redraws its table there
    once per batch of events instead of once per event.
    """

    def __init__(self, on_idle: Callable[[], None] | None = None) -> None:
        self.on_idle = on_idle
        self._queue: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._owner = threading.get_ident()
        self._context = contextvars.copy_context()
        try:
            self._loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            self._loop = None

    def post(self, update: Callable[[], None]) -> None:
        self._queue.put(update)
        if self._loop is not None and not self._loop.is_closed():
            try:
                self._loop.call_soon_threadsafe(self.drain, context=self._context)
            except RuntimeError:  # loop closed between the check and the call
                pass

    def drain(self) -> int:
        """Apply every posted update now; only on the thread that created the dispatcher."""
        if threading.get_ident() != self._owner:
            return 0
        applied = 0
        while True:
            try:
                update = self._queue.get_nowait()
            except queue.Empty:
                break
            self._run(update)
            applied += 1
        if applied and self.on_idle is not None:
            self._run(self.on_idle)
        return applied

    @staticmethod
    def _run(update: Callable[[], None]) -> None:
        try:
            update()
        except Exception:  # noqa: BLE001 - one broken update must not starve the ones queued after it
            log.exception("panel update failed; the panel may show stale values")


class BackgroundTask:
    """One piece of work on a worker thread, with its result or error, a cancel flag and a
    dispatcher for its widget updates. ``wait()`` blocks the caller while applying updates, so a
    notebook cell or a test sees the same final widgets a click would."""

    def __init__(self, work: Callable[[threading.Event, UiDispatcher], Any], *,
                 on_done: Callable[[BackgroundTask], None] | None = None,
                 on_idle: Callable[[], None] | None = None, name: str = "kroma-panel") -> None:
        self.ui = UiDispatcher(on_idle)
        self.cancel_event = threading.Event()
        self.result: Any = None
        self.error: BaseException | None = None
        self._on_done = on_done
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._main, args=(work,), name=name, daemon=True)

    def start(self) -> BackgroundTask:
        self._thread.start()
        return self

    def _main(self, work: Callable[[threading.Event, UiDispatcher], Any]) -> None:
        try:
            self.result = work(self.cancel_event, self.ui)
        except BaseException as exc:  # noqa: BLE001 - handed to the UI thread, never lost
            self.error = exc
        finally:
            self._done.set()
            if self._on_done is not None:
                self.ui.post(lambda: self._on_done(self))  # type: ignore[misc]

    @property
    def running(self) -> bool:
        return not self._done.is_set()

    def cancel(self) -> None:
        self.cancel_event.set()

    def wait(self, timeout: float | None = None, poll_s: float = 0.05) -> Any:
        """Block until done (applying UI updates meanwhile); return the result or raise its error."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._done.wait(poll_s):
            self.ui.drain()
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"background task still running after {timeout} s")
        self._thread.join()
        self.ui.drain()
        if self.error is not None:
            raise self.error
        return self.result

