"""The paid image backend: OpenAI Images (``/images/edits``, ``/images/generations``) over httpx.

It speaks the wire format of ``reference/provider-wire.md`` section 1 and sends what the seed sent
(``kroma-behavior.md`` 5.3): a multipart edit with every input as a repeated ``image[]`` part, scene
first. Planning never needs a key or the network (``describe``, ``estimate_cost``); a call without
a key stops with :class:`ProviderNotConfigured` before anything is sent, and so does a call the
pricing table cannot price, so no money is spent that the spend guard could not have counted.
The key is read from the environment when needed and never appears in a result, log or message.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import httpx

from kroma_kit.errors import ConfigError, ImageInputError, InputError, ProviderError, ProviderNotConfigured
from kroma_kit.imaging import MIME_BY_EXT
from kroma_kit.providers.base import Attempt, ImageRequest, ImageResult
from kroma_kit.providers.http import RetryPolicy, send_with_retries, shared_tls_context
from kroma_kit.providers.keys import current_key_lookup, resolve_api_key
from kroma_kit.providers.pricing import PricingTable, load_pricing

DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_MODEL = "gpt-image-2"  # gpt-image-1 shut down 2026-10-23, 1.5 and 1-mini 2026-12-01
DEFAULT_SIZE = "1024x1536"
DEFAULT_QUALITY = "high"
DEFAULT_TIMEOUT_S = 120.0  # the seed's R client; high-quality 1536 px calls can take over a minute
DEFAULT_CONNECT_TIMEOUT_S = 30.0
MAX_INPUT_IMAGES = 16
TRANSPARENT_FORMATS = ("png", "webp")
OUTPUT_MIME = {"png": "image/png", "jpeg": "image/jpeg", "jpg": "image/jpeg", "webp": "image/webp"}
# The seed's refine prompt (kroma-behavior.md 4.2, Python defaults).
REFINE_PROMPT = (
    "Refine this subject cutout for production compositing. Keep identity, pose, outfit, proportions "
    "and colors unchanged. Clean jagged edges and halos, recover natural hair strands and "
    "semi-transparent details, preserve transparent background. Do not add or remove objects, do not "
    "retouch skin, and do not change framing.")
# input_fidelity is accepted by gpt-image-1 and gpt-image-1.5 (and dated snapshots); gpt-image-1-mini
# rejects it (provider-wire.md 1.3) and the 2026 OpenAPI spec says to omit it for gpt-image-2.
_FIDELITY_MODELS = re.compile(r"^gpt-image-1(\.5)?(-\d{4}-\d{2}-\d{2})?$")
_UNSET = ""

ImageField = Literal["image[]", "image"]
ImageInput = str | os.PathLike[str] | bytes


def accepts_input_fidelity(model: str) -> bool:
    """Whether ``model`` takes the ``input_fidelity`` edit field (sending it elsewhere is a 400)."""
    return bool(_FIDELITY_MODELS.match(model))


def api_url(base_url: str, endpoint: str) -> httpx.URL:
    """``endpoint`` under ``base_url`` the way the OpenAI SDK joins them: the base already holds the
    version (``https://api.openai.com/v1``, ``http://localhost:8080/v1``) or a gateway prefix
    (``https://gateway.example/openai``), so the path is appended as is. A bare host with no path
    gets ``/v1``, the only layout that makes sense for it. Query parameters (Azure's
    ``api-version``) are kept."""
    url = httpx.URL(base_url.strip())
    prefix = url.path.rstrip("/") or "/v1"
    return url.copy_with(path=f"{prefix}/{endpoint.lstrip('/')}")


class OpenAIImagesProvider:
    """Image edits and generations on the OpenAI Images API, or any gateway that speaks it.

    Every option is optional: ``None`` (or ``""``, as settings files write it) means the
    environment (``OPENAI_API_KEY``, ``OPENAI_BASE_URL``, ``OPENAI_IMAGE_MODEL``,
    ``OPENAI_IMAGE_SIZE``, ``OPENAI_IMAGE_QUALITY``, ``OPENAI_ORG_ID``, ``OPENAI_PROJECT_ID``), then
    the built-in default. ``client`` or ``transport`` replace the network, httpx style.
    ``image_field="image"`` names the edit parts ``image`` instead of ``image[]`` for gateways that
    want that. ``retry_policy`` wins over ``max_attempts`` (the settings file's knob). A timeout is
    retried like any other transient failure; the API may still bill a call whose answer never
    arrived, so ``max_attempts`` bounds that risk too.
    """

    code = "openai"
    paid = True

    def __init__(self, *, api_key: str | None = None, base_url: str | None = None,
                 model: str | None = None, size: str | None = None, quality: str | None = None,
                 output_format: str | None = "png", input_fidelity: str | None = None,
                 background: str | None = None, timeout_s: float | None = None,
                 connect_timeout_s: float | None = None, max_attempts: int | None = None,
                 retry_policy: RetryPolicy | None = None,
                 pricing: PricingTable | str | os.PathLike[str] | None = None,
                 image_field: ImageField = "image[]", organization: str | None = None,
                 project: str | None = None, client: httpx.Client | None = None,
                 transport: httpx.BaseTransport | None = None,
                 env: Mapping[str, str] | None = None) -> None:
        self._env = os.environ if env is None else env
        self._api_key = api_key or _UNSET
        self._key_lookup = current_key_lookup()  # the project scope it was built in (calls run on workers)
        self.base_url = _first(base_url, self._env.get("OPENAI_BASE_URL"), DEFAULT_BASE_URL)
        self.model = _first(model, self._env.get("OPENAI_IMAGE_MODEL"), DEFAULT_MODEL)
        self.size = _first(size, self._env.get("OPENAI_IMAGE_SIZE"), DEFAULT_SIZE)
        self.quality = _first(quality, self._env.get("OPENAI_IMAGE_QUALITY"), DEFAULT_QUALITY)
        self.output_format = output_format or "png"
        self.input_fidelity = input_fidelity or None
        self.background = background or None
        self.organization = _first(organization, self._env.get("OPENAI_ORG_ID"), _UNSET) or None
        self.project = _first(project, self._env.get("OPENAI_PROJECT_ID"), _UNSET) or None
        if image_field not in ("image[]", "image"):
            raise ConfigError(f"image_field must be 'image[]' or 'image', not {image_field!r}.")
        self.image_field: ImageField = image_field
        if retry_policy is None:
            retry_policy = RetryPolicy(max_attempts=max_attempts) if max_attempts else RetryPolicy()
        self.retry_policy = retry_policy
        self._pricing = pricing
        self._timeout: httpx.Timeout | None = None
        if timeout_s is not None or connect_timeout_s is not None or client is None:
            self._timeout = httpx.Timeout(timeout_s or DEFAULT_TIMEOUT_S,
                                          connect=connect_timeout_s or DEFAULT_CONNECT_TIMEOUT_S)
        self._client = client
        self._owns_client = client is None
        self._transport = transport
        self._client_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"OpenAIImagesProvider(model={self.model!r}, base_url={self.base_url!r})"

    # ------------------------------------------------------------------ planning (no network)

    @property
    def pricing(self) -> PricingTable:
        """The pricing table (read on first use; an explicit table or path wins over settings)."""
        if not isinstance(self._pricing, PricingTable):
            self._pricing = load_pricing(self._pricing)
        return self._pricing

    @property
    def configured(self) -> bool:
        """Whether a key is available, so a plan can say what is missing before any spend."""
        return bool(self._key_or_none())

    def describe(self) -> dict[str, Any]:
        """What goes into the plan and run log: everything that shapes the call, never the key."""
        return {"provider": self.code, "model": self.model, "size": self.size, "quality": self.quality,
                "output_format": self.output_format, "input_fidelity": self.input_fidelity,
                "background": self.background, "base_url": self.base_url,
                "image_field": self.image_field, "configured": self.configured}

    def estimate_cost(self, request: ImageRequest) -> float:
        """USD for one call from the per-image table. Raises ConfigError for an unpriced model."""
        params = self._params(request)
        return self.pricing.model(params["model"]).image_cost(params["quality"], params.get("size"))

    def estimate_refine_cost(self, *, model: str | None = None, quality: str | None = None) -> float:
        """USD for one :meth:`refine_cutout` call (sent without ``size``, so priced as ``auto``)."""
        return self.pricing.model(model or self.model).image_cost(quality or self.quality, "auto")

    # ------------------------------------------------------------------ calls

    def generate(self, request: ImageRequest) -> ImageResult:
        """One image: an edit of ``request.input_images`` (scene first), or a generation without
        inputs. Raises ProviderError with ``.attempts`` when the API call fails."""
        params = self._params(request)
        if not request.prompt.strip():
            raise InputError("The prompt is empty; the Images API needs a prompt.")
        estimate = self.pricing.model(params["model"]).image_cost(params["quality"], params.get("size"))
        key = self._require_key()
        if request.input_images:
            inputs = [_read_input(path) for path in request.input_images]
            if len(inputs) > MAX_INPUT_IMAGES:
                raise InputError(f"The Images API takes at most {MAX_INPUT_IMAGES} input images; "
                                 f"got {len(inputs)}.")
            fields = {"prompt": request.prompt, **params}
            build = self._edit_builder(key, fields, inputs)
            params["endpoint"] = "images/edits"
            params["input_images"] = [name for name, _, _ in inputs]
        else:
            params.pop("input_fidelity", None)  # an edit-only field
            body = {"prompt": request.prompt, **params}
            build = self._json_builder(key, "images/generations", body)
            params["endpoint"] = "images/generations"
        return self._call(key, build, params, estimate)

    def refine_cutout(self, image: ImageInput, prompt: str = REFINE_PROMPT, *,
                      model: str | None = None, quality: str | None = None,
                      input_fidelity: str | None = None, output_format: str = "png",
                      filename: str | None = None) -> ImageResult:
        """The background-removal refine pass (seed ``bg_refine_openai``): an edit of one cutout
        with ``background=transparent``, no ``size`` (the API keeps the cutout's), PNG by default."""
        if output_format not in TRANSPARENT_FORMATS:
            raise ConfigError(f"A transparent refine needs output_format png or webp, not '{output_format}'.")
        model = model or self.model
        quality = quality or self.quality
        params: dict[str, Any] = {"model": model, "quality": quality, "output_format": output_format,
                                  "background": "transparent"}
        if input_fidelity and accepts_input_fidelity(model):
            params["input_fidelity"] = input_fidelity
        estimate = self.pricing.model(model).image_cost(quality, "auto")
        key = self._require_key()
        part = _bytes_input(image, filename or "cutout.png") if isinstance(image, bytes) else _read_input(image)
        build = self._edit_builder(key, {"prompt": prompt, **params}, [part])
        params.update(endpoint="images/edits", input_images=[part[0]])
        return self._call(key, build, params, estimate)

    def retrieve_model(self, model: str | None = None, *, timeout_s: float = 15.0) -> dict[str, Any]:
        """``GET /models/{model}``: the provider's model object (``id``, ``object``, ``created``,
        ``owned_by``, and ``shutdown_date`` when it retires). One attempt, free of charge. Raises
        ProviderError (with ``status`` when the server answered) when it cannot be read."""
        name = model or self.model
        key = self._require_key()
        url = api_url(self.base_url, f"models/{name}")
        request = self._http().build_request("GET", url, headers=self._headers(key), timeout=timeout_s)
        try:
            response = self._http().send(request)
        except httpx.HTTPError as exc:
            raise ProviderError(f"openai: GET {url.path} failed: {type(exc).__name__}", provider=self.code) from None
        if response.status_code != 200:
            error = _error_message(response)
            raise ProviderError(f"openai: GET {url.path} answered HTTP {response.status_code}"
                                f"{': ' + error if error else ''}", status=response.status_code,
                                retryable=False, provider=self.code)
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise ProviderError(f"openai: GET {url.path} did not answer a model object", provider=self.code)
        return body

    def close(self) -> None:
        """Close the HTTP client this provider created (an injected client is the caller's)."""
        if self._owns_client and self._client is not None:
            self._client.close()
            self._client = None

    def __enter__(self) -> OpenAIImagesProvider:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ internals

    def _params(self, request: ImageRequest) -> dict[str, Any]:
        """The non-prompt fields sent for ``request``: request values win over provider options."""
        model = request.model or self.model
        params: dict[str, Any] = {"model": model, "size": request.size or self.size,
                                  "quality": request.quality or self.quality,
                                  "output_format": request.output_format or self.output_format}
        fidelity = request.input_fidelity or self.input_fidelity
        if fidelity and accepts_input_fidelity(model):
            params["input_fidelity"] = fidelity
        background = request.background or self.background
        if background:
            if background == "transparent" and params["output_format"] not in TRANSPARENT_FORMATS:
                raise ConfigError(f"background 'transparent' needs output_format png or webp, "
                                  f"not '{params['output_format']}'.")
            params["background"] = background
        return params

    def _key_or_none(self) -> str | None:
        return resolve_api_key("OPENAI_API_KEY", explicit=self._api_key or None, env=self._env,
                               lookup=self._key_lookup)

    def _require_key(self) -> str:
        key = self._key_or_none()
        if not key:
            raise ProviderNotConfigured(
                "OpenAI image provider: no API key. Set OPENAI_API_KEY (environment or .env) or pass "
                "api_key=...; planning and dry runs work without one.", provider=self.code)
        return key

    def _headers(self, key: str) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {key}", "Accept": "application/json"}
        if self.organization:
            headers["OpenAI-Organization"] = self.organization
        if self.project:
            headers["OpenAI-Project"] = self.project
        return headers

    def _http(self) -> httpx.Client:
        with self._client_lock:
            if self._client is None:
                tls = {} if self._transport is not None else {"verify": shared_tls_context()}
                self._client = httpx.Client(timeout=self._timeout, transport=self._transport, **tls)
            return self._client

    def _edit_builder(self, key: str, fields: dict[str, Any],
                      inputs: Sequence[tuple[str, bytes, str]]) -> Callable[[], httpx.Request]:
        """Multipart edit: text fields first, then one part per input in order (rebuilt per try)."""
        url = api_url(self.base_url, "images/edits")
        data = {name: str(value) for name, value in fields.items() if value is not None}
        files = [(self.image_field, (name, content, mime)) for name, content, mime in inputs]
        return lambda: self._build("POST", url, key, data=data, files=files)

    def _json_builder(self, key: str, endpoint: str, body: dict[str, Any]) -> Callable[[], httpx.Request]:
        url = api_url(self.base_url, endpoint)
        return lambda: self._build("POST", url, key, json=body)

    def _build(self, method: str, url: httpx.URL, key: str, **content: Any) -> httpx.Request:
        timeout = self._timeout if self._timeout is not None else httpx.USE_CLIENT_DEFAULT
        return self._http().build_request(method, url, headers=self._headers(key), timeout=timeout,
                                          **content)

    def _call(self, key: str, build: Callable[[], httpx.Request], params: dict[str, Any],
              estimate: float) -> ImageResult:
        try:
            response, attempts = send_with_retries(self._http(), build, provider=self.code,
                                                   policy=self.retry_policy)
        except ProviderError as error:
            # An API may echo the key it rejected; neither the message nor the run log may keep it.
            if key in str(error):
                error.args = (str(error).replace(key, "***"),)
            _redact(getattr(error, "attempts", []), key)
            raise
        return self._result(response, _redact(attempts, key), params, estimate)

    def _result(self, response: httpx.Response, attempts: list[Attempt], params: dict[str, Any],
                estimate: float) -> ImageResult:
        try:
            body = response.json()
        except ValueError:
            raise _failure("API returned a non-JSON success body", response, attempts) from None
        data = body.get("data") if isinstance(body, dict) else None
        item = data[0] if isinstance(data, list) and data and isinstance(data[0], dict) else {}
        payload = item.get("b64_json")
        if not payload:
            raise _failure("API returned no image payload", response, attempts)
        try:
            image_bytes = base64.b64decode(payload, validate=True)
        except (binascii.Error, ValueError):
            raise _failure("API returned an image payload that is not valid base64", response,
                           attempts) from None
        usage = body.get("usage") if isinstance(body.get("usage"), dict) else {}
        usage_cost = self.pricing.model(params["model"]).usage_cost(usage)
        params["cost_basis"] = "usage" if usage_cost is not None else "per_image_table"
        if response.headers.get("x-request-id"):
            params["request_id"] = response.headers["x-request-id"]
        output_format = str(body.get("output_format") or params["output_format"]).lower()
        return ImageResult(image_bytes=image_bytes, provider_code=self.code, model=params["model"],
                           mime_type=OUTPUT_MIME.get(output_format, "image/png"), usage=usage,
                           cost_usd=usage_cost if usage_cost is not None else estimate,
                           attempts=attempts, params=params)


def _first(*values: str | None) -> str:
    return next((value for value in values if value), _UNSET)


def _read_input(path: str | os.PathLike[str]) -> tuple[str, bytes, str]:
    """(basename, bytes, MIME by extension) for one input; the seed's rule: png, webp, else jpeg."""
    file = Path(path)
    try:
        content = file.read_bytes()
    except FileNotFoundError:
        raise ImageInputError(f"Input image not found: {file}") from None
    except OSError as exc:
        raise ImageInputError(f"Cannot read input image {file}: {exc.strerror or exc}") from None
    if not content:
        raise ImageInputError(f"Input image is empty (0 bytes): {file}")
    return file.name, content, MIME_BY_EXT.get(file.suffix.lower(), "image/jpeg")


def _bytes_input(content: bytes, filename: str) -> tuple[str, bytes, str]:
    if not content:
        raise ImageInputError(f"Input image is empty (0 bytes): {filename}")
    return Path(filename).name, content, MIME_BY_EXT.get(Path(filename).suffix.lower(), "image/png")


def _redact(attempts: list[Attempt], key: str) -> list[Attempt]:
    for attempt in attempts:
        if attempt.error and key in attempt.error:
            attempt.error = attempt.error.replace(key, "***")
    return attempts


def _error_message(response: httpx.Response) -> str:
    """The API error envelope's ``message`` (provider-wire.md 0), or nothing for another body."""
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        return ""
    return str(error.get("message") or "")[:200] if isinstance(error, dict) else ""


def _failure(message: str, response: httpx.Response, attempts: list[Attempt]) -> ProviderError:
    error = ProviderError(f"openai: {message} (HTTP {response.status_code})",
                          status=response.status_code, retryable=False, provider="openai")
    error.attempts = attempts  # type: ignore[attr-defined]
    return error
