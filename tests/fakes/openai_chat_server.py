"""A fake OpenAI-compatible chat-completions server on 127.0.0.1 (provider-wire.md §3).

``POST /v1/chat/completions`` with the real request and response shapes: it checks ``model`` and
``messages``, records every request (parsed JSON body, headers), and answers from a queue of
scripted replies, in order; when the queue is empty it answers ``default``. Replies can be plain
text content, a JSON object as content (what a ``response_format: json_schema`` request gets),
tool calls (``finish_reason: tool_calls``, arguments as a JSON string), an error in OpenAI's
envelope with any status, a raw body, or a slow answer (past a client timeout).

    with FakeChatServer() as fake:
        fake.script(ChatReply.json({"prompt": "..."}))
        chat_json(fake.base_url, "gpt-test", messages, schema)
        fake.requests[0].body["response_format"]["type"] == "json_schema"
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class ChatReply:
    content: str | None = "ok"
    tool_calls: list[dict[str, Any]] | None = None
    status: int = 200
    error: dict[str, Any] | None = None
    raw_body: bytes | None = None
    delay_s: float = 0.0
    refusal: str | None = None

    @classmethod
    def text(cls, content: str) -> ChatReply:
        return cls(content=content)

    @classmethod
    def json(cls, obj: Any) -> ChatReply:
        return cls(content=json.dumps(obj))

    @classmethod
    def tool_call(cls, name: str, arguments: dict[str, Any] | str, call_id: str = "call_1") -> ChatReply:
        args = arguments if isinstance(arguments, str) else json.dumps(arguments)
        return cls(content=None, tool_calls=[{"id": call_id, "type": "function",
                                              "function": {"name": name, "arguments": args}}])

    @classmethod
    def api_error(cls, status: int, message: str, type: str = "server_error", code: str | None = None) -> ChatReply:
        return cls(status=status, error={"message": message, "type": type, "param": None, "code": code})

    @classmethod
    def raw(cls, status: int, body: bytes) -> ChatReply:
        return cls(status=status, raw_body=body)

    @classmethod
    def slow(cls, delay_s: float, content: str = "late") -> ChatReply:
        return cls(content=content, delay_s=delay_s)

    @classmethod
    def refused(cls, message: str = "I can't help with that.") -> ChatReply:
        return cls(content=None, refusal=message)


@dataclass
class ChatRequest:
    path: str
    headers: dict[str, str]
    body: dict[str, Any] = field(default_factory=dict)


class FakeChatServer:
    def __init__(self, *, model_echo: str | None = None, default: ChatReply | None = None) -> None:
        self.model_echo = model_echo
        self.default = default or ChatReply.text("ok")
        self._queue: deque[ChatReply] = deque()
        self._lock = threading.Lock()
        self.requests: list[ChatRequest] = []
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> FakeChatServer:
        handler = type("Handler", (_Handler,), {"fake": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True, name="fake-chat")
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    @property
    def base_url(self) -> str:
        assert self._httpd is not None
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def script(self, *replies: ChatReply) -> None:
        with self._lock:
            self._queue.extend(replies)

    def _next(self) -> ChatReply:
        with self._lock:
            return self._queue.popleft() if self._queue else self.default

    def answer(self, request: ChatRequest) -> tuple[int, bytes]:
        if request.path != "/v1/chat/completions":
            return 404, _error(f"Unknown path {request.path}", "not_found_error")
        body = request.body
        if not isinstance(body.get("model"), str) or not body["model"]:
            return 400, _error("you must provide a model parameter", "invalid_request_error", "model")
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages or not all(
                isinstance(m, dict) and m.get("role") in ("system", "developer", "user", "assistant", "tool")
                for m in messages):
            return 400, _error("'messages' must be a non-empty list of role messages", "invalid_request_error",
                               "messages")
        fmt = body.get("response_format")
        if fmt is not None and (not isinstance(fmt, dict) or fmt.get("type") not in ("text", "json_object",
                                                                                     "json_schema")
                                or (fmt.get("type") == "json_schema" and not isinstance(
                                    (fmt.get("json_schema") or {}).get("schema"), dict))):
            return 400, _error("Invalid response_format", "invalid_request_error", "response_format")
        reply = self._next()
        if reply.delay_s:
            time.sleep(reply.delay_s)
        if reply.raw_body is not None:
            return reply.status, reply.raw_body
        if reply.error is not None:
            return reply.status, json.dumps({"error": reply.error}).encode()
        message: dict[str, Any] = {"role": "assistant", "content": reply.content, "refusal": reply.refusal}
        finish = "stop"
        if reply.tool_calls:
            message["tool_calls"] = reply.tool_calls
            finish = "tool_calls"
        payload = {"id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()),
                   "model": self.model_echo or body["model"],
                   "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
                   "usage": {"prompt_tokens": 50, "completion_tokens": 20, "total_tokens": 70}}
        return 200, json.dumps(payload).encode()


def _error(message: str, type_: str, param: str | None = None) -> bytes:
    return json.dumps({"error": {"message": message, "type": type_, "param": param, "code": None}}).encode()


class _Handler(BaseHTTPRequestHandler):
    fake: FakeChatServer

    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802 - http.server naming
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = None
        request = ChatRequest(self.path, {k.lower(): v for k, v in self.headers.items()},
                              body if isinstance(body, dict) else {})
        self.fake.requests.append(request)
        status, payload = (400, _error("We could not parse the JSON body of your request.",
                                       "invalid_request_error")) if body is None else self.fake.answer(request)
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass
