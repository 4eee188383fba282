"""Fixtures for the bundle tests. A lean subset also runs on a PostgreSQL catalog (the workspace
side of a bundle: export from it, import into it); the bundle's own ``project.db`` stays SQLite.
:data:`BOTH_ENGINES` names those tests; the rest (hostile tars, altered files, the CLI) test the
bundle format, which no engine changes, and stay on SQLite."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kroma_kit.catalog import open_workspace
from kroma_kit.workspace import Workspace
from tests.pg_server import both_engines

BOTH_ENGINES = {"test_round_trip_into_an_empty_workspace",
                "test_copy_under_a_new_slug_remaps_ids_and_replace_retires_the_old_project",
                "test_a_dangling_reference_is_refused_and_nothing_is_imported"}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if metafunc.function.__name__ in BOTH_ENGINES:
        both_engines(metafunc)


@pytest.fixture
def other_workspace(catalog_engine: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                    request: pytest.FixtureRequest) -> Iterator[Callable[..., Workspace]]:
    """Open a second workspace ("another machine"): on the test's engine unless ``engine`` names
    the other; on PostgreSQL in a database of its own. The environment is left as it was (each
    workspace carries its catalog's URL)."""
    urls: list[str] = []

    def open_other(name: str, engine: str | None = None) -> Workspace:
        with monkeypatch.context() as env:
            if (engine or catalog_engine) == "postgresql":
                urls.append(request.getfixturevalue("pg_server").new_database())
                env.setenv("KROMA_CATALOG_URL", urls[-1])
            else:
                env.delenv("KROMA_CATALOG_URL", raising=False)
            return open_workspace(tmp_path / name)

    yield open_other
    for url in urls:
        request.getfixturevalue("pg_server").release(url)
