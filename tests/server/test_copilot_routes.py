"""The copilot over a real server: chat sessions and messages (a user message is a chat turn the
copilot answers), agent instructions (created, confirmed, executed by the worker, events read
back; the lifecycle refuses illegal moves), and voice (stt with a transcript or a WAV made by
espeak-ng and recognised by pocketsphinx, tts returning a WAV, request detail, unknown provider
codes falling back to the offline engine and recorded as given)."""

from __future__ import annotations

import base64
import io
import shutil
import subprocess
import wave

import pytest

from tests.server.conftest import assert_error

needs_espeak = pytest.mark.skipif(not shutil.which("espeak-ng"), reason="needs Debian espeak-ng")


def _drain(api) -> None:
    """What ``kroma worker --drain --project demo`` does: run every queued instruction."""
    from kroma_kit.copilot.worker import WorkerOptions, run_worker

    run_worker(api.ws, WorkerOptions(drain=True, project="demo", poll_interval_s=0.1))


@pytest.fixture(scope="module")
def session_id(api) -> str:
    with api.client() as http:
        created = http.post("/api/projects/demo/chat/sessions", json={"title": "API chat",
                                                                      "context_json": {"from": "tests"}})
    assert created.status_code == 200, created.text
    session = created.json()["session"]
    assert (session["title"], session["status"], session["context"]) == ("API chat", "active", {"from": "tests"})
    return session["id"]


def test_chat_sessions_and_messages(client, session_id):
    listed = client.get("/api/projects/demo/chat/sessions").json()
    assert session_id in [s["id"] for s in listed["sessions"]] and listed["count"] == len(listed["sessions"])
    assert client.get(f"/api/projects/demo/chat/sessions/{session_id}").json()["session"]["id"] == session_id
    turn = client.post(f"/api/projects/demo/chat/sessions/{session_id}/messages",
                       json={"content_text": "show the status"}).json()
    assert turn["message"]["role"] == "user" and turn["message"]["content_text"] == "show the status"
    assert turn["reply"]["role"] == "assistant" and turn["reply"]["text"].startswith("Project demo:")
    assert turn["instruction"] is None
    tool = client.post(f"/api/projects/demo/chat/sessions/{session_id}/messages",
                       json={"role": "tool", "text": "agent log line", "content_json": {"step": 1}}).json()
    assert tool["message"]["data"] == {"step": 1} and tool["reply"] is None
    messages = client.get(f"/api/projects/demo/chat/sessions/{session_id}/messages").json()
    assert [m["role"] for m in messages["messages"]][-3:] == ["user", "assistant", "tool"]
    assert messages["session"]["id"] == session_id
    assert_error(client.post(f"/api/projects/demo/chat/sessions/{session_id}/messages", json={}), 400,
                 "validation_error")
    assert_error(client.post(f"/api/projects/demo/chat/sessions/{session_id}/messages",
                             json={"role": "robot", "text": "x"}), 400, "validation_error")
    assert_error(client.get("/api/projects/demo/chat/sessions/00000000-0000-4000-8000-00000000dead"), 404,
                 "not_found")
    assert_error(client.get(f"/api/projects/other/chat/sessions/{session_id}"), 404, "not_found")
    assert_error(client.get(f"/api/projects/other/chat/sessions/{session_id}/messages"), 404, "not_found")


def test_chat_draft_is_queued_and_the_worker_runs_it(api, client, session_id):
    turn = client.post(f"/api/projects/demo/chat/sessions/{session_id}/messages",
                       json={"text": "dry run the style stage"}).json()
    item = turn["instruction"]
    assert (item["instruction_type"], item["action"], item["status"]) == ("pipeline_run", "dry_run", "queued")
    _drain(api)
    done = client.get(f"/api/projects/demo/agent/instructions/{item['id']}").json()["instruction"]
    assert done["status"] == "done", done["last_error"]
    run = client.get(f"/api/projects/demo/runs/{done['result']['run_id']}").json()["run"]
    assert run["run_mode"] == "dry" and run["status"] == "planned"


def test_instruction_created_confirmed_executed_and_events(api, client):
    body = {"instruction_type": "pipeline_run", "requires_confirmation": True, "priority": 5,
            "payload_json": {"objective": "Plan the style stage", "execution": {"action": "dry_run", "stage": "style"}}}
    created = client.post("/api/projects/demo/agent/instructions", json=body)
    assert created.status_code == 200, created.text
    item = created.json()["instruction"]
    assert (item["status"], item["requires_confirmation"], item["priority"], item["objective"]) == \
        ("draft", True, 5, "Plan the style stage")
    assert item["payload"]["constraints"]["confirmation_reason"] == "confirmation requested by the caller"
    _drain(api)  # a draft is not run
    assert client.get(f"/api/projects/demo/agent/instructions/{item['id']}").json()["instruction"]["status"] == "draft"
    listed = client.get("/api/projects/demo/agent/instructions", params={"status": "draft"}).json()
    assert item["id"] in [i["id"] for i in listed["instructions"]]
    assert all(i["status"] == "draft" for i in listed["instructions"])
    confirmed = client.post(f"/api/projects/demo/agent/instructions/{item['id']}/confirm", json={}).json()
    assert confirmed["instruction"]["status"] == "queued"
    _drain(api)
    done = client.get(f"/api/projects/demo/agent/instructions/{item['id']}").json()["instruction"]
    assert done["status"] == "done" and done["result"]["jobs"] == 4 and done["attempts"] == 1
    events = client.get(f"/api/projects/demo/agent/instructions/{item['id']}/events").json()
    kinds = [e["event_type"] for e in events["events"]]
    assert kinds[:2] == ["created", "confirmed"] and "started" in kinds and events["count"] == len(kinds)
    assert [e["status_to"] for e in events["events"] if e["status_to"]][-1] == "done"
    assert [e["seq"] for e in events["events"]] == sorted(e["seq"] for e in events["events"])
    # The lifecycle holds: a done instruction is neither confirmed nor canceled again.
    assert_error(client.post(f"/api/projects/demo/agent/instructions/{item['id']}/confirm", json={}), 400,
                 "invalid_request")
    assert_error(client.post(f"/api/projects/demo/agent/instructions/{item['id']}/cancel", json={}), 400,
                 "invalid_request")
    assert_error(client.get(f"/api/projects/other/agent/instructions/{item['id']}"), 404, "not_found")
    assert_error(client.get(f"/api/projects/other/agent/instructions/{item['id']}/events"), 404, "not_found")


def test_instruction_cancel_and_bad_requests(client):
    draft = client.post("/api/projects/demo/agent/instructions", json={
        "instruction_type": "asset_edit", "payload": {"execution": {"action": "archive_bad"}}}).json()["instruction"]
    assert draft["status"] == "draft"  # moving files always waits for a person
    canceled = client.post(f"/api/projects/demo/agent/instructions/{draft['id']}/cancel",
                           json={"reason": "changed my mind"}).json()["instruction"]
    assert canceled["status"] == "canceled" and canceled["finished_at"]
    events = client.get(f"/api/projects/demo/agent/instructions/{draft['id']}/events").json()["events"]
    assert events[-1]["event_type"] == "canceled" and events[-1]["message"] == "changed my mind"
    assert_error(client.post(f"/api/projects/demo/agent/instructions/{draft['id']}/confirm", json={}), 400,
                 "invalid_request")
    for bad in ({"instruction_type": "teleport"}, {"instruction_type": "asset_edit"},
                {"instruction_type": "storage_sync", "payload": {"execution": {"action": "dry_run"}}},
                {"instruction_type": "qa_check", "payload": {"inputs": {"path": "../../etc/passwd"}}},
                {"instruction_type": "qa_check", "session_id": "00000000-0000-4000-8000-00000000dead"},
                {"payload": {}}):
        response = client.post("/api/projects/demo/agent/instructions", json=bad)
        assert response.status_code in (400, 404), (bad, response.text)
        assert response.json()["ok"] is False
    assert_error(client.get("/api/projects/demo/agent/instructions", params={"status": "sleeping"}), 400,
                 "validation_error")
    assert_error(client.get("/api/projects/demo/agent/instructions/deadbeef-none"), 404, "not_found")


def test_stt_with_transcript_text_goes_to_the_chat(client, session_id):
    answer = client.post("/api/projects/demo/voice/stt", json={
        "transcript_text": "show the status", "session_id": session_id, "provider_code": "acme_whisper"}).json()
    request = answer["request"]
    assert (request["direction"], request["status"], request["text"]) == ("stt", "done", "show the status")
    assert request["provider_code"] == "acme_whisper" and request["meta"]["mode"] == "transcript"
    assert answer["message"]["text"] == "show the status" and answer["reply"]["text"].startswith("Project demo:")
    assert request["message_id"] == answer["message"]["id"] and request["session_id"] == session_id
    detail = client.get(f"/api/projects/demo/voice/requests/{request['id']}").json()["request"]
    assert detail == request
    assert_error(client.get(f"/api/projects/other/voice/requests/{request['id']}"), 404, "not_found")
    assert_error(client.get("/api/projects/demo/voice/requests/nope"), 404, "not_found")
    alone = client.post("/api/projects/demo/voice/stt", json={"transcript_text": "hello"}).json()
    assert alone["message"] is None and alone["request"]["provider_code"] == "stt_default"
    assert_error(client.post("/api/projects/demo/voice/stt", json={}), 400, "validation_error")
    assert_error(client.post("/api/projects/demo/voice/stt", json={"transcript_text": "x", "audio_base64": "UklG"}),
                 400, "validation_error")
    assert_error(client.post("/api/projects/demo/voice/stt", json={"audio_base64": "not base64 !!"}), 400,
                 "validation_error")
    assert_error(client.post("/api/projects/demo/voice/stt", json={"transcript_text": "x", "session_id": "nope00"}),
                 404, "not_found")


@needs_espeak
def test_stt_with_a_wav_and_an_unknown_provider_falls_back_offline(client, tmp_path):
    wav = tmp_path / "status.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-w", str(wav), "show the status"], check=True, capture_output=True)
    answer = client.post("/api/projects/demo/voice/stt", json={
        "audio_base64": base64.b64encode(wav.read_bytes()).decode(), "filename": "status.wav",
        "provider_code": "made_up_engine"})
    assert answer.status_code == 200, answer.text
    request = answer.json()["request"]
    assert answer.json()["transcript"] == "show the status"
    assert request["provider_code"] == "made_up_engine" and request["meta"]["backend"] == "pocketsphinx"
    assert request["input_asset_id"] and request["latency_ms"] is not None
    junk = client.post("/api/projects/demo/voice/stt", json={"audio_base64": base64.b64encode(b"junk" * 10).decode(),
                                                             "filename": "x.wav"})
    assert_error(junk, 400, "validation_error")


@needs_espeak
def test_tts_returns_audio(client):
    answer = client.post("/api/projects/demo/voice/tts", json={"text": "Dry run planned.", "provider_code": "zzz"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    audio = base64.b64decode(body["audio_base64"])
    assert body["mime_type"] == "audio/wav" and audio[:4] == b"RIFF"
    with wave.open(io.BytesIO(audio)) as clip:
        assert clip.getnframes() / clip.getframerate() > 0.3
    request = body["request"]
    assert (request["direction"], request["provider_code"], request["meta"]["backend"]) == ("tts", "zzz", "espeak")
    assert request["output_asset_id"] and request["meta"]["bytes"] == len(audio)
    assert client.get(f"/api/projects/demo/voice/requests/{request['id']}").json()["request"]["id"] == request["id"]
    assert_error(client.post("/api/projects/demo/voice/tts", json={"text": ""}), 400, "validation_error")
