"""HTTP calls with retries, shared by every paid provider (OpenAI, remove.bg, PhotoRoom).

Retries 429, 5xx, timeouts and connection errors with exponential backoff and jitter, honouring
``Retry-After`` (and OpenAI's ``retry-after-ms``); never retries other 4xx, a 429 that means the
quota is spent (waiting will not refill it), or a request that cannot be sent at all (bad URL
scheme). Every attempt is recorded, so the run log shows what was tried, how long it took and why
it failed.
"""

from __future__ import annotations

import functools
import os
import random
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

from kroma_kit.errors import ConfigError, ProviderError
from kroma_kit.providers.base import Attempt

RETRYABLE_STATUS = {408, 409, 429, 500, 502, 503, 504}
# A 429 with one of these error codes needs a person (billing), not a wait: OpenAI sends
# ``insufficient_quota`` ("You exceeded your current quota") with the same status as a rate limit.
NOT_RETRYABLE_ERROR_CODES = {"insufficient_quota", "billing_hard_limit_reached"}


def shared_tls_context() -> ssl.SSLContext:
    """The process's verifying TLS context for provider clients (as httpx builds its default one:
    ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` when set, else certifi's bundle). Loading the CA bundle
    costs ~20 ms, and every run builds a new client, so every run paid it before its first call;
    a context is safe to share between clients and threads. A changed certificate setting gets a
    context of its own."""
    return _tls_context(os.environ.get("SSL_CERT_FILE") or None, os.environ.get("SSL_CERT_DIR") or None)


@functools.lru_cache(maxsize=4)
def _tls_context(cert_file: str | None, cert_dir: str | None) -> ssl.SSLContext:
    return httpx.create_ssl_context()  # reads the same two variables


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try. ``sleep`` is injectable so tests can record waits instead of sleeping."""

    max_attempts: int = 4
    base_delay_s: float = 1.0
    max_delay_s: float = 30.0
    max_retry_after_s: float = 120.0
    jitter: bool = True
    sleep: Callable[[float], None] = time.sleep

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ConfigError(f"RetryPolicy.max_attempts must be at least 1, got {self.max_attempts}.")

    def backoff(self, attempt_number: int, rng: random.Random) -> float:
        """Delay before try ``attempt_number + 1`` (1-based): a random point in the upper half of
        an exponential cap ("equal jitter"), so parallel callers spread out but never retry at once."""
        cap = min(self.max_delay_s, self.base_delay_s * (2 ** (attempt_number - 1)))
        return rng.uniform(cap / 2, cap) if self.jitter else cap


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - datetime.now(UTC)).total_seconds())


def retry_after_seconds(headers: httpx.Headers) -> float | None:
    """The server's requested wait: ``retry-after-ms`` (OpenAI, milliseconds) first, then
    ``Retry-After``."""
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    return parse_retry_after(headers.get("retry-after"))


def error_code(response: httpx.Response) -> str | None:
    """OpenAI-style ``error.code`` (else ``error.type``) from an error body, if there is one."""
    try:
        body = response.json()
    except ValueError:
        return None
    err = body.get("error") if isinstance(body, dict) else None
    if isinstance(err, dict):
        code = err.get("code") or err.get("type")
        return str(code) if code else None
    return None


def error_message(response: httpx.Response) -> str:
    """The API's own error text when it sent one (OpenAI ``error.message``, remove.bg
    ``errors[0].title``), else the body's start."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:500].strip() or response.reason_phrase
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"])
        if isinstance(err, str):
            return err
        errors = body.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            return str(errors[0].get("title") or errors[0].get("detail") or errors[0])
        if body.get("detail"):
            return str(body["detail"])
        if body.get("message"):
            return str(body["message"])
    return response.text[:500].strip()


def _in_one_buffer(request: httpx.Request) -> httpx.Request:
    """The request with its body read into one buffer (its parts are in memory already), so it
    goes out in one ``sendall`` instead of one write per multipart piece (~30 for an image edit).
    Each write gives up the GIL and takes it back: with eight workers busy, every one of them was
    a wait behind another thread's CPU work, which kept a wave of calls from leaving together."""
    request.read()
    return request


def send_with_retries(client: httpx.Client, build_request: Callable[[], httpx.Request], *,
                      provider: str, policy: RetryPolicy | None = None,
                      rng: random.Random | None = None) -> tuple[httpx.Response, list[Attempt]]:
    """Send the request built by ``build_request`` until it succeeds or may not be retried.

    ``build_request`` is called per try (multipart bodies are streams and cannot be re-sent).
    Returns the 2xx response and the attempts. Raises :class:`ProviderError` with
    ``.attempts`` set when it gives up.
    """
    policy = policy or RetryPolicy()
    rng = rng or random.Random()
    attempts: list[Attempt] = []
    for number in range(1, policy.max_attempts + 1):
        started = datetime.now(UTC)
        clock = time.perf_counter()
        status: int | None = None
        retry_after: float | None = None
        try:
            response = client.send(_in_one_buffer(build_request()))
            response.read()
            status = response.status_code
            if response.is_success:
                attempts.append(Attempt(started.isoformat(), _ms(clock), status))
                return response, attempts
            message = f"HTTP {status}: {error_message(response)}"
            retryable = status in RETRYABLE_STATUS and error_code(response) not in NOT_RETRYABLE_ERROR_CODES
            retry_after = retry_after_seconds(response.headers)
        except httpx.TimeoutException as exc:
            message, retryable = f"timeout: {type(exc).__name__}", True
        except (httpx.UnsupportedProtocol, httpx.LocalProtocolError, httpx.InvalidURL) as exc:
            # The request itself is malformed (no scheme, bad URL): every retry would fail the same way.
            message, retryable = f"request error: {exc}", False
        except httpx.TransportError as exc:
            message, retryable = f"connection error: {exc}", True
        attempt = Attempt(started.isoformat(), _ms(clock), status, message)
        attempts.append(attempt)
        if not retryable or number == policy.max_attempts:
            error = ProviderError(f"{provider}: {message}" + (
                f" (after {number} attempts)" if number > 1 else ""),
                status=status, retryable=retryable, retry_after=retry_after, provider=provider)
            error.attempts = attempts  # type: ignore[attr-defined]
            raise error
        wait = policy.backoff(number, rng)
        if retry_after is not None:
            wait = max(wait, min(retry_after, policy.max_retry_after_s))
        attempt.retry_wait_s = round(wait, 3)
        policy.sleep(wait)
    raise AssertionError("unreachable")


def _ms(clock: float) -> int:
    return int((time.perf_counter() - clock) * 1000)
