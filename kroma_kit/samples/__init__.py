"""A license-clean sample project, drawn by code.

Demos, notebooks and tests need real-looking inputs: scenes to restyle, style references to take a
palette from, character sheets for the character stage and background removal. Shipping downloaded
pictures would drag in licences and megabytes, so every sample here is drawn with Pillow's
``ImageDraw`` from fixed coordinates. The output is byte-for-byte the same on every run (no random
state outside a seeded generator, fixed PNG options, no metadata chunks), which lets tests compare
hashes and lets a re-install recognise its own files.

The look is deliberately "inked comic panel": flat colour areas with dark outlines. Flat regions
are what the post-process checks (banding, flat-fill detection, palette mapping) are tuned on, and
outlines give segmentation and background removal something clear to find.

Pillow and numpy are imported inside the functions so ``import kroma_kit`` stays cheap. The
drawings live one group per module (``scenes_*``, ``styles``, ``characters``) with their shared
tools in ``pen``; this module names them and installs them.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from kroma_kit.errors import NotFoundError
from kroma_kit.samples.characters import _draw_courier, _draw_detective
from kroma_kit.samples.pen import CHARACTER_BG, CHARACTER_SIZE, INK, SCENE_SIZE, STYLE_SIZE  # noqa: F401 (public)
from kroma_kit.samples.scenes_rooftop_harbor import _draw_harbor, _draw_rooftop
from kroma_kit.samples.scenes_street_room import _draw_room, _draw_street
from kroma_kit.samples.styles import _draw_noir_ink, _draw_warm_wash
from kroma_kit.storage.atomic import atomic_write_bytes

if TYPE_CHECKING:
    from PIL import Image

# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------

_SCENE_DRAWERS: dict[str, Callable[[], Image.Image]] = {
    "street": _draw_street, "room": _draw_room, "rooftop": _draw_rooftop, "harbor": _draw_harbor,
}
_STYLE_DRAWERS: dict[str, Callable[[], Image.Image]] = {
    "noir_ink": _draw_noir_ink, "warm_wash": _draw_warm_wash,
}
_CHARACTER_DRAWERS: dict[str, Callable[[], Image.Image]] = {
    "detective": _draw_detective, "courier": _draw_courier,
}

SCENES: tuple[str, ...] = tuple(_SCENE_DRAWERS)
STYLES: tuple[str, ...] = tuple(_STYLE_DRAWERS)
CHARACTERS: tuple[str, ...] = tuple(_CHARACTER_DRAWERS)


def _lookup(kind: str, name: str, drawers: dict[str, Callable[[], Image.Image]]) -> Image.Image:
    try:
        drawer = drawers[name]
    except KeyError:
        known = ", ".join(drawers)
        raise NotFoundError(f"No sample {kind} named {name!r}; known {kind}s: {known}. "
                            f"Pick one of those names.") from None
    return drawer()


def draw_scene(name: str) -> Image.Image:
    """Draw the scene ``name`` (one of :data:`SCENES`) as a 768x512 RGB image."""
    return _lookup("scene", name, _SCENE_DRAWERS)


def draw_style(name: str) -> Image.Image:
    """Draw the style reference ``name`` (one of :data:`STYLES`) as a 512x512 RGB image."""
    return _lookup("style", name, _STYLE_DRAWERS)


def draw_character(name: str) -> Image.Image:
    """Draw the character reference ``name`` (one of :data:`CHARACTERS`), 384x512 RGB on a flat
    light background so background removal has an easy, checkable job."""
    return _lookup("character", name, _CHARACTER_DRAWERS)


def png_bytes(image: Image.Image) -> bytes:
    """Encode ``image`` as PNG with fixed options and no metadata chunks.

    Fixed ``compress_level`` and no ``optimize`` keep the bytes identical across runs (Pillow
    adds no time or text chunks unless asked), so sample files can be compared by hash.
    """
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=9, optimize=False)
    return buffer.getvalue()


def install_samples(root: Path) -> dict[str, list[str]]:
    """Write the sample project's images under ``root`` and say what happened.

    Layout: ``inputs/scenes/<name>.png``, ``inputs/styles/<name>.png``, ``characters/<name>.png``.
    A file that already exists is never replaced (a user may have edited or swapped it): it is
    listed under ``skipped`` instead. Each image is encoded in memory first and written with
    :func:`atomic_write_bytes`, so an interrupted install leaves no half-written PNG behind.

    Returns ``scene_refs``, ``style_refs``, ``character_refs`` (every sample path, written or
    not) plus ``written`` and ``skipped``, all relative to ``root`` with '/' separators.
    """
    root = Path(root)
    result: dict[str, list[str]] = {"scene_refs": [], "style_refs": [], "character_refs": [],
                                    "written": [], "skipped": []}
    groups: list[tuple[str, str, dict[str, Callable[[], Image.Image]]]] = [
        ("scene_refs", "inputs/scenes", _SCENE_DRAWERS),
        ("style_refs", "inputs/styles", _STYLE_DRAWERS),
        ("character_refs", "characters", _CHARACTER_DRAWERS),
    ]
    for key, folder, drawers in groups:
        for name, drawer in drawers.items():
            relative = f"{folder}/{name}.png"
            result[key].append(relative)
            target = root.joinpath(*relative.split("/"))
            if target.exists():
                result["skipped"].append(relative)
                continue
            atomic_write_bytes(target, png_bytes(drawer()))
            result["written"].append(relative)
    return result
