"""The CLI twins: ``kroma chat``, ``kroma instructions`` and ``kroma worker`` with ``--json``, as
a person would use them: ask, read the card with its dry-run estimate, confirm, run, read events."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kroma_kit.cli.main import main


def _json(capsys, argv: list[str], code: int = 0):
    assert main(argv) == code
    return json.loads(capsys.readouterr().out)


def test_chat_to_done_through_the_cli(workspace, demo_project, capsys):
    session = _json(capsys, ["chat", "new", "--project", "demo", "--title", "night work", "--json"])
    assert session["title"] == "night work" and session["status"] == "active"
    turn = _json(capsys, ["chat", "send", "--project", "demo", "--session", session["id"], "--json",
                          "generate", "two", "candidates", "for", "street", "at", "night"])
    card = turn["instruction"]
    assert (card["type"], card["action"], card["status"]) == ("pipeline_run", "run", "draft")
    assert card["estimate"]["jobs"] == 1 and card["estimate"]["candidates"] == 2
    assert "archives the outputs" in card["confirmation_reason"]
    assert "Confirm to run it" in turn["reply"]["text"]

    listed = _json(capsys, ["instructions", "list", "--project", "demo", "--status", "draft", "--json"])
    assert [c["id"] for c in listed] == [card["id"]]
    assert main(["instructions", "confirm", "--project", "demo", card["id"][:8]]) == 0
    capsys.readouterr()
    assert main(["instructions", "confirm", "--project", "demo", card["id"]]) == 2
    assert "only a draft can be confirmed" in capsys.readouterr().err

    stats = _json(capsys, ["worker", "--once", "--project", "demo", "--json"])
    assert stats["done"] == 1
    shown = _json(capsys, ["instructions", "show", "--project", "demo", card["id"], "--json"])
    assert shown["status"] == "done" and shown["result"]["jobs_done"] == 1
    assert shown["payload"]["execution"] == {"action": "run", "stage": "time", "time": "night", "weather": "clear",
                                             "candidates": 2}
    events = _json(capsys, ["instructions", "events", "--project", "demo", card["id"], "--json"])
    assert [e["event_type"] for e in events] == ["created", "confirmed", "started", "run_started", "job_done",
                                                 "result"]
    transcript = _json(capsys, ["chat", "show", "--project", "demo", session["id"], "--json"])
    roles = [m["role"] for m in transcript["messages"]]
    assert roles == ["user", "assistant", "assistant", "assistant"]
    assert "done" in transcript["messages"][-1]["text"]

    for words in (["make", "candidate", "1", "the", "winner", "for", "street"],
                  ["apply", "the", "cinematic", "warm", "colour", "profile", "to", "street"]):
        draft = _json(capsys, ["chat", "send", "--project", "demo", "--json", *words])["instruction"]
        assert main(["instructions", "confirm", "--project", "demo", draft["id"]]) == 0
        capsys.readouterr()
    stats = _json(capsys, ["worker", "--drain", "--project", "demo", "--json"])
    listed = _json(capsys, ["instructions", "list", "--project", "demo", "--json"])
    assert stats["done"] == 2, [(c["action"], c["last_error"]) for c in listed]
    winner, graded = _json(capsys, ["instructions", "list", "--project", "demo", "--json"])[:2][::-1]
    assert winner["result"]["job"] == "time_1_street" and winner["result"]["run_id"] == shown["result"]["run_id"]
    [step] = graded["result"]["steps"]
    assert step["step"] == "color" and len(step["outputs"]) == 1 and Path(step["outputs"][0]).is_file()
    assert Path(step["outputs"][0]).parent.name == "color_corrected"

    answer = _json(capsys, ["chat", "send", "--project", "demo", "--json", "show", "the", "costs"])
    assert answer["instruction"] is None and "has spent $0.0000 over 1 run " in answer["reply"]["text"]


def test_cancel_and_project_scope(workspace, demo_project, capsys):
    from kroma_kit.catalog.projects import create_project

    create_project(workspace, "other", "Other")
    turn = _json(capsys, ["chat", "send", "--project", "demo", "--json", "archive", "the", "bad", "outputs"])
    ident = turn["instruction"]["id"]
    assert main(["instructions", "show", "--project", "other", ident]) == 2
    assert "Unknown instruction" in capsys.readouterr().err
    assert main(["chat", "send", "--project", "other", "--session", turn["session_id"], "hello"]) == 2
    assert "Unknown chat session" in capsys.readouterr().err
    canceled = _json(capsys, ["instructions", "cancel", "--project", "demo", ident, "--reason", "no", "--json"])
    assert canceled["status"] == "canceled"
    assert main(["instructions", "cancel", "--project", "demo", ident]) == 2
    assert "already canceled" in capsys.readouterr().err


def test_settings_disallow_a_type(workspace, demo_project, capsys):
    settings = Path(demo_project["root"]) / ".kroma" / "pipeline.settings.toml"
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text('[copilot]\nallowed_instruction_types = ["qa_check", "pipeline_run"]\n')
    turn = _json(capsys, ["chat", "send", "--project", "demo", "--json", "upscale", "by", "4"])
    assert turn["instruction"] is None
    assert "asset_edit instructions are not allowed in project demo" in turn["reply"]["text"]


@pytest.mark.parametrize("text", ["", "   "])
def test_empty_message_is_refused(workspace, demo_project, capsys, text):
    assert main(["chat", "send", "--project", "demo", text]) == 2
    assert "empty" in capsys.readouterr().err
