"""Give every notebook run by nbval a fresh, temporary workspace, with no provider keys.

nbval starts one kernel per notebook in the collector's ``setup()``, and the kernel inherits
``os.environ`` as it is at that moment. A pytest fixture cannot do this job: nbval's cells are
plain ``pytest.Item`` objects, not test functions, so fixtures (autouse ones included) are never
set up for them. A ``pytest_runtest_setup`` hook can: for the first cell of each notebook it
points ``KROMA_HOME`` at a new temporary folder (and drops keys and base URLs, so a notebook
can never reach a paid service) *before* pytest sets up the collector that starts the kernel,
and puts the environment back once that notebook's last cell has run. A notebook therefore
never sees ``~/.kroma`` or another notebook's projects.
"""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest

SCRUBBED = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "REMOVE_BG_API_KEY", "PHOTOROOM_API_KEY", "KROMA_SETTINGS_DIR")
_saved: dict[str, str | None] = {}
_homes: dict[str, str] = {}


def _notebook_of(item: pytest.Item) -> pytest.Collector | None:
    parent = item.parent
    return parent if parent is not None and str(getattr(parent, "path", "")).endswith(".ipynb") else None


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    notebook = _notebook_of(item)
    if notebook is None or notebook.nodeid in _homes:
        return
    home = tempfile.mkdtemp(prefix="kroma-nb-")
    _homes[notebook.nodeid] = home
    for key in ("KROMA_HOME", *SCRUBBED):
        _saved.setdefault(key, os.environ.get(key))
    os.environ["KROMA_HOME"] = home
    for key in SCRUBBED:
        os.environ.pop(key, None)


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    notebook = _notebook_of(item)
    if notebook is None or (nextitem is not None and _notebook_of(nextitem) is notebook):
        return
    home = _homes.get(notebook.nodeid)
    for key, value in _saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    _saved.clear()
    if home:
        shutil.rmtree(home, ignore_errors=True)
