"""The generation record embedded in every generated PNG, and read back.

A file that leaves the project (exported, mailed to an editor, dropped in another folder) still
says where it came from: prompt, provider, model, seed, run, job and candidate. The record also
makes resume safe: a candidate whose file reached the disk but whose run-log entry did not (the
process died between the two) is recognised by its embedded run/job/candidate and adopted
instead of paid for twice.

The record is one ``iTXt`` chunk (keyword ``kroma:generation``, UTF-8 JSON) inserted before
``IEND`` by rewriting the chunk list, never by re-encoding: the pixel data stays bit-identical to
what the provider returned. Other formats are converted to PNG first (the pipeline always
writes ``.png``).
"""

from __future__ import annotations

import io
import json
import os
import struct
import zlib
from pathlib import Path
from typing import Any

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
KEYWORD = "kroma:generation"
RECORD_VERSION = 1
RECORD_FIELDS = ("prompt", "provider", "model", "size", "quality", "seed", "run_id", "job_id",
                 "candidate_index", "project", "stage", "time", "weather", "cost_usd", "usage")


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _iter_chunks(data: bytes):
    """Yield (kind, payload, start, end) for each chunk; raises ValueError on a broken stream."""
    if not data.startswith(PNG_SIGNATURE):
        raise ValueError("not a PNG stream")
    offset = len(PNG_SIGNATURE)
    while offset + 8 <= len(data):
        (length,) = struct.unpack(">I", data[offset:offset + 4])
        kind = data[offset + 4:offset + 8]
        end = offset + 12 + length
        if end > len(data):
            raise ValueError("truncated PNG chunk")
        yield kind, data[offset + 8:offset + 8 + length], offset, end
        offset = end
        if kind == b"IEND":
            return
    raise ValueError("PNG stream has no IEND chunk")


def to_png_bytes(image_bytes: bytes) -> bytes:
    """``image_bytes`` as PNG: unchanged when already PNG, else decoded and re-encoded."""
    if image_bytes.startswith(PNG_SIGNATURE):
        return image_bytes
    from PIL import Image

    with Image.open(io.BytesIO(image_bytes)) as image:
        out = io.BytesIO()
        image.save(out, format="PNG")
        return out.getvalue()


def embed_record(png_bytes: bytes, record: dict[str, Any]) -> bytes:
    """Return ``png_bytes`` with ``record`` as its ``kroma:generation`` chunk (an older one is
    replaced, so re-embedding never stacks records)."""
    payload = json.dumps({"version": RECORD_VERSION, **record}, ensure_ascii=False, sort_keys=True,
                         default=str).encode("utf-8")
    # iTXt: keyword \0 compression-flag compression-method language \0 translated-keyword \0 text
    itxt = KEYWORD.encode("latin-1") + b"\x00" + b"\x01\x00" + b"\x00" + b"\x00" + zlib.compress(payload)
    parts = [PNG_SIGNATURE]
    for kind, data, start, end in _iter_chunks(png_bytes):
        if kind == b"iTXt" and data.split(b"\x00", 1)[0] == KEYWORD.encode("latin-1"):
            continue
        if kind == b"IEND":
            parts.append(_chunk(b"iTXt", itxt))
        parts.append(png_bytes[start:end])
    return b"".join(parts)


def _decode_itxt(data: bytes) -> dict[str, Any] | None:
    keyword, _, rest = data.partition(b"\x00")
    if keyword != KEYWORD.encode("latin-1") or len(rest) < 2:
        return None
    compressed = rest[0] == 1
    rest = rest[2:]
    _language, _, rest = rest.partition(b"\x00")
    _translated, _, text = rest.partition(b"\x00")
    try:
        raw = zlib.decompress(text) if compressed else text
        value = json.loads(raw.decode("utf-8"))
    except (zlib.error, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return value if isinstance(value, dict) else None


def read_record(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The embedded generation record of a PNG file, or None (not a PNG, no record, unreadable)."""
    try:
        data = Path(path).read_bytes()
    except OSError:
        return None
    try:
        for kind, payload, _start, _end in _iter_chunks(data):
            if kind == b"iTXt":
                record = _decode_itxt(payload)
                if record is not None:
                    return record
    except ValueError:
        return None
    return None


def embed_record_in_file(path: str | os.PathLike[str], record: dict[str, Any]) -> bool:
    """Embed ``record`` into an existing PNG file atomically; False when it is not a PNG."""
    from kroma_kit.storage.atomic import atomic_write_bytes

    file = Path(path)
    data = file.read_bytes()
    if not data.startswith(PNG_SIGNATURE):
        return False
    try:
        atomic_write_bytes(file, embed_record(data, record))
    except ValueError:
        return False
    return True
