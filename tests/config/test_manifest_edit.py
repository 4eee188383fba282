"""update_manifest / add_ref_file: every new ref is checked before the manifest file is touched."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from kroma_kit.catalog.prompts import prompt_history
from kroma_kit.errors import ConfigError, InputError
from kroma_kit.manifest_edit import add_ref_file, import_ref_file, update_manifest
from kroma_kit.settings_models import DEFAULT_PROMPTS


def _png(path: Path, colour: tuple[int, int, int] = (200, 40, 40)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (32, 24), colour).save(path)
    return path


@pytest.fixture
def root(demo_project) -> Path:
    return Path(demo_project["root"])


@pytest.fixture
def manifest_bytes(root: Path):
    """The manifest's bytes now; call the result again later to compare."""
    path = root / "manifest.json"
    before = path.read_bytes()
    return lambda: (before, path.read_bytes())


def test_set_refs_normalises_paths_and_keeps_other_keys(workspace, root, tmp_path):
    outside = _png(tmp_path / "elsewhere" / "alley.png")
    manifest = update_manifest(workspace, "demo", scene_refs=[
        "inputs/scenes/street.png", f"{root}/inputs/scenes/room.png", "./inputs/scenes/../scenes/harbor.png",
        str(outside)])

    expected = ["inputs/scenes/street.png", "inputs/scenes/room.png", "inputs/scenes/harbor.png", str(outside)]
    assert manifest.scene_refs == expected
    data = json.loads((root / "manifest.json").read_text())
    assert data["scene_refs"] == expected
    assert data["generation"] == {"candidates": 3} and len(data["character_refs"]) == 2


@pytest.mark.parametrize("ref", ["../escape.png", "inputs/../../escape.png"])
def test_a_ref_escaping_the_project_root_is_refused_by_name(workspace, root, manifest_bytes, ref):
    _png(root.parent / "escape.png")
    with pytest.raises(InputError, match=r"scene_refs: ref '.*escape\.png' points outside the project root"):
        update_manifest(workspace, "demo", scene_refs=["inputs/scenes/street.png", ref])
    before, after = manifest_bytes()
    assert after == before


def test_a_symlink_out_of_the_root_is_refused(workspace, root, manifest_bytes, tmp_path):
    (root / "inputs" / "scenes" / "link.png").symlink_to(_png(tmp_path / "secret.png"))
    with pytest.raises(InputError, match="through a link"):
        update_manifest(workspace, "demo", scene_refs=["inputs/scenes/link.png"])
    before, after = manifest_bytes()
    assert after == before


def test_missing_and_corrupt_refs_are_all_named_and_nothing_is_written(workspace, root, manifest_bytes):
    (root / "inputs" / "styles" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 20)
    with pytest.raises(InputError) as caught:
        update_manifest(workspace, "demo", style_refs=["inputs/styles/broken.png"],
                        character_refs=["characters/ghost.png"], prompts={"time_night": "Dark."})
    message = str(caught.value)
    assert message.startswith("Manifest not changed:")
    assert "style_refs: ref 'inputs/styles/broken.png'" in message
    assert "character_refs: ref 'characters/ghost.png': Image not found" in message
    before, after = manifest_bytes()
    assert after == before
    assert prompt_history(workspace, "demo", "time_night") == []


def test_duplicate_refs_are_refused(workspace, root, manifest_bytes):
    with pytest.raises(InputError, match="listed twice"):
        update_manifest(workspace, "demo", scene_refs=["inputs/scenes/room.png", f"{root}/inputs/scenes/room.png"])
    before, after = manifest_bytes()
    assert after == before


def test_prompts_are_written_and_versioned_only_when_changed(workspace, root):
    manifest = update_manifest(workspace, "demo", prompts={"time_night": "Moonless.",
                                                           "time_day": DEFAULT_PROMPTS["time_day"]})
    assert manifest.prompts["time_night"] == "Moonless."
    assert [h["version"] for h in prompt_history(workspace, "demo", "time_night")] == [2, 1]
    assert prompt_history(workspace, "demo", "time_day") == []
    with pytest.raises(InputError, match="does not start with a stage"):
        update_manifest(workspace, "demo", prompts={"night": "Dark."})


def test_add_ref_file_copies_with_a_clean_name_and_never_overwrites(workspace, root, tmp_path):
    source = _png(tmp_path / "My Alley (final)!.PNG")
    added = add_ref_file(workspace, "demo", "scene", source)
    assert added["ref"] == "inputs/scenes/my_alley_final.png"
    assert added["refs"][-1] == added["ref"] and len(added["refs"]) == 5
    assert (root / added["ref"]).read_bytes() == source.read_bytes()

    assert import_ref_file(workspace, "demo", "scene", source) == added["ref"]  # same bytes: reused
    other = _png(tmp_path / "other" / "My Alley (final)!.PNG", (10, 10, 200))
    assert import_ref_file(workspace, "demo", "scene", other) == "inputs/scenes/my_alley_final-2.png"
    assert (root / added["ref"]).read_bytes() == source.read_bytes()

    with pytest.raises(InputError, match="listed twice"):
        add_ref_file(workspace, "demo", "scene", source)


def test_add_ref_file_refuses_bad_input_before_copying(workspace, root, manifest_bytes, tmp_path):
    corrupt = tmp_path / "bad.png"
    corrupt.write_bytes(b"not an image")
    with pytest.raises(InputError, match="Not a readable image"):
        add_ref_file(workspace, "demo", "style", corrupt)
    with pytest.raises(InputError, match="Unknown ref kind 'prop'"):
        add_ref_file(workspace, "demo", "prop", _png(tmp_path / "ok.png"))
    assert sorted(p.name for p in (root / "inputs" / "styles").iterdir()) == ["noir_ink.png", "warm_wash.png"]
    before, after = manifest_bytes()
    assert after == before

    (root / "manifest.json").write_text('{"scene_refs": "not a list"}')
    with pytest.raises(ConfigError, match="scene_refs"):
        add_ref_file(workspace, "demo", "scene", _png(tmp_path / "ok.png"))
    assert not (root / "inputs" / "scenes" / "ok.png").exists()
