"""pytest plugin (``-p tests.nbval_workspaces`` in pyproject's addopts): the workspace every
notebook and dashboard sees when nbval runs it.

It lives here, not as ``conftest.py`` files in ``notebooks/`` and ``dashboards/``, so the folders
the artist and the stakeholders browse hold notebooks only.

- **Notebooks** (``notebooks/*.ipynb``) each get a fresh, temporary ``KROMA_HOME`` and no provider
  keys or base URLs, so a notebook never sees ``~/.kroma``, another notebook's projects, or a
  paid service.
- **Dashboards** (``dashboards/*.ipynb``) all read one workspace seeded by real pipeline runs
  (:func:`tests.dashboards.seed.seed_workspace`), and ``KROMA_DASHBOARD_EXPECT_HOME`` /
  ``KROMA_DASHBOARD_EXPECT_DATA`` tell each self-check cell which workspace it must have read and
  that it must show data, so a kernel that silently read ``~/.kroma`` (or an empty page) fails.

Why hooks and not fixtures: nbval's cells are plain ``pytest.Item`` objects, not test functions,
so fixtures (autouse ones included) are never set up for them. nbval starts a notebook's kernel
in its collector's ``setup()``, and the kernel inherits ``os.environ`` as it is then; a
``pytest_runtest_setup`` hook that runs first (``tryfirst``) for a notebook's first cell sets the
environment before pytest sets up that collector. The environment is put back after the
notebook's (or the last dashboard's) last cell, so tests collected later see the session as it was.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO_ROOT / "notebooks"
DASHBOARDS = REPO_ROOT / "dashboards"
SCRUBBED = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "REMOVE_BG_API_KEY", "PHOTOROOM_API_KEY", "KROMA_SETTINGS_DIR")
_SEEDED = pytest.StashKey[dict]()
_NOTEBOOK_ENV = pytest.StashKey[dict]()


def _folder_of(item: pytest.Item | None) -> Path | None:
    """``NOTEBOOKS`` or ``DASHBOARDS`` for a cell of a notebook in one of them, else ``None``."""
    if item is None or not str(item.path).endswith(".ipynb"):
        return None
    parent = Path(str(item.path)).resolve().parent
    return parent if parent in (NOTEBOOKS, DASHBOARDS) else None


def _swap_env(values: dict[str, str | None]) -> dict[str, str | None]:
    """Set (or, for ``None``, remove) each variable; return what was there before."""
    saved = {key: os.environ.get(key) for key in values}
    for key, value in values.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    return saved


# --------------------------------------------------------------------------- notebooks

def _enter_notebook(item: pytest.Item) -> None:
    state = item.config.stash.setdefault(_NOTEBOOK_ENV, {})
    if state.get("nodeid") == item.parent.nodeid:
        return
    home = tempfile.mkdtemp(prefix="kroma-nb-")
    state.update(nodeid=item.parent.nodeid, home=home,
                 saved=_swap_env({"KROMA_HOME": home, **dict.fromkeys(SCRUBBED)}))


def _leave_notebook(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    if nextitem is not None and nextitem.parent is item.parent:
        return
    state = item.config.stash.get(_NOTEBOOK_ENV, {})
    if state.get("nodeid") != item.parent.nodeid:
        return
    _swap_env(state["saved"])
    shutil.rmtree(state["home"], ignore_errors=True)
    state.clear()


# --------------------------------------------------------------------------- dashboards

def _enter_dashboards(config: pytest.Config) -> None:
    """Seed once per session; export the workspace to this process (and so to the kernels)."""
    from kroma_kit.dashboards.context import EXPECT_DATA_ENV, EXPECT_HOME_ENV

    state = config.stash.get(_SEEDED, None)
    if state is None:
        from tests.dashboards.seed import seed_workspace

        folder = Path(tempfile.mkdtemp(prefix="kroma-dashboards-nbval-"))
        home = (folder / "home").resolve()
        seed_workspace(home)
        state = {"home": home, "saved": None}
        config.stash[_SEEDED] = state
        config.add_cleanup(lambda: shutil.rmtree(folder, ignore_errors=True))
    if state["saved"] is None:
        # The views draw with the Agg canvas, so no matplotlib backend is needed (or wanted).
        state["saved"] = _swap_env({"KROMA_HOME": str(state["home"]), EXPECT_HOME_ENV: str(state["home"]),
                                    EXPECT_DATA_ENV: "1", "MPLBACKEND": None})


def _leave_dashboards(config: pytest.Config) -> None:
    state = config.stash.get(_SEEDED, None)
    if state is not None and state["saved"] is not None:
        _swap_env(state["saved"])
        state["saved"] = None


# --------------------------------------------------------------------------- hooks

@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    folder = _folder_of(item)
    if folder == NOTEBOOKS:
        _enter_notebook(item)
    elif folder == DASHBOARDS:
        _enter_dashboards(item.config)


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    folder = _folder_of(item)
    if folder == NOTEBOOKS:
        _leave_notebook(item, nextitem)
    elif folder == DASHBOARDS and _folder_of(nextitem) != DASHBOARDS:
        _leave_dashboards(item.config)
