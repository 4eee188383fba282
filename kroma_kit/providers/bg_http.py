"""Paid background removal over HTTP: remove.bg and PhotoRoom (``reference/provider-wire.md`` §4-§5).

Both take a multipart ``image_file`` part and answer with image bytes, so one small base class
does the call (httpx, ``send_with_retries``: 429/5xx retried with ``Retry-After`` honoured, every
attempt recorded) and each subclass only names its endpoint, auth header, fields and how it
bills. The key comes from the environment variable named in settings (or is passed in from the
secrets store); a missing key is :class:`ProviderNotConfigured`, which the fallback chain records
as this backend's failure. Base URL and ``httpx`` transport are injectable, so tests run against
real fake servers on 127.0.0.1.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from kroma_kit.errors import ProviderError, ProviderNotConfigured
from kroma_kit.providers.bg_remove import BgResult
from kroma_kit.providers.http import RetryPolicy, send_with_retries
from kroma_kit.providers.keys import current_key_lookup, resolve_api_key

if TYPE_CHECKING:
    from PIL import Image

REMOVE_BG_ENDPOINT = "https://api.remove.bg/v1.0/removebg"
PHOTOROOM_ENDPOINT = "https://sdk.photoroom.com/v1/segment"


class _HttpCutoutRemover:
    """Shared call path: encode PNG, POST multipart, decode the returned image as RGBA."""

    code = ""
    paid = True
    display_name = ""
    default_endpoint = ""
    default_key_env = ""
    auth_header = ""

    def __init__(self, endpoint: str | None = None, api_key_env: str | None = None, api_key: str | None = None,
                 size: str = "auto", format: str = "png", crop: bool = False, timeout_s: float = 60.0,
                 connect_timeout_s: float = 15.0, max_attempts: int = 3,
                 client: httpx.Client | None = None, transport: httpx.BaseTransport | None = None,
                 policy: RetryPolicy | None = None) -> None:
        self.endpoint = endpoint or self.default_endpoint
        self.api_key_env = api_key_env or self.default_key_env
        self._api_key = api_key
        self._key_lookup = current_key_lookup()
        self.size = size
        self.format = "jpg" if format == "jpeg" else format
        self.crop = crop
        self.policy = policy or RetryPolicy(max_attempts=max_attempts)
        self._client = client
        self._transport = transport
        self._timeout = httpx.Timeout(timeout_s, connect=connect_timeout_s)

    def api_key(self) -> str:
        key = resolve_api_key(self.api_key_env, explicit=self._api_key, lookup=self._key_lookup)
        if not key:
            raise ProviderNotConfigured(
                f"Missing {self.api_key_env} for {self.display_name} background removal: set it in the "
                f"environment (or the secrets store), or drop '{self.code}' from bg_remove.backends.",
                provider=self.code)
        return key

    def fields(self) -> dict[str, str]:
        """Form fields besides the image, as the seed sends them (size only when not auto)."""
        data = {"format": self.format}
        if self.size and self.size != "auto":
            data["size"] = self.size
        if self.crop:
            data["crop"] = "true"
        return data

    def usage_from(self, response: httpx.Response) -> tuple[dict[str, Any], float]:
        """What the call used and cost in USD, from the response headers."""
        raise NotImplementedError

    def estimate_cost(self) -> float:
        """USD for one call before making it (for the budget check)."""
        raise NotImplementedError

    def remove(self, image: Image.Image, *, source_name: str) -> BgResult:
        key = self.api_key()
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        payload = buffer.getvalue()
        filename = f"{Path(source_name).stem or 'image'}.png"
        fields = self.fields()

        def build(client: httpx.Client) -> httpx.Request:
            return client.build_request(
                "POST", self.endpoint, headers={self.auth_header: key},
                files={"image_file": (filename, payload, "image/png")}, data=fields)

        client = self._client or httpx.Client(transport=self._transport, timeout=self._timeout)
        try:
            response, attempts = send_with_retries(client, lambda: build(client), provider=self.code,
                                                   policy=self.policy)
        finally:
            if self._client is None:
                client.close()
        usage, cost = self.usage_from(response)
        result = BgResult(self._decode(response, source_name), self.code, cost_usd=cost, usage=usage,
                          attempts=attempts)
        if self.format == "jpg":
            result.notes.append(f"{self.code}: format jpg has no transparency; alpha is fully opaque")
        return result

    def _decode(self, response: httpx.Response, source_name: str) -> Image.Image:
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(io.BytesIO(response.content)) as returned:
                returned.load()
                return returned.convert("RGBA")
        except (UnidentifiedImageError, OSError) as exc:
            kind = response.headers.get("content-type", "?")
            raise ProviderError(
                f"{self.display_name} returned something that is not an image for {source_name} "
                f"(content-type {kind}, {len(response.content)} bytes).", provider=self.code) from exc


class RemoveBgRemover(_HttpCutoutRemover):
    """remove.bg: ``X-Api-Key``; bills in credits (``X-Credits-Charged``).

    The USD price of a credit depends on the plan, so it is a setting (``usd_per_credit``); when it
    is not set the credits are still recorded in ``usage`` and the cost is reported as 0 with a note.
    """

    code = "removebg"
    display_name = "remove.bg"
    default_endpoint = REMOVE_BG_ENDPOINT
    default_key_env = "REMOVE_BG_API_KEY"
    auth_header = "X-Api-Key"

    def __init__(self, *, usd_per_credit: float | None = None, **options: Any) -> None:
        super().__init__(**options)
        self.usd_per_credit = usd_per_credit

    def estimate_cost(self) -> float:
        """One full-size image is 1 credit (a preview 0.25); priced only when the plan price is set."""
        credits = 0.25 if self.size in ("preview", "small", "regular") else 1.0
        return credits * self.usd_per_credit if self.usd_per_credit is not None else 0.0

    def usage_from(self, response: httpx.Response) -> tuple[dict[str, Any], float]:
        headers = response.headers
        usage: dict[str, Any] = {"credits_charged": _number(headers.get("x-credits-charged"))}
        for header, name in (("x-type", "type"), ("x-width", "width"), ("x-height", "height"),
                             ("x-ratelimit-limit", "ratelimit_limit"),
                             ("x-ratelimit-remaining", "ratelimit_remaining"),
                             ("x-ratelimit-reset", "ratelimit_reset")):
            if header in headers:
                usage[name] = headers[header] if name == "type" else _number(headers[header])
        credits = usage["credits_charged"] or 0.0
        cost = credits * self.usd_per_credit if self.usd_per_credit is not None else 0.0
        if self.usd_per_credit is None and credits:
            usage["price_note"] = "set bg_remove.removebg.usd_per_credit to record this call's USD cost"
        return usage, round(cost, 6)

    def remove(self, image: Image.Image, *, source_name: str) -> BgResult:
        result = super().remove(image, source_name=source_name)
        if "price_note" in result.usage:
            result.notes.append(f"removebg: {result.usage['credits_charged']} credits charged; "
                                + result.usage["price_note"])
        return result


class PhotoRoomRemover(_HttpCutoutRemover):
    """PhotoRoom Remove Background (``/v1/segment``): ``x-api-key``; billed per image."""

    code = "photoroom"
    display_name = "PhotoRoom"
    default_endpoint = PHOTOROOM_ENDPOINT
    default_key_env = "PHOTOROOM_API_KEY"
    auth_header = "x-api-key"

    def __init__(self, *, usd_per_image: float = 0.02, **options: Any) -> None:
        super().__init__(**options)
        self.usd_per_image = usd_per_image

    def estimate_cost(self) -> float:
        return self.usd_per_image

    def usage_from(self, response: httpx.Response) -> tuple[dict[str, Any], float]:
        usage: dict[str, Any] = {"images": 1}
        score = response.headers.get("x-uncertainty-score")
        if score is not None:
            usage["uncertainty_score"] = _number(score)
        return usage, self.usd_per_image


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return None
