"""The character CLI twins, in-process through ``kroma_kit.cli.main.main`` with ``--json``."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from kroma_kit.cli.main import main


@pytest.fixture
def project(workspace, chars_project):
    return chars_project


def run(capsys, *argv: str) -> tuple[int, object, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    try:
        data = json.loads(captured.out) if captured.out.strip() else None
    except ValueError:
        data = captured.out
    return code, data, captured.err


def test_profile_commands(project, capsys):
    code, data, _ = run(capsys, "character", "create", "hero", "--project", "demo", "--name", "Hero", "--hair", "red",
                        "--colors", "#ff0000,#00ff00", "--never", "capes", "--json")
    assert code == 0 and data["identity"]["signature_colors"] == ["#ff0000", "#00ff00"]
    code, data, _ = run(capsys, "character", "update", "hero", "--project", "demo", "--eyes", "grey", "--json")
    assert data["identity"] == {**data["identity"], "hair": "red", "eyes": "grey", "never": ["capes"]}
    code, data, _ = run(capsys, "character", "list", "--project", "demo", "--json")
    assert [c["code"] for c in data] == ["courier", "detective", "hero"]
    code, data, _ = run(capsys, "character", "show", "courier", "--project", "demo", "--json")
    assert data["image_counts"] == {"reference": 1} and data["reference_set"]["name"] == "character:courier"
    code, data, _ = run(capsys, "character", "prompt", "courier", "--project", "demo", "--json")
    assert data["success"] and "chest-to-mid-thigh crop" in data["prompt"]
    code, data, _ = run(capsys, "character", "delete", "hero", "--project", "demo", "--json")
    assert data["deleted_at"]


@pytest.mark.parametrize("argv, message", [
    (["character", "create", "Bad Code", "--project", "demo"], "Invalid character code 'Bad Code'"),
    (["character", "create", "courier", "--project", "demo"], "Character 'courier' already exists"),
    (["character", "show", "nobody", "--project", "demo"], "Unknown character 'nobody'"),
    (["character", "create", "x", "--project", "demo", "--colors", "blue"], "signature_colors"),
    (["character", "delete-image", "courier", "no-such-id", "--project", "demo"], "has no image no-such-id"),
])
def test_bad_input_is_one_line_with_exit_code_2(project, capsys, argv, message):
    code, _, err = run(capsys, *argv)
    assert code == 2 and message in err and err.count("\n") == 1


def test_generate_list_sheet_and_delete(project, capsys, tmp_path):
    code, data, _ = run(capsys, "character", "reference", "courier", "--project", "demo", "--dry-run", "--json")
    assert code == 0 and data["jobs_total"] == 1 and data["estimated_cost_usd"] == 0
    code, data, _ = run(capsys, "character", "reference", "courier", "--project", "demo", "--prompt", "A courier",
                        "--json")
    assert code == 0 and data["images"][0]["prompt"] == "A courier"
    new_ref = data["images"][0]["id"]
    code, data, _ = run(capsys, "character", "best-ref", "courier", new_ref, "--project", "demo", "--json")
    assert data["id"] == new_ref
    code, data, _ = run(capsys, "character", "portfolio", "courier", "--project", "demo", "--views",
                        "front,back", "--json")
    assert [i["view"] for i in data["images"]] == ["front", "back"]
    assert {i["parent_image_id"] for i in data["images"]} == {new_ref}  # made from the chosen reference
    code, data, _ = run(capsys, "character", "images", "courier", "--project", "demo", "--json")
    assert [i["kind"] for i in data][:3] == ["portfolio_item", "portfolio_item", "reference"]
    out = tmp_path / "sheet.png"
    code, data, _ = run(capsys, "review", "sheet", "--character", "courier", "--project", "demo", "--out", str(out),
                        "--json")
    assert code == 0 and data["cells"] == ["reference", "front", "back"]
    with Image.open(out) as sheet:
        assert sheet.width > 3 * 192
    code, images_now, _ = run(capsys, "character", "images", "courier", "--project", "demo", "--kind",
                              "portfolio_item", "--json")
    code, data, _ = run(capsys, "character", "delete-image", "courier", images_now[0]["id"], "--project", "demo",
                        "--json")
    assert code == 0 and data["deleted_at"] and data["archived_path"].startswith("archive/deleted/")


def test_style_guides_and_refsets(project, capsys, tmp_path):
    code, data, _ = run(capsys, "style-guide", "create", "wash", "--project", "demo", "--palette", "#f0e0c0",
                        "--forbid", "neon", "--default", "--json")
    assert data["is_default"] and data["rules"]["forbidden_words"] == ["neon"]
    code, data, _ = run(capsys, "style-guide", "list", "--project", "demo", "--json")
    assert [g["name"] for g in data if g["is_default"]] == ["wash"]
    code, data, _ = run(capsys, "refset", "create", "moods", "--kind", "lighting", "--project", "demo", "--json")
    assert data["kind"] == "lighting"
    image = tmp_path / "lamp.png"
    Image.new("RGB", (40, 40), (250, 200, 90)).save(image)
    code, data, _ = run(capsys, "refset", "add", "moods", str(image), "--project", "demo", "--weight", "0.5", "--json")
    assert data["items"][0]["weight"] == 0.5 and "/inputs/refs/moods/" in data["items"][0]["path"]
    code, data, _ = run(capsys, "refset", "remove", "moods", data["items"][0]["asset_id"], "--project", "demo",
                        "--json")
    assert data["items"] == []
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"nope")
    code, _, err = run(capsys, "refset", "add", "moods", str(broken), "--project", "demo")
    assert code == 2 and "broken.png" in err
