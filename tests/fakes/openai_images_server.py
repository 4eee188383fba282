"""A fake OpenAI Images API on 127.0.0.1 that speaks the real wire format (provider-wire.md 1).

It parses what a client really sends (multipart edits with ``image[]``/``image`` parts, JSON
generations), records every request with timestamps, and answers like the service: a real PNG
(or JPEG/WebP) as ``b64_json`` plus ``usage``, or the real error envelope. Tests script replies in
order (429 with ``Retry-After``, 500, 400 moderation, a slow answer, a dropped connection);
unscripted requests succeed. It serves requests concurrently, with an optional fixed latency, so a
benchmark can measure parallel calls.

It also answers ``GET /v1/models/{model}`` with OpenAI's model object (``id``, ``object``,
``created``, ``owned_by`` and ``shutdown_date``) from :attr:`models`, the real 404 envelope
(``model_not_found``) for an unknown model, and, with ``serve_models=False``, the plain 404 of a
gateway that has no models endpoint. Those lookups are free and recorded apart, in
:attr:`model_requests`, so :attr:`requests` stays the list of image calls.

    with FakeOpenAIImagesServer(latency_s=0.3) as fake:
        fake.script(Reply.rate_limited(retry_after=2), Reply.success())
        provider = OpenAIImagesProvider(api_key="sk-test", base_url=fake.base_url)
        ...
        fake.requests[0].files[0].filename
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import compat32
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MODERATION_MESSAGE = (
    "Your request was rejected as a result of our safety system. Your request may contain content "
    "that is not allowed by our safety system.")
RATE_LIMIT_MESSAGE = (
    "Rate limit reached for gpt-image-1 in organization org-fake on images per minute (IPM): "
    "Limit 5, Used 5, Requested 1. Please try again in 1s.")
QUOTA_MESSAGE = (
    "You exceeded your current quota, please check your plan and billing details.")
SERVER_ERROR_MESSAGE = "The server had an error while processing your request. Sorry about that!"
MAX_IMAGES = 16
# What the real service lists (provider-wire.md 1.1): created is the release time, shutdown_date
# the announced retirement (null while a model is current).
DEFAULT_MODELS: dict[str, dict[str, Any]] = {
    "gpt-image-2": {"created": 1776729600, "shutdown_date": None},
    "gpt-image-2-2026-04-21": {"created": 1776729600, "shutdown_date": None},
    "gpt-image-1.5": {"created": 1763596800, "shutdown_date": "2026-12-01"},
    "gpt-image-1-mini": {"created": 1759795200, "shutdown_date": "2026-12-01"},
    "gpt-image-1": {"created": 1745366400, "shutdown_date": "2026-10-23"},
}
INPUT_IMAGE_TOKENS = 323  # per input image; any fixed number works, tests read the usage back
# gpt-image-1 output image tokens (provider-wire.md 1.6), so usage looks like the real thing.
OUTPUT_IMAGE_TOKENS = {
    "low": {"1024x1024": 272, "1024x1536": 408, "1536x1024": 400},
    "medium": {"1024x1024": 1056, "1024x1536": 1584, "1536x1024": 1568},
    "high": {"1024x1024": 4160, "1024x1536": 6240, "1536x1024": 6208},
}
_DEFAULT = object()


@dataclass
class Reply:
    """One scripted answer. Build them with the class methods; ``delay_s`` waits before answering."""

    kind: str = "success"
    status: int = 200
    error: dict[str, Any] | None = None  # the OpenAI error object (message/type/param/code)
    raw_body: bytes | None = None
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    usage: Any = _DEFAULT  # a dict, None to leave usage out, or _DEFAULT to compute one
    with_image: bool = True
    disconnect: bool = False

    @classmethod
    def success(cls, *, usage: Any = _DEFAULT, delay_s: float = 0.0) -> Reply:
        return cls(usage=usage, delay_s=delay_s)

    @classmethod
    def slow(cls, delay_s: float) -> Reply:
        """A success that arrives after ``delay_s``: past a short client timeout it is a timeout."""
        return cls(kind="slow", delay_s=delay_s)

    @classmethod
    def no_image(cls) -> Reply:
        return cls(kind="no_image", with_image=False)

    @classmethod
    def api_error(cls, status: int, message: str, *, type: str = "invalid_request_error",
                  code: str | None = None, param: str | None = None,
                  headers: dict[str, str] | None = None, kind: str = "error") -> Reply:
        return cls(kind=kind, status=status,
                   error={"message": message, "type": type, "param": param, "code": code},
                   headers=dict(headers or {}))

    @classmethod
    def rate_limited(cls, retry_after: float | str | None = 1, *,
                     retry_after_ms: float | None = None) -> Reply:
        headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
        if retry_after_ms is not None:
            headers["retry-after-ms"] = str(retry_after_ms)
        return cls.api_error(429, RATE_LIMIT_MESSAGE, type="requests", code="rate_limit_exceeded",
                             headers=headers, kind="rate_limited")

    @classmethod
    def quota_exceeded(cls) -> Reply:
        return cls.api_error(429, QUOTA_MESSAGE, type="insufficient_quota", code="insufficient_quota",
                             kind="quota_exceeded")

    @classmethod
    def server_error(cls, status: int = 500) -> Reply:
        return cls.api_error(status, SERVER_ERROR_MESSAGE, type="server_error", kind="server_error")

    @classmethod
    def moderation_blocked(cls, message: str = MODERATION_MESSAGE) -> Reply:
        return cls.api_error(400, message, type="image_generation_user_error", code="moderation_blocked",
                             kind="moderation_blocked")

    @classmethod
    def raw(cls, status: int, body: bytes, content_type: str = "text/html",
            headers: dict[str, str] | None = None) -> Reply:
        """Any body at all, e.g. a proxy's HTML 502 page."""
        return cls(kind="raw", status=status, raw_body=body, content_type=content_type,
                   headers=dict(headers or {}))

    @classmethod
    def drop(cls) -> Reply:
        """Close the connection without answering (the client sees a connection error)."""
        return cls(kind="drop", disconnect=True)


@dataclass
class RecordedPart:
    """One multipart part as it arrived."""

    name: str
    filename: str | None
    content_type: str | None
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass
class RecordedRequest:
    """One request as the server saw it, and what it answered."""

    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    received_at: float  # time.time()
    started: float  # time.perf_counter(), to measure overlap between requests
    fields: dict[str, str] = field(default_factory=dict)  # text fields (last value wins)
    files: list[RecordedPart] = field(default_factory=list)
    json: Any = None
    status: int | None = None  # None until answered (or never, for a drop / a client that left)
    reply_kind: str | None = None
    finished: float | None = None

    @property
    def authorization(self) -> str | None:
        return self.headers.get("authorization")

    @property
    def endpoint(self) -> str:
        return "edits" if self.path.endswith("/images/edits") else (
            "generations" if self.path.endswith("/images/generations") else "")

    @property
    def params(self) -> dict[str, Any]:
        """The request's parameters whatever the encoding: form fields or the JSON body."""
        return dict(self.json) if isinstance(self.json, dict) else dict(self.fields)


class FakeOpenAIImagesServer:
    """The fake service. ``base_url`` ends in ``/v1`` like the real one; any path ending in
    ``/images/edits`` or ``/images/generations`` is served, so gateway prefixes work too."""

    def __init__(self, *, latency_s: float = 0.0, api_key: str | None = None, echo_input: bool = False) -> None:
        self.latency_s = latency_s
        # When set, an edit answers with its first input image (at the answer's size), as a cutout
        # refine really does; otherwise with a plain drawn placeholder.
        self.echo_input = echo_input
        self.api_key = api_key  # when set, any other Bearer token gets the real 401
        self.models: dict[str, dict[str, Any]] = {name: dict(info) for name, info in DEFAULT_MODELS.items()}
        self.serve_models = True  # False: a gateway without /v1/models (plain 404)
        self._model_requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._script: deque[Reply] = deque()
        self._default = Reply.success()
        self._requests: list[RecordedRequest] = []
        self._in_flight = 0
        self.peak_concurrency = 0
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> FakeOpenAIImagesServer:
        handler = type("Handler", (_Handler,), {"fake": self})
        self._httpd = _Server(("127.0.0.1", 0), handler)
        self._stopping.clear()
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fake-openai-images", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes handlers sleeping on a delay
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = self._thread = None

    def __enter__(self) -> FakeOpenAIImagesServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._httpd is not None, "server not started"
        return self._httpd.server_address[1]

    @property
    def root_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.root_url}/v1"

    # ------------------------------------------------------------------ scripting and the log

    def script(self, *replies: Reply) -> None:
        """Queue replies for the next valid requests, in order; after them, the default answers."""
        with self._lock:
            self._script.extend(replies)

    def set_default(self, reply: Reply) -> None:
        """What every unscripted valid request gets (initially ``Reply.success()``)."""
        self._default = reply

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def model_requests(self) -> list[RecordedRequest]:
        """Every ``GET .../models/{id}`` lookup, in order (not counted in :attr:`requests`)."""
        with self._lock:
            return list(self._model_requests)

    def set_model(self, model: str, *, shutdown_date: str | None, created: int = 1776729600) -> None:
        """List ``model`` with this ``shutdown_date`` ("YYYY-MM-DD" or None)."""
        self.models[model] = {"created": created, "shutdown_date": shutdown_date}

    @property
    def last_request(self) -> RecordedRequest:
        with self._lock:
            return self._requests[-1]

    def clear(self) -> None:
        with self._lock:
            self._requests.clear()
            self._model_requests.clear()
            self._script.clear()
            self.peak_concurrency = 0

    def _next_reply(self) -> Reply:
        with self._lock:
            return self._script.popleft() if self._script else self._default

    # ------------------------------------------------------------------ serving

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        with self._lock:
            self._in_flight += 1
            self.peak_concurrency = max(self.peak_concurrency, self._in_flight)
        try:
            record = _read_request(handler)
            if _model_id(record) is not None:
                self._serve_model(handler, record)
                return
            with self._lock:
                self._requests.append(record)
            invalid = self._validate(record)
            reply = invalid or self._next_reply()
            delay = self.latency_s + reply.delay_s
            if delay and self._stopping.wait(delay):
                return
            if reply.disconnect:
                handler.close_connection = True
                record.reply_kind = reply.kind
                return
            status, headers, body = _render(record, reply, echo=self.echo_input)
            _write(handler, status, headers, body)
            record.status, record.reply_kind, record.finished = status, reply.kind, time.perf_counter()
        except (BrokenPipeError, ConnectionResetError):
            handler.close_connection = True  # the client gave up (timeout): nothing left to say
        finally:
            with self._lock:
                self._in_flight -= 1

    def _serve_model(self, handler: BaseHTTPRequestHandler, record: RecordedRequest) -> None:
        """``GET /v1/models/{model}``: the model object, or the 401/404 the service (or a gateway) gives."""
        with self._lock:
            self._model_requests.append(record)
        model = _model_id(record) or ""
        auth = record.authorization or ""
        if not auth.startswith("Bearer ") or not auth[7:].strip() or (
                self.api_key is not None and auth[7:] != self.api_key):
            reply = Reply.api_error(401, "Incorrect API key provided.", code="invalid_api_key", kind="unauthorized")
        elif not self.serve_models or record.method != "GET":
            reply = Reply.api_error(404, f"Invalid URL ({record.method} {record.path})", kind="not_found")
        elif model not in self.models:
            reply = Reply.api_error(404, f"The model '{model}' does not exist or you do not have access to it.",
                                    code="model_not_found", kind="model_not_found")
        else:
            info = self.models[model]
            body = {"id": model, "object": "model", "created": info["created"], "owned_by": "system",
                    "shutdown_date": info["shutdown_date"]}
            _write(handler, 200, {"Content-Type": "application/json"}, json.dumps(body).encode())
            record.status, record.reply_kind, record.finished = 200, "model", time.perf_counter()
            return
        status, headers, body = _render(record, reply)
        _write(handler, status, headers, body)
        record.status, record.reply_kind, record.finished = status, reply.kind, time.perf_counter()

    def _validate(self, record: RecordedRequest) -> Reply | None:
        """The checks the real service makes before doing any work."""
        auth = record.authorization or ""
        if not auth.startswith("Bearer ") or not auth[7:].strip():
            return Reply.api_error(401, "You didn't provide an API key. You need to provide your API key "
                                   "in an Authorization header using Bearer auth (i.e. Authorization: "
                                   "Bearer YOUR_KEY).", kind="unauthorized")
        if self.api_key is not None and auth[7:] != self.api_key:
            shown = auth[7:][:3] + "*" * 4 + auth[7:][-4:]
            return Reply.api_error(401, f"Incorrect API key provided: {shown}. You can find your API key "
                                   "at https://platform.openai.com/account/api-keys.",
                                   code="invalid_api_key", kind="unauthorized")
        if record.method != "POST" or not record.endpoint:
            return Reply.api_error(404, f"Invalid URL ({record.method} {record.path})", kind="not_found")
        if record.endpoint == "edits":
            if not record.headers.get("content-type", "").startswith("multipart/form-data"):
                return Reply.api_error(400, "Invalid Content-Type header, expected multipart/form-data.")
            images = [p for p in record.files if p.name in ("image", "image[]")]
            if not images:
                return Reply.api_error(400, "Missing required parameter: 'image'.", param="image")
            if len(images) > MAX_IMAGES:
                return Reply.api_error(400, f"Too many images: at most {MAX_IMAGES}.", param="image")
        elif not isinstance(record.json, dict):
            return Reply.api_error(400, "We could not parse the JSON body of your request.")
        if not record.params.get("prompt"):
            return Reply.api_error(400, "Missing required parameter: 'prompt'.", param="prompt")
        return None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # The default listen backlog (5) overflows when a benchmark opens 8+ connections at once, and a
    # dropped SYN costs the client a 1 s retransmit.
    request_queue_size = 128


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like the real service
    # Headers and body go out as separate writes; with Nagle on, the client's delayed ACK adds
    # ~40 ms to every answer, which would swamp a latency benchmark.
    disable_nagle_algorithm = True
    fake: FakeOpenAIImagesServer

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        self.fake._serve(self)

    do_GET = do_PUT = do_DELETE = do_POST  # answered with the real 404 envelope

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output clean; the request log is the record


def _read_request(handler: BaseHTTPRequestHandler) -> RecordedRequest:
    headers = {name.lower(): value for name, value in handler.headers.items()}
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = _read_chunked(handler)
    else:
        body = handler.rfile.read(int(headers.get("content-length") or 0))
    record = RecordedRequest(method=handler.command, path=handler.path.split("?")[0], headers=headers,
                             body=body, received_at=time.time(), started=time.perf_counter())
    content_type = headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        _parse_multipart(record, content_type)
    elif content_type.startswith("application/json"):
        try:
            record.json = json.loads(body)
        except ValueError:
            record.json = None
    return record


def _model_id(record: RecordedRequest) -> str | None:
    """``gpt-image-2`` for ``.../models/gpt-image-2`` (any prefix, like the image endpoints), else None."""
    head, sep, model = record.path.rstrip("/").rpartition("/models/")
    return model if sep and model and "/" not in model else None


def _read_chunked(handler: BaseHTTPRequestHandler) -> bytes:
    chunks = []
    while True:
        size = int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16)
        if size == 0:
            handler.rfile.readline()
            return b"".join(chunks)
        chunks.append(handler.rfile.read(size))
        handler.rfile.readline()


def _parse_multipart(record: RecordedRequest, content_type: str) -> None:
    """Split a multipart body with the stdlib MIME parser; each part keeps its exact bytes.
    ``compat32``: the same split, parameters and payloads as the ``HTTP`` policy at a third of the
    cost (its header objects are most of that). The fake stands in for a remote service, whose
    parsing does not queue a burst of requests behind one interpreter lock on the caller's cores;
    3 ms a request did here, and the concurrency benchmark measured it as the pipeline's."""
    message = BytesParser(policy=compat32).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + record.body)
    if not message.is_multipart():
        return
    for part in message.get_payload():
        name = part.get_param("name", header="content-disposition")
        data = part.get_payload(decode=True) or b""
        filename = part.get_filename()
        if filename is None:
            record.fields[str(name)] = data.decode("utf-8")
        else:
            record.files.append(RecordedPart(str(name), filename, part.get("content-type"), data))


def _render(record: RecordedRequest, reply: Reply, *, echo: bool = False) -> tuple[int, dict[str, str], bytes]:
    headers = {"x-request-id": f"req_fake_{id(record):x}", **reply.headers}
    if reply.raw_body is not None:
        return reply.status, {**headers, "Content-Type": reply.content_type}, reply.raw_body
    headers["Content-Type"] = "application/json"
    if reply.error is not None:
        return reply.status, headers, json.dumps({"error": reply.error}).encode()
    params = record.params
    quality = params.get("quality") or "auto"
    quality = "high" if quality == "auto" else quality
    size = params.get("size") or "auto"
    size = "1024x1024" if size == "auto" else size
    output_format = params.get("output_format") or "png"
    background = "transparent" if params.get("background") == "transparent" else "opaque"
    body: dict[str, Any] = {"created": int(time.time()), "background": background,
                            "output_format": output_format, "size": size, "quality": quality}
    transparent = background == "transparent"
    image = (_echo(record.files[0].data, size, output_format, transparent) if echo and record.files
             else _image(size, output_format, transparent))
    body["data"] = [{"b64_json": base64.b64encode(image).decode("ascii")}] if reply.with_image else []
    usage = reply.usage if reply.usage is not _DEFAULT else default_usage(record, quality, size)
    if usage is not None:
        body["usage"] = usage
    return reply.status, headers, json.dumps(body).encode()


def default_usage(record: RecordedRequest, quality: str, size: str) -> dict[str, Any]:
    """Token counts shaped like the real ``usage``: text ~ prompt length / 4, a fixed count per
    input image, output image tokens from gpt-image-1's table."""
    text = max(1, len(str(record.params.get("prompt", ""))) // 4)
    images = INPUT_IMAGE_TOKENS * len([p for p in record.files if p.name in ("image", "image[]")])
    output = OUTPUT_IMAGE_TOKENS.get(quality, OUTPUT_IMAGE_TOKENS["high"]).get(size, 4160)
    return {"total_tokens": text + images + output, "input_tokens": text + images, "output_tokens": output,
            "input_tokens_details": {"text_tokens": text, "image_tokens": images},
            "output_tokens_details": {"image_tokens": output, "text_tokens": 0}}


@lru_cache(maxsize=32)
def _image(size: str, output_format: str, transparent: bool) -> bytes:
    """A small real image (1/16 of the requested size) in the requested format."""
    from PIL import Image, ImageDraw

    try:
        width, height = (max(16, int(side) // 16) for side in size.split("x"))
    except ValueError:
        width = height = 64
    mode = "RGBA" if transparent and output_format != "jpeg" else "RGB"
    image = Image.new(mode, (width, height), (0, 0, 0, 0) if mode == "RGBA" else (235, 235, 235))
    ImageDraw.Draw(image).ellipse((width // 4, height // 4, 3 * width // 4, 3 * height // 4),
                                  fill=(40, 40, 40, 255) if mode == "RGBA" else (40, 40, 40))
    buffer = io.BytesIO()
    image.save(buffer, format={"jpeg": "JPEG", "webp": "WEBP"}.get(output_format, "PNG"))
    return buffer.getvalue()


def _echo(data: bytes, size: str, output_format: str, transparent: bool) -> bytes:
    """The uploaded image itself at 1/16 of the answer's size, in the requested format."""
    from PIL import Image

    width, height = (max(16, int(side) // 16) for side in size.split("x"))
    with Image.open(io.BytesIO(data)) as source:
        mode = "RGBA" if transparent and output_format != "jpeg" else "RGB"
        image = source.convert(mode).resize((width, height), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, format={"jpeg": "JPEG", "webp": "WEBP"}.get(output_format, "PNG"))
    return buffer.getvalue()


def _write(handler: BaseHTTPRequestHandler, status: int, headers: dict[str, str], body: bytes) -> None:
    handler.send_response(status)
    for name, value in headers.items():
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)
    handler.wfile.flush()
