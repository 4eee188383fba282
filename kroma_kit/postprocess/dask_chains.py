"""Post chains as Dask tasks: the unit of work both a distributed run (one chain per candidate)
and a distributed batch (one chain per file) hand to a cluster's workers.

A chain is a pure function of picklable inputs (the input path, the step folders, the chain
configuration without callbacks or warm backends) returning its :class:`ChainResult`; each worker
keeps its own warm backends (the Real-ESRGAN engine is cached per process). Only chains with no
paid step go to the cluster: a paid background removal or the OpenAI refine is checked against
the budget before each call, and that check belongs to the one process that holds the spend
guard, so such chains run there, as before.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from kroma_kit.dask_cluster import result_with_resubmit
from kroma_kit.postprocess.chain import ChainConfig, ChainDirs, ChainResult, run_chain
from kroma_kit.providers.bg_remove import PAID_BG_BACKENDS


@dataclass(frozen=True)
class ChainDone:
    """A chain's result plus which worker ran it and when (the per-task timing that shows work
    really ran side by side)."""

    result: ChainResult
    worker: str
    started: float
    finished: float
    cpu_s: float = 0.0  # CPU time of the worker process during the chain (one thread per worker)

    @property
    def elapsed_s(self) -> float:
        return self.finished - self.started


def chain_has_paid_step(config: ChainConfig) -> bool:
    """Whether a step of ``config`` may spend money (paid bg backend or the OpenAI refine)."""
    if not config.bg_remove:
        return False
    return bool(config.refine or PAID_BG_BACKENDS & set(config.backends))


def portable(config: ChainConfig) -> ChainConfig:
    """``config`` as it travels to a worker: no callback, no warm backend object (the worker
    builds its own from the same settings)."""
    return replace(config, before_paid_call=None, removers=None, upscaler=None, refiner=None)


def run_chain_task(raw: str, dirs: ChainDirs, config: ChainConfig) -> ChainDone:
    """One chain on a worker. Running it twice (a lost worker) writes the same outputs again."""
    started, cpu = time.time(), time.process_time()
    result = run_chain(raw, dirs, config)
    return ChainDone(result, f"{socket.gethostname()}:{os.getpid()}", started, time.time(),
                     time.process_time() - cpu)


def chain_on_cluster(client: Any, raw: str, dirs: ChainDirs, config: ChainConfig) -> ChainDone:
    """Run one chain on the cluster and wait for it (a coordinator thread per chain in flight)."""
    return result_with_resubmit(client, run_chain_task, str(raw), dirs, portable(config))


def chains_on_cluster(client: Any, items: Sequence[tuple[str, ChainDirs, ChainConfig]],
                      on_done: Callable[[int, ChainDone], None] | None = None) -> list[ChainDone]:
    """Run many chains at once (all submitted up front, the scheduler spreads them over the
    workers) and return their results in the order given; ``on_done(index, done)`` sees each."""
    from distributed import KilledWorker

    futures = [client.submit(run_chain_task, str(raw), dirs, portable(config), pure=False)
               for raw, dirs, config in items]
    results: list[ChainDone] = []
    try:
        for number, future in enumerate(futures):
            try:
                done = future.result()
            except KilledWorker:  # its workers died more often than the scheduler retries: once more
                raw, dirs, config = items[number]
                done = chain_on_cluster(client, raw, dirs, config)
            results.append(done)
            if on_done is not None:
                on_done(number, done)
    finally:
        client.cancel([future for future in futures if not future.done()])
    return results
