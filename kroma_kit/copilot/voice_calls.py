"""Speech requests as a remote client makes them (``POST .../voice/stt|tts``): audio arrives as
bytes rather than a file on this machine, speech to text may bring its own ``transcript_text``
(recognised elsewhere; recorded, not re-recognised), and the answer to text to speech carries the
audio itself. Recognition and synthesis are :func:`~kroma_kit.copilot.voice.transcribe` and
:func:`~kroma_kit.copilot.voice.speak`, as for the CLI and the ChatPanel."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kroma_kit.catalog.projects import get_project
from kroma_kit.catalog.voice_requests import get_voice_request, link_message, record_voice_request
from kroma_kit.copilot.service import ChatTurn, send_message
from kroma_kit.copilot.sessions import project_session
from kroma_kit.copilot.voice import speak, transcribe
from kroma_kit.errors import InputError
from kroma_kit.imaging import sanitize_stem
from kroma_kit.workspace import Workspace

MAX_TRANSCRIPT_CHARS = 4000


@dataclass
class SttAnswer:
    request: dict[str, Any]
    transcript: str
    turn: ChatTurn | None = None


@dataclass
class TtsAnswer:
    request: dict[str, Any]
    audio: bytes
    mime_type: str


def speech_to_text(ws: Workspace, slug: str, *, audio: bytes | None = None, filename: str | None = None,
                   transcript_text: str | None = None, provider_code: str | None = None,
                   session_id: str | None = None, create_message: bool = True) -> SttAnswer:
    """Transcribe ``audio`` (or take ``transcript_text`` as given) and record the request; with a
    session and ``create_message`` the transcript is also sent to that chat (the copilot answers)."""
    if (audio is None) == (transcript_text is None):
        raise InputError("Give either audio (audio_base64) or transcript_text, not both and not neither.")
    session = project_session(ws, slug, session_id) if session_id else None
    if transcript_text is not None:
        text = transcript_text.strip()
        if not text or len(text) > MAX_TRANSCRIPT_CHARS:
            raise InputError(f"transcript_text must hold 1 to {MAX_TRANSCRIPT_CHARS} characters.")
        request = record_voice_request(ws, get_project(ws, slug)["id"], "stt", provider_code or "stt_default",
                                       status="done", text=text, session_id=session.id if session else None,
                                       meta={"mode": "transcript", "backend": None})
        input_asset_id = None
    else:
        assert audio is not None
        suffix = Path(filename or "audio.wav").suffix.lower() or ".wav"
        with tempfile.TemporaryDirectory(prefix="kroma-stt-") as tmp:
            source = Path(tmp) / f"{sanitize_stem(Path(filename or 'audio').stem, 'audio')}{suffix}"
            source.write_bytes(audio)
            result = transcribe(ws, slug, source, session_id=session.id if session else None,
                                provider_code=provider_code)
        request, text, input_asset_id = get_voice_request(ws, result.request_id), result.text, result.input_asset_id
    turn = None
    if session is not None and create_message:
        turn = send_message(ws, slug, text, session_id=session.id, voice_asset_id=input_asset_id)
        link_message(ws, request["id"], turn.user_message.id, session.id)
        request = get_voice_request(ws, request["id"])
    return SttAnswer(request, text, turn)


def text_to_speech(ws: Workspace, slug: str, text: str, *, provider_code: str | None = None,
                   session_id: str | None = None) -> TtsAnswer:
    """Speak ``text`` into the project (``exports/voice/``, an asset) and answer with the audio."""
    session = project_session(ws, slug, session_id) if session_id else None
    result = speak(ws, slug, text, session_id=session.id if session else None, provider_code=provider_code)
    return TtsAnswer(get_voice_request(ws, result.request_id), Path(result.path).read_bytes(), "audio/wav")


def voice_request(ws: Workspace, slug: str, request_id: str) -> dict[str, Any]:
    return get_voice_request(ws, request_id, project_id=get_project(ws, slug)["id"])
