"""Shared helpers for the pipeline tests: the fake OpenAI server wired in through settings (its
base URL) and the environment (a test key), and small request builders. Nothing is patched: the
provider talks HTTP to 127.0.0.1."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kroma_kit.pipeline.plan_model import PlanRequest
from tests.fakes.openai_images_server import FakeOpenAIImagesServer

TEST_KEY = "sk-test-pipeline-0123456789"
SCENES = ["inputs/scenes/street.png", "inputs/scenes/room.png", "inputs/scenes/rooftop.png",
          "inputs/scenes/harbor.png"]


@pytest.fixture(scope="session")
def sample_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample project's files (scenes, styles, characters, manifest), drawn once per session."""
    from kroma_kit.project_setup import install_sample_project

    folder = tmp_path_factory.mktemp("samples")
    install_sample_project(folder)
    return folder


@pytest.fixture
def demo(workspace, sample_files: Path) -> dict[str, Any]:
    """Project "demo" like conftest's ``demo_project`` (4 scenes, style ref, characters, manifest with 3
    candidates), but copied from a session cache instead of drawn again: tests stay fast."""
    import shutil

    from kroma_kit.catalog.projects import create_project

    project = create_project(workspace, "demo", "Demo")
    shutil.copytree(sample_files, project["root"], dirs_exist_ok=True)
    return project


@pytest.fixture
def fake():
    with FakeOpenAIImagesServer() as server:
        yield server


@pytest.fixture
def openai_key(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("OPENAI_API_KEY", TEST_KEY)
    return TEST_KEY


def openai_settings(fake: FakeOpenAIImagesServer, *, timeout_s: float = 10.0, max_attempts: int = 3,
                    per_run_usd: float | None = 5.0, per_project_usd: float | None = 50.0) -> dict[str, Any]:
    return {"providers": {"openai": {"base_url": fake.base_url, "timeout_s": timeout_s,
                                     "max_attempts": max_attempts}},
            "budgets": {"per_run_usd": per_run_usd, "per_project_usd": per_project_usd}}


def openai_request(fake: FakeOpenAIImagesServer, *, scenes: int = 1, candidates: int = 1,
                   settings: dict[str, Any] | None = None, **extra: Any) -> PlanRequest:
    return PlanRequest(project="demo", provider="openai", candidates=candidates, scene_refs=SCENES[:scenes],
                       settings_overrides=settings or openai_settings(fake), **extra)


def local_request(*, scenes: int | None = None, candidates: int | None = None, **extra: Any) -> PlanRequest:
    return PlanRequest(project="demo", provider="local", candidates=candidates,
                       scene_refs=SCENES[:scenes] if scenes else None, **extra)


def table_counts(ws) -> dict[str, int]:
    conn = ws.connect()
    try:
        return {table: conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
                for table in ("runs", "run_jobs", "run_candidates", "assets", "asset_links", "quality_reports",
                              "cost_events")}
    finally:
        conn.close()


def project_root(demo_project: dict[str, Any]) -> Path:
    return Path(demo_project["root"])
