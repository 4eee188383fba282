"""The OpenAI Images backend, over real HTTP to the fake service on 127.0.0.1."""

from __future__ import annotations

import hashlib
import io
import threading
import time

import pytest
from PIL import Image

from kroma_kit.errors import ConfigError, ImageInputError, ProviderError, ProviderNotConfigured
from kroma_kit.providers.base import ImageRequest, get_image_provider
from kroma_kit.providers.http import RetryPolicy
from kroma_kit.providers.openai_images import (
    REFINE_PROMPT,
    OpenAIImagesProvider,
    accepts_input_fidelity,
    api_url,
)
from kroma_kit.providers.pricing import estimate_image_cost
from tests.fakes.openai_images_server import FakeOpenAIImagesServer, Reply

KEY = "sk-test-0123456789abcdef"


class SleepRecorder:
    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def fake():
    with FakeOpenAIImagesServer() as server:
        yield server


@pytest.fixture
def inputs(tmp_path):
    """A scene (png), a style ref (jpg) and a character ref (webp), each a real image."""
    paths = []
    for name, fmt, color in (("scene_01.png", "PNG", (200, 30, 30)), ("noir.jpg", "JPEG", (30, 30, 30)),
                             ("hero.webp", "WEBP", (30, 30, 200))):
        path = tmp_path / name
        Image.new("RGB", (48, 32), color).save(path, format=fmt)
        paths.append(path)
    return paths


def make(fake, sleep=None, **options) -> OpenAIImagesProvider:
    policy = RetryPolicy(max_attempts=options.pop("max_attempts", 4), base_delay_s=0.01, jitter=False,
                         sleep=sleep or SleepRecorder())
    options.setdefault("base_url", fake.base_url)
    return OpenAIImagesProvider(api_key=KEY, retry_policy=policy, env={}, **options)


def edit_request(inputs, **fields) -> ImageRequest:
    return ImageRequest(prompt="Preserve geometry. Ink the scene in noir style.", input_images=inputs,
                        seed=1, **fields)


# ---------------------------------------------------------------------------- the request on the wire

def test_an_edit_sends_the_seed_fields_and_every_input_as_image_parts_scene_first(fake, inputs):
    make(fake).generate(edit_request(inputs))
    sent = fake.last_request
    assert sent.method == "POST" and sent.path == "/v1/images/edits"
    assert sent.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert sent.authorization == f"Bearer {KEY}"
    assert sent.fields == {"prompt": "Preserve geometry. Ink the scene in noir style.", "model": "gpt-image-2",
                           "size": "1024x1536", "quality": "high", "output_format": "png"}
    assert [(p.name, p.filename, p.content_type) for p in sent.files] == [
        ("image[]", "scene_01.png", "image/png"), ("image[]", "noir.jpg", "image/jpeg"),
        ("image[]", "hero.webp", "image/webp")]
    for part, path in zip(sent.files, inputs, strict=True):
        assert part.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_gateway_that_wants_a_plain_image_field_gets_it(fake, inputs):
    make(fake, image_field="image").generate(edit_request(inputs[:1]))
    assert [(p.name, p.filename) for p in fake.last_request.files] == [("image", "scene_01.png")]


def test_background_is_sent_only_when_set(fake, inputs):
    provider = make(fake)
    provider.generate(edit_request(inputs[:1]))
    assert "background" not in fake.last_request.fields
    provider.generate(edit_request(inputs[:1], background="opaque"))
    assert fake.last_request.fields["background"] == "opaque"


@pytest.mark.parametrize(("model", "sends_fidelity"), [
    ("gpt-image-1", True), ("gpt-image-1.5", True), ("gpt-image-1-mini", False), ("gpt-image-2", False)])
def test_input_fidelity_goes_only_to_models_that_accept_it(fake, inputs, model, sends_fidelity):
    make(fake, input_fidelity="high").generate(edit_request(inputs[:1], model=model))
    assert fake.last_request.fields["model"] == model
    assert ("input_fidelity" in fake.last_request.fields) is sends_fidelity
    assert accepts_input_fidelity(model) is sends_fidelity


def test_request_values_win_over_provider_options(fake, inputs):
    provider = make(fake, model="gpt-image-1.5", size="1024x1024", quality="low")
    provider.generate(edit_request(inputs[:1], size="1536x1024", quality="medium"))
    fields = fake.last_request.fields
    assert (fields["model"], fields["size"], fields["quality"]) == ("gpt-image-1.5", "1536x1024", "medium")


def test_without_inputs_it_posts_a_json_generation(fake):
    result = make(fake).generate(ImageRequest(prompt="A lighthouse at dusk", input_images=[], seed=3))
    sent = fake.last_request
    assert sent.path == "/v1/images/generations"
    assert sent.headers["content-type"] == "application/json"
    assert sent.json == {"prompt": "A lighthouse at dusk", "model": "gpt-image-2", "size": "1024x1536",
                         "quality": "high", "output_format": "png"}
    assert sent.files == []
    assert result.params["endpoint"] == "images/generations"


# ---------------------------------------------------------------------------- the result

def test_the_result_is_the_decoded_image_with_usage_and_cost_from_usage(fake, inputs):
    usage = {"total_tokens": 6400, "input_tokens": 160, "output_tokens": 6240,
             "input_tokens_details": {"text_tokens": 60, "image_tokens": 100},
             "output_tokens_details": {"image_tokens": 6240, "text_tokens": 0}}
    fake.script(Reply.success(usage=usage))
    result = make(fake).generate(edit_request(inputs))
    with Image.open(io.BytesIO(result.image_bytes)) as image:
        assert image.format == "PNG" and image.size == (64, 96)  # the fake's 1/16 of 1024x1536
    assert result.mime_type == "image/png" and result.provider_code == "openai"
    assert result.model == "gpt-image-2" and result.usage == usage
    assert result.cost_usd == pytest.approx(60 * 5e-6 + 100 * 8e-6 + 6240 * 30e-6)  # gpt-image-2 token prices
    assert result.params["cost_basis"] == "usage"
    assert result.params["input_images"] == ["scene_01.png", "noir.jpg", "hero.webp"]
    assert result.params["request_id"].startswith("req_fake_")
    assert len(result.attempts) == 1 and result.attempts[0].status_code == 200


def test_without_usage_the_cost_is_the_per_image_list_price(fake, inputs):
    fake.script(Reply.success(usage=None))
    result = make(fake, model="gpt-image-1-mini", quality="medium").generate(edit_request(inputs))
    assert result.usage == {}
    assert result.cost_usd == 0.015 and result.params["cost_basis"] == "per_image_table"


def test_a_jpeg_request_comes_back_as_jpeg(fake, inputs):
    result = make(fake).generate(edit_request(inputs[:1], output_format="jpeg"))
    assert result.mime_type == "image/jpeg" and result.image_bytes[:2] == b"\xff\xd8"


def test_a_success_without_an_image_is_an_error_with_attempts(fake, inputs):
    fake.script(Reply.no_image())
    with pytest.raises(ProviderError, match="API returned no image payload") as caught:
        make(fake).generate(edit_request(inputs))
    assert [a.status_code for a in caught.value.attempts] == [200]


# ---------------------------------------------------------------------------- failures and retries

def test_429_with_retry_after_is_waited_then_retried(fake, inputs):
    fake.script(Reply.rate_limited(retry_after=2))
    waits = SleepRecorder()
    result = make(fake, sleep=waits).generate(edit_request(inputs))
    assert waits.waits == [2.0]
    assert [a.status_code for a in result.attempts] == [429, 200]
    assert result.attempts[0].retry_wait_s == 2.0
    assert len(fake.requests) == 2 and fake.requests[1].files[0].filename == "scene_01.png"


def test_a_500_then_success_is_two_attempts(fake, inputs):
    fake.script(Reply.server_error(500))
    result = make(fake).generate(edit_request(inputs))
    assert [a.status_code for a in result.attempts] == [500, 200]
    assert "The server had an error" in result.attempts[0].error
    assert len(fake.requests) == 2


def test_a_400_is_not_retried_and_carries_the_api_message(fake, inputs):
    fake.script(Reply.moderation_blocked())
    waits = SleepRecorder()
    with pytest.raises(ProviderError) as caught:
        make(fake, sleep=waits).generate(edit_request(inputs))
    error = caught.value
    assert error.status == 400 and not error.retryable and error.provider == "openai"
    assert "rejected as a result of our safety system" in str(error)
    assert len(error.attempts) == 1 and waits.waits == [] and len(fake.requests) == 1


def test_a_timeout_is_retried_then_fails_with_every_attempt_recorded(fake, inputs):
    fake.set_default(Reply.slow(1.0))
    provider = make(fake, timeout_s=0.2, connect_timeout_s=0.2, max_attempts=2)
    started = time.perf_counter()
    with pytest.raises(ProviderError, match="timeout") as caught:
        provider.generate(edit_request(inputs))
    assert time.perf_counter() - started < 1.5
    assert caught.value.retryable
    assert [(a.status_code, a.error) for a in caught.value.attempts] == [(None, "timeout: ReadTimeout")] * 2
    assert len(fake.requests) == 2


def test_a_rejected_key_never_appears_in_the_error(fake, inputs):
    fake.script(Reply.api_error(401, f"Incorrect API key provided: {KEY}.", code="invalid_api_key"))
    with pytest.raises(ProviderError) as caught:
        make(fake).generate(edit_request(inputs))
    assert caught.value.status == 401 and "Incorrect API key" in str(caught.value)
    assert KEY not in str(caught.value)
    assert "Incorrect API key" in caught.value.attempts[0].error and KEY not in caught.value.attempts[0].error


def test_eight_parallel_calls_overlap_on_one_provider(inputs):
    with FakeOpenAIImagesServer(latency_s=0.3) as slow_fake:
        provider = make(slow_fake)
        results, errors = [], []

        def call() -> None:
            try:
                results.append(provider.generate(edit_request(inputs[:1])))
            except Exception as exc:  # noqa: BLE001 - surfaced by the assertion below
                errors.append(exc)

        threads = [threading.Thread(target=call) for _ in range(8)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
    assert errors == [] and len(results) == 8
    assert elapsed < 1.2  # serial would take 8 x 0.3 s
    assert slow_fake.peak_concurrency >= 4


# ---------------------------------------------------------------------------- configuration

def test_openai_base_url_from_the_environment_is_used(fake, inputs, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", f"{fake.root_url}/gateway/openai/")
    monkeypatch.setenv("OPENAI_IMAGE_MODEL", "gpt-image-1.5")
    monkeypatch.setenv("OPENAI_IMAGE_QUALITY", "medium")
    with get_image_provider("openai") as provider:
        provider.generate(edit_request(inputs[:1]))
    sent = fake.last_request
    assert sent.path == "/gateway/openai/images/edits" and sent.authorization == f"Bearer {KEY}"
    assert (sent.fields["model"], sent.fields["quality"]) == ("gpt-image-1.5", "medium")


def test_a_bare_host_base_url_gets_v1(fake, inputs):
    make(fake, base_url=fake.root_url).generate(edit_request(inputs[:1]))
    assert fake.last_request.path == "/v1/images/edits"


@pytest.mark.parametrize(("base", "expected"), [
    ("https://api.openai.com/v1", "https://api.openai.com/v1/images/edits"),
    ("https://api.openai.com/v1/", "https://api.openai.com/v1/images/edits"),
    ("https://api.openai.com", "https://api.openai.com/v1/images/edits"),
    ("http://localhost:8080/v1", "http://localhost:8080/v1/images/edits"),
    ("https://gw.example/openai", "https://gw.example/openai/images/edits"),
    ("https://res.example/openai/deployments/img?api-version=2025-04-01",
     "https://res.example/openai/deployments/img/images/edits?api-version=2025-04-01"),
])
def test_endpoint_urls_join_like_the_sdk(base, expected):
    assert str(api_url(base, "images/edits")) == expected


def test_missing_key_fails_before_any_request_with_a_clear_message(fake, inputs):
    provider = OpenAIImagesProvider(base_url=fake.base_url, env={})
    with pytest.raises(ProviderNotConfigured, match="OPENAI_API_KEY"):
        provider.generate(edit_request(inputs))
    with pytest.raises(ProviderNotConfigured, match="OPENAI_API_KEY"):
        provider.refine_cutout(inputs[0])
    assert fake.requests == []


def test_planning_needs_no_key_and_makes_no_request(fake, inputs):
    provider = OpenAIImagesProvider(base_url=fake.base_url, env={})
    assert provider.estimate_cost(edit_request(inputs)) == estimate_image_cost("gpt-image-2", "high", "1024x1536")
    assert provider.estimate_cost(edit_request(inputs, model="gpt-image-1-mini", quality="low")) == 0.006
    assert provider.describe() == {
        "provider": "openai", "model": "gpt-image-2", "size": "1024x1536", "quality": "high",
        "output_format": "png", "input_fidelity": None, "background": None,
        "base_url": fake.base_url, "image_field": "image[]", "configured": False}
    assert fake.requests == []


def test_describe_and_repr_never_show_the_key(fake, inputs):
    provider = make(fake)
    assert provider.describe()["configured"] is True
    assert KEY not in repr(provider.describe()) and KEY not in repr(provider)
    assert fake.requests == []


def test_an_unpriced_model_is_refused_before_any_request(fake, inputs):
    provider = make(fake, model="house-model")
    with pytest.raises(ConfigError, match="gpt-image-1"):
        provider.estimate_cost(edit_request(inputs))
    with pytest.raises(ConfigError, match="house-model"):
        provider.generate(edit_request(inputs))
    assert fake.requests == []


def test_bad_inputs_stop_before_any_request(fake, inputs, tmp_path):
    provider = make(fake)
    with pytest.raises(ImageInputError, match="not found"):
        provider.generate(edit_request([inputs[0], tmp_path / "missing.png"]))
    with pytest.raises(ConfigError, match="png or webp"):
        provider.generate(edit_request(inputs, background="transparent", output_format="jpeg"))
    assert fake.requests == []


# ---------------------------------------------------------------------------- refine pass

def test_refine_cutout_sends_one_transparent_png_edit_without_size(fake, inputs):
    result = make(fake).refine_cutout(inputs[0])
    sent = fake.last_request
    assert sent.path == "/v1/images/edits"
    assert sent.fields == {"prompt": REFINE_PROMPT, "model": "gpt-image-2", "quality": "high",
                           "output_format": "png", "background": "transparent"}
    assert [(p.name, p.filename, p.content_type) for p in sent.files] == [
        ("image[]", "scene_01.png", "image/png")]
    with Image.open(io.BytesIO(result.image_bytes)) as image:
        assert image.mode == "RGBA"
    assert result.params["background"] == "transparent"


def test_refine_cutout_takes_bytes_and_prices_as_auto_size(fake, inputs):
    provider = make(fake)
    fake.script(Reply.success(usage=None))
    result = provider.refine_cutout(inputs[0].read_bytes(), "Clean the edges.", filename="cut.png")
    part = fake.last_request.files[0]
    assert (part.filename, part.content_type, part.data) == ("cut.png", "image/png", inputs[0].read_bytes())
    assert fake.last_request.fields["prompt"] == "Clean the edges."
    assert result.cost_usd == provider.estimate_refine_cost() == estimate_image_cost("gpt-image-2", "high", "auto")
    with pytest.raises(ConfigError, match="png or webp"):
        provider.refine_cutout(inputs[0], output_format="jpeg")
