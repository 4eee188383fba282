"""The shared retry loop, against real HTTP on 127.0.0.1: what is retried, how long it waits,
and that every attempt is recorded."""

from __future__ import annotations

import random
import ssl
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import certifi
import httpx
import pytest

from kroma_kit.errors import ConfigError, ProviderError
from kroma_kit.providers.http import RetryPolicy, parse_retry_after, send_with_retries, shared_tls_context
from tests.fakes.openai_images_server import FakeOpenAIImagesServer, Reply


class SleepRecorder:
    """Stands in for time.sleep: remembers each wait instead of sleeping."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def fake():
    with FakeOpenAIImagesServer() as server:
        yield server


@pytest.fixture
def client():
    with httpx.Client(timeout=5) as http:
        yield http


def _send(client, url, policy):
    def build() -> httpx.Request:
        return client.build_request("POST", url, json={"prompt": "p", "model": "gpt-image-1"},
                                    headers={"Authorization": "Bearer sk-test"})
    return send_with_retries(client, build, provider="test", policy=policy, rng=random.Random(7))


def _policy(recorder, **kw) -> RetryPolicy:
    return RetryPolicy(**{"base_delay_s": 0.01, "jitter": False, "sleep": recorder, **kw})


def _url(fake) -> str:
    return f"{fake.base_url}/images/generations"


def test_retry_after_seconds_is_waited_before_the_next_try(fake, client):
    fake.script(Reply.rate_limited(retry_after=3))
    waits = SleepRecorder()
    response, attempts = _send(client, _url(fake), _policy(waits))
    assert response.status_code == 200
    assert waits.waits == [3.0]
    assert [a.status_code for a in attempts] == [429, 200]
    assert attempts[0].retry_wait_s == 3.0 and "Rate limit reached" in attempts[0].error
    assert attempts[1].retry_wait_s is None and attempts[1].error is None


def test_retry_after_ms_wins_over_retry_after(fake, client):
    fake.script(Reply.rate_limited(retry_after=5, retry_after_ms=1500))
    waits = SleepRecorder()
    _send(client, _url(fake), _policy(waits))
    assert waits.waits == [1.5]


def test_a_huge_retry_after_is_capped(fake, client):
    fake.script(Reply.rate_limited(retry_after=3600))
    waits = SleepRecorder()
    _send(client, _url(fake), _policy(waits, max_retry_after_s=20))
    assert waits.waits == [20]


def test_backoff_doubles_without_jitter_and_gives_up_after_max_attempts(fake, client):
    fake.set_default(Reply.server_error(503))
    waits = SleepRecorder()
    with pytest.raises(ProviderError) as caught:
        _send(client, _url(fake), _policy(waits, max_attempts=4))
    error = caught.value
    assert waits.waits == [0.01, 0.02, 0.04]
    assert error.status == 503 and error.retryable
    assert "after 4 attempts" in str(error) and "The server had an error" in str(error)
    assert [a.status_code for a in error.attempts] == [503] * 4
    assert len(fake.requests) == 4


def test_jitter_stays_in_the_upper_half_of_the_cap():
    policy = RetryPolicy(base_delay_s=1.0, max_delay_s=30.0)
    rng = random.Random(1)
    for attempt in range(1, 8):
        cap = min(30.0, 2 ** (attempt - 1))
        assert cap / 2 <= policy.backoff(attempt, rng) <= cap


def test_other_4xx_are_not_retried_and_carry_the_api_message(fake, client):
    fake.script(Reply.moderation_blocked())
    waits = SleepRecorder()
    with pytest.raises(ProviderError) as caught:
        _send(client, _url(fake), _policy(waits))
    assert caught.value.status == 400 and not caught.value.retryable
    assert "rejected as a result of our safety system" in str(caught.value)
    assert waits.waits == [] and len(caught.value.attempts) == 1 and len(fake.requests) == 1


def test_a_spent_quota_429_is_not_retried(fake, client):
    fake.script(Reply.quota_exceeded())
    waits = SleepRecorder()
    with pytest.raises(ProviderError) as caught:
        _send(client, _url(fake), _policy(waits))
    assert caught.value.status == 429 and not caught.value.retryable
    assert "exceeded your current quota" in str(caught.value)
    assert waits.waits == [] and len(fake.requests) == 1


def test_a_non_json_502_is_retried_and_its_text_kept(fake, client):
    fake.script(Reply.raw(502, b"<html><body>502 Bad Gateway</body></html>"))
    waits = SleepRecorder()
    response, attempts = _send(client, _url(fake), _policy(waits))
    assert response.status_code == 200
    assert attempts[0].status_code == 502 and "502 Bad Gateway" in attempts[0].error


def test_a_dropped_connection_is_retried(fake, client):
    fake.script(Reply.drop())
    waits = SleepRecorder()
    response, attempts = _send(client, _url(fake), _policy(waits))
    assert response.status_code == 200
    assert attempts[0].status_code is None and attempts[0].error.startswith("connection error")
    assert len(attempts) == 2


def test_a_refused_connection_is_retried_then_reported(fake, client):
    url = _url(fake)
    fake.stop()
    waits = SleepRecorder()
    with pytest.raises(ProviderError) as caught:
        _send(client, url, _policy(waits, max_attempts=3))
    assert caught.value.retryable and caught.value.status is None
    assert len(caught.value.attempts) == 3 and len(waits.waits) == 2
    assert all(a.error.startswith("connection error") for a in caught.value.attempts)


def test_a_malformed_url_is_not_retried(client):
    waits = SleepRecorder()
    with pytest.raises(ProviderError) as caught:
        _send(client, "ftp://127.0.0.1/images/generations", _policy(waits))
    assert not caught.value.retryable and caught.value.attempts[0].error.startswith("request error")
    assert waits.waits == []


def test_a_read_timeout_is_retried_with_every_attempt_recorded(fake):
    fake.set_default(Reply.slow(1.0))
    waits = SleepRecorder()
    with httpx.Client(timeout=0.2) as quick, pytest.raises(ProviderError) as caught:
        _send(quick, _url(fake), _policy(waits, max_attempts=2))
    attempts = caught.value.attempts
    assert [a.error for a in attempts] == ["timeout: ReadTimeout"] * 2
    assert all(150 <= a.latency_ms < 1000 for a in attempts)
    assert len(fake.requests) == 2


def test_retry_after_parses_seconds_and_http_dates():
    assert parse_retry_after("2") == 2.0
    assert parse_retry_after(" 0.5 ") == 0.5
    assert parse_retry_after("-3") == 0.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 25 <= parse_retry_after(later) <= 30


def test_a_policy_needs_at_least_one_attempt():
    with pytest.raises(ConfigError, match="max_attempts"):
        RetryPolicy(max_attempts=0)


def test_provider_clients_share_one_verifying_tls_context_per_certificate_setting(monkeypatch):
    """Loading the CA bundle is ~20 ms; each run's new client reuses the process's context, which
    still verifies, and a changed SSL_CERT_FILE gets its own."""
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    first = shared_tls_context()
    assert shared_tls_context() is first
    assert first.verify_mode == ssl.CERT_REQUIRED and first.check_hostname
    monkeypatch.setenv("SSL_CERT_FILE", certifi.where())
    assert shared_tls_context() is not first
