"""Each metric on images whose answer is known by construction."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from kroma_kit.continuity import identity as ident
from kroma_kit.continuity.context import CharacterReference, parse_hex
from kroma_kit.continuity.evalset import CAST, Hand, Pose, draw_figure, hue_swap, reference_sheet, render
from kroma_kit.continuity.features import stroke_stats, style_features
from kroma_kit.continuity.style import STYLE_PARTS, part_distances
from kroma_kit.errors import InputError

MARA, OTTO = CAST[0], CAST[1]


def _lines(width: int, size: int = 256) -> Image.Image:
    """Black strokes of a known width on white paper."""
    image = Image.new("RGB", (size, size), (250, 248, 240))
    draw = ImageDraw.Draw(image)
    for x in range(20, size - 20, 40):
        draw.line([(x, 16), (x + 30, size - 16)], fill=(20, 20, 24), width=width)
    return image


@pytest.mark.parametrize("width", [2, 3, 6, 9])
def test_stroke_width_is_measured_in_pixels(width: int) -> None:
    grey = np.asarray(_lines(width).convert("L"))
    density, measured, share = stroke_stats(grey, 1.0)
    assert measured == pytest.approx(width, abs=1.0)
    assert density > 0 and share > 0


def test_same_image_has_no_drift_and_every_part_is_reported() -> None:
    page = _page()
    parts = part_distances(style_features(page), style_features(page))
    assert set(parts) == set(STYLE_PARTS)
    assert all(value == pytest.approx(0.0, abs=1e-6) for value in parts.values())


def _page(hand: Hand | None = None, design=MARA) -> Image.Image:
    rgb = render(256, [(design, Pose(0.2, 0.2, 0.1), 0.5, 0.94, 0.8)], hand or Hand(), background=(236, 230, 214),
                 bg_kind="flat", rng=np.random.default_rng(0))
    return Image.fromarray(rgb.astype(np.uint8))


def test_hue_swap_moves_palette_and_colour_not_lines() -> None:
    page = _page()
    swapped = Image.fromarray(hue_swap(np.asarray(page, np.float32), 150).astype(np.uint8))
    parts = part_distances(style_features(swapped), style_features(page))
    heavy = part_distances(style_features(_page(Hand(line_width=12.0))), style_features(page))
    assert parts["palette"] > 0.1 and parts["colour"] > 0.3
    assert parts["line"] < 0.5 * heavy["line"]  # grey levels move a little, the pen does not


def test_heavier_pen_moves_the_line_part_most() -> None:
    page, heavy = _page(), _page(Hand(line_width=12.0))
    parts = part_distances(style_features(heavy), style_features(page))
    assert style_features(heavy).stroke_width > 2.5 * style_features(page).stroke_width
    assert parts["line"] > 0.7
    assert parts["line"] == max(parts.values())


def test_tone_part_sees_contrast_but_not_overall_brightness() -> None:
    page = np.asarray(_page(), np.float32)
    darker = Image.fromarray(np.clip(page * 0.8, 0, 255).astype(np.uint8))
    flat = Image.fromarray(np.clip(128 + (page - 128) * 0.3, 0, 255).astype(np.uint8))
    base = style_features(Image.fromarray(page.astype(np.uint8)))
    assert part_distances(style_features(flat), base)["tone"] > 2 * part_distances(style_features(darker), base)["tone"]


def _on_paper(design, pose: Pose, *, size: int = 256) -> Image.Image:
    layer = Image.new("RGBA", (size * 2, size * 2), (0, 0, 0, 0))
    draw_figure(layer, design, pose, Hand(), cx=size / 2, feet_y=size * 0.92, height=size * 0.8, line_scale=size / 384)
    page = Image.new("RGBA", layer.size, (214, 226, 232, 255))
    page.alpha_composite(layer)
    return page.convert("RGB").resize((size, size), Image.Resampling.BOX)


def test_identity_cutout_on_flat_paper_and_from_alpha() -> None:
    sheet = reference_sheet(MARA, 256, Hand())
    assert ident.identity_features(sheet).backend == "alpha"
    assert ident.identity_features(_on_paper(MARA, Pose())).backend == "flat"


def test_identity_same_character_mirrored_beats_another_character() -> None:
    refs = [ident.identity_features(reference_sheet(MARA, 256, Hand()))]
    signature = ident.signature_of(CharacterReference("mara", (), tuple(MARA.signature_hex())), refs)
    mirrored = ident.identity_features(_on_paper(MARA, Pose(0.3, 0.1, 0.1, mirror=True)))
    other = ident.identity_features(_on_paper(OTTO, Pose(0.3, 0.1, 0.1)))
    same_score, same_parts, _ = ident.best_match(mirrored, refs, signature)
    other_score, other_parts, _ = ident.best_match(other, refs, signature)
    assert same_score > 0.75 > 0.45 > other_score
    assert same_parts["signature"] == 1.0 and other_parts["signature"] < 0.3


def test_missing_signature_hat_zeroes_the_signature_part() -> None:
    from dataclasses import replace

    refs = [ident.identity_features(reference_sheet(MARA, 256, Hand()))]
    signature = ident.signature_of(CharacterReference("mara", (), tuple(MARA.signature_hex())), refs)
    hatless = ident.identity_features(_on_paper(replace(MARA, hat="none"), Pose()))
    assert ident.best_match(hatless, refs, signature)[1]["signature"] < 0.2


def test_signature_colours_are_derived_when_none_are_declared() -> None:
    refs = [ident.identity_features(reference_sheet(MARA, 256, Hand()))]
    derived = ident.signature_of(CharacterReference("mara", ()), refs)
    assert not derived.declared and 1 <= len(derived.colours) <= ident.MAX_SIGNATURES
    teal = np.array(parse_hex(MARA.signature_hex()[-1]))  # the jacket, the largest chromatic area
    nearest = min(np.abs(np.array([parse_hex(h) for h in derived.hex()]) - teal).max(axis=1))
    assert nearest < 30


def test_bad_signature_colour_and_code_are_refused() -> None:
    with pytest.raises(InputError, match="hex colour"):
        CharacterReference("mara", (), ("#12345",))
    with pytest.raises(InputError, match="lowercase"):
        CharacterReference("Mara Jones", ())


def _mixed_pen(thick_share: float, size: int = 256) -> np.ndarray:
    """A page of 1 px and 3 px strokes, ``thick_share`` of them thick."""
    image = Image.new("L", (size, size), 245)
    draw = ImageDraw.Draw(image)
    lines = list(range(8, size - 8, 8))
    thick = set(lines[:round(len(lines) * thick_share)])
    for x in lines:
        draw.line([(x, 8), (x, size - 8)], fill=20, width=3 if x in thick else 1)
    return np.asarray(image)


def test_stroke_width_moves_smoothly_with_the_mix_of_pens() -> None:
    """The sample project's line part jumped between 0.29 and 1.2: a percentile of the quantised
    distance transform flipped from the 1 px to the 3 px level. The mean moves in small steps."""
    widths = [stroke_stats(_mixed_pen(share), 1.0)[1] for share in np.linspace(0.0, 1.0, 11)]
    steps = np.diff(widths)
    assert widths[0] == pytest.approx(1.0, abs=0.3) and widths[-1] == pytest.approx(3.0, abs=0.6)
    assert np.all(steps > -0.05)  # more thick strokes never reads as a thinner pen
    assert np.max(steps) < 0.45 * (widths[-1] - widths[0])  # no jump: at most a fraction of the range per step
