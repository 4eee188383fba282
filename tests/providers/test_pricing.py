"""The pricing table: per-image estimates before a call, token costs after it, and clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kroma_kit.errors import ConfigError
from kroma_kit.providers.pricing import (
    cost_from_usage,
    default_pricing_path,
    estimate_image_cost,
    load_pricing,
    reload_pricing,
)

MODELS = ("gpt-image-1", "gpt-image-1.5", "gpt-image-1-mini", "gpt-image-2")
QUALITIES = ("low", "medium", "high")
SIZES = ("1024x1024", "1024x1536", "1536x1024")


def test_per_image_prices_match_the_official_gpt_image_1_and_mini_pages():
    assert estimate_image_cost("gpt-image-1", "high", "1024x1536") == 0.25
    assert estimate_image_cost("gpt-image-1", "low", "1024x1024") == 0.011
    assert estimate_image_cost("gpt-image-1", "medium", "1536x1024") == 0.063
    assert estimate_image_cost("gpt-image-1-mini", "high", "1024x1536") == 0.052
    assert estimate_image_cost("gpt-image-1-mini", "low", "1024x1024") == 0.005


def test_every_model_prices_every_quality_and_size_and_cites_a_source():
    table = load_pricing()
    assert set(MODELS) <= set(table.known_models())
    assert table.source and table.as_of
    for model in MODELS:
        pricing = table.model(model)
        assert pricing.source
        assert pricing.tokens_per_1m.image_output > pricing.tokens_per_1m.text_input > 0
        for quality in QUALITIES:
            prices = [pricing.image_cost(quality, size) for size in SIZES]
            assert all(price > 0 for price in prices), (model, quality)
            assert pricing.image_cost(quality, "1024x1024") <= pricing.image_cost(quality, "1024x1536")
        assert pricing.image_cost("low", "1024x1536") < pricing.image_cost("high", "1024x1536")


def test_unknown_inputs_are_priced_high_never_low():
    assert estimate_image_cost("gpt-image-1", "auto", "1024x1536") == 0.25  # auto quality = high
    assert estimate_image_cost("gpt-image-1", "medium", "auto") == 0.063  # auto size = dearest size
    assert estimate_image_cost("gpt-image-1", None, None) == 0.25
    # A custom gpt-image-2 size scales the square price by area: 2048x2048 is four squares.
    square = estimate_image_cost("gpt-image-2", "high", "1024x1024")
    assert estimate_image_cost("gpt-image-2", "high", "2048x2048") == pytest.approx(4 * square)


def test_snapshot_alias_resolves_to_its_model():
    assert estimate_image_cost("gpt-image-2-2026-04-21", "high", "1024x1024") == \
        estimate_image_cost("gpt-image-2", "high", "1024x1024")


def test_cost_from_usage_is_tokens_times_per_token_prices():
    usage = {"total_tokens": 100, "input_tokens": 50, "output_tokens": 50,
             "input_tokens_details": {"text_tokens": 10, "image_tokens": 40},
             "output_tokens_details": {"image_tokens": 50, "text_tokens": 0}}
    # gpt-image-1: text in $5/1M, image in $10/1M, image out $40/1M (provider-wire.md 1.6).
    assert cost_from_usage("gpt-image-1", usage) == pytest.approx(10 * 5e-6 + 40 * 10e-6 + 50 * 40e-6)
    assert cost_from_usage("gpt-image-1-mini", usage) == pytest.approx(10 * 2e-6 + 40 * 2.5e-6 + 50 * 8e-6)


def test_usage_of_a_high_quality_portrait_costs_about_the_list_price():
    usage = {"input_tokens": 0, "output_tokens": 6240,
             "input_tokens_details": {"text_tokens": 0, "image_tokens": 0}}
    assert cost_from_usage("gpt-image-1", usage) == pytest.approx(0.2496)


def test_usage_without_detail_splits_is_charged_at_the_dearer_rates():
    usage = {"input_tokens": 100, "output_tokens": 1000}
    assert cost_from_usage("gpt-image-1", usage) == pytest.approx(100 * 10e-6 + 1000 * 40e-6)


def test_no_usage_means_no_usage_cost():
    assert cost_from_usage("gpt-image-1", None) is None
    assert cost_from_usage("gpt-image-1", {}) is None
    assert cost_from_usage("gpt-image-1", {"total_tokens": "n/a"}) is None


def test_unknown_model_names_the_known_ones():
    with pytest.raises(ConfigError) as caught:
        estimate_image_cost("dall-e-9", "high", "1024x1024")
    message = str(caught.value)
    assert "dall-e-9" in message
    for model in MODELS:
        assert model in message
    with pytest.raises(ConfigError, match="dall-e-9"):
        cost_from_usage("dall-e-9", {"input_tokens": 1, "output_tokens": 1})


def test_unknown_quality_or_size_is_a_clear_error():
    with pytest.raises(ConfigError, match="quality 'ultra'"):
        estimate_image_cost("gpt-image-1", "ultra", "1024x1024")
    with pytest.raises(ConfigError, match="size 'huge'"):
        estimate_image_cost("gpt-image-1", "high", "huge")


def _write_table(path: Path, price: float) -> Path:
    path.write_text(json.dumps({"source": "test", "as_of": "now", "image_models": {"house-model": {
        "aliases": ["house"],
        "tokens_per_1m": {"text_input": 1.0, "image_input": 2.0, "image_output": 3.0},
        "per_image": {"high": {"1024x1024": price}}}}}))
    return path


def test_an_app_pricing_file_replaces_the_default(tmp_path):
    custom = _write_table(tmp_path / "pricing.json", 0.5)
    assert estimate_image_cost("house", "high", "1024x1024", path=custom) == 0.5
    assert cost_from_usage("house-model", {"input_tokens": 1_000_000, "output_tokens": 0}, path=custom) == 2.0
    with pytest.raises(ConfigError, match="house-model"):
        estimate_image_cost("gpt-image-1", "high", "1024x1024", path=custom)


def test_the_table_is_read_once_until_reloaded(tmp_path):
    custom = _write_table(tmp_path / "pricing.json", 0.5)
    assert estimate_image_cost("house", "high", "1024x1024", path=custom) == 0.5
    _write_table(custom, 0.75)
    assert estimate_image_cost("house", "high", "1024x1024", path=custom) == 0.5
    reload_pricing()
    assert estimate_image_cost("house", "high", "1024x1024", path=custom) == 0.75


def test_settings_dir_pricing_file_wins_when_present(tmp_path, monkeypatch):
    monkeypatch.setenv("KROMA_SETTINGS_DIR", str(tmp_path))
    assert default_pricing_path() == Path(__file__).resolve().parents[2] / "settings" / "pricing.json"
    _write_table(tmp_path / "pricing.json", 0.5)
    assert default_pricing_path() == (tmp_path / "pricing.json").resolve()


def test_a_broken_pricing_file_names_itself(tmp_path):
    broken = tmp_path / "pricing.json"
    broken.write_text("{not json")
    with pytest.raises(ConfigError, match="pricing.json"):
        load_pricing(broken)
    missing_section = tmp_path / "empty.json"
    missing_section.write_text("{}")
    with pytest.raises(ConfigError, match="Invalid pricing file"):
        load_pricing(missing_section)
    with pytest.raises(ConfigError, match="not found"):
        load_pricing(tmp_path / "absent.json")
