"""Characters, style guides and reference sets through the service API: codes are checked,
duplicates refused, every query stays inside its project, nothing is written half-way."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from kroma_kit.catalog.projects import create_project
from kroma_kit.characters import images, profiles, references
from kroma_kit.errors import ImageInputError, InputError, NotFoundError


def test_sample_project_has_two_characters_each_with_a_reference_set_and_a_default_guide(workspace, chars_project):
    characters = profiles.list_characters(workspace, "demo")
    assert [c.code for c in characters] == ["courier", "detective"]
    courier = profiles.get_character(workspace, "demo", "courier")
    assert courier.identity.signature_colors == ["#2c7a96", "#c8342e", "#e6b428"]
    guides = profiles.list_style_guides(workspace, "demo")
    assert len(guides) == 1 and guides[0].is_default and len(guides[0].rules.palette) == 5
    for code in ("courier", "detective"):
        refset = references.get_reference_set(workspace, "demo", f"character:{code}")
        assert refset.kind == "character" and len(refset.items) == 1
        assert refset.items[0].path.name == f"{code}.png"
        assert images.character_reference_images(workspace, "demo", code) == [refset.items[0].path]
    style = references.get_reference_set(workspace, "demo", "sample style refs")
    assert style.kind == "style" and len(style.items) == 2


@pytest.mark.parametrize("code", ["Bad Code", "-lead", "", "a" * 65, "dé"])
def test_bad_codes_are_refused_with_the_code_named(workspace, chars_project, code):
    with pytest.raises(InputError, match="(?i)character code"):
        profiles.create_character(workspace, "demo", code, "X")
    assert len(profiles.list_characters(workspace, "demo")) == 2


def test_duplicate_and_unknown_codes(workspace, chars_project):
    with pytest.raises(InputError, match="already exists"):
        profiles.create_character(workspace, "demo", "courier", "Again")
    with pytest.raises(NotFoundError, match="Unknown character 'nobody'.*courier, detective"):
        profiles.get_character(workspace, "demo", "nobody")


def test_bad_identity_is_refused_and_nothing_written(workspace, chars_project):
    with pytest.raises(InputError, match="signature_colors"):
        profiles.create_character(workspace, "demo", "hero", "Hero", identity={"signature_colors": ["red"]})
    with pytest.raises(InputError, match="hat"):
        profiles.create_character(workspace, "demo", "hero", "Hero", identity={"hat": "big"})
    assert [c.code for c in profiles.list_characters(workspace, "demo")] == ["courier", "detective"]


def test_update_merges_identity_and_delete_frees_the_code(workspace, chars_project):
    updated = profiles.update_character(workspace, "demo", "courier", identity={"eyes": "green", "signature_colors":
                                                                                 ["#ABC"]})
    assert updated.identity.eyes == "green" and updated.identity.signature_colors == ["#aabbcc"]
    assert updated.identity.outfit.startswith("teal jacket")
    deleted = profiles.delete_character(workspace, "demo", "courier")
    assert deleted.deleted_at
    assert [c.code for c in profiles.list_characters(workspace, "demo")] == ["detective"]
    again = profiles.create_character(workspace, "demo", "courier", "New Courier")
    assert again.id != deleted.id


def test_characters_are_scoped_by_project(workspace, chars_project):
    create_project(workspace, "other", "Other")
    assert profiles.list_characters(workspace, "other") == []
    profiles.create_character(workspace, "other", "courier", "Different courier")
    assert profiles.get_character(workspace, "other", "courier").name == "Different courier"
    assert profiles.get_character(workspace, "demo", "courier").name == "The Courier"


def test_an_asset_of_another_project_is_refused(workspace, chars_project):
    other = create_project(workspace, "other", "Other")
    profiles.create_character(workspace, "other", "hero", "Hero")
    file = Path(other["root"]) / "hero.png"
    Image.new("RGB", (32, 32), (200, 10, 10)).save(file)
    imported = images.import_reference_image(workspace, "other", "hero", file)
    with pytest.raises(InputError, match="belongs to another project"):
        references.add_asset_to_set(workspace, "demo", "character:courier", imported.asset_id)
    assert len(references.get_reference_set(workspace, "demo", "character:courier").items) == 1


def test_corrupt_and_huge_reference_images_are_refused(workspace, chars_project, tmp_path):
    corrupt = tmp_path / "broken.png"
    corrupt.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    with pytest.raises(ImageInputError, match="broken.png"):
        images.import_reference_image(workspace, "demo", "courier", corrupt)
    bomb = tmp_path / "bomb.png"
    Image.new("1", (9000, 9000)).save(bomb)
    with pytest.raises(ImageInputError, match="too large"):
        references.add_reference(workspace, "demo", "sample style refs", bomb)
    assert len(images.list_character_images(workspace, "demo", "courier")) == 1
    assert len(references.get_reference_set(workspace, "demo", "sample style refs").items) == 2


def test_style_guides_one_default_per_project(workspace, chars_project):
    second = profiles.create_style_guide(workspace, "demo", "watercolour", rules={"palette": ["#f0e0c0"]},
                                         is_default=True)
    assert second.is_default
    assert [g.name for g in profiles.list_style_guides(workspace, "demo") if g.is_default] == ["watercolour"]
    profiles.update_character(workspace, "demo", "detective", style_guide="sample noir")
    detective = profiles.get_character(workspace, "demo", "detective")
    assert profiles.effective_style_guide(workspace, "demo", detective).name == "sample noir"
    assert profiles.effective_style_guide(workspace, "demo").name == "watercolour"
    with pytest.raises(NotFoundError, match="Unknown style guide 'nope'"):
        profiles.update_character(workspace, "demo", "detective", style_guide="nope")
    with pytest.raises(InputError, match="palette"):
        profiles.create_style_guide(workspace, "demo", "bad", rules={"palette": ["blue"]})
