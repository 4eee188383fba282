"""A small OpenAI-compatible chat-completions client for structured answers
(``POST {base_url}/chat/completions`` with ``response_format: json_schema``, provider-wire.md §3).

Works against OpenAI and the OpenAI-compatible local servers (Ollama, llama.cpp, vLLM): the base
URL, model and key are the caller's; no key is sent when there is none (local servers ignore it).
One try only: a suggestion is cheap to ask again, and the caller falls back to its template.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from kroma_kit.errors import ProviderError
from kroma_kit.providers.http import error_message


@dataclass
class ChatAnswer:
    """The parsed JSON object the model returned, with the usage and latency of the call."""

    data: dict[str, Any]
    model: str
    usage: dict[str, Any] = field(default_factory=dict)
    latency_ms: int = 0


def chat_url(base_url: str) -> str:
    return base_url.rstrip("/") + "/chat/completions"


def chat_json(base_url: str, model: str, messages: list[dict[str, Any]], schema: dict[str, Any], *,
              schema_name: str = "answer", api_key: str | None = None, timeout_s: float = 30.0,
              transport: httpx.BaseTransport | None = None) -> ChatAnswer:
    """Ask for one JSON object matching ``schema``. Raises :class:`ProviderError` (one line) when
    the server fails, times out, or answers something that is not that object."""
    body = {"model": model, "messages": messages, "temperature": 0.2,
            "response_format": {"type": "json_schema",
                                "json_schema": {"name": schema_name, "strict": True, "schema": schema}}}
    headers = {"Accept": "application/json"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    clock = time.perf_counter()
    try:
        with httpx.Client(timeout=timeout_s, transport=transport) as client:
            response = client.post(chat_url(base_url), json=body, headers=headers)
    except httpx.TimeoutException:
        raise ProviderError(f"chat: {chat_url(base_url)} timed out after {timeout_s:g} s", retryable=True,
                            provider="openai_chat") from None
    except httpx.HTTPError as exc:
        raise ProviderError(f"chat: cannot reach {chat_url(base_url)}: {exc}", retryable=True,
                            provider="openai_chat") from None
    latency = int((time.perf_counter() - clock) * 1000)
    if not response.is_success:
        if api_key:
            message = error_message(response).replace(api_key, "***")
        else:
            message = error_message(response)
        raise ProviderError(f"chat: HTTP {response.status_code}: {message}", status=response.status_code,
                            provider="openai_chat")
    try:
        payload = response.json()
        message = payload["choices"][0]["message"]
    except (ValueError, KeyError, IndexError, TypeError):
        raise ProviderError("chat: the answer is not a chat completion (no choices[0].message)",
                            provider="openai_chat") from None
    if message.get("refusal"):
        raise ProviderError(f"chat: the model refused: {message['refusal']}", provider="openai_chat")
    content = message.get("content")
    if not content and message.get("tool_calls"):  # some servers answer structured output as a tool call
        content = message["tool_calls"][0].get("function", {}).get("arguments")
    try:
        data = json.loads(content or "")
    except (TypeError, ValueError):
        raise ProviderError("chat: the answer is not JSON although a json_schema was asked for",
                            provider="openai_chat") from None
    if not isinstance(data, dict):
        raise ProviderError("chat: the answer is JSON but not an object", provider="openai_chat")
    usage = payload.get("usage") if isinstance(payload.get("usage"), dict) else {}
    return ChatAnswer(data=data, model=str(payload.get("model") or model), usage=usage, latency_ms=latency)
