"""The ``dask`` executor: a run's provider calls and post chains as tasks on a Dask cluster.

The coordinator (the process that runs ``kroma run``) keeps everything that must have one
writer: the spend guard reserves a candidate's estimate *before* its task is submitted and
settles with the real cost when the result comes back, the run log and the catalog are written
only here, and ranking, the output guard and continuity run here on the files the workers wrote.
Each thread of the run's pool waits on one task, so ``concurrency`` is the number of candidates
in flight across the cluster.

Without a scheduler address a LocalCluster of worker processes on 127.0.0.1 (no dashboard) is
started when the run's tasks start and closed when they end. The project's files must be
reachable from the workers at the same paths (always so locally; a shared volume on a cluster).

Failure: a worker that dies mid-task has its task moved to another worker by the scheduler (or
resubmitted here, :func:`~kroma_kit.dask_cluster.result_with_resubmit`). A generation's answer is
staged on disk by the worker before anything else happens to it, and a second try of the same
candidate returns the staged answer instead of paying again (:mod:`kroma_kit.pipeline.dask_tasks`);
a resume does the same. Staged answers are removed once the run has written them to their
candidate files.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from kroma_kit.dask_cluster import CONNECT_TIMEOUT_S, check_scheduler, dask_client, result_with_resubmit
from kroma_kit.pipeline.dask_tasks import ProviderSpec, generate_image, remove_staged
from kroma_kit.postprocess.chain import ChainConfig, ChainDirs, ChainResult, run_chain
from kroma_kit.postprocess.dask_chains import chain_has_paid_step, chain_on_cluster
from kroma_kit.providers.base import ImageProvider, ImageRequest, ImageResult
from kroma_kit.providers.keys import resolve_api_key

# The environment variable that holds each paid provider's key (resolved here, sent with the task).
API_KEY_ENV = {"openai": "OPENAI_API_KEY"}


def provider_spec(code: str, settings: Any) -> ProviderSpec:
    """How workers build the run's provider: the same ``providers.<code>`` section
    :func:`~kroma_kit.pipeline.plan.build_provider` uses, plus the key resolved in this process
    (call option > environment > project secret): workers need not hold the artist's secrets."""
    section = getattr(settings.settings.providers, code, None)
    options = {k: v for k, v in section.model_dump().items() if v is not None} if section is not None else {}
    env_name = API_KEY_ENV.get(code)
    key = resolve_api_key(env_name, explicit=options.pop("api_key", None)) if env_name else None
    return ProviderSpec(code, tuple(sorted(options.items())), SecretStr(key) if key else None)


def staging_name(key: str) -> str:
    """A file-safe, collision-free name for candidate ``key`` (``JOB#cN``)."""
    readable = re.sub(r"[^A-Za-z0-9._-]+", "_", key)[:80]
    return f"{readable}-{hashlib.sha256(key.encode()).hexdigest()[:10]}"


class DaskExecutor:
    """Provider calls and post chains as Dask tasks; see the module docstring."""

    name = "dask"

    def __init__(self, scheduler: str | None = None, *, workers: int = 0,
                 after_paid: Callable[[str], None] | None = None,
                 connect_timeout_s: float = CONNECT_TIMEOUT_S) -> None:
        self.scheduler = scheduler
        self.workers = workers
        self.connect_timeout_s = connect_timeout_s
        self.after_paid = after_paid  # fault-injection seam: runs on the worker once an answer is staged
        self._client: Any = None
        self._spec: ProviderSpec | None = None
        self._staging_dir: Path | None = None
        self._staged: set[str] = set()
        self._lock = threading.Lock()

    def check(self) -> None:
        check_scheduler(self.scheduler, self.connect_timeout_s)

    @contextmanager
    def attach(self, ctx: Any) -> Iterator[None]:
        """Connect (or start the LocalCluster) for the run's tasks; close and drop the staged
        answers the run has written to candidate files on the way out."""
        self._spec = provider_spec(ctx.provider.code, ctx.settings)
        self._staging_dir = ctx.log.path.with_suffix(".dask")
        with dask_client(self.scheduler, workers=self.workers, timeout_s=self.connect_timeout_s) as client:
            self._client = client
            try:
                yield
            finally:
                self._client = None
                self._drop_written(ctx)

    def _drop_written(self, ctx: Any) -> None:
        """A staged answer is needed until its candidate's file exists; then it is litter."""
        with self._lock:
            staged, self._staged = set(self._staged), set()
        for key in staged:
            job_id, _, index = key.rpartition("#c")
            candidate = ctx.log.candidate(job_id, int(index))
            if candidate.status != "planned":
                remove_staged(str(self._staging_path(key)))
        if self._staging_dir is not None and self._staging_dir.is_dir() and not any(self._staging_dir.iterdir()):
            self._staging_dir.rmdir()

    def _staging_path(self, key: str) -> Path:
        assert self._staging_dir is not None
        return self._staging_dir / staging_name(key)

    def generate(self, provider: ImageProvider, request: ImageRequest, key: str) -> ImageResult:
        if self._client is None or self._spec is None:  # not attached: nothing to hand the task to
            return provider.generate(request)
        staging = self._staging_path(key)
        staging.parent.mkdir(parents=True, exist_ok=True)
        done = result_with_resubmit(self._client, generate_image, self._spec, request, str(staging),
                                    self.after_paid)
        with self._lock:
            self._staged.add(key)
        return done.result

    def run_chain(self, raw: Path, dirs: ChainDirs, config: ChainConfig) -> ChainResult:
        if self._client is None or chain_has_paid_step(config):  # a paid step's budget check stays here
            return run_chain(raw, dirs, config)
        return chain_on_cluster(self._client, str(raw), dirs, config).result
