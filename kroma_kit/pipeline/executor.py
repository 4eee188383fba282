"""Where a run's heavy work happens: the executor abstraction the candidate worker calls.

The run itself (scheduling, the spend guard, the run log, ranking, the catalog) always lives in
the coordinating process, driven by its thread pool (:mod:`kroma_kit.pipeline.execute`). What an
executor decides is where the two expensive calls of a candidate run: the provider's
``generate`` and the post chain. :class:`ThreadExecutor` (the default) calls them right there, in
the pool's thread: the behaviour and speed of a run without Dask. ``dask``
(:class:`~kroma_kit.pipeline.dask_offload.DaskExecutor`) sends them to a cluster's workers and
waits, so each pool thread is one task in flight.

Chosen by the call (``kroma run --executor dask --scheduler tcp://HOST:PORT``) or the settings
(``pipeline.executor`` / ``pipeline.dask_scheduler`` / ``pipeline.dask_workers``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from kroma_kit.dask_cluster import EXECUTORS, executor_name
from kroma_kit.postprocess.chain import ChainConfig, ChainDirs, ChainResult, run_chain
from kroma_kit.providers.base import ImageProvider, ImageRequest, ImageResult
from kroma_kit.settings_models import PipelineSection

__all__ = ["EXECUTORS", "Executor", "ThreadExecutor", "executor_for"]
# ``ctx`` below is the run's RunContext; it is typed Any because the context holds its executor
# (naming the type here would be an import cycle).


class Executor(Protocol):
    """Runs a candidate's provider call and post chain for the run it is attached to."""

    name: str

    def check(self) -> None:
        """Fail now (bad scheduler address, nobody there), before the run writes anything."""

    def attach(self, ctx: Any) -> Any:
        """A context manager around the run's tasks: connect (or start a cluster), then close."""

    def generate(self, provider: ImageProvider, request: ImageRequest, key: str) -> ImageResult:
        """``provider.generate(request)`` for candidate ``key`` (``JOB#cN``)."""

    def run_chain(self, raw: Path, dirs: ChainDirs, config: ChainConfig) -> ChainResult:
        """The post chain on ``raw``."""


class ThreadExecutor:
    """In the calling thread: exactly what a run did before executors existed."""

    name = "threads"

    def check(self) -> None:
        return None

    @contextmanager
    def attach(self, ctx: Any) -> Iterator[None]:
        yield

    def generate(self, provider: ImageProvider, request: ImageRequest, key: str) -> ImageResult:
        return provider.generate(request)

    def run_chain(self, raw: Path, dirs: ChainDirs, config: ChainConfig) -> ChainResult:
        return run_chain(raw, dirs, config)


def executor_for(executor: str | Executor | None, scheduler: str | None,
                 settings: PipelineSection) -> Executor:
    """The executor of a run: ``executor`` (a name or a ready object) over ``pipeline.executor``;
    ``scheduler`` over ``pipeline.dask_scheduler``. A scheduler without the dask executor is a
    mistake worth saying, not ignoring."""
    if executor is not None and not isinstance(executor, str):
        return executor
    if executor_name(executor, scheduler, settings) == "threads":
        return ThreadExecutor()
    from kroma_kit.pipeline.dask_offload import DaskExecutor

    return DaskExecutor(scheduler=(scheduler or settings.dask_scheduler or "").strip() or None,
                        workers=settings.dask_workers)
