"""Voice for the copilot: speech to text and text to speech, offline by default.

- STT: pocketsphinx with a JSGF grammar built from the built-in engine's commands and this
  project's names (scenes, characters, colour profiles), falling back to the free English model;
  or OpenAI transcription when ``copilot.stt_backend = "openai"``.
- TTS: espeak-ng to WAV; or OpenAI speech when ``copilot.tts_backend = "openai"``.

Every request is a ``voice_requests`` row with its latency (failed ones too); every audio file is
kept in the project (``inputs/audio/``, ``exports/voice/``) and registered as an asset.
"""

from __future__ import annotations

import re
import shutil
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from kroma_kit.catalog.assets import register_asset
from kroma_kit.catalog.chat import ChatMessage
from kroma_kit.catalog.db import transaction
from kroma_kit.catalog.voice_requests import link_message, record_voice_request
from kroma_kit.copilot.audio import load_pcm16k
from kroma_kit.copilot.context import ProjectContext
from kroma_kit.copilot.grammar import complete_sentence, jsgf_grammar, jsgf_matcher, parse
from kroma_kit.errors import InputError, KromaError
from kroma_kit.imaging import sanitize_stem
from kroma_kit.providers import stt_pocketsphinx, tts_espeak
from kroma_kit.providers.speech_openai import OpenAISpeech
from kroma_kit.storage.atomic import atomic_write_bytes
from kroma_kit.workspace import ProjectLayout, Workspace


@dataclass
class TranscriptResult:
    text: str
    backend: str
    mode: str
    seconds: float
    latency_ms: int
    request_id: str
    input_asset_id: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class SpeechResult:
    path: str
    backend: str
    latency_ms: int
    request_id: str
    output_asset_id: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")


def _register(ws: Workspace, ctx: ProjectContext, path: Path, role: str) -> str:
    mime = {".wav": "audio/wav", ".flac": "audio/flac", ".ogg": "audio/ogg", ".mp3": "audio/mpeg"}
    conn = ws.connect()
    try:
        with transaction(conn):
            return register_asset(conn, ctx.project_id, path, "other", project_root=ctx.root,
                                  metadata={"role": role, "mime": mime.get(path.suffix.lower(), "audio/wav")})
    finally:
        conn.close()


@lru_cache(maxsize=8)
def _recogniser(grammar: str) -> tuple[stt_pocketsphinx.PocketsphinxSTT, re.Pattern[str]]:
    return stt_pocketsphinx.PocketsphinxSTT(grammar), jsgf_matcher(grammar)


def recogniser_for(ctx: ProjectContext) -> tuple[stt_pocketsphinx.PocketsphinxSTT, re.Pattern[str]]:
    """The offline recogniser for this project's grammar and the matcher of its complete
    sentences (both cached per grammar in the process)."""
    return _recogniser(jsgf_grammar(ctx, known_word=stt_pocketsphinx.known_word))


OFFLINE_STT, OFFLINE_TTS = "pocketsphinx", "espeak"


def choose_backend(provider_code: str | None, project_default: str, offline: str) -> tuple[str, str]:
    """``(backend to use, provider code to record)`` for a request naming ``provider_code``.

    None or a ``*_default`` code: the project's configured backend. The project's backend or the
    offline engine by name: that one. Any other code (an unknown one, or a paid backend the
    project has not chosen) falls back to the offline engine, as the original tool did, and is
    recorded as given so the request shows what the client asked for."""
    code = (provider_code or "").strip()
    if not code or code.lower() in ("default", "stt_default", "tts_default"):
        return project_default, code or project_default
    if code.lower() in (project_default, offline):
        return code.lower(), code
    return offline, code


def transcribe(ws: Workspace, slug: str, file: str | Path, *, session_id: str | None = None,
               provider_code: str | None = None) -> TranscriptResult:
    """Keep ``file`` in the project, transcribe it, record the request (also when it fails)."""
    ctx = ProjectContext.load(ws, slug)
    settings = ctx.settings
    backend, code = choose_backend(provider_code, settings.stt_backend, OFFLINE_STT)
    source = Path(file)
    started = time.perf_counter()
    clip = load_pcm16k(source,  # validated before anything is copied in
                       max_bytes=settings.max_audio_bytes, max_seconds=settings.max_audio_seconds)
    layout = ProjectLayout(ctx.root)
    kept = layout.inputs / "audio" / f"{_stamp()}_{sanitize_stem(source.name, 'audio')}{source.suffix.lower()}"
    kept.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(kept, source.read_bytes())
    asset_id = _register(ws, ctx, kept, "voice_input")
    model = settings.stt_model if backend == "openai" else None
    try:
        if backend == "openai":
            text, usage = OpenAISpeech.from_env().transcribe(kept.read_bytes(), kept.name, model=settings.stt_model)
            mode, meta = "cloud", {"usage": usage}
        else:
            recogniser, sentences = recogniser_for(ctx)
            heard = recogniser.transcribe(clip.pcm, accept=lambda t: complete_sentence(sentences, t)
                                          and parse(t, ctx) is not None)
            text, mode, meta = heard.text, heard.mode, {"score": heard.score}
    except KromaError as exc:
        record_voice_request(ws, ctx.project_id, "stt", code, status="failed", model_name=model,
                             latency_ms=_ms(started), input_asset_id=asset_id, session_id=session_id, error=str(exc))
        raise
    latency = _ms(started)
    row = record_voice_request(ws, ctx.project_id, "stt", code, status="done", text=text, model_name=model,
                               latency_ms=latency, input_asset_id=asset_id, session_id=session_id,
                               meta={**meta, "mode": mode, "backend": backend, "seconds": round(clip.seconds, 3),
                                     "format": clip.source_format})
    if not text:
        raise InputError(f"No speech recognised in {source.name} ({clip.seconds:.1f} s); speak a command such as "
                         "'show the status'.")
    return TranscriptResult(text, backend, mode, round(clip.seconds, 3), latency, row["id"], asset_id)


def attach_to_message(ws: Workspace, result: TranscriptResult, message: ChatMessage) -> None:
    """Link a transcript's voice request to the chat message it became."""
    link_message(ws, result.request_id, message.id, message.session_id)


def speak(ws: Workspace, slug: str, text: str, *, out: str | Path | None = None,
          session_id: str | None = None, provider_code: str | None = None) -> SpeechResult:
    """Speak ``text`` into ``exports/voice/<stamp>.wav`` (an asset), copied to ``out`` when given."""
    if not text.strip():
        raise InputError("Nothing to say: the text is empty.")
    ctx = ProjectContext.load(ws, slug)
    settings = ctx.settings
    target = ProjectLayout(ctx.root).exports / "voice" / f"tts_{_stamp()}.wav"
    backend, code = choose_backend(provider_code, settings.tts_backend, OFFLINE_TTS)
    started = time.perf_counter()
    try:
        if backend == "openai":
            audio = OpenAISpeech.from_env().speak(text, model=settings.tts_model, voice=settings.tts_voice)
            target.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(target, audio)
        else:
            tts_espeak.speak_to_wav(text, target, voice=settings.espeak_voice)
    except KromaError as exc:
        record_voice_request(ws, ctx.project_id, "tts", code, status="failed", text=text,
                             latency_ms=_ms(started), session_id=session_id, error=str(exc))
        raise
    latency = _ms(started)
    asset_id = _register(ws, ctx, target, "voice_output")
    row = record_voice_request(ws, ctx.project_id, "tts", code, status="done", text=text,
                               model_name=settings.tts_model if backend == "openai" else settings.espeak_voice,
                               latency_ms=latency, output_asset_id=asset_id, session_id=session_id,
                               meta={"bytes": target.stat().st_size, "backend": backend})
    final = target
    if out is not None:
        final = Path(out).expanduser().resolve()
        final.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(target, final)
    return SpeechResult(str(final), backend, latency, row["id"], asset_id)


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)
