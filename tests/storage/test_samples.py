"""The code-drawn sample project: deterministic, small, recognisably different images.

Demos and post-process tests rely on these properties (byte-stable files, flat regions, two style
references with opposite palettes, characters on a flat background), so each one is pinned here.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from kroma_kit import samples
from kroma_kit.errors import NotFoundError

ALL = ([("scene", n, samples.draw_scene) for n in samples.SCENES]
       + [("style", n, samples.draw_style) for n in samples.STYLES]
       + [("character", n, samples.draw_character) for n in samples.CHARACTERS])
IDS = [f"{kind}-{name}" for kind, name, _ in ALL]


def _chunk_types(png: bytes) -> set[str]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    types, offset = set(), 8
    while offset < len(png):
        length = struct.unpack(">I", png[offset:offset + 4])[0]
        types.add(png[offset + 4:offset + 8].decode("ascii"))
        offset += 12 + length
    return types


def test_names_are_the_documented_ones() -> None:
    assert samples.SCENES == ("street", "room", "rooftop", "harbor")
    assert samples.STYLES == ("noir_ink", "warm_wash")
    assert samples.CHARACTERS == ("detective", "courier")


@pytest.mark.parametrize(("kind", "name", "draw"), ALL, ids=IDS)
def test_size_and_mode(kind: str, name: str, draw) -> None:
    expected = {"scene": (768, 512), "style": (512, 512), "character": (384, 512)}[kind]
    image = draw(name)
    assert image.size == expected
    assert image.mode == "RGB"


# Draws every sample in a fresh interpreter and prints {"kind-name": sha256 of its PNG bytes}; argv[1]
# "reverse" draws them in the opposite order, so state carried from one drawing to the next shows.
_DIGEST_SCRIPT = """
import hashlib, json, sys
from kroma_kit import samples
kinds = [("scene", samples.SCENES, samples.draw_scene), ("style", samples.STYLES, samples.draw_style),
         ("character", samples.CHARACTERS, samples.draw_character)]
todo = [(kind, name, draw) for kind, names, draw in kinds for name in names]
if sys.argv[1] == "reverse":
    todo.reverse()
print(json.dumps({f"{kind}-{name}": hashlib.sha256(samples.png_bytes(draw(name))).hexdigest()
                  for kind, name, draw in todo}))
"""


def _digests_in_a_new_process(order: str, hash_seed: str) -> dict[str, str]:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    done = subprocess.run([sys.executable, "-c", _DIGEST_SCRIPT, order], capture_output=True, text=True,
                          env=env, timeout=120, check=True)
    return json.loads(done.stdout)


def test_drawing_is_deterministic_across_processes() -> None:
    """Byte-stable sample files: two fresh interpreters (different hash seeds, opposite drawing
    orders) and this one produce the same PNG bytes for every sample, with no metadata chunks."""
    forward = _digests_in_a_new_process("forward", "1")
    backward = _digests_in_a_new_process("reverse", "2")
    assert sorted(forward) == sorted(IDS)
    assert forward == backward
    for (_kind, name, draw), sample_id in zip(ALL, IDS, strict=True):
        png = samples.png_bytes(draw(name))
        assert hashlib.sha256(png).hexdigest() == forward[sample_id], f"{sample_id} differs in this process"
        assert _chunk_types(png) <= {"IHDR", "IDAT", "IEND"}  # no tIME/tEXt/iTXt metadata
    assert len(set(forward.values())) == len(forward)  # and no two samples are the same picture


def test_all_samples_together_stay_under_two_megabytes() -> None:
    total = sum(len(samples.png_bytes(draw(name))) for _, name, draw in ALL)
    assert total < 2 * 1024 * 1024


@pytest.mark.parametrize("name", samples.SCENES)
def test_scenes_have_content_and_flat_regions(name: str) -> None:
    image = samples.draw_scene(name)
    luma = np.asarray(image.convert("L"), dtype=np.float32)
    assert luma.std() > 15.0, "scene looks blank"
    counts = sorted((count for count, _ in image.getcolors(1 << 20)), reverse=True)
    # Flat-colour look: a dozen colours cover most of the picture (no gradients or noise).
    assert sum(counts[:12]) / luma.size > 0.6


def test_style_references_have_clearly_different_palettes() -> None:
    noir = samples.draw_style("noir_ink")
    warm = samples.draw_style("warm_wash")
    noir_rgb = np.asarray(noir, dtype=np.float32)
    warm_rgb = np.asarray(warm, dtype=np.float32)
    # warm: red well above blue; noir: neutral-to-cold
    assert (warm_rgb[..., 0] - warm_rgb[..., 2]).mean() > 60
    assert (noir_rgb[..., 0] - noir_rgb[..., 2]).mean() < 10
    noir_sat = np.asarray(noir.convert("HSV"), dtype=np.float32)[..., 1].mean()
    warm_sat = np.asarray(warm.convert("HSV"), dtype=np.float32)[..., 1].mean()
    assert warm_sat > noir_sat + 20
    # noir is the high-contrast one
    noir_luma = np.asarray(noir.convert("L"), dtype=np.float32)
    warm_luma = np.asarray(warm.convert("L"), dtype=np.float32)
    assert noir_luma.std() > warm_luma.std() + 20


@pytest.mark.parametrize("name", samples.CHARACTERS)
def test_characters_stand_on_a_flat_light_background(name: str) -> None:
    rgb = np.asarray(samples.draw_character(name))
    background = (rgb == np.array(samples.CHARACTER_BG, dtype=np.uint8)).all(axis=-1)
    assert background[0].all() and background[:, 0].all() and background[:, -1].all()
    assert 0.5 < background.mean() < 0.9  # a real figure, not an empty card


def test_characters_differ_from_each_other() -> None:
    detective = np.asarray(samples.draw_character("detective"), dtype=np.float32)
    courier = np.asarray(samples.draw_character("courier"), dtype=np.float32)
    assert np.abs(detective - courier).mean() > 10


@pytest.mark.parametrize("draw", [samples.draw_scene, samples.draw_style, samples.draw_character])
def test_unknown_name_raises_not_found_listing_known_names(draw) -> None:
    with pytest.raises(NotFoundError) as info:
        draw("no_such_sample")
    message = str(info.value)
    assert "no_such_sample" in message
    known = {samples.draw_scene: samples.SCENES, samples.draw_style: samples.STYLES,
             samples.draw_character: samples.CHARACTERS}[draw]
    assert all(name in message for name in known)


def test_install_writes_all_files_with_relative_paths(tmp_path: Path) -> None:
    result = samples.install_samples(tmp_path)
    assert result["scene_refs"] == [f"inputs/scenes/{n}.png" for n in samples.SCENES]
    assert result["style_refs"] == [f"inputs/styles/{n}.png" for n in samples.STYLES]
    assert result["character_refs"] == [f"characters/{n}.png" for n in samples.CHARACTERS]
    every = result["scene_refs"] + result["style_refs"] + result["character_refs"]
    assert result["written"] == every
    assert result["skipped"] == []
    for relative in every:
        assert not Path(relative).is_absolute() and "\\" not in relative
        assert (tmp_path / relative).is_file()
    assert (tmp_path / "inputs/scenes/street.png").read_bytes() == samples.png_bytes(samples.draw_scene("street"))
    assert not [p for p in tmp_path.rglob("*.tmp")], "atomic write left a temp file behind"


def test_install_never_overwrites_an_existing_file(tmp_path: Path) -> None:
    mine = tmp_path / "inputs" / "scenes" / "street.png"
    mine.parent.mkdir(parents=True)
    mine.write_bytes(b"my own street")
    result = samples.install_samples(tmp_path)
    assert mine.read_bytes() == b"my own street"
    assert result["skipped"] == ["inputs/scenes/street.png"]
    assert "inputs/scenes/street.png" not in result["written"]
    assert "inputs/scenes/street.png" in result["scene_refs"]
    assert len(result["written"]) == 7

    again = samples.install_samples(tmp_path)
    assert again["written"] == []
    assert len(again["skipped"]) == 8


def test_importing_the_module_does_not_load_pillow_or_numpy() -> None:
    code = "import sys, kroma_kit.samples; print('PIL' in sys.modules, 'numpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[2])
    assert out.stdout.strip() == "False False"
