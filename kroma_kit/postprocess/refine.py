"""The optional OpenAI refine pass over a fresh cutout (seed step ``bg_refine_openai``).

The seed sends the cutout to ``/images/edits`` with ``background=transparent`` and, on success,
archives the cutout and puts the refined image in its place; on failure nothing changes and the
step either aborts (``required``) or records ``refine_error``. The API call itself belongs to
:class:`kroma_kit.providers.openai_images.OpenAIImagesProvider`; this module only decides
whether it may run (it is paid: ``confirm_spend`` and the budget hook), checks that the answer is
an image, and swaps the files safely.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from kroma_kit.errors import ConfigError, KromaError, ProviderError
from kroma_kit.postprocess.config import REFINE_PROMPT
from kroma_kit.postprocess.records import prepare_target
from kroma_kit.providers.base import Attempt
from kroma_kit.storage.atomic import atomic_write_bytes

REFINE_CODE = "openai_refine"
REFINE_FORMATS = ("png", "webp")  # formats that can carry the transparent result


class CutoutRefiner(Protocol):
    """What the refine pass needs from a provider (``OpenAIImagesProvider`` has both methods)."""

    def refine_cutout(self, image: bytes, prompt: str, *, model: str | None = None, quality: str | None = None,
                      input_fidelity: str | None = None, output_format: str = "png",
                      filename: str | None = None) -> Any:
        """Return an object with ``image_bytes``, ``cost_usd``, ``attempts`` and ``usage``."""


@dataclass
class RefineOutcome:
    refined: bool
    error: str | None = None
    cost_usd: float = 0.0
    usage: dict[str, Any] = field(default_factory=dict)
    attempts: list[Attempt] = field(default_factory=list)
    archived: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def check_refine_format(fmt: str, options: Mapping[str, Any]) -> None:
    """The seed's rule: the refine output format must equal the cutout format, and it must hold
    transparency."""
    wanted = str(options.get("output_format") or fmt).lower().replace("jpeg", "jpg")
    if wanted != fmt:
        raise ConfigError(f"bg_remove.openai.output_format ('{wanted}') must match bg_remove.format ('{fmt}') "
                          "(seed: --bg-refine-format must match --bg-remove-format).")
    if fmt not in REFINE_FORMATS:
        raise ConfigError(f"The OpenAI refine keeps transparency only in png or webp, not '{fmt}'.")


def default_refiner() -> CutoutRefiner:
    """An OpenAIImagesProvider configured from the environment (``OPENAI_API_KEY``, base URL ...)."""
    from kroma_kit.providers.openai_images import OpenAIImagesProvider

    return OpenAIImagesProvider()


def refine_cutout_file(cutout: Path, *, options: Mapping[str, Any], refiner: CutoutRefiner | None = None,
                       archive_replaced_dir: str | Path | None = None, confirm_spend: bool = False,
                       before_paid_call: Callable[[str, float], None] | None = None) -> RefineOutcome:
    """Refine ``cutout`` in place. Never raises for a failed call: the outcome carries the error,
    and the caller applies ``required``. Only a bad configuration raises (before any call)."""
    from PIL import Image, UnidentifiedImageError

    fmt = cutout.suffix.lower().lstrip(".")
    check_refine_format(fmt, options)
    outcome = RefineOutcome(False)
    provider: CutoutRefiner | None = None
    try:
        if not confirm_spend:
            raise KromaError("it is a paid OpenAI call and confirm_spend was not given")
        provider = refiner or default_refiner()
        model, quality = options.get("model"), options.get("quality")
        if before_paid_call is not None:
            estimate = getattr(provider, "estimate_refine_cost", None)
            before_paid_call(REFINE_CODE, float(estimate(model=model, quality=quality)) if estimate else 0.0)
        result = provider.refine_cutout(
            cutout.read_bytes(), str(options.get("prompt") or REFINE_PROMPT), model=model, quality=quality,
            input_fidelity=options.get("input_fidelity"), output_format=fmt, filename=cutout.name)
        outcome.cost_usd = float(getattr(result, "cost_usd", 0.0) or 0.0)
        outcome.usage = dict(getattr(result, "usage", {}) or {})
        outcome.attempts = list(getattr(result, "attempts", []) or [])
        data: bytes = result.image_bytes
        try:
            with Image.open(io.BytesIO(data)) as refined, Image.open(cutout) as original:
                refined.load()
                if refined.size != original.size:
                    # The API answers in one of its own sizes; a refine cleans edges, it must not
                    # change the panel's geometry (the upscale factor and the guard's expected size
                    # are about the cutout), so the answer is resampled back to the cutout's size.
                    outcome.notes.append(f"openai refine returned {refined.width}x{refined.height}; resized "
                                         f"back to the cutout's {original.width}x{original.height}")
                    data = _resized(refined, original.size, fmt)
        except (UnidentifiedImageError, OSError) as exc:
            raise ProviderError(f"the refine answer is not a readable image ({len(data)} bytes)") from exc
        outcome.archived = prepare_target(cutout, archive_replaced_dir)
        atomic_write_bytes(cutout, data)
        outcome.refined = True
    except KromaError as exc:
        outcome.error = str(exc)
        outcome.attempts = outcome.attempts or list(getattr(exc, "attempts", None) or [])
    finally:
        if refiner is None and provider is not None:
            close = getattr(provider, "close", None)
            if close is not None:
                close()
    return outcome


def _resized(image: Any, size: tuple[int, int], fmt: str) -> bytes:
    """``image`` resampled to ``size`` (alpha kept, Lanczos) and encoded as ``fmt`` (png or webp)."""
    from PIL import Image

    mode = "RGBA" if "A" in image.getbands() or "transparency" in image.info else "RGB"
    resized = image.convert(mode).resize(size, Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    resized.save(buffer, format="WEBP" if fmt == "webp" else "PNG", **({"lossless": True} if fmt == "webp" else {}))
    return buffer.getvalue()
