"""The Character Library service (seed 004) over httpx: master reference, 360° set (all views
in one answer) and scene images, each answered with a ``publicUrl`` that is always downloaded
here (size cap, must decode as an image): Kroma never stores an image external-only.

Wire format (JSON; base URL ``CHARACTER_LIBRARY_API_URL``; no key, per seed 004):

- ``POST /api/v1/characters/{libraryDbId}/reference-image`` ``{prompt, name, code}``
  -> ``{"success": true, "data": {"id", "publicUrl"}}``
- ``POST /api/v1/characters/{libraryDbId}/360-set`` ``{prompt, views[], referenceImageId?,
  referenceImageBase64?}`` -> ``{"success": true, "data": {"images": [{"id", "view", "publicUrl"}]}}``
- ``POST /api/v1/characters/{libraryDbId}/scene-image`` ``{prompt, sceneContext, referenceImageId?,
  referenceImageBase64?}`` -> ``{"success": true, "data": {"id", "publicUrl"}}``
- ``DELETE /api/v1/characters/{libraryDbId}/reference-image`` (seed 004, sent once, no retry)
- errors: any non-2xx, body ``{"success": false, "error": "..."}``.

Seed 004 rules kept: an HTTP 500 is surfaced and never retried (one attempt per call); the
portfolio comes back all at once, so one 360-set call serves every view of one candidate (the
views of a run are asked one by one by the pipeline and handed out from the cached set).
"""

from __future__ import annotations

import base64
import hashlib
import os
import threading
import time
from datetime import UTC, datetime
from typing import Any

import httpx

from kroma_kit.errors import ImageInputError, ProviderError, ProviderNotConfigured
from kroma_kit.imaging import open_image_bytes
from kroma_kit.providers.base import Attempt, ImageRequest, ImageResult
from kroma_kit.providers.character_request import CharacterImageRequest
from kroma_kit.providers.http import RetryPolicy, error_message, send_with_retries

MODEL = "character-library"
DEFAULT_MAX_DOWNLOAD_BYTES = 25 * 1024 * 1024
ENV_URL = "CHARACTER_LIBRARY_API_URL"


class CharacterLibraryProvider:
    """Image provider ``character_library``. Free to call as far as Kroma knows (no key, no
    price list); ``price_per_image_usd`` lets a studio count what its deployment costs."""

    code = "character_library"
    paid = False

    def __init__(self, base_url: str | None = None, *, timeout_s: float = 120.0,
                 max_download_bytes: int = DEFAULT_MAX_DOWNLOAD_BYTES, price_per_image_usd: float = 0.0,
                 transport: httpx.BaseTransport | None = None, env: dict[str, str] | None = None) -> None:
        source = os.environ if env is None else env
        self.base_url = (base_url or source.get(ENV_URL) or "").rstrip("/")
        self.timeout_s = float(timeout_s)
        self.max_download_bytes = int(max_download_bytes)
        self.price_per_image_usd = float(price_per_image_usd)
        self._transport = transport
        self._client: httpx.Client | None = None
        self._lock = threading.Lock()
        self._set_lock = threading.Lock()
        self._failed_sets: dict[tuple[Any, ...], str] = {}
        self._sets: list[dict[str, Any]] = []  # cached 360 sets: {"key", "items": {view: item}, "used": set}

    # ------------------------------------------------------------------ protocol

    def describe(self) -> dict[str, Any]:
        return {"provider": self.code, "model": MODEL, "base_url": self.base_url or None,
                "configured": bool(self.base_url), "paid": self.paid, "size": None, "quality": None}

    def estimate_cost(self, request: ImageRequest) -> float:
        return self.price_per_image_usd

    def generate(self, request: ImageRequest) -> ImageResult:
        if not isinstance(request, CharacterImageRequest):
            raise ProviderError("character_library only makes character images (reference, portfolio, scene).",
                                provider=self.code)
        self._require_url()
        library_id = str(request.character.get("library_id") or request.character.get("code") or "")
        if not library_id:
            raise ProviderError("character_library: the request names no character.", provider=self.code)
        clock = time.perf_counter()
        if request.kind == "portfolio_item":
            item, attempts = self._portfolio_item(library_id, request)
        elif request.kind == "scene":
            body = {"prompt": request.prompt, "sceneContext": request.scene_context, **_reference_fields(request)}
            item, attempts = self._post(f"characters/{library_id}/scene-image", body)
        else:
            body = {"prompt": request.prompt, "name": request.character.get("name"),
                    "code": request.character.get("code")}
            item, attempts = self._post(f"characters/{library_id}/reference-image", body)
        url = item.get("publicUrl")
        if not isinstance(url, str) or not url:
            raise self._error("the answer has no publicUrl", attempts)
        data, download = self._download(url, attempts)
        return ImageResult(image_bytes=data, provider_code=self.code, model=MODEL, usage={"images": 1},
                           cost_usd=self.price_per_image_usd, attempts=[*attempts, download],
                           params={"source_url": url, "external_id": item.get("id"), "view": request.view,
                                   "download_sha256": hashlib.sha256(data).hexdigest(), "download_bytes": len(data),
                                   "kind": request.kind, "library_id": library_id,
                                   "duration_ms": int((time.perf_counter() - clock) * 1000)})

    def delete_reference(self, library_id: str) -> dict[str, Any]:
        """Seed 004: ``DELETE .../reference-image`` once, no retry. Never raises: the answer (or
        the failure) is returned for the caller to record."""
        if not self.base_url:
            return {"attempted": False, "ok": False, "error": f"{ENV_URL} is not set"}
        url = self._url(f"characters/{library_id}/reference-image")
        started = datetime.now(UTC).isoformat()
        try:
            response = self._http().delete(url)
        except httpx.HTTPError as exc:
            return {"attempted": True, "ok": False, "url": url, "at": started,
                    "error": f"{type(exc).__name__}: {exc}"}
        ok = response.is_success
        return {"attempted": True, "ok": ok, "url": url, "at": started, "status": response.status_code,
                "error": None if ok else f"HTTP {response.status_code}: {error_message(response)}"}

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    # ------------------------------------------------------------------ internals

    def _require_url(self) -> None:
        if not self.base_url:
            raise ProviderNotConfigured(f"Character Library is not configured: set {ENV_URL} (e.g. "
                                        "http://library.local:8080) or pick --provider local.", provider=self.code)

    def _url(self, path: str) -> str:
        return f"{self.base_url}/api/v1/{path}"

    def _http(self) -> httpx.Client:
        with self._lock:
            if self._client is None:
                self._client = httpx.Client(timeout=self.timeout_s, transport=self._transport,
                                            follow_redirects=True)
            return self._client

    def _post(self, path: str, body: dict[str, Any]) -> tuple[dict[str, Any], list[Attempt]]:
        url = self._url(path)
        client = self._http()
        try:
            response, attempts = send_with_retries(client, lambda: client.build_request("POST", url, json=body),
                                                   provider=self.code, policy=RetryPolicy(max_attempts=1))
        except ProviderError as exc:  # one attempt only (seed 004): surface it as it is
            exc.retryable = False
            raise
        try:
            payload = response.json()
        except ValueError:
            raise self._error(f"{path}: the answer is not JSON", attempts) from None
        data = payload.get("data") if isinstance(payload, dict) else None
        if not isinstance(data, dict):
            raise self._error(f"{path}: the answer has no data object", attempts)
        return data, attempts

    def _portfolio_item(self, library_id: str, request: CharacterImageRequest) -> tuple[dict[str, Any], list[Attempt]]:
        """The view from a cached 360 set that has not handed it out yet, else a new set call."""
        view = request.view or "front"
        key = (library_id, request.reference_external_id, str(request.reference_path))
        with self._set_lock:  # the views of a run arrive on several threads: one set call serves them all
            for cached in self._sets:
                if cached["key"] == key and view in cached["items"] and view not in cached["used"]:
                    cached["used"].add(view)
                    return cached["items"][view], []
            if key in self._failed_sets:  # seed 004: no retry, not even by the next view
                raise self._error(f"360-set failed earlier in this run: {self._failed_sets[key]}", [])
            body = {"prompt": request.prompt, "views": list(request.all_views or [view]),
                    **_reference_fields(request)}
            try:
                data, attempts = self._post(f"characters/{library_id}/360-set", body)
            except ProviderError as exc:
                self._failed_sets[key] = str(exc)
                raise
            images = data.get("images")
            if not isinstance(images, list) or not images:
                raise self._error("360-set: the answer has no images", attempts)
            items = {str(image.get("view")): image for image in images if isinstance(image, dict)}
            if view not in items:
                raise self._error(f"360-set: the answer has no '{view}' view (got {', '.join(sorted(items))})",
                                  attempts)
            self._sets.append({"key": key, "items": items, "used": {view}})
            return items[view], attempts

    def _download(self, url: str, attempts: list[Attempt]) -> tuple[bytes, Attempt]:
        """GET the publicUrl with a size cap; the bytes must decode as an image."""
        started = datetime.now(UTC).isoformat()
        clock = time.perf_counter()
        try:
            with self._http().stream("GET", url) as response:
                if not response.is_success:
                    response.read()
                    raise self._error(f"download of {url} failed: HTTP {response.status_code}", attempts,
                                      status=response.status_code)
                declared = response.headers.get("content-length")
                if declared and declared.isdigit() and int(declared) > self.max_download_bytes:
                    raise self._error(f"image at {url} is {declared} bytes, over the "
                                      f"{self.max_download_bytes}-byte cap", attempts)
                chunks, total = [], 0
                for chunk in response.iter_bytes():
                    total += len(chunk)
                    if total > self.max_download_bytes:
                        raise self._error(f"image at {url} exceeds the {self.max_download_bytes}-byte cap",
                                          attempts)
                    chunks.append(chunk)
        except httpx.TimeoutException:
            raise self._error(f"download of {url} timed out after {self.timeout_s:g} s", attempts) from None
        except httpx.HTTPError as exc:
            raise self._error(f"download of {url} failed: {exc}", attempts) from None
        data = b"".join(chunks)
        try:
            open_image_bytes(data, url, max_bytes=self.max_download_bytes).close()
        except ImageInputError as exc:
            raise self._error(f"the file at {url} is not a usable image ({exc})", attempts) from None
        return data, Attempt(started, int((time.perf_counter() - clock) * 1000), 200)

    def _error(self, message: str, attempts: list[Attempt], *, status: int | None = None) -> ProviderError:
        error = ProviderError(f"character_library: {message}", status=status, provider=self.code)
        error.attempts = list(attempts)  # type: ignore[attr-defined]
        return error


def _reference_fields(request: CharacterImageRequest) -> dict[str, Any]:
    """How the chosen reference travels: its Library id when it came from there, else its bytes."""
    if request.reference_external_id:
        return {"referenceImageId": request.reference_external_id}
    if request.reference_path is not None:
        return {"referenceImageBase64": base64.b64encode(request.reference_path.read_bytes()).decode("ascii")}
    return {}
