"""A workspace seeded by real pipeline runs, for the dashboard tests and the nbval dashboards.

Real runs, not hand-written rows: the dashboards must agree with what the pipeline actually
records. Three runs of the sample project give every page something to show:

1. ``style`` with the free local provider: done, every candidate QA-checked (pass: the sample's
   guard fits its navy-ink hand);
2. ``time`` (night) with the OpenAI provider against the fake Images server on 127.0.0.1:
   done, with real cost events, so the costs page has providers, days and estimate vs actual;
3. ``weather`` (rain) with a grey-hand guard (2.0) and ``fail_on_chroma_exceed``: the guard fails every candidate, so the
   run ends ``failed`` and the QA page has failing files to show.

A second project with no runs checks the "no runs yet" state and the project list.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

DEMO = "demo"
EMPTY_PROJECT = "noir"
PAID_ENV = ("OPENAI_API_KEY", "OPENAI_BASE_URL")


@dataclass
class SeededWorkspace:
    home: Path
    project: str = DEMO
    run_ids: dict[str, str] = field(default_factory=dict)  # label -> run id
    instruction_ids: dict[str, str] = field(default_factory=dict)  # final status -> copilot instruction id


@contextmanager
def _env(**values: str | None) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in values}
    try:
        for key, value in values.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def create_demo_project(home: Path) -> None:
    """The sample project (4 scenes) and an empty second project, in a new workspace at ``home``."""
    from kroma_kit.catalog import open_workspace
    from kroma_kit.catalog.projects import create_project
    from kroma_kit.project_setup import install_sample_project

    with _env(KROMA_HOME=str(home)):
        ws = open_workspace(home)
        project = create_project(ws, DEMO, "Demo")
        install_sample_project(Path(project["root"]))
        create_project(ws, EMPTY_PROJECT, "Noir City")


def seed_workspace(home: Path) -> SeededWorkspace:
    """Create ``home`` with the projects above and the three runs; return their ids."""
    from kroma_kit.catalog import open_workspace
    from kroma_kit.pipeline.execute import execute_run
    from kroma_kit.pipeline.plan_model import PlanRequest
    from tests.fakes.openai_images_server import FakeOpenAIImagesServer

    create_demo_project(home)
    seeded = SeededWorkspace(home)
    with _env(KROMA_HOME=str(home), OPENAI_API_KEY=None, OPENAI_BASE_URL=None):
        ws = open_workspace(home)
        seed_characters(ws)  # first, so the newest run stays the failed weather run the viewer opens on
        seeded.run_ids["style"] = execute_run(ws, PlanRequest(project=DEMO, candidates=3)).run_id
        with FakeOpenAIImagesServer() as fake, _env(OPENAI_API_KEY="sk-test", OPENAI_BASE_URL=fake.base_url):
            seeded.run_ids["time"] = execute_run(
                ws, PlanRequest(project=DEMO, stage="time", time="night", candidates=2, provider="openai"),
                confirm_spend=True).run_id
        seeded.run_ids["weather"] = execute_run(
            ws, PlanRequest(project=DEMO, stage="weather", weather="rain", candidates=2,
                            manifest_overrides={"output_guard": {"max_chroma_delta": 2.0,
                                                                 "fail_on_chroma_exceed": True}})).run_id
        from tests.copilot.seed_queue import seed_queue

        seeded.instruction_ids = seed_queue(ws, DEMO)
    return seeded


def seed_characters(ws) -> None:
    """The sample characters, and a local 360° portfolio for the courier (the characters page)."""
    from kroma_kit.catalog.projects import get_project
    from kroma_kit.characters.generation import CharacterRunRequest, generate_character_images
    from kroma_kit.characters.samples import install_sample_characters

    install_sample_characters(ws, get_project(ws, DEMO), {"style_refs": ["inputs/styles/noir_ink.png"]})
    generate_character_images(ws, CharacterRunRequest(project=DEMO, code="courier", kind="portfolio",
                                                      provider="local", candidates=1))
