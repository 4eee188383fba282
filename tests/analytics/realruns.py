"""A catalog built the way users build it: real pipeline runs of the sample project.

Shared by the analytics and review tests (module-scoped fixtures build it once per module). The
runs are chosen so every QA verdict, job outcome and cost source shows up deterministically:

- ``style``: local provider, 4 scenes x 3 candidates, the grey-hand guard (2.0, the app default)
  -> every candidate ``warn`` (the navy-ink sample outputs are above it, a soft warning);
- ``night``: time/night from the style winners, 2 candidates, a lenient guard -> all ``pass``;
- ``strict``: weather/rain on one scene, 2 candidates, a 1.0 threshold that fails hard -> every
  candidate ``failed_output_guard`` (archived to archive/bad), the job has no winner (one worker:
  with several, archiving one candidate races the catalog update of its sibling);
- ``dry``: a dry run of the characters stage (planned rows only, nothing checked);
- ``paid``: the OpenAI provider against the fake server on 127.0.0.1, 1 scene x 2 candidates,
  the first request refused (moderation) -> one ``failed`` candidate, real non-zero costs and a
  per-run budget of $3 in its settings snapshot;
- project ``empty`` has no runs; project ``old`` is archived.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

TEST_KEY = "sk-test-analytics-0123456789"
STRICT_GUARD = {"output_guard": {"max_chroma_delta": 1.0, "fail_on_chroma_exceed": True}}
LENIENT_GUARD = {"output_guard": {"max_chroma_delta": 80.0, "fail_on_chroma_exceed": True}}
GREY_GUARD = {"output_guard": {"max_chroma_delta": 2.0}}


@dataclass
class RealCatalog:
    ws: Any
    root: Path
    runs: dict[str, Any]  # name -> RunSummary

    def sqlite(self) -> sqlite3.Connection:
        """A connection to the catalog (the SQLite file, or PostgreSQL through the dialect layer:
        the tests' SQL is portable)."""
        from kroma_kit.catalog.db import connect

        return connect(self.ws.catalog_path)

    def rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        conn = self.sqlite()
        try:
            return [dict(row) for row in conn.execute(sql, params).fetchall()]
        finally:
            conn.close()

    def scalar(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        conn = self.sqlite()
        try:
            return conn.execute(sql, params).fetchone()[0]
        finally:
            conn.close()


def build_real_catalog(home: Path, catalog_url: str | None = None) -> RealCatalog:
    from kroma_kit.catalog import open_workspace
    from kroma_kit.catalog.projects import archive_project, create_project
    from kroma_kit.pipeline.execute import dry_run, execute_run
    from kroma_kit.pipeline.plan_model import PlanRequest
    from kroma_kit.project_setup import install_sample_project
    from tests.fakes.openai_images_server import FakeOpenAIImagesServer, Reply

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("KROMA_HOME", str(home))
        if catalog_url:
            mp.setenv("KROMA_CATALOG_URL", catalog_url)
        else:
            mp.delenv("KROMA_CATALOG_URL", raising=False)
        for key in ("OPENAI_BASE_URL", "REMOVE_BG_API_KEY", "PHOTOROOM_API_KEY", "KROMA_SETTINGS_DIR"):
            mp.delenv(key, raising=False)
        mp.setenv("OPENAI_API_KEY", TEST_KEY)
        ws = open_workspace(home)
        project = create_project(ws, "demo", "Demo")
        root = Path(project["root"])
        install_sample_project(root)
        create_project(ws, "empty", "Empty")
        create_project(ws, "old", "Old")
        archive_project(ws, "old")

        runs: dict[str, Any] = {}
        runs["style"] = execute_run(ws, PlanRequest(project="demo", candidates=3, manifest_overrides=GREY_GUARD))
        runs["night"] = execute_run(ws, PlanRequest(project="demo", stage="time", time="night", candidates=2,
                                                    from_run=runs["style"].run_id, manifest_overrides=LENIENT_GUARD))
        runs["strict"] = execute_run(ws, PlanRequest(project="demo", stage="weather", weather="rain", candidates=2,
                                                     scene_refs=["inputs/scenes/street.png"],
                                                     manifest_overrides=STRICT_GUARD), concurrency=1)
        runs["dry"] = dry_run(ws, PlanRequest(project="demo", stage="characters", candidates=2))
        with FakeOpenAIImagesServer() as fake:
            fake.script(Reply.moderation_blocked())
            settings = {"providers": {"openai": {"base_url": fake.base_url, "timeout_s": 10.0, "max_attempts": 2}},
                        "budgets": {"per_run_usd": 3.0, "per_project_usd": 50.0}}
            runs["paid"] = execute_run(ws, PlanRequest(project="demo", provider="openai", candidates=2,
                                                       scene_refs=["inputs/scenes/room.png"],
                                                       settings_overrides=settings),
                                       confirm_spend=True, concurrency=1)
    return RealCatalog(ws, root, runs)
