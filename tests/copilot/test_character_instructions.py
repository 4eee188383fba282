"""A character sheet asked for in the chat runs as a normal character run: the worker's
``custom:character_reference`` executor goes through the Characters feature, so the image lands
in the character's workspace with its run log, like ``kroma character reference`` by hand."""

from __future__ import annotations

import json

from kroma_kit.characters.samples import install_sample_characters
from kroma_kit.cli.main import main


def _json(capsys, argv: list[str], code: int = 0):
    assert main(argv) == code
    return json.loads(capsys.readouterr().out)


def test_reference_sheet_from_the_chat_adds_a_character_image(workspace, demo_project, capsys):
    install_sample_characters(workspace, demo_project, {"style_refs": ["inputs/styles/noir_ink.png"]})
    before = _json(capsys, ["character", "images", "courier", "--project", "demo", "--json"])
    turn = _json(capsys, ["chat", "send", "--project", "demo", "--json",
                          "build", "a", "reference", "sheet", "for", "the", "courier"])
    card = turn["instruction"]
    assert (card["type"], card["action"], card["status"]) == ("custom", "character_reference", "draft")
    assert main(["instructions", "confirm", "--project", "demo", card["id"]]) == 0
    capsys.readouterr()
    stats = _json(capsys, ["worker", "--once", "--project", "demo", "--json"])
    shown = _json(capsys, ["instructions", "show", "--project", "demo", card["id"], "--json"])
    assert stats["done"] == 1, shown.get("last_error")
    assert shown["status"] == "done" and shown["result"]["character"] == "courier"
    after = _json(capsys, ["character", "images", "courier", "--project", "demo", "--json"])
    new_ids = {image["id"] for image in after} - {image["id"] for image in before}
    assert new_ids and new_ids <= set(shown["result"]["image_ids"])
    run = _json(capsys, ["runs", "show", shown["result"]["run_id"], "--json"])
    assert run["status"] == "done"
