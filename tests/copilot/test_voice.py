"""Voice: formats and caps, espeak-ng TTS, OpenAI transcription/speech against a fake, the CLI
twins, and a voice_requests row (with latency) for every request, failed ones included."""

from __future__ import annotations

import json
import shutil
import subprocess
import wave
from pathlib import Path

import pytest

from kroma_kit.cli.main import main
from tests.fakes.chat_completions_server import ChatCompletionsServer, error_reply

needs_tools = pytest.mark.skipif(not shutil.which("espeak-ng") or not shutil.which("sox"),
                                 reason="needs Debian espeak-ng and sox")


def _say(text: str, out: Path) -> Path:
    subprocess.run(["espeak-ng", "-v", "en-us", "-w", str(out), text], check=True, capture_output=True)
    return out


@needs_tools
@pytest.mark.parametrize("fmt", ["flac", "ogg", "mp3"])
def test_other_formats_are_converted(shared_ws, ctx, tmp_path, fmt):
    from kroma_kit.copilot.voice import transcribe

    wav = _say("show the status", tmp_path / "s.wav")
    other = tmp_path / f"s.{fmt}"
    quality = ["-C", "128"] if fmt == "mp3" else []  # sox's default 32 kb/s MP3 is too lossy to recognise
    subprocess.run(["sox", str(wav), *quality, str(other)], check=True, capture_output=True)
    result = transcribe(shared_ws, "demo", other)
    assert result.text == "show the status" and result.mode == "grammar"


@needs_tools
def test_caps_and_bad_files_are_refused_and_out_of_grammar_falls_back(shared_ws, ctx, tmp_path, monkeypatch):
    from kroma_kit.catalog.voice_requests import list_voice_requests
    from kroma_kit.copilot.voice import transcribe
    from kroma_kit.errors import InputError

    aiff = tmp_path / "x.aiff"
    aiff.write_bytes(b"FORM")
    with pytest.raises(InputError, match="unsupported audio format"):
        transcribe(shared_ws, "demo", aiff)
    junk = tmp_path / "junk.mp3"
    junk.write_bytes(b"not audio at all" * 10)
    with pytest.raises(InputError, match="not readable mp3"):
        transcribe(shared_ws, "demo", junk)
    settings = ctx.root / ".kroma" / "pipeline.settings.toml"
    settings.write_text("[copilot]\nmax_audio_seconds = 1.0\n")
    try:
        with pytest.raises(InputError, match="the limit is 1 s"):
            transcribe(shared_ws, "demo", _say("dry run the night stage for street", tmp_path / "long.wav"))
    finally:
        settings.unlink()
    before = len(list_voice_requests(shared_ws, ctx.project_id))
    free = transcribe(shared_ws, "demo", _say("what a lovely day it is", tmp_path / "free.wav"))
    assert free.mode in ("free", "none")
    assert len(list_voice_requests(shared_ws, ctx.project_id)) == before + 1


@needs_tools
def test_cli_tts_then_stt_send(kroma_home, workspace, demo_project, tmp_path, capsys):
    out = tmp_path / "reply.wav"
    assert main(["voice", "tts", "--project", "demo", "--out", str(out), "--json", "upscale", "the", "outputs",
                 "by", "four"]) == 0
    spoken = json.loads(capsys.readouterr().out)
    with wave.open(str(out)) as clip:
        assert clip.getnframes() > 10000
    assert spoken["backend"] == "espeak" and spoken["output_asset_id"]
    assert main(["voice", "stt", "--project", "demo", "--send", "--json", str(out)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["text"] == "upscale the outputs by four"
    card = data["turn"]["instruction"]
    assert (card["type"], card["action"], card["status"]) == ("asset_edit", "postprocess", "draft")
    assert data["turn"]["user_message"]["voice_asset_id"] == data["input_asset_id"]


def test_openai_backends_against_a_fake(kroma_home, workspace, demo_project, tmp_path, monkeypatch):
    from kroma_kit.catalog.voice_requests import get_voice_request
    from kroma_kit.copilot.voice import speak, transcribe
    from kroma_kit.errors import ProviderError

    settings = Path(demo_project["root"]) / ".kroma" / "pipeline.settings.toml"
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text('[copilot]\nstt_backend = "openai"\ntts_backend = "openai"\nstt_model = "whisper-1"\n')
    with ChatCompletionsServer() as fake:
        monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        reply = speak(workspace, "demo", "Instruction done.", out=tmp_path / "r.wav")
        assert reply.backend == "openai" and fake.requests[-1].json["input"] == "Instruction done."
        assert fake.requests[-1].json["response_format"] == "wav"
        result = transcribe(workspace, "demo", tmp_path / "r.wav")
        sent = fake.requests[-1]
        assert sent.fields["model"] == "whisper-1" and sent.files["file"][0].endswith(".wav")
        assert sent.headers["authorization"] == "Bearer sk-test"
        assert result.text == "show the status" and result.backend == "openai"
        assert get_voice_request(workspace, result.request_id)["meta"]["usage"]["seconds"] == 1
        fake.script("/v1/audio/transcriptions", *[error_reply(400, "bad audio", kind="invalid_request_error")])
        with pytest.raises(ProviderError, match="bad audio"):
            transcribe(workspace, "demo", tmp_path / "r.wav")
    conn = workspace.connect()
    failed = conn.execute("SELECT error, latency_ms FROM voice_requests WHERE status = 'failed'").fetchall()
    conn.close()
    assert len(failed) == 1 and "bad audio" in failed[0]["error"] and failed[0]["latency_ms"] is not None
