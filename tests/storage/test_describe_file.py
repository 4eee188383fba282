"""describe_file: what the catalog records about a file (hash, size, mime, dimensions), read once."""

from __future__ import annotations

import hashlib
from pathlib import Path

from PIL import Image

from kroma_kit.imaging import describe_file, png_size


def test_a_png_is_described_from_its_own_bytes(tmp_path: Path) -> None:
    path = tmp_path / "panel.png"
    Image.new("RGB", (321, 123), "navy").save(path)
    info = describe_file(path)
    data = path.read_bytes()
    assert (info.width, info.height, info.mime_type) == (321, 123, "image/png")
    assert info.sha256 == hashlib.sha256(data).hexdigest() and info.size_bytes == len(data)


def test_other_images_are_probed_by_pillow(tmp_path: Path) -> None:
    path = tmp_path / "photo.jpg"
    Image.new("RGB", (40, 30), "white").save(path, format="JPEG")
    info = describe_file(path)
    assert (info.width, info.height, info.mime_type) == (40, 30, "image/jpeg")


def test_a_png_name_on_other_bytes_keeps_its_guess_and_no_size(tmp_path: Path) -> None:
    path = tmp_path / "fake.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)  # a signature without an IHDR chunk
    info = describe_file(path)
    assert (info.width, info.height) == (None, None) and info.size_bytes == 48


def test_png_size_reads_only_a_real_header() -> None:
    header = b"\x89PNG\r\n\x1a\n" + (13).to_bytes(4, "big") + b"IHDR" + (7).to_bytes(4, "big") + (9).to_bytes(4, "big")
    assert png_size(header) == (7, 9)
    assert png_size(header[:20]) is None  # cut short
    assert png_size(b"GIF89a" + header[6:]) is None
    assert png_size(header[:16] + (0).to_bytes(4, "big") + header[20:]) is None  # no pixels
