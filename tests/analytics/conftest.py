"""The catalog of real pipeline runs, built once per engine for all the analytics tests (a few
seconds each). The tests only read it; the lock test adds audit rows, which no other test counts.

Every test runs on the SQLite catalog and on PostgreSQL (read live through DuckDB's postgres
extension), except those marked ``sqlite_only`` (the SQLite snapshot's own machinery)."""

from __future__ import annotations

import pytest

from tests.analytics.realruns import RealCatalog, build_real_catalog
from tests.pg_server import ENGINES


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    engines = ENGINES[:1] if metafunc.definition.get_closest_marker("sqlite_only") else ENGINES
    if "real_engine" in metafunc.fixturenames:  # one catalog per engine, shared by the package
        metafunc.parametrize("real_engine", engines, indirect=True, scope="package")
    if "catalog_engine" in metafunc.fixturenames and len(engines) > 1:
        metafunc.parametrize("catalog_engine", engines, indirect=True)


@pytest.fixture(scope="package")
def real_engine(request: pytest.FixtureRequest) -> str:
    return getattr(request, "param", "sqlite")


@pytest.fixture(scope="package")
def real(real_engine: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> RealCatalog:
    url = request.getfixturevalue("pg_server").new_database() if real_engine == "postgresql" else None
    return build_real_catalog(tmp_path_factory.mktemp("analytics") / "kroma-home", catalog_url=url)
