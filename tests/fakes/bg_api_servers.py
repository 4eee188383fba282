"""Fake remove.bg and PhotoRoom servers on 127.0.0.1 that speak the real wire formats.

They parse the real multipart body (``image_file`` part plus ``size``/``format``/``crop`` fields),
check the auth header each service uses (``X-Api-Key`` / ``x-api-key``), and answer like the
services do (``reference/provider-wire.md`` §4-§5): a PNG cutout with remove.bg's credit and
rate-limit headers or PhotoRoom's ``x-uncertainty-score``; errors in each service's own envelope
(remove.bg ``{"errors": [{"title", "code"}]}``, PhotoRoom ``{"detail", "status_code", "type"}``),
429 with ``Retry-After``. The cutout is real: the uploaded image with the pixels that match its
top-left colour made transparent.

    with FakeBgApi("removebg", api_key="rb-test") as fake:
        fake.script(Reply.payment_required())
        remover = RemoveBgRemover(endpoint=fake.url, api_key="rb-test")
"""

from __future__ import annotations

import io
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PATHS = {"removebg": "/v1.0/removebg", "photoroom": "/v1/segment"}
AUTH_HEADERS = {"removebg": "x-api-key", "photoroom": "x-api-key"}  # header names are case-insensitive


@dataclass
class Reply:
    """One scripted answer for the next valid request."""

    kind: str = "success"
    retry_after: str | None = None

    @classmethod
    def success(cls) -> Reply:
        return cls("success")

    @classmethod
    def payment_required(cls) -> Reply:
        return cls("payment_required")

    @classmethod
    def rate_limited(cls, retry_after: float | str = 1) -> Reply:
        return cls("rate_limited", str(retry_after))

    @classmethod
    def server_error(cls) -> Reply:
        return cls("server_error")

    @classmethod
    def not_an_image(cls) -> Reply:
        return cls("not_an_image")


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    fields: dict[str, str] = field(default_factory=dict)
    files: dict[str, tuple[str, str, bytes]] = field(default_factory=dict)  # name -> (filename, mime, bytes)
    status: int | None = None


class FakeBgApi:
    """One fake service (``kind`` = ``removebg`` or ``photoroom``). ``url`` is its endpoint."""

    def __init__(self, kind: str, *, api_key: str = "test-key", credits_per_image: float = 1.0) -> None:
        if kind not in PATHS:
            raise ValueError(f"kind must be one of {sorted(PATHS)}")
        self.kind = kind
        self.api_key = api_key
        self.credits_per_image = credits_per_image
        self.remaining = 500
        self._lock = threading.Lock()
        self._script: deque[Reply] = deque()
        self.requests: list[RecordedRequest] = []
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> FakeBgApi:
        handler = type("Handler", (_Handler,), {"fake": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True, name=f"fake-{self.kind}")
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    @property
    def url(self) -> str:
        assert self._httpd is not None, "server not started"
        return f"http://127.0.0.1:{self._httpd.server_address[1]}{PATHS[self.kind]}"

    def script(self, *replies: Reply) -> None:
        with self._lock:
            self._script.extend(replies)

    def _next(self) -> Reply:
        with self._lock:
            return self._script.popleft() if self._script else Reply.success()

    # ------------------------------------------------------------------ answering

    def answer(self, request: RecordedRequest) -> tuple[int, dict[str, str], bytes]:
        key = request.headers.get(AUTH_HEADERS[self.kind], "")
        if request.method != "POST" or request.path != PATHS[self.kind]:
            return self._error(404, "Not found", "not_found")
        if key != self.api_key:
            return self._error(403, "API Key invalid" if self.kind == "removebg" else "Forbidden", "auth_failed")
        if "image_file" not in request.files:
            return self._error(400, "No image given" if self.kind == "removebg" else "Please provide an image.",
                               "missing_image")
        reply = self._next()
        if reply.kind == "payment_required":
            return self._error(402, "Insufficient credits" if self.kind == "removebg"
                               else "Not enough credits to process the image.", "insufficient_credits")
        if reply.kind == "rate_limited":
            status, headers, body = self._error(429, "Rate limit exceeded", "rate_limit_exceeded")
            return status, {**headers, "Retry-After": reply.retry_after or "1"}, body
        if reply.kind == "server_error":
            return 502, {"Content-Type": "text/html"}, b"<html><body>502 Bad Gateway</body></html>"
        if reply.kind == "not_an_image":
            return 200, {"Content-Type": "image/png"}, b"this is not a png"
        _, _, data = request.files["image_file"]
        png, width, height = _corner_key_cutout(data)
        headers = {"Content-Type": "image/png"}
        if self.kind == "removebg":
            credits = 0.25 if request.fields.get("size") in ("preview", "small", "regular") else self.credits_per_image
            with self._lock:
                self.remaining -= 1
                remaining = self.remaining
            headers.update({"X-Type": "other", "X-Width": str(width), "X-Height": str(height),
                            "X-Max-Width": str(width), "X-Max-Height": str(height),
                            "X-Credits-Charged": f"{credits:g}", "X-RateLimit-Limit": "500",
                            "X-RateLimit-Remaining": str(remaining),
                            "X-RateLimit-Reset": str(int(time.time()) + 60)})
        else:
            headers["x-uncertainty-score"] = "0.12"
        return 200, headers, png

    def _error(self, status: int, message: str, code: str) -> tuple[int, dict[str, str], bytes]:
        if self.kind == "removebg":
            body: dict[str, Any] = {"errors": [{"title": message, "code": code}]}
        else:
            body = {"detail": message, "status_code": status, "type": code}
        return status, {"Content-Type": "application/json"}, json.dumps(body).encode()


def _corner_key_cutout(data: bytes) -> tuple[bytes, int, int]:
    import numpy as np
    from PIL import Image

    with Image.open(io.BytesIO(data)) as uploaded:
        rgba = uploaded.convert("RGBA")
    pixels = np.asarray(rgba).copy()
    distance = np.abs(pixels[:, :, :3].astype(int) - pixels[0, 0, :3].astype(int)).max(axis=2)
    pixels[:, :, 3] = np.where(distance > 24, 255, 0)
    buffer = io.BytesIO()
    Image.fromarray(pixels, "RGBA").save(buffer, format="PNG")
    return buffer.getvalue(), rgba.width, rgba.height


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    fake: FakeBgApi

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        headers = {name.lower(): value for name, value in self.headers.items()}
        body = self.rfile.read(int(headers.get("content-length") or 0))
        record = RecordedRequest(self.command, self.path.split("?")[0], headers)
        content_type = headers.get("content-type", "")
        if content_type.startswith("multipart/form-data"):
            message = BytesParser(policy=HTTP).parsebytes(
                b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body)
            for part in message.iter_parts():
                name = str(part.get_param("name", header="content-disposition"))
                payload = part.get_payload(decode=True) or b""
                if part.get_filename() is None:
                    record.fields[name] = payload.decode("utf-8")
                else:
                    record.files[name] = (part.get_filename(), part.get_content_type(), payload)
        with self.fake._lock:
            self.fake.requests.append(record)
        status, reply_headers, reply_body = self.fake.answer(record)
        record.status = status
        self.send_response(status)
        for name, value in reply_headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply_body)))
        self.end_headers()
        self.wfile.write(reply_body)

    do_GET = do_POST

    def log_message(self, format: str, *args: Any) -> None:
        pass
