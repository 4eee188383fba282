"""ChatPanel as an artist uses it: type, read the card, click Cancel or Confirm, upload a voice
note, hear the reply. Buttons are clicked for real (``Button.click()``)."""

from __future__ import annotations

import shutil
import subprocess

import pytest


def _buttons(panel, css: str):
    return [w for card in panel.card_box.children for w in card.children[1].children if css in w._dom_classes]


def test_send_cancel_confirm_and_run(workspace, demo_project):
    from kroma_kit.widgets import ChatPanel

    panel = ChatPanel(workspace, project="demo")
    assert "Ask the copilot" in panel.transcript.value
    panel.text.value = "archive the bad outputs"
    panel.send_button.click()
    assert [c["status"] for c in panel.cards] == ["draft"]
    assert "Needs confirmation" in panel.card_box.children[0].children[0].value
    _buttons(panel, "kk-chat-cancel")[0].click()
    assert [c["status"] for c in panel.cards] == ["canceled"] and not _buttons(panel, "kk-chat-confirm")
    panel.send("sync the project")
    _buttons(panel, "kk-chat-confirm")[0].click()
    assert panel.cards[-1]["status"] == "queued"
    panel.run_queued_and_wait(timeout=60)
    assert panel.cards[-1]["status"] == "failed" and "S3 storage is disabled" in panel.cards[-1]["last_error"]
    assert "kk-chat-msg" in panel.transcript.value and panel.last_error is None
    panel.send("please make me a sandwich")
    assert panel.messages[-1].text.startswith("I did not understand, try:")


@pytest.mark.skipif(not shutil.which("espeak-ng") or not shutil.which("sox"), reason="needs espeak-ng and sox")
def test_voice_upload_and_spoken_reply(workspace, demo_project, tmp_path):
    from kroma_kit.widgets import ChatPanel

    wav = tmp_path / "note.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-w", str(wav), "check the quality of the outputs"], check=True)
    panel = ChatPanel(workspace, project="demo", speak_replies=True)
    panel._on_upload({"new": ({"name": "note.wav", "content": memoryview(wav.read_bytes())},)})
    assert panel.last_error is None, panel.last_error
    assert panel.messages[0].text == "check the quality of the outputs" and panel.messages[0].voice_asset_id
    assert panel.cards[0]["action"] == "qa_check"
    assert panel.audio.value[:4] == b"RIFF" and len(panel.audio.value) > 10000
