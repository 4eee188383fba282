"""``/api/projects/{slug}/voice``: speech to text, text to speech and a request's record (``kroma
voice stt|tts``), offline by default (pocketsphinx, espeak-ng). Audio travels as base64 in JSON.
``stt`` takes either audio or a ``transcript_text`` recognised elsewhere; with a ``session_id``
the transcript is also sent to that chat. As in the original, an unknown ``provider_code`` falls
back to the offline engine and is recorded as given."""

from __future__ import annotations

import base64
import binascii

from fastapi import APIRouter
from pydantic import BaseModel, Field, field_validator

from kroma_kit.copilot.voice_calls import speech_to_text, text_to_speech, voice_request
from kroma_kit.server.auth import WS, Slug
from kroma_kit.server.copilot_models import (
    ChatMessage,
    Instruction,
    VoiceRequest,
    instruction_record,
    message_record,
)
from kroma_kit.server.models import Envelope
from kroma_kit.server.routes import ERRORS

router = APIRouter(prefix="/api/projects/{slug}/voice", tags=["voice"], responses=ERRORS)
MAX_AUDIO_B64 = 36 * 1024 * 1024  # 25 MiB of audio (the default cap) as base64, with room


class SttRequest(BaseModel):
    provider_code: str | None = Field(default=None, max_length=40, description="default: the project's "
                                      "copilot.stt_backend; unknown codes use pocketsphinx")
    audio_base64: str | None = Field(default=None, min_length=4, max_length=MAX_AUDIO_B64,
                                     description="WAV, FLAC, OGG or MP3 bytes, base64")
    filename: str | None = Field(default=None, max_length=200, description="its name; the suffix tells the "
                                 "format (default audio.wav)")
    transcript_text: str | None = Field(default=None, min_length=1, max_length=4000,
                                        description="a transcript made elsewhere, recorded as the result")
    session_id: str | None = Field(default=None, max_length=64)
    create_message: bool = Field(default=True, description="with session_id: send the transcript to the chat")

    @field_validator("audio_base64")
    @classmethod
    def _base64(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                raise ValueError("audio_base64 is not valid base64") from None
        return value


class TtsRequest(BaseModel):
    text: str = Field(min_length=1, max_length=4000)
    provider_code: str | None = Field(default=None, max_length=40, description="default: the project's "
                                      "copilot.tts_backend; unknown codes use espeak-ng")
    session_id: str | None = Field(default=None, max_length=64)


class SttResponse(Envelope):
    request: VoiceRequest
    transcript: str
    message: ChatMessage | None = Field(description="the chat message the transcript became (with session_id)")
    reply: ChatMessage | None = None
    instruction: Instruction | None = None


class TtsResponse(Envelope):
    request: VoiceRequest
    mime_type: str
    audio_base64: str


class RequestResponse(Envelope):
    request: VoiceRequest


@router.post("/stt", response_model=SttResponse)
def stt(slug: Slug, body: SttRequest, ws: WS) -> dict:
    audio = base64.b64decode(body.audio_base64) if body.audio_base64 is not None else None
    answer = speech_to_text(ws, slug, audio=audio, filename=body.filename, transcript_text=body.transcript_text,
                            provider_code=body.provider_code, session_id=body.session_id,
                            create_message=body.create_message)
    turn = answer.turn
    return {"ok": True, "request": answer.request, "transcript": answer.transcript,
            "message": message_record(turn.user_message) if turn else None,
            "reply": message_record(turn.reply) if turn else None,
            "instruction": instruction_record(turn.instruction) if turn and turn.instruction else None}


@router.post("/tts", response_model=TtsResponse)
def tts(slug: Slug, body: TtsRequest, ws: WS) -> dict:
    answer = text_to_speech(ws, slug, body.text, provider_code=body.provider_code, session_id=body.session_id)
    return {"ok": True, "request": answer.request, "mime_type": answer.mime_type,
            "audio_base64": base64.b64encode(answer.audio).decode("ascii")}


@router.get("/requests/{request_id}", response_model=RequestResponse)
def request_detail(slug: Slug, request_id: str, ws: WS) -> dict:
    return {"ok": True, "request": voice_request(ws, slug, request_id)}
