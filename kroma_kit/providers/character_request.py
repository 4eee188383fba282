"""What a character image backend is asked for: an :class:`~kroma_kit.providers.base.ImageRequest`
plus which character, which kind of image (reference, one portfolio view, scene) and the
scene's text. Any image provider can take it (OpenAI only reads the base fields: a reference
with no input is a generation, a view or scene is an edit of the reference); character
backends (``local`` sketcher, Character Library) read the rest."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kroma_kit.providers.base import ImageRequest


@dataclass
class CharacterImageRequest(ImageRequest):
    kind: str = "reference"  # reference | portfolio_item | scene
    view: str | None = None  # portfolio view (front, back, ...) or an extra pose/expression
    character: dict[str, Any] = field(default_factory=dict)  # code, name, identity, library_id
    scene_context: str = ""
    reference_path: Path | None = None  # the chosen reference image (portfolio, scene)
    reference_external_id: str | None = None  # its id at the Character Library, when it came from there
    scene_ref: Path | None = None  # an optional scene image to place the character in
    all_views: list[str] = field(default_factory=list)  # the whole turnaround of this run (batch backends)
