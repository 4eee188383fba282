"""The sample project's knowledge: its two characters as real rows (identity constraints read
off the drawings: the detective's tan coat and dark hat, the courier's teal jacket, red cap and
yellow bag), a reference set each holding its sheet, a ``style`` reference set with the style
refs, and a default style guide whose palette is taken from those style refs.

Called with one line after the sample files are installed (``kroma project create --samples``,
``make demo``); idempotent, so a second install changes nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kroma_kit.characters._common import project_of
from kroma_kit.characters.images import import_reference_image, list_character_images
from kroma_kit.characters.profiles import (
    create_character,
    create_style_guide,
    list_characters,
    list_style_guides,
)
from kroma_kit.characters.references import add_reference, create_reference_set, list_reference_sets
from kroma_kit.imaging import open_image
from kroma_kit.workspace import Workspace

SAMPLE_CHARACTERS: dict[str, dict[str, Any]] = {
    "detective": {
        "name": "The Detective", "file": "characters/detective.png",
        "bio": "A tired city detective who works nights.",
        "identity": {"hair": "dark, under a fedora", "eyes": "dark, shadowed by the hat brim", "skin": "fair",
                     "build": "tall, broad-shouldered", "outfit": "long tan trench coat, dark fedora, dark trousers",
                     "signature_colors": ["#b2946a", "#3e3632", "#3a3a42"],
                     "must_keep": ["tan trench coat with belt", "dark fedora"], "never": ["bright colours"]}},
    "courier": {
        "name": "The Courier", "file": "characters/courier.png",
        "bio": "A fast bike courier who knows every alley.",
        "identity": {"hair": "dark, under a red cap", "eyes": "dark", "skin": "tan", "build": "slim, athletic",
                     "outfit": "teal jacket, yellow messenger bag on a cross strap, jeans, white sneakers",
                     "signature_colors": ["#2c7a96", "#c8342e", "#e6b428"],
                     "must_keep": ["red cap", "yellow messenger bag"], "never": ["helmet"]}},
}
STYLE_SET = "sample style refs"


def dominant_colours(path: Path, count: int = 5) -> list[str]:
    """The ``count`` most used colours of an image (median-cut), as hex."""
    image = open_image(path).convert("RGB")
    image.thumbnail((128, 128))
    quantised = image.quantize(colors=count, method=0)
    palette = quantised.getpalette() or []
    used = sorted(quantised.getcolors() or [], reverse=True)
    return [f"#{palette[i * 3]:02x}{palette[i * 3 + 1]:02x}{palette[i * 3 + 2]:02x}" for _, i in used[:count]]


def install_sample_characters(ws: Workspace, project: str | dict[str, Any], installed: dict[str, Any]) -> dict[str, Any]:
    """Create the sample knowledge rows for the files ``install_samples`` reported."""
    proj = project_of(ws, project)
    root = Path(proj["root"])
    done: dict[str, Any] = {"characters": [], "style_guide": None, "reference_sets": []}
    style_files = [root / ref for ref in installed.get("style_refs", []) if (root / ref).is_file()]
    if not list_style_guides(ws, proj):
        palette: list[str] = []
        for path in style_files[:1]:
            palette = dominant_colours(path)
        guide = create_style_guide(ws, proj, "sample noir", description="From the sample style refs",
                                   rules={"palette": palette, "line_weight": "bold ink outlines, flat fills",
                                          "notes": "One coherent noir drawing hand", "forbidden_words":
                                          ["photorealistic", "3d render"]}, is_default=True)
        done["style_guide"] = guide.name
    if STYLE_SET not in {s.name for s in list_reference_sets(ws, proj)} and style_files:
        create_reference_set(ws, proj, STYLE_SET, "style", description="The sample project's style anchors")
        for path in style_files:
            add_reference(ws, proj, STYLE_SET, path, role="style")
        done["reference_sets"].append(STYLE_SET)
    existing = {c.code for c in list_characters(ws, proj)}
    for code, spec in SAMPLE_CHARACTERS.items():
        sheet = root / spec["file"]
        if not sheet.is_file():
            continue
        if code not in existing:
            create_character(ws, proj, code, spec["name"], bio=spec["bio"], identity=spec["identity"])
        if not list_character_images(ws, proj, code, kind="reference"):
            import_reference_image(ws, proj, code, sheet, provider="sample", notes="sample character sheet")
        done["characters"].append(code)
    return done
