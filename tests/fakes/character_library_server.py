"""A fake Character Library (seed 004) on 127.0.0.1, speaking the wire format documented in
:mod:`kroma_kit.providers.character_library`: generate endpoints answer ``publicUrl`` values that
point back at this server's ``/files/<id>.png``, which serves real PNGs (a coloured figure per
view, so tests can tell views apart). Scripted faults: a 500 on the next generate call, a
publicUrl that 404s, one that is not an image, one over a size, a slow answer; the remote
``DELETE .../reference-image`` is recorded and can be made to fail.

    with FakeCharacterLibrary() as fake:
        fake.fail_next(500)
        provider = CharacterLibraryProvider(base_url=fake.url)
"""

from __future__ import annotations

import io
import json
import re
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from PIL import Image, ImageDraw

_GENERATE = re.compile(r"^/api/v1/characters/([^/]+)/(reference-image|360-set|scene-image)$")
VIEW_COLOURS = [(200, 52, 46), (44, 122, 150), (230, 180, 40), (60, 140, 70), (120, 70, 150), (90, 90, 90)]


def figure_png(seed: int, size: tuple[int, int] = (96, 128)) -> bytes:
    image = Image.new("RGBA", size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    colour = VIEW_COLOURS[seed % len(VIEW_COLOURS)]
    draw.ellipse((32, 8, 64, 40), fill=(226, 190, 158, 255), outline=(20, 20, 20, 255))
    draw.rectangle((28, 42, 68, 110), fill=colour + (255,), outline=(20, 20, 20, 255))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


@dataclass
class LibraryRequest:
    method: str
    path: str
    body: dict[str, Any] = field(default_factory=dict)


class FakeCharacterLibrary:
    def __init__(self) -> None:
        self.requests: list[LibraryRequest] = []
        self.files: dict[str, bytes] = {}
        self._faults: deque[tuple[str, Any]] = deque()
        self.delete_status = 200
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> FakeCharacterLibrary:
        handler = type("Handler", (_Handler,), {"fake": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True, name="fake-character-library")
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
        assert self._httpd is not None
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    # scripted faults for the next generate call(s)
    def fail_next(self, status: int = 500, message: str = "Internal Server Error") -> None:
        self._faults.append(("status", (status, message)))

    def missing_file_next(self) -> None:
        self._faults.append(("missing", None))

    def not_an_image_next(self) -> None:
        self._faults.append(("not_image", None))

    def huge_file_next(self, size: int) -> None:
        self._faults.append(("huge", size))

    def slow_next(self, delay_s: float) -> None:
        self._faults.append(("slow", delay_s))

    def generate_calls(self) -> list[LibraryRequest]:
        return [r for r in self.requests if r.method == "POST"]

    def deletes(self) -> list[LibraryRequest]:
        return [r for r in self.requests if r.method == "DELETE"]

    def _fault(self) -> tuple[str, Any] | None:
        with self._lock:
            return self._faults.popleft() if self._faults else None

    def _store(self, data: bytes, fault: tuple[str, Any] | None) -> dict[str, Any]:
        file_id = uuid.uuid4().hex[:12]
        if fault and fault[0] == "missing":
            return {"id": file_id, "publicUrl": f"{self.url}/files/{file_id}.png"}  # never stored: 404
        if fault and fault[0] == "not_image":
            data = b"<html>not an image</html>"
        if fault and fault[0] == "huge":
            data = b"\x89PNG\r\n\x1a\n" + b"\0" * int(fault[1])
        self.files[file_id] = data
        return {"id": file_id, "publicUrl": f"{self.url}/files/{file_id}.png"}

    def generate(self, kind: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if not isinstance(body.get("prompt"), str) or not body["prompt"].strip():
            return 400, {"success": False, "error": "prompt is required"}
        fault = self._fault()
        if fault and fault[0] == "status":
            return fault[1][0], {"success": False, "error": fault[1][1]}
        if fault and fault[0] == "slow":
            time.sleep(fault[1])
        if kind == "360-set":
            views = body.get("views") or []
            if not views:
                return 400, {"success": False, "error": "views are required"}
            if not (body.get("referenceImageId") or body.get("referenceImageBase64")):
                return 400, {"success": False, "error": "a reference image is required"}
            images = [{**self._store(figure_png(i), fault if i == 0 else None), "view": view}
                      for i, view in enumerate(views)]
            return 200, {"success": True, "data": {"images": images}}
        if kind == "scene-image" and not str(body.get("sceneContext") or "").strip():
            return 400, {"success": False, "error": "sceneContext is required"}
        return 200, {"success": True, "data": self._store(figure_png(len(self.files)), fault)}


class _Handler(BaseHTTPRequestHandler):
    fake: FakeCharacterLibrary

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, status: int, payload: bytes, content_type: str = "application/json") -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def do_GET(self) -> None:  # noqa: N802
        self.fake.requests.append(LibraryRequest("GET", self.path))
        match = re.fullmatch(r"/files/([0-9a-f]+)\.png", self.path)
        data = self.fake.files.get(match.group(1)) if match else None
        if data is None:
            self._send(404, b'{"success": false, "error": "Not Found"}')
        else:
            self._send(200, data, "image/png")

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            body = {}
        self.fake.requests.append(LibraryRequest("POST", self.path, body if isinstance(body, dict) else {}))
        match = _GENERATE.fullmatch(self.path)
        if not match:
            self._send(404, b'{"success": false, "error": "Not Found"}')
            return
        status, payload = self.fake.generate(match.group(2), body if isinstance(body, dict) else {})
        self._send(status, json.dumps(payload).encode())

    def do_DELETE(self) -> None:  # noqa: N802
        self.fake.requests.append(LibraryRequest("DELETE", self.path))
        if not re.fullmatch(r"/api/v1/characters/[^/]+/reference-image", self.path):
            self._send(404, b'{"success": false, "error": "Not Found"}')
            return
        status = self.fake.delete_status
        self._send(status, json.dumps({"success": status < 400}).encode())
