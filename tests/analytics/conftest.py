"""The catalog of real pipeline runs, built once for all the analytics tests (a few seconds).
The tests only read it; the lock test adds audit rows, which no other test counts."""

from __future__ import annotations

import pytest

from tests.analytics.realruns import RealCatalog, build_real_catalog


@pytest.fixture(scope="package")
def real(tmp_path_factory: pytest.TempPathFactory) -> RealCatalog:
    return build_real_catalog(tmp_path_factory.mktemp("analytics") / "kroma-home")
