"""A workspace with the sample project and its sample characters (detective, courier).

The sample pictures are drawn once per session and copied into each test's project (drawing
them is most of the fixture's cost); ``install_sample_project`` then finds them in place."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def sample_files(tmp_path_factory) -> Path:
    from kroma_kit.samples import install_samples

    folder = tmp_path_factory.mktemp("samples")
    install_samples(folder)
    return folder


@pytest.fixture
def chars_project(workspace, sample_files):
    from kroma_kit.catalog.projects import create_project
    from kroma_kit.characters.samples import install_sample_characters
    from kroma_kit.project_setup import install_sample_project

    project = create_project(workspace, "demo", "Demo")
    shutil.copytree(sample_files, project["root"], dirs_exist_ok=True)
    installed = install_sample_project(Path(project["root"]), candidates=1)
    install_sample_characters(workspace, project, installed)
    return project
