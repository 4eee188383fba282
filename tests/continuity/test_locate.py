"""A declared character inside a whole scene is looked for where its signature colours are."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from kroma_kit.continuity import identity as ident
from kroma_kit.continuity.calibrate import calibrate
from kroma_kit.continuity.context import CharacterReference, ContinuityContext
from kroma_kit.continuity.evalset import CAST, Hand, Pose, draw_figure, reference_sheet
from kroma_kit.continuity.gate import ContinuityGate
from kroma_kit.continuity.locate import locate_character
from kroma_kit.samples import draw_scene

MARA, OTTO, JUNO = CAST[0], CAST[1], CAST[2]


def _scene_with(designs, size=(576, 384)) -> Image.Image:
    scene = draw_scene("street").resize(size).convert("RGBA")
    layer = Image.new("RGBA", (size[0] * 2, size[1] * 2), (0, 0, 0, 0))
    for slot, design in enumerate(designs, start=1):
        draw_figure(layer, design, Pose(0.2, 0.1, 0.1), Hand(), cx=size[0] * slot / (len(designs) + 1),
                    feet_y=size[1] * 0.95, height=size[1] * 0.62, line_scale=size[1] / 384)
    scene.alpha_composite(layer.resize(size, Image.Resampling.BOX))
    return scene


def test_the_window_holds_the_characters_signature_colours(tmp_path: Path) -> None:
    refs = [ident.identity_features(reference_sheet(MARA, 256, Hand()))]
    signature = ident.signature_of(CharacterReference("mara", (), tuple(MARA.signature_hex())), refs)
    scene = np.asarray(_scene_with([MARA, OTTO]))
    crop = locate_character(scene, signature, refs[0].aspect)
    assert crop is not None and crop.shape[0] < scene.shape[0] and crop.shape[1] < scene.shape[1] / 2
    found = ident.identity_features(crop)
    assert ident.best_match(found, refs, signature)[1]["signature"] == 1.0
    # a character whose colours are nowhere is not found
    juno_refs = [ident.identity_features(reference_sheet(JUNO, 256, Hand()))]
    juno = ident.signature_of(CharacterReference("juno", (), tuple(JUNO.signature_hex())), juno_refs)
    crop = locate_character(scene, juno, juno_refs[0].aspect)
    assert crop is None or ident.best_match(ident.identity_features(crop), juno_refs, juno)[1]["signature"] < 0.3


def test_in_a_scene_present_characters_score_far_above_an_absent_one(tmp_path: Path) -> None:
    characters = {}
    for design in (MARA, OTTO, JUNO):
        path = tmp_path / f"{design.code}.png"
        reference_sheet(design, 256, Hand()).save(path)
        characters[design.code] = CharacterReference(design.code, (path,), tuple(design.signature_hex()))
    context = ContinuityContext(None, characters)
    gate = ContinuityGate(context, calibrate(context))
    scene = tmp_path / "scene.png"
    _scene_with([MARA, OTTO]).save(scene)
    scores = {s.code: s for s in gate.score(scene, ["mara", "otto", "juno"]).identities}
    assert scores["mara"].cutout.startswith("located") and scores["otto"].cutout.startswith("located")
    assert min(scores["mara"].identity, scores["otto"].identity) > 0.55 > 0.2 > scores["juno"].identity
    assert scores["juno"].broken


def test_a_placement_box_holds_the_slot_the_cast_rule_gives() -> None:
    from kroma_kit.continuity.locate import placement_box

    cast = [{"code": "mara"}, {"code": "otto"}]
    (y0, y1, x0, x1), figure = placement_box(cast, "mara", (512, 768), 0.45)
    assert x1 < 768 / 2 + 20 and x0 < 768 / 3 < x1  # the first of two slots: centred at a third
    assert y1 >= 0.96 * 512 and y0 < 512 * 0.5  # feet near the bottom, up to half the frame high
    assert 0 <= figure[0] < figure[2] <= 1 and 0 <= figure[1] < figure[3] <= 1
    (_, _, px0, px1), _ = placement_box([{"code": "mara", "x": 0.8, "height": 0.3, "baseline": 0.9}], "mara",
                                        (512, 768), 0.45)
    assert px0 < 0.8 * 768 < px1 and px1 - px0 < 0.3 * 512
    assert placement_box(cast, "nobody", (512, 768), 0.45) is None
