"""What paid image calls cost: the pricing table behind the spend guard and ``cost_events``.

``settings/pricing.json`` is the single source of truth: this module only reads it (lazily, once
per file) and does the arithmetic, so a price change is a data edit, never a code change. The
same table prices a call twice: *before* it, per image by (model, quality, size), for the plan and
the budget check; *after* it, from the ``usage`` tokens the API returned, for the recorded cost.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from kroma_kit.errors import ConfigError

PRICING_FILE = "pricing.json"
_REPO_PRICING = Path(__file__).resolve().parents[2] / "settings" / PRICING_FILE
_SIZE = re.compile(r"^(\d+)x(\d+)$")
_SQUARE = "1024x1024"


@dataclass(frozen=True)
class TokenPrices:
    """USD per one million tokens. ``text_output`` is None when the model lists no such price."""

    text_input: float
    image_input: float
    image_output: float
    text_output: float | None = None


@dataclass(frozen=True)
class ModelPricing:
    """One model's prices: per token (for actual cost) and per image (for estimates)."""

    model: str
    tokens_per_1m: TokenPrices
    per_image: dict[str, dict[str, float]]  # quality -> size -> USD
    source: str = ""
    status: str = ""
    shutdown_date: str | None = None  # "YYYY-MM-DD" when the provider stops serving it
    replacement: str | None = None  # the model to use instead once it is retired

    def image_cost(self, quality: str | None, size: str | None) -> float:
        """Estimated USD for one image. Unknown inputs are priced high, never low: quality
        ``auto`` as ``high``, size ``auto`` as the dearest listed size, a custom ``WxH`` as the
        square price scaled by pixel area (gpt-image-2 accepts any multiple of 16)."""
        quality = (quality or "auto").lower()
        if quality == "auto":
            quality = "high"
        if quality not in self.per_image:
            raise ConfigError(
                f"No price for quality '{quality}' of {self.model}. "
                f"Known qualities: {', '.join(sorted(self.per_image))}, auto.")
        by_size = self.per_image[quality]
        size = (size or "auto").lower()
        if size in by_size:
            return by_size[size]
        if size == "auto":
            return max(by_size.values())
        match = _SIZE.match(size)
        if match and _SQUARE in by_size:
            area = int(match[1]) * int(match[2])
            return math.ceil(by_size[_SQUARE] * area / (1024 * 1024) * 10_000) / 10_000
        raise ConfigError(
            f"No price for size '{size}' of {self.model}. "
            f"Use one of {', '.join(sorted(by_size))}, auto, or WIDTHxHEIGHT.")

    def usage_cost(self, usage: Mapping[str, Any] | None) -> float | None:
        """USD from an Images API ``usage`` object, or None when it carries no token counts.

        Missing detail splits are priced at the dearer rate (input as image tokens, output as
        image tokens) so the recorded cost errs high rather than hiding spend.
        """
        if not usage:
            return None
        input_total = _count(usage.get("input_tokens"))
        output_total = _count(usage.get("output_tokens"))
        if input_total is None and output_total is None:
            return None
        prices = self.tokens_per_1m
        in_details = usage.get("input_tokens_details") or {}
        out_details = usage.get("output_tokens_details") or {}
        text_in = _count(in_details.get("text_tokens"))
        image_in = _count(in_details.get("image_tokens"))
        if text_in is None and image_in is None:
            text_in, image_in = 0, input_total or 0
        text_out = _count(out_details.get("text_tokens"))
        image_out = _count(out_details.get("image_tokens"))
        if text_out is None and image_out is None:
            text_out, image_out = 0, output_total or 0
        text_out_price = prices.text_output if prices.text_output is not None else prices.image_output
        dollars = ((text_in or 0) * prices.text_input + (image_in or 0) * prices.image_input
                   + (image_out or 0) * prices.image_output + (text_out or 0) * text_out_price)
        return round(dollars / 1_000_000, 6)


@dataclass(frozen=True)
class PricingTable:
    """The whole pricing file: models by name (aliases resolved), plus where the numbers came from."""

    models: dict[str, ModelPricing]
    aliases: dict[str, str]
    source: str
    as_of: str
    path: Path

    def known_models(self) -> list[str]:
        return sorted(self.models)

    def model(self, name: str) -> ModelPricing:
        key = self.aliases.get(name, name)
        if key not in self.models:
            raise ConfigError(
                f"No price for image model '{name}' in {self.path}. Known models: "
                f"{', '.join(self.known_models())}. Add it to the pricing file or pick a known model.")
        return self.models[key]


def default_pricing_path() -> Path:
    """``pricing.json`` in the app settings folder (``$KROMA_SETTINGS_DIR``) when it has one, else
    the repo's ``settings/pricing.json``."""
    from kroma_kit.config import app_settings_dir

    settings_dir = app_settings_dir()
    if settings_dir is not None and (settings_dir / PRICING_FILE).is_file():
        return (settings_dir / PRICING_FILE).resolve()
    return _REPO_PRICING


def load_pricing(path: str | os.PathLike[str] | None = None) -> PricingTable:
    """The pricing table from ``path`` (default: :func:`default_pricing_path`), read once per file."""
    return _load_cached(str(Path(path).expanduser().resolve() if path else default_pricing_path()))


def reload_pricing() -> None:
    """Forget every table read so far, so the next call rereads the file (after an edit)."""
    _load_cached.cache_clear()


def estimate_image_cost(model: str, quality: str | None, size: str | None, *,
                        path: str | os.PathLike[str] | None = None) -> float:
    """USD for one image of ``model`` at ``quality`` and ``size``, before any call."""
    return load_pricing(path).model(model).image_cost(quality, size)


def cost_from_usage(model: str, usage: Mapping[str, Any] | None, *,
                    path: str | os.PathLike[str] | None = None) -> float | None:
    """USD actually spent, from the ``usage`` tokens a response carried; None without usage."""
    return load_pricing(path).model(model).usage_cost(usage)


@lru_cache(maxsize=8)
def _load_cached(path: str) -> PricingTable:
    file = Path(path)
    try:
        raw = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"Pricing file not found: {file}") from exc
    except (OSError, ValueError) as exc:
        raise ConfigError(f"Cannot read pricing file {file}: {exc}") from exc
    try:
        return _parse(raw, file)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ConfigError(f"Invalid pricing file {file}: {type(exc).__name__}: {exc}") from exc


def _parse(raw: dict[str, Any], file: Path) -> PricingTable:
    models: dict[str, ModelPricing] = {}
    aliases: dict[str, str] = {}
    for name, entry in raw["image_models"].items():
        tokens = entry["tokens_per_1m"]
        models[name] = ModelPricing(
            model=name,
            tokens_per_1m=TokenPrices(
                text_input=float(tokens["text_input"]), image_input=float(tokens["image_input"]),
                image_output=float(tokens["image_output"]),
                text_output=None if tokens.get("text_output") is None else float(tokens["text_output"])),
            per_image={quality.lower(): {size.lower(): float(price) for size, price in sizes.items()}
                       for quality, sizes in entry["per_image"].items()},
            source=str(entry.get("source", "")), status=str(entry.get("status", "")),
            shutdown_date=entry.get("shutdown_date") or None, replacement=entry.get("replacement") or None)
        for alias in entry.get("aliases", []):
            aliases[alias] = name
    if not models:
        raise ValueError("no image_models")
    return PricingTable(models, aliases, str(raw.get("source", "")), str(raw.get("as_of", "")), file)


def _count(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
