"""nbval runs the four dashboards against a workspace seeded by real pipeline runs.

Each dashboard kernel inherits this process's environment when nbval starts it, so the seeded
``KROMA_HOME`` must be in ``os.environ`` *before* the first kernel starts. Two details decide how:

- nbval's cells are plain ``pytest.Item``\\ s, not test functions: fixtures (autouse included)
  are never set up for them. So the seeding runs from ``pytest_runtest_setup`` here, first
  (``tryfirst``), i.e. before the runner sets up the notebook collector, which is where nbval
  starts the kernel. The autouse session fixture below does the same for any ordinary test
  function placed in this folder.
- ``KROMA_DASHBOARD_EXPECT_HOME`` / ``KROMA_DASHBOARD_EXPECT_DATA`` tell each notebook's
  self-check cell which workspace it must have read and that it must show data, so a kernel
  that silently read ``~/.kroma`` (or an empty page) fails.

The environment is restored, and the workspace deleted, when the last dashboard item is done,
so tests collected after this folder see the session as it was.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from kroma_kit.dashboards.context import EXPECT_DATA_ENV, EXPECT_HOME_ENV

HERE = Path(__file__).resolve().parent
ENV_KEYS = ("KROMA_HOME", EXPECT_HOME_ENV, EXPECT_DATA_ENV, "MPLBACKEND")
_SEEDED = pytest.StashKey[dict]()


def _is_dashboard_item(item: pytest.Item | None) -> bool:
    return item is not None and HERE in Path(str(item.path)).resolve().parents


def seeded_home(config: pytest.Config) -> Path:
    """Seed once per session; export the workspace to this process (and so to the kernels)."""
    state = config.stash.get(_SEEDED, None)
    if state is None:
        from tests.dashboards.seed import seed_workspace

        folder = Path(tempfile.mkdtemp(prefix="kroma-dashboards-nbval-"))
        home = (folder / "home").resolve()
        seed_workspace(home)
        state = {"folder": folder, "home": home, "saved": None}
        config.stash[_SEEDED] = state
        config.add_cleanup(lambda: shutil.rmtree(folder, ignore_errors=True))
    if state["saved"] is None:
        state["saved"] = {key: os.environ.get(key) for key in ENV_KEYS}
        os.environ["KROMA_HOME"] = str(state["home"])
        os.environ[EXPECT_HOME_ENV] = str(state["home"])
        os.environ[EXPECT_DATA_ENV] = "1"
        os.environ.pop("MPLBACKEND", None)  # the views draw with the Agg canvas; no backend needed
    return state["home"]


def _restore_env(config: pytest.Config) -> None:
    state = config.stash.get(_SEEDED, None)
    if state is None or state["saved"] is None:
        return
    for key, value in state["saved"].items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    state["saved"] = None


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    if _is_dashboard_item(item):
        seeded_home(item.config)


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    if _is_dashboard_item(item) and not _is_dashboard_item(nextitem):
        _restore_env(item.config)


@pytest.fixture(scope="session", autouse=True)
def dashboard_workspace(request: pytest.FixtureRequest) -> Path:
    """The seeded workspace, for ordinary test functions in this folder (nbval cells use the hook)."""
    return seeded_home(request.config)
