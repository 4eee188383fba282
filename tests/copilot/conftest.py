"""Fixtures for the copilot. Building the sample project draws its images (about a second), so
read-only tests share one per module (``shared_ws``/``ctx``); tests that write get their own."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def shared_ws(tmp_path_factory):
    from kroma_kit.catalog import open_workspace
    from kroma_kit.catalog.projects import create_project
    from kroma_kit.project_setup import install_sample_project

    ws = open_workspace(tmp_path_factory.mktemp("copilot-ws"))
    project = create_project(ws, "demo", "Demo")
    install_sample_project(Path(project["root"]))
    return ws


@pytest.fixture(scope="module")
def ctx(shared_ws):
    from kroma_kit.copilot.context import ProjectContext

    return ProjectContext.load(shared_ws, "demo")
