"""Is the configured paid image model still served? Checked before money moves.

OpenAI retires image models on a date (``gpt-image-1`` 2026-10-23; ``gpt-image-1.5`` and
``gpt-image-1-mini`` 2026-12-01). A run that keeps calling a retired model fails on every
candidate, or, through a gateway, may be billed for a fallback nobody chose. So before the first
paid call of a run the provider is asked, ``GET /v1/models/{model}``, whose ``shutdown_date``
("YYYY-MM-DD" or null, provider-wire.md 0) says when the model goes:

- already past (or today): **retired**, refused with one line naming the replacement;
- within :data:`RETIRING_WINDOW_DAYS`: **retiring**, a warning;
- a gateway that does not answer ``/v1/models`` (404, an error, no network): **unknown**, a
  warning and not a refusal, since many gateways serve images but list no models.

Dry runs stay offline: :func:`lifecycle_from_pricing` reads the same facts from
``settings/pricing.json`` (``shutdown_date``, ``replacement``) instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal, Protocol

from kroma_kit.errors import ConfigError, KromaError
from kroma_kit.providers.pricing import PricingTable

RETIRING_WINDOW_DAYS = 30
State = Literal["current", "retiring", "retired", "unknown"]


class ModelRetired(ConfigError):
    """The configured image model is no longer served; nothing was sent or paid."""


class ModelDirectory(Protocol):
    """What the check needs from a provider: its model object (``OpenAIImagesProvider.retrieve_model``)."""

    def retrieve_model(self, model: str | None = None) -> dict[str, Any]: ...


@dataclass(frozen=True)
class ModelLifecycle:
    """Where one model stands today, and who said so (``provider`` or ``pricing table``)."""

    model: str
    state: State
    source: str
    shutdown_date: date | None = None
    replacement: str | None = None
    detail: str = ""

    def _instead(self) -> str:
        return f"use {self.replacement} instead" if self.replacement else "pick a current model"

    def warning(self) -> str | None:
        """A one-line warning for a retiring model or an unanswered check, else None."""
        if self.state == "retiring":
            return (f"image model {self.model} retires on {self.shutdown_date} ({self.source}); "
                    f"{self._instead()} (providers.openai.model or OPENAI_IMAGE_MODEL)")
        if self.state == "unknown":
            return f"could not check whether image model {self.model} is still served: {self.detail}"
        if self.state == "retired":
            return (f"image model {self.model} was shut down on {self.shutdown_date} ({self.source}); "
                    f"a real run will refuse it: {self._instead()}")
        return None

    def refusal(self) -> ModelRetired | None:
        """The error a real run raises for a retired model (None otherwise)."""
        if self.state != "retired":
            return None
        return ModelRetired(f"Image model {self.model} was shut down on {self.shutdown_date} ({self.source}): "
                            f"{self._instead()}: set providers.openai.model (or OPENAI_IMAGE_MODEL, or "
                            "bg_remove.openai.model for the cutout refine). Nothing was sent or paid.")


def classify(model: str, shutdown: date | None, today: date, *, source: str,
             replacement: str | None = None) -> ModelLifecycle:
    """The state of ``model`` given its shutdown date (None: no date announced)."""
    if shutdown is None:
        return ModelLifecycle(model, "current", source, None, replacement)
    if shutdown <= today:
        return ModelLifecycle(model, "retired", source, shutdown, replacement)
    if shutdown <= today + timedelta(days=RETIRING_WINDOW_DAYS):
        return ModelLifecycle(model, "retiring", source, shutdown, replacement)
    return ModelLifecycle(model, "current", source, shutdown, replacement)


def _parse_date(value: Any) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):  # a Unix time, as ``created`` is
        return datetime.fromtimestamp(value, UTC).date()
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        raise ValueError(f"shutdown_date {value!r} is not a date") from None


def _replacement(pricing: PricingTable | None, model: str) -> str | None:
    if pricing is None:
        return None
    try:
        return pricing.model(model).replacement
    except ConfigError:
        return None


def lifecycle_from_provider(directory: ModelDirectory, model: str, today: date, *,
                            pricing: PricingTable | None = None) -> ModelLifecycle:
    """Ask the provider (``GET /v1/models/{model}``); never raises for an unanswered check."""
    replacement = _replacement(pricing, model)
    try:
        body = directory.retrieve_model(model)
        shutdown = _parse_date(body.get("shutdown_date"))
    except KromaError as exc:
        return ModelLifecycle(model, "unknown", "provider", None, replacement, str(exc))
    except ValueError as exc:
        return ModelLifecycle(model, "unknown", "provider", None, replacement, f"the model object's {exc}")
    return classify(model, shutdown, today, source="provider", replacement=replacement)


def lifecycle_from_pricing(pricing: PricingTable, model: str, today: date) -> ModelLifecycle:
    """The offline view (dry runs): the pricing table's ``shutdown_date`` and ``replacement``."""
    try:
        entry = pricing.model(model)
        shutdown = _parse_date(entry.shutdown_date)
    except (ConfigError, ValueError) as exc:
        return ModelLifecycle(model, "unknown", "pricing table", None, None, str(exc))
    return classify(model, shutdown, today, source=f"pricing table {pricing.path.name}",
                    replacement=entry.replacement)


def utc_today() -> date:
    """Today's date in UTC, the calendar shutdown dates are announced in."""
    return datetime.now(UTC).date()
