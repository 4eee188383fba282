"""Background removal: the contract every backend meets, the registry by code, and the fallback chain.

Backends live one per module (``bg_rembg``, ``bg_opencv``, ``bg_http``) the way rembg keeps one
session class per model. The face is :func:`remove_background`: it tries the configured backends in
order and returns the first cutout, so an offline machine with no model files still gets a result
from the weights-free ``auto`` backend, and the record says why the earlier ones were skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from kroma_kit.errors import ConfigError, KromaError, ProviderError
from kroma_kit.providers.base import Attempt, build_registered

if TYPE_CHECKING:
    from PIL import Image


@dataclass
class BgResult:
    """A cutout: the RGBA image plus who made it, what it cost and what happened on the way."""

    image: Image.Image
    backend: str
    cost_usd: float = 0.0
    usage: dict[str, Any] = field(default_factory=dict)
    attempts: list[Attempt] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    backends_tried: list[str] = field(default_factory=list)


@runtime_checkable
class BackgroundRemover(Protocol):
    """One background-removal backend. ``remove`` raises a KromaError (usually ProviderError or
    ProviderNotConfigured) when it cannot produce a cutout; it never writes files."""

    code: str
    paid: bool

    def remove(self, image: Image.Image, *, source_name: str) -> BgResult:
        """Return ``image`` with its background made transparent (RGBA, same size)."""


class BackgroundRemovalFailed(ProviderError):
    """Every backend in the chain failed; ``failures`` holds one ``"<backend>: <message>"`` each."""

    def __init__(self, message: str, *, failures: list[str], attempts: list[Attempt]) -> None:
        super().__init__(message, provider="bg_remove")
        self.failures = failures
        self.attempts = attempts


NO_PLAIN_BACKGROUND = "no plain background (use rembg with a model file, remove.bg or PhotoRoom)"


class NoPlainBackground(ProviderError):
    """A weights-free backend found nothing to key: the image is a whole scene, not a subject on a
    plain background. Cutting it anyway shreds it into fragments, so the image is left as it is."""


class BackgroundRemovalSkipped(BackgroundRemovalFailed):
    """No backend produced a cutout and one of them found that the image has no plain background:
    the image should be left unchanged and the step recorded as skipped (``reason``), not failed."""

    reason = NO_PLAIN_BACKGROUND


# code -> "module:factory"; imported lazily so that choosing `flat` never imports rembg or httpx.
_BG_REMOVERS: dict[str, str] = {
    "rembg": "kroma_kit.providers.bg_rembg:RembgRemover",
    "flat": "kroma_kit.providers.bg_opencv:FlatRemover",
    "grabcut": "kroma_kit.providers.bg_opencv:GrabCutRemover",
    "auto": "kroma_kit.providers.bg_opencv:AutoRemover",
    "removebg": "kroma_kit.providers.bg_http:RemoveBgRemover",
    "photoroom": "kroma_kit.providers.bg_http:PhotoRoomRemover",
}
PAID_BG_BACKENDS: set[str] = {"removebg", "photoroom"}

BeforePaidCall = Callable[[str, float], None]
"""Called with (backend code, estimated USD) right before a paid call; raise SpendError to refuse."""


def register_bg_remover(code: str, target: str, *, paid: bool = False) -> None:
    """Register ``"module:attribute"`` (a class or factory) as the backend called ``code``."""
    _BG_REMOVERS[code] = target
    if paid:
        PAID_BG_BACKENDS.add(code)


def bg_remover_codes() -> list[str]:
    return sorted(_BG_REMOVERS)


def validate_bg_backends(backends: Sequence[str]) -> list[str]:
    """Check a backend list before any work starts; the error names every bad entry."""
    if isinstance(backends, str):
        backends = [backends]
    names = [str(name).strip().lower() for name in backends]
    if not names:
        raise ConfigError("No background-remove backend given. Known: " + ", ".join(bg_remover_codes()) + ".")
    unknown = [name for name in names if name not in _BG_REMOVERS]
    if unknown:
        raise ConfigError(
            f"Invalid background-remove backend {', '.join(repr(n) for n in unknown)}. "
            f"Known: {', '.join(bg_remover_codes())}.")
    return list(dict.fromkeys(names))


def get_bg_remover(code: str, **options: Any) -> BackgroundRemover:
    """Build the backend ``code`` with ``options`` (its section of ``postprocess.json``)."""
    (name,) = validate_bg_backends([code])
    return build_registered("background-remove backend", name, _BG_REMOVERS[name], options)


def remove_background(image: Image.Image, backends: Sequence[str], *, source_name: str = "image",
                      confirm_spend: bool = False, before_paid_call: BeforePaidCall | None = None,
                      removers: Mapping[str, BackgroundRemover] | None = None,
                      **options: Mapping[str, Any]) -> BgResult:
    """Try ``backends`` in order; the first cutout wins.

    ``options`` are per-backend settings keyed by code (``rembg={"model": "isnet-anime"}``).
    ``removers`` supplies ready-built backends (warm ones, or ones with a test transport).
    A paid backend runs only with ``confirm_spend`` and after ``before_paid_call`` (the budget
    check) agrees; otherwise it counts as that backend's failure and the chain moves on.
    Raises :class:`BackgroundRemovalFailed` naming every backend's message when none succeeds, or
    its subclass :class:`BackgroundRemovalSkipped` when one of them found no plain background.
    """
    names = validate_bg_backends(backends)
    unknown_options = sorted(set(options) - set(_BG_REMOVERS))
    if unknown_options:
        raise ConfigError(f"Options given for unknown background-remove backend(s): {', '.join(unknown_options)}")
    failures: list[str] = []
    attempts: list[Attempt] = []
    tried: list[str] = []
    no_plain_background = False
    for name in names:
        tried.append(name)
        try:
            remover = (removers or {}).get(name) or get_bg_remover(name, **dict(options.get(name) or {}))
            if getattr(remover, "paid", name in PAID_BG_BACKENDS):
                if not confirm_spend:
                    raise KromaError(f"paid backend skipped: confirm_spend was not given for {source_name}")
                if before_paid_call is not None:
                    estimate = getattr(remover, "estimate_cost", None)
                    before_paid_call(name, float(estimate()) if estimate else 0.0)
            result = remover.remove(image, source_name=source_name)
        except KromaError as exc:
            failures.append(f"{name}: {exc}")
            attempts.extend(getattr(exc, "attempts", None) or [])
            no_plain_background = no_plain_background or isinstance(exc, NoPlainBackground)
            continue
        except (OSError, ValueError, RuntimeError, MemoryError) as exc:
            failures.append(f"{name}: {type(exc).__name__}: {exc}")
            continue
        result.notes[:0] = failures
        result.attempts[:0] = attempts
        result.backends_tried = tried
        if result.image.mode != "RGBA":
            result.image = result.image.convert("RGBA")
        return result
    if no_plain_background:
        raise BackgroundRemovalSkipped(f"Background remove skipped for {source_name}: {NO_PLAIN_BACKGROUND}. "
                                       + " | ".join(failures), failures=failures, attempts=attempts)
    raise BackgroundRemovalFailed(
        f"Background remove failed for {source_name}. " + " | ".join(failures),
        failures=failures, attempts=attempts)
