"""OpenAI audio: transcriptions (multipart, ``gpt-4o-mini-transcribe`` / ``whisper-1``) and speech
(JSON in, audio bytes out), provider-wire.md §2. Base URL from ``OPENAI_BASE_URL``; retries through
the providers' shared loop; ``transport`` for tests and gateways."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import httpx

from kroma_kit.errors import ProviderError, ProviderNotConfigured
from kroma_kit.providers.http import RetryPolicy, send_with_retries

DEFAULT_BASE_URL = "https://api.openai.com/v1"
MIME = {".wav": "audio/wav", ".flac": "audio/flac", ".ogg": "audio/ogg", ".mp3": "audio/mpeg"}


@dataclass
class OpenAISpeech:
    api_key: str | None
    base_url: str = DEFAULT_BASE_URL
    timeout_s: float = 120.0
    policy: RetryPolicy | None = None
    transport: httpx.BaseTransport | None = None
    code: str = "openai"

    @classmethod
    def from_env(cls, base_url: str | None = None) -> OpenAISpeech:
        base = (base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        key = os.environ.get("OPENAI_API_KEY")
        if not key and base == DEFAULT_BASE_URL:
            raise ProviderNotConfigured("OpenAI speech needs OPENAI_API_KEY (or OPENAI_BASE_URL for a compatible "
                                        "server); the offline backends are pocketsphinx and espeak.",
                                        provider="openai")
        return cls(api_key=key, base_url=base)

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    def _send(self, build) -> httpx.Response:
        with httpx.Client(timeout=self.timeout_s, transport=self.transport) as client:
            response, _ = send_with_retries(client, lambda: build(client), provider="openai_audio",
                                            policy=self.policy or RetryPolicy(max_attempts=3))
        return response

    def transcribe(self, audio: bytes, filename: str, *, model: str = "gpt-4o-mini-transcribe",
                   language: str | None = "en", prompt: str | None = None) -> tuple[str, dict[str, Any]]:
        suffix = "." + filename.rsplit(".", 1)[-1].lower() if "." in filename else ".wav"
        fields = {"model": model, "response_format": "json"}
        if language:
            fields["language"] = language
        if prompt:
            fields["prompt"] = prompt

        def build(client: httpx.Client) -> httpx.Request:
            return client.build_request("POST", f"{self.base_url}/audio/transcriptions", headers=self._headers(),
                                        data=fields, files={"file": (filename, audio, MIME.get(suffix, "audio/wav"))})

        response = self._send(build)
        try:
            body = response.json()
            return str(body["text"]).strip(), dict(body.get("usage") or {})
        except (ValueError, KeyError, TypeError):
            raise ProviderError(f"openai transcription: unexpected answer {response.text[:200]!r}",
                                provider="openai") from None

    def speak(self, text: str, *, model: str = "gpt-4o-mini-tts", voice: str = "alloy") -> bytes:
        """WAV bytes for ``text``."""
        body = {"model": model, "input": text[:4096], "voice": voice, "response_format": "wav"}
        response = self._send(lambda client: client.build_request(
            "POST", f"{self.base_url}/audio/speech", headers=self._headers(), json=body))
        if not response.content:
            raise ProviderError("openai speech: empty audio in the answer.", provider="openai")
        return response.content
