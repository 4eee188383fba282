"""What runs on a Dask worker: plain functions of picklable, typed inputs returning typed results.

Nothing here touches the catalog, the run log or the spend guard: those stay with the coordinator
(:mod:`kroma_kit.pipeline.dask_offload`), which reserves before it submits and settles on the result.

A paid generation is made safe to run twice. The worker writes the provider's answer (image bytes
plus cost, usage, attempts) to a *staging* file next to the run log the moment it arrives, before
returning it; the same task started again (the scheduler moves a task whose worker died, the
coordinator resubmits one, or a resume asks for the candidate again) finds that file and returns
it without calling the provider. So a worker killed after the call costs nothing twice. Staging
needs the workers to share the project's file system with each other (a LocalCluster always does;
a cluster on several machines mounts the same volume).
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from kroma_kit.providers.base import Attempt, ImageProvider, ImageRequest, ImageResult, get_image_provider
from kroma_kit.storage.atomic import atomic_write_bytes

STAGING_VERSION = 1


@dataclass(frozen=True)
class ProviderSpec:
    """How a worker builds the run's image provider: its code and settings section, plus the key
    the coordinator resolved (a :class:`SecretStr`: it never shows in a repr or a Dask log)."""

    code: str
    options: tuple[tuple[str, Any], ...] = ()
    api_key: SecretStr | None = None

    def build(self) -> ImageProvider:
        options = dict(self.options)
        if self.api_key is not None:
            options["api_key"] = self.api_key.get_secret_value()
        return get_image_provider(self.code, **options)

    @property
    def cache_key(self) -> str:
        secret = self.api_key.get_secret_value() if self.api_key is not None else ""
        text = json.dumps([self.code, [list(item) for item in self.options], secret], default=str)
        return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Generated:
    """A generation's answer as it comes back from a worker: ``reused`` when it was the staged
    answer of an earlier try (no call was made this time)."""

    result: ImageResult
    reused: bool
    worker: str
    elapsed_ms: int


_PROVIDERS: dict[str, ImageProvider] = {}
_PROVIDERS_LOCK = threading.Lock()


def _provider(spec: ProviderSpec) -> ImageProvider:
    """One provider per spec per worker process: its HTTP client (and pool) is reused by the
    worker's later tasks instead of a connection per candidate."""
    with _PROVIDERS_LOCK:
        provider = _PROVIDERS.get(spec.cache_key)
        if provider is None:
            provider = _PROVIDERS[spec.cache_key] = spec.build()
        return provider


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _staged_files(staging: str) -> tuple[Path, Path]:
    base = Path(staging)
    return base.with_suffix(".img"), base.with_suffix(".json")


def read_staged(staging: str) -> ImageResult | None:
    """The answer an earlier try staged at ``staging``; None when there is none or it is torn
    (the image's digest must match the one its record names)."""
    image_file, record_file = _staged_files(staging)
    try:
        record = json.loads(record_file.read_text(encoding="utf-8"))
        data = image_file.read_bytes()
    except (OSError, ValueError):
        return None
    if record.get("version") != STAGING_VERSION or hashlib.sha256(data).hexdigest() != record.get("image_sha256"):
        return None
    return ImageResult(image_bytes=data, provider_code=record["provider_code"], model=record["model"],
                       mime_type=record.get("mime_type") or "image/png", usage=record.get("usage") or {},
                       cost_usd=float(record.get("cost_usd") or 0.0),
                       attempts=[Attempt(**item) for item in record.get("attempts") or []],
                       params=record.get("params") or {})


def write_staged(staging: str, result: ImageResult) -> None:
    """Stage ``result``: the image first, then its record (the record is what makes it count)."""
    image_file, record_file = _staged_files(staging)
    atomic_write_bytes(image_file, result.image_bytes)
    record = {"version": STAGING_VERSION, "image_sha256": hashlib.sha256(result.image_bytes).hexdigest(),
              "provider_code": result.provider_code, "model": result.model, "mime_type": result.mime_type,
              "usage": result.usage, "cost_usd": result.cost_usd, "attempts": [asdict(a) for a in result.attempts],
              "params": result.params}
    atomic_write_bytes(record_file, json.dumps(record, default=str).encode("utf-8"))


def remove_staged(staging: str) -> None:
    for path in _staged_files(staging):
        path.unlink(missing_ok=True)


def generate_image(spec: ProviderSpec, request: ImageRequest, staging: str,
                   after_paid: Callable[[str], None] | None = None) -> Generated:
    """One candidate's provider call on a worker. A staged answer from an earlier try is returned
    as it is (no call); otherwise the provider is called and its answer staged before returning.
    ``after_paid`` (a fault-injection seam for tests) is called with ``staging`` once the answer
    is staged. Provider errors propagate (the coordinator records them as in a thread)."""
    clock = time.perf_counter()
    staged = read_staged(staging)
    if staged is not None:
        return Generated(staged, True, worker_name(), int((time.perf_counter() - clock) * 1000))
    result = _provider(spec).generate(request)
    write_staged(staging, result)
    if after_paid is not None:
        after_paid(staging)
    return Generated(result, False, worker_name(), int((time.perf_counter() - clock) * 1000))
