"""The thumbnail cache: 256 px WebP keyed by sha256, hits that never touch the source, typed
errors for bad images, atomic and rebuildable."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import pytest
from PIL import Image

from kroma_kit.errors import ImageInputError, InputError
from kroma_kit.imaging import sha256_file
from kroma_kit.storage.thumbnails import (
    thumbnail,
    thumbnail_bytes,
    thumbnail_cache_dir,
    thumbnail_data_url,
    thumbnail_path,
)


def make_png(path: Path, size: tuple[int, int] = (768, 512), mode: str = "RGB") -> Path:
    image = Image.new(mode, size, (200, 40, 40, 255) if mode == "RGBA" else (200, 40, 40))
    for x in range(0, size[0], 16):  # some structure, so the encoder has work to do
        for y in range(size[1]):
            image.putpixel((x, y), (0, 0, 0, 128) if mode == "RGBA" else (0, 0, 0))
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, format="PNG")
    return path


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "thumbs"


def test_thumbnail_is_a_256px_webp_keyed_by_sha256(tmp_path, cache):
    source = make_png(tmp_path / "outputs" / "style_1_street__c1.png")
    digest = sha256_file(source)
    path = thumbnail(source, digest, cache_dir=cache)
    assert path == thumbnail_path(digest, 256, cache_dir=cache) == cache / digest[:2] / f"{digest}-256.webp"
    with Image.open(path) as thumb:
        assert thumb.format == "WEBP" and thumb.size == (256, 171)  # longest side 256, aspect kept
    assert thumbnail(source, cache_dir=cache) == path  # no sha given: hashed, same key
    assert thumbnail(source, digest, size=128, cache_dir=cache) != path
    assert sorted(p.name for p in cache.rglob("*") if p.is_file()) == [f"{digest}-128.webp", f"{digest}-256.webp"]


def test_a_cache_hit_never_reads_the_source(tmp_path, cache):
    source = make_png(tmp_path / "a.png")
    digest = sha256_file(source)
    first = thumbnail(source, digest, cache_dir=cache)
    stamp = first.stat().st_mtime_ns
    source.write_bytes(b"not an image any more")  # a decode or a re-hash would now fail or miss
    assert thumbnail(source, digest, cache_dir=cache) == first
    source.unlink()
    assert thumbnail_bytes(source, digest, cache_dir=cache) == first.read_bytes()
    assert first.stat().st_mtime_ns == stamp  # not rewritten


def test_identical_files_share_one_thumbnail(tmp_path, cache):
    one = make_png(tmp_path / "one.png")
    two = tmp_path / "copy" / "two.png"
    two.parent.mkdir()
    two.write_bytes(one.read_bytes())
    assert thumbnail(one, cache_dir=cache) == thumbnail(two, cache_dir=cache)


def test_transparency_is_kept_and_small_images_are_not_enlarged(tmp_path, cache):
    cutout = make_png(tmp_path / "cutout.png", (120, 200), mode="RGBA")
    with Image.open(thumbnail(cutout, cache_dir=cache)) as thumb:
        assert thumb.mode == "RGBA" and thumb.size == (120, 200)


def test_thumbnail_bytes_are_webp(tmp_path, cache):
    data = thumbnail_bytes(make_png(tmp_path / "b.png"), cache_dir=cache)
    assert data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    with Image.open(io.BytesIO(data)) as thumb:
        assert max(thumb.size) == 256


def test_data_url_inlines_the_cached_webp_of_the_given_workspace(tmp_path):
    source = make_png(tmp_path / "f.png")
    home = tmp_path / "other_home"
    url = thumbnail_data_url(source, size=128, home=home)
    prefix = "data:image/webp;base64,"
    assert url.startswith(prefix)
    cached = thumbnail_path(sha256_file(source), 128, cache_dir=thumbnail_cache_dir(home))
    assert base64.b64decode(url[len(prefix):]) == cached.read_bytes()
    with pytest.raises(ImageInputError, match="gone.png"):
        thumbnail_data_url(tmp_path / "gone.png", home=home)


@pytest.mark.parametrize("content", [b"", b"garbage bytes, not a PNG", None])
def test_bad_sources_raise_image_input_error_naming_the_file(tmp_path, cache, content):
    source = tmp_path / "broken.png"
    if content is None:
        make_png(source)
        source.write_bytes(source.read_bytes()[:200])  # truncated
    else:
        source.write_bytes(content)
    with pytest.raises(ImageInputError, match="broken.png"):
        thumbnail(source, cache_dir=cache)
    with pytest.raises(ImageInputError, match="missing.png"):
        thumbnail(tmp_path / "missing.png", cache_dir=cache)
    assert not cache.exists() or not any(p.is_file() for p in cache.rglob("*"))  # nothing half-made


def test_deleting_the_cache_is_harmless(tmp_path, cache):
    source = make_png(tmp_path / "c.png")
    first = thumbnail(source, cache_dir=cache)
    size = Image.open(first).size
    for path in sorted(cache.rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    cache.rmdir()
    again = thumbnail(source, cache_dir=cache)
    assert again == first and Image.open(again).size == size
    assert not [p for p in cache.rglob("*") if p.name.endswith(".tmp")]  # atomic writes leave no temp files


def test_bad_arguments_are_refused(tmp_path, cache):
    source = make_png(tmp_path / "d.png")
    with pytest.raises(InputError, match="sha256"):
        thumbnail(source, "abc", cache_dir=cache)
    for size in (0, 8, 4096, 2.5, True):
        with pytest.raises(InputError, match="size"):
            thumbnail(source, size=size, cache_dir=cache)


def test_default_cache_is_in_the_workspace(kroma_home, tmp_path):
    source = make_png(tmp_path / "e.png")
    path = thumbnail(source)
    assert thumbnail_cache_dir() == kroma_home / "cache" / "thumbnails"
    assert path.parent.parent == kroma_home / "cache" / "thumbnails"
