"""remove.bg and PhotoRoom clients against fake servers that speak their real wire formats."""

from __future__ import annotations

from pathlib import Path

import pytest

from kroma_kit.errors import ProviderError, ProviderNotConfigured, SpendError
from kroma_kit.providers.bg_http import PhotoRoomRemover, RemoveBgRemover
from kroma_kit.providers.bg_remove import remove_background
from kroma_kit.providers.http import RetryPolicy
from tests.fakes.bg_api_servers import FakeBgApi, Reply
from tests.fakes.comic_images import flat_figure, iou

NO_KEY_ENV = "KROMA_TEST_UNSET_BG_KEY"


def _policy(waits: list[float], attempts: int = 3) -> RetryPolicy:
    return RetryPolicy(max_attempts=attempts, base_delay_s=0.01, jitter=False, sleep=waits.append)


@pytest.fixture
def removebg():
    with FakeBgApi("removebg", api_key="rb-key") as fake:
        yield fake


@pytest.fixture
def photoroom():
    with FakeBgApi("photoroom", api_key="pr-key") as fake:
        yield fake


def test_removebg_sends_the_real_multipart_and_records_credits(removebg: FakeBgApi) -> None:
    image, truth = flat_figure()
    remover = RemoveBgRemover(endpoint=removebg.url, api_key="rb-key", usd_per_credit=0.2)
    result = remover.remove(image, source_name="scenes/Hero 01.png")
    request = removebg.requests[0]
    assert request.headers["x-api-key"] == "rb-key"
    filename, mime, payload = request.files["image_file"]
    assert (filename, mime) == ("Hero 01.png", "image/png") and payload.startswith(b"\x89PNG")
    assert request.fields == {"format": "png"}  # size "auto" and crop false are not sent (seed)
    assert result.backend == "removebg" and result.image.mode == "RGBA" and iou(result.image, truth) > 0.9
    assert result.usage["credits_charged"] == 1.0 and result.usage["ratelimit_remaining"] == 499
    assert result.cost_usd == pytest.approx(0.2)
    assert [a.status_code for a in result.attempts] == [200]


def test_removebg_size_and_crop_fields_and_unpriced_credits(removebg: FakeBgApi) -> None:
    remover = RemoveBgRemover(endpoint=removebg.url, api_key="rb-key", size="preview", crop=True)
    result = remover.remove(flat_figure()[0], source_name="a.png")
    assert removebg.requests[0].fields == {"format": "png", "size": "preview", "crop": "true"}
    assert result.usage["credits_charged"] == 0.25 and result.cost_usd == 0.0
    assert any("usd_per_credit" in note for note in result.notes)


def test_removebg_402_is_not_retried_and_surfaces_the_api_message(removebg: FakeBgApi) -> None:
    removebg.script(Reply.payment_required())
    waits: list[float] = []
    remover = RemoveBgRemover(endpoint=removebg.url, api_key="rb-key", policy=_policy(waits))
    with pytest.raises(ProviderError, match="removebg: HTTP 402: Insufficient credits") as caught:
        remover.remove(flat_figure()[0], source_name="a.png")
    assert len(removebg.requests) == 1 and waits == [] and caught.value.status == 402


def test_removebg_429_waits_for_retry_after_then_succeeds(removebg: FakeBgApi) -> None:
    removebg.script(Reply.rate_limited(retry_after=2))
    waits: list[float] = []
    remover = RemoveBgRemover(endpoint=removebg.url, api_key="rb-key", policy=_policy(waits))
    result = remover.remove(flat_figure()[0], source_name="a.png")
    assert waits == [2.0]
    assert [a.status_code for a in result.attempts] == [429, 200]
    assert "HTTP 429: Rate limit exceeded" in result.attempts[0].error


def test_removebg_429_every_time_gives_up_with_the_message(removebg: FakeBgApi) -> None:
    removebg.script(Reply.rate_limited(1), Reply.rate_limited(1))
    remover = RemoveBgRemover(endpoint=removebg.url, api_key="rb-key", policy=_policy([], attempts=2))
    with pytest.raises(ProviderError, match=r"HTTP 429: Rate limit exceeded \(after 2 attempts\)"):
        remover.remove(flat_figure()[0], source_name="a.png")


def test_removebg_wrong_key_and_html_502_and_garbage(removebg: FakeBgApi) -> None:
    with pytest.raises(ProviderError, match="HTTP 403: API Key invalid"):
        RemoveBgRemover(endpoint=removebg.url, api_key="wrong").remove(flat_figure()[0], source_name="a.png")
    removebg.script(Reply.server_error())
    result = RemoveBgRemover(endpoint=removebg.url, api_key="rb-key", policy=_policy([])).remove(
        flat_figure()[0], source_name="a.png")
    assert [a.status_code for a in result.attempts] == [502, 200]
    removebg.script(Reply.not_an_image())
    with pytest.raises(ProviderError, match="remove.bg returned something that is not an image"):
        RemoveBgRemover(endpoint=removebg.url, api_key="rb-key").remove(flat_figure()[0], source_name="a.png")


def test_missing_key_names_the_variable_and_sends_nothing(removebg: FakeBgApi) -> None:
    remover = RemoveBgRemover(endpoint=removebg.url, api_key_env=NO_KEY_ENV)
    with pytest.raises(ProviderNotConfigured, match=f"Missing {NO_KEY_ENV} for remove.bg"):
        remover.remove(flat_figure()[0], source_name="a.png")
    assert removebg.requests == []


def test_photoroom_success_and_its_error_envelope(photoroom: FakeBgApi) -> None:
    image, truth = flat_figure()
    remover = PhotoRoomRemover(endpoint=photoroom.url, api_key="pr-key")
    result = remover.remove(image, source_name="b.png")
    assert photoroom.requests[0].headers["x-api-key"] == "pr-key"
    assert photoroom.requests[0].files["image_file"][0] == "b.png"
    assert result.cost_usd == pytest.approx(0.02) and result.usage["uncertainty_score"] == pytest.approx(0.12)
    assert iou(result.image, truth) > 0.9
    photoroom.script(Reply.payment_required())
    with pytest.raises(ProviderError, match="photoroom: HTTP 402: Not enough credits to process the image."):
        remover.remove(image, source_name="b.png")
    photoroom.script(Reply.rate_limited("3"))
    waits: list[float] = []
    PhotoRoomRemover(endpoint=photoroom.url, api_key="pr-key", policy=_policy(waits)).remove(
        image, source_name="b.png")
    assert waits == [3.0]


def test_chain_skips_paid_backends_without_confirm_spend(removebg: FakeBgApi) -> None:
    options = {"removebg": {"endpoint": removebg.url, "api_key": "rb-key"}}
    result = remove_background(flat_figure()[0], ["removebg", "flat"], source_name="p.png", **options)
    assert result.backend == "flat" and "confirm_spend was not given" in result.notes[0]
    assert removebg.requests == []
    paid = remove_background(flat_figure()[0], ["removebg", "flat"], confirm_spend=True, **options)
    assert paid.backend == "removebg" and len(removebg.requests) == 1


def test_chain_budget_hook_and_paid_failure_fall_through(removebg: FakeBgApi, tmp_path: Path) -> None:
    seen: list[tuple[str, float]] = []

    def refuse(code: str, estimate: float) -> None:
        seen.append((code, estimate))
        raise SpendError("per-run budget of $0.10 would be exceeded")

    options = {"removebg": {"endpoint": removebg.url, "api_key": "rb-key", "usd_per_credit": 0.5}}
    result = remove_background(flat_figure()[0], ["removebg", "flat"], confirm_spend=True,
                               before_paid_call=refuse, **options)
    assert seen == [("removebg", 0.5)] and "budget" in result.notes[0] and removebg.requests == []
    removebg.script(Reply.payment_required())
    result = remove_background(flat_figure()[0], ["removebg", "flat"], confirm_spend=True, **options)
    assert result.backend == "flat" and "HTTP 402" in result.notes[0]
    assert [a.status_code for a in result.attempts] == [402]
