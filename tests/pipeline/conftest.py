"""Fixtures for the pipeline tests (defined in ``runsupport`` so the CLI tests can share them)."""

from tests.pipeline.runsupport import demo, fake, openai_key, sample_files  # noqa: F401
