"""Upscaling: the contract, the registry by code (``realesrgan``, ``lanczos``) and the face.

Every backend upscales RGB; transparency is handled here once for all of them: the alpha channel
is split off, resized with Lanczos to the backend's output size and put back, so a cutout from
background removal keeps its edge through any upscaler (Real-ESRGAN models are trained on RGB).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from kroma_kit.errors import ConfigError
from kroma_kit.providers.base import build_registered

if TYPE_CHECKING:
    from PIL import Image

SCALES = (2, 3, 4)


@dataclass
class UpscaleResult:
    """The upscaled image plus what produced it (backend, model, device) and timings."""

    image: Image.Image
    backend: str
    scale: int
    model: str
    device: str = "cpu"
    notes: list[str] = field(default_factory=list)
    timings_ms: dict[str, int] = field(default_factory=dict)


@runtime_checkable
class Upscaler(Protocol):
    """One upscaling backend: takes an RGB image, returns it ``scale`` times larger."""

    code: str
    paid: bool

    def upscale_rgb(self, image: Image.Image, scale: int) -> UpscaleResult:
        """``image`` is mode RGB; the result is RGB of exactly ``scale`` x the input size."""

    def describe(self) -> dict[str, Any]:
        """Model, device and settings, for the run log."""


_UPSCALERS: dict[str, str] = {
    "realesrgan": "kroma_kit.providers.upscale_realesrgan:RealEsrganUpscaler",
    "lanczos": "kroma_kit.providers.upscale_lanczos:LanczosUpscaler",
}
# The seed's backend names, both of which meant Real-ESRGAN.
ALIASES = {"python": "realesrgan", "ncnn": "realesrgan"}


def register_upscaler(code: str, target: str) -> None:
    """Register ``"module:attribute"`` as the upscaler called ``code``."""
    _UPSCALERS[code] = target


def upscaler_codes() -> list[str]:
    return sorted(_UPSCALERS)


def canonical_upscaler(code: str) -> str:
    """``code`` lower-cased with seed aliases resolved; unknown names raise ConfigError."""
    name = ALIASES.get(str(code).strip().lower(), str(code).strip().lower())
    if name not in _UPSCALERS:
        raise ConfigError(f"Invalid upscale backend '{code}'. Known: {', '.join(upscaler_codes())}.")
    return name


def check_scale(scale: Any) -> int:
    if isinstance(scale, bool) or not isinstance(scale, int) or scale not in SCALES:
        raise ConfigError(f"Invalid upscale scale {scale!r}: use 2, 3 or 4.")
    return scale


def get_upscaler(code: str, **options: Any) -> Upscaler:
    """Build the upscaler ``code`` with ``options`` (its section of ``postprocess.json``)."""
    name = canonical_upscaler(code)
    return build_registered("upscale backend", name, _UPSCALERS[name], options)


def upscale_image(image: Image.Image, backend: str | Upscaler = "realesrgan", scale: int = 2,
                  **options: Any) -> UpscaleResult:
    """Upscale ``image`` by ``scale`` (2, 3 or 4) with ``backend``, keeping its alpha channel.

    ``backend`` is a code (built with ``options``) or a ready upscaler (a warm one).
    """
    from PIL import Image

    scale = check_scale(scale)
    upscaler = get_upscaler(backend, **options) if isinstance(backend, str) else backend
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)
    source = image.convert("RGBA") if has_alpha else image
    result = upscaler.upscale_rgb(source.convert("RGB"), scale)
    target = (image.width * scale, image.height * scale)
    if result.image.size != target:
        result.image = result.image.resize(target, Image.Resampling.LANCZOS)
    if has_alpha:
        alpha = source.getchannel("A").resize(target, Image.Resampling.LANCZOS)
        merged = result.image.convert("RGBA")
        merged.putalpha(alpha)
        result.image = merged
    return result
