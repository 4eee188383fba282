"""Fixtures for the pipeline tests (defined in ``runsupport`` so the CLI tests can share them).

A representative subset also runs on a PostgreSQL catalog (a full local run, resume after a kill,
ingest, review): :data:`BOTH_ENGINES` names those tests (``test_review`` parametrizes its own
module catalog); the rest stay on SQLite (the pipeline reaches the catalog only through the
catalog layer, which ``tests/catalog`` covers on both)."""

import pytest

from tests.pg_server import both_engines
from tests.pipeline.runsupport import demo, fake, openai_key, sample_files  # noqa: F401

BOTH_ENGINES = {
    "test_execute": {"test_local_run_of_the_demo_project", "test_openai_success_records_usage_costs_and_the_request",
                     "test_cancel_stops_new_candidates_and_ends_partial"},
    "test_resume_kill": {"test_sigkill_then_resume_pays_no_candidate_twice",
                         "test_budget_stopped_run_resumes_after_the_budget_is_raised"},
    "test_ingest": None,  # every test
}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    module = metafunc.module.__name__.rsplit(".", 1)[-1]
    if module in BOTH_ENGINES and (BOTH_ENGINES[module] is None or metafunc.function.__name__ in BOTH_ENGINES[module]):
        both_engines(metafunc)
