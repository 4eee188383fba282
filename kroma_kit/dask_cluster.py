"""Getting a Dask cluster for a run or a batch, and giving it back.

Both the pipeline (candidates, post chains) and standalone post-processing hand work to Dask the
same way: a client on the scheduler the artist named (``tcp://HOST:PORT``), or, when none is
named, a ``LocalCluster`` of worker *processes* started on 127.0.0.1 with no dashboard (nothing
listens beyond loopback, nothing is downloaded) and closed when the work ends. Worker processes,
not threads: the heavy steps (Real-ESRGAN on the CPU, background removal) are single-threaded
native code, so parallelism means processes.

A worker that dies mid-task is Dask's to handle: the scheduler moves the task to another worker
(``distributed.scheduler.allowed-failures`` times); when even that gives up,
:func:`result_with_resubmit` submits the task once more. Tasks given to it must therefore be safe
to run twice: the paid ones check their staged result before calling a provider again
(:mod:`kroma_kit.pipeline.dask_tasks`).

``distributed`` is imported only when a cluster is asked for: ``import kroma_kit`` stays fast and
a threads-only install never pays for it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from kroma_kit.errors import ConfigError
from kroma_kit.settings_models import check_scheduler_address

log = logging.getLogger(__name__)
T = TypeVar("T")
EXECUTORS = ("threads", "dask")
CONNECT_TIMEOUT_S = 5.0
RESUBMITS = 2  # after the scheduler's own retries: a task whose workers keep dying is a bug, not bad luck


def executor_name(executor: str | None, scheduler: str | None, pipeline: Any) -> str:
    """``threads`` or ``dask``: the call's choice over the settings' ``pipeline.executor``. A
    scheduler given without the dask executor is a mistake worth saying, not ignoring."""
    name = (executor or getattr(pipeline, "executor", None) or "threads").strip().lower()
    if name not in EXECUTORS:
        raise ConfigError(f"Unknown executor {name!r}: expected one of {', '.join(EXECUTORS)}.")
    if scheduler:
        if name != "dask":
            raise ConfigError("--scheduler needs --executor dask (or pipeline.executor = \"dask\").")
        check_scheduler_address(scheduler)
    return name


def local_worker_count(configured: int = 0) -> int:
    """``configured`` worker processes, or one per CPU core when it is 0."""
    if isinstance(configured, bool) or not isinstance(configured, int) or configured < 0:
        raise ConfigError(f"dask_workers must be an integer >= 0 (0: one per CPU core), got {configured!r}.")
    return configured or max(1, os.cpu_count() or 1)


def _connect(address: str, timeout_s: float) -> Any:
    from distributed import Client

    address = check_scheduler_address(address)
    try:
        return Client(address, timeout=timeout_s, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise ConfigError(f"Cannot reach the Dask scheduler at {address} within {timeout_s:g} s ({exc}). "
                          "Start one (`dask scheduler` plus `dask worker ADDRESS` on each machine), fix "
                          "--scheduler / pipeline.dask_scheduler, or leave it empty for a local "
                          "cluster. Nothing was run.") from None


def check_scheduler(address: str | None, timeout_s: float = CONNECT_TIMEOUT_S) -> None:
    """Fail now, with a clear message, when ``address`` is malformed or nobody answers there:
    called before a run writes its log, so a typo costs nothing. None (a local cluster) passes."""
    if address:
        _connect(address, timeout_s).close()


@contextmanager
def dask_client(address: str | None = None, *, workers: int = 0,
                timeout_s: float = CONNECT_TIMEOUT_S) -> Iterator[Any]:
    """A ``distributed.Client``: on ``address``, else on a LocalCluster of ``workers`` processes
    (0: one per core), one thread each, started here and closed on the way out."""
    if address:
        client = _connect(address, timeout_s)
        try:
            yield client
        finally:
            client.close()
        return
    from distributed import Client, LocalCluster

    # Loopback only; no dashboard (its HTTP endpoint, which the scheduler always has, on a free
    # loopback port rather than a clash on 8787 with another cluster on the machine).
    cluster = LocalCluster(n_workers=local_worker_count(workers), threads_per_worker=1, processes=True,
                           host="127.0.0.1", dashboard_address=None, silence_logs=logging.WARNING,
                           scheduler_kwargs={"dashboard_address": "127.0.0.1:0"})
    try:
        client = Client(cluster, set_as_default=False)
        try:
            yield client
        finally:
            client.close()
    finally:
        cluster.close()


def result_with_resubmit(client: Any, fn: Callable[..., T], *args: Any, resubmits: int = RESUBMITS) -> T:
    """Run ``fn(*args)`` on the cluster and return its result; when its workers died more often than
    the scheduler retries (``KilledWorker``), submit it again, up to ``resubmits`` times. A task
    that *raises* is not retried: its exception is re-raised here, as in a thread."""
    from distributed import KilledWorker

    for attempt in range(resubmits + 1):
        future = client.submit(fn, *args, pure=False)
        try:
            return future.result()
        except KilledWorker:
            if attempt == resubmits:
                raise
            log.warning("task %s lost its worker %d time(s); submitting it again", getattr(fn, "__name__", fn),
                        attempt + 1)
        finally:
            future.release()
    raise AssertionError("unreachable")


def worker_count(client: Any) -> int:
    """Threads across the cluster's workers now (how many tasks run at once)."""
    info = client.scheduler_info()
    return sum(int(worker.get("nthreads") or 1) for worker in info.get("workers", {}).values())
