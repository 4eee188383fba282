"""A fake OpenAI-compatible server on 127.0.0.1 for the copilot: chat completions with tool calls,
audio transcriptions (multipart) and speech (provider-wire.md §2-§3).

Replies are scripted per path, in order; unscripted requests get a plain answer. Every request is
recorded (path, headers, JSON body or multipart fields and files) so tests check what the client
really sent.

    with ChatCompletionsServer() as fake:
        fake.script("/v1/chat/completions", tool_call_reply("asset_edit", {"action": "postprocess", ...}))
        engine = LLMEngine(model="gpt-4o-mini", base_url=fake.base_url, api_key="sk-test")
"""

from __future__ import annotations

import io
import json
import math
import struct
import threading
import wave
from collections import deque
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Scripted:
    """One answer: status, JSON (or raw bytes) body, headers."""

    status: int = 200
    body: Any = None
    raw: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    json: Any = None
    fields: dict[str, str] = field(default_factory=dict)
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)


def tool_call_reply(name: str, arguments: dict[str, Any] | str, *, prompt_tokens: int = 120,
                    completion_tokens: int = 30, model: str = "gpt-4o-mini") -> Scripted:
    args = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return Scripted(body={
        "id": "chatcmpl-fake", "object": "chat.completion", "created": 1700000000, "model": model,
        "choices": [{"index": 0, "finish_reason": "tool_calls", "logprobs": None, "message": {
            "role": "assistant", "content": None,
            "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": name, "arguments": args}}]}}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens}})


def text_reply(text: str, *, prompt_tokens: int = 50, completion_tokens: int = 10) -> Scripted:
    return Scripted(body={
        "id": "chatcmpl-fake", "object": "chat.completion", "created": 1700000000, "model": "gpt-4o-mini",
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens}})


def error_reply(status: int, message: str, *, retry_after: str | None = None, kind: str = "server_error") -> Scripted:
    headers = {"Retry-After": retry_after} if retry_after else {}
    return Scripted(status=status, body={"error": {"message": message, "type": kind, "param": None, "code": None}},
                    headers=headers)


def tiny_wav(seconds: float = 0.3, rate: int = 24000) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        frames = b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / rate)))
                          for i in range(int(seconds * rate)))
        out.writeframes(frames)
    return buffer.getvalue()


class ChatCompletionsServer:
    """Start with ``with``; ``base_url`` ends in ``/v1``."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self._scripts: dict[str, deque[Scripted]] = {}
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                record = Recorded(self.path, {k.lower(): v for k, v in self.headers.items()})
                ctype = self.headers.get("Content-Type", "")
                if ctype.startswith("application/json"):
                    record.json = json.loads(body or b"null")
                elif ctype.startswith("multipart/form-data"):
                    message = BytesParser(policy=HTTP).parsebytes(
                        b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + body)
                    for part in message.iter_parts():
                        name = part.get_param("name", header="content-disposition")
                        filename = part.get_filename()
                        payload = part.get_payload(decode=True) or b""
                        if filename:
                            record.files[name] = (filename, payload)
                        else:
                            record.fields[name] = payload.decode()
                with owner._lock:
                    owner.requests.append(record)
                    queue = owner._scripts.get(self.path)
                    reply = queue.popleft() if queue else owner.default(record)
                data = reply.raw if reply.raw is not None else json.dumps(reply.body).encode()
                self.send_response(reply.status)
                is_json = reply.raw is None
                self.send_header("Content-Type", "application/json" if is_json else "application/octet-stream")
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{path}"

    def script(self, path: str, *replies: Scripted) -> None:
        with self._lock:
            self._scripts.setdefault(path, deque()).extend(replies)

    def default(self, record: Recorded) -> Scripted:
        if record.path.endswith("/audio/transcriptions"):
            if record.fields.get("response_format") == "text":
                return Scripted(raw=b"show the status")
            return Scripted(body={"text": "show the status", "usage": {"type": "duration", "seconds": 1}})
        if record.path.endswith("/audio/speech"):
            return Scripted(raw=tiny_wav())
        if record.path.endswith("/chat/completions"):
            return text_reply("Hello from the fake model.")
        return Scripted(status=404, body={"error": {"message": "no such path", "type": "not_found_error",
                                                    "param": None, "code": None}})

    def __enter__(self) -> ChatCompletionsServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()
