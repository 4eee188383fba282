"""Provider contracts: what every backend takes and returns, and the registry by code name.

A backend never touches the catalog or the project folders: it takes inputs and returns bytes
plus usage, cost and the record of every attempt. The pipeline decides where things go.
(The shape follows rembg: one small class per backend, a dict of names, one face.)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from kroma_kit.errors import ConfigError, NotFoundError


@dataclass
class Attempt:
    """One try of one provider call, as recorded in the run log."""

    started_at: str
    latency_ms: int
    status_code: int | None = None
    error: str | None = None
    retry_wait_s: float | None = None  # wait before the next try; None when none followed

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ImageRequest:
    """One candidate to produce: an edit of ``input_images`` (scene first, then style/character
    refs) guided by ``prompt``; or a plain generation when ``input_images`` is empty."""

    prompt: str
    input_images: list[Path]
    seed: int
    stage: str = "style"
    time: str = "day"
    weather: str = "clear"
    model: str | None = None
    size: str | None = None
    quality: str | None = None
    output_format: str = "png"
    input_fidelity: str | None = None
    background: str | None = None
    grayscale: bool = False  # the guard enforces grayscale: a local editor should honour it
    # How many of the LAST input_images are character refs (stage "characters"); the inputs between
    # the scene and them are style refs. 0 = no character refs.
    character_ref_count: int = 0


@dataclass
class ImageResult:
    """What a provider returns: encoded image bytes plus what it cost and how it went."""

    image_bytes: bytes
    provider_code: str
    model: str
    mime_type: str = "image/png"
    usage: dict[str, Any] = field(default_factory=dict)
    cost_usd: float = 0.0
    attempts: list[Attempt] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)  # what was actually sent (size, quality, ...)


@runtime_checkable
class ImageProvider(Protocol):
    """Image generation / editing backend."""

    code: str
    paid: bool

    def describe(self) -> dict[str, Any]:
        """Model, size, quality and anything else that goes into the plan and run log."""

    def estimate_cost(self, request: ImageRequest) -> float:
        """USD for one call, from the pricing table; 0 for free backends. No network."""

    def generate(self, request: ImageRequest) -> ImageResult:
        """Produce one image. Raises :class:`~kroma_kit.errors.ProviderError` on failure,
        with ``attempts`` attached as ``error.attempts`` when it retried."""


ImageProviderFactory = Callable[..., ImageProvider]
_IMAGE_PROVIDERS: dict[str, str] = {
    # code -> "module:factory"; imported lazily so `import kroma_kit` stays fast.
    "local": "kroma_kit.providers.local_edit:LocalEditProvider",
    "openai": "kroma_kit.providers.openai_images:OpenAIImagesProvider",
}


def register_image_provider(code: str, target: str) -> None:
    """Register ``"module:attribute"`` as the image provider called ``code``."""
    _IMAGE_PROVIDERS[code] = target


def image_provider_codes() -> list[str]:
    return sorted(_IMAGE_PROVIDERS)


def load_target(target: str) -> Any:
    """The one registry loader: import ``"module:attribute"`` when first asked for, so a backend's
    heavy imports (onnxruntime, cv2, httpx) are paid only by who uses it."""
    from importlib import import_module

    module_name, _, attr = target.partition(":")
    return getattr(import_module(module_name), attr)


def build_registered(kind: str, code: str, target: str, options: dict[str, Any]) -> Any:
    """Load ``target`` (see :func:`load_target`) and build it with ``options``; options it does not
    take are a ConfigError that names the ``kind`` of backend and its ``code``."""
    factory = load_target(target)
    try:
        return factory(**options)
    except TypeError as exc:
        raise ConfigError(f"Invalid options for {kind} '{code}': {exc}") from exc


def get_image_provider(code: str, **options: Any) -> ImageProvider:
    """Build the image provider ``code`` with ``options`` (settings section for that provider)."""
    if code not in _IMAGE_PROVIDERS:
        raise NotFoundError(
            f"Unknown image provider '{code}'. Known: {', '.join(image_provider_codes())}.")
    return load_target(_IMAGE_PROVIDERS[code])(**options)
