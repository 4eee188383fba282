"""The output guard on synthetic images: the seed's math and report, plus the checks it missed."""

from __future__ import annotations

import json
import re
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageChops, ImageStat

from kroma_kit.errors import ConfigError, ImageInputError
from kroma_kit.pipeline.guard import (
    GuardSettings,
    Rank,
    archive_bad,
    archive_failing,
    audit,
    check_file,
    chroma_delta,
    naive_chroma_delta,
    rank_from_report,
    run_qa,
)

REPO = Path(__file__).resolve().parents[2]


# --------------------------------------------------------------------------- synthetic images

def gray_ramp(width: int = 64, height: int = 48) -> Image.Image:
    """A grey gradient: chroma 0, clearly not blank."""
    ramp = np.tile(np.linspace(0, 255, width, dtype=np.uint8), (height, 1))
    return Image.fromarray(ramp, "L").convert("RGB")


def red_ramp(width: int = 64, height: int = 48) -> Image.Image:
    """Saturated reds from dark to bright: chroma far above 2, luma varies."""
    pixels = np.zeros((height, width, 3), dtype=np.uint8)
    pixels[..., 0] = np.linspace(40, 255, width, dtype=np.uint8)
    return Image.fromarray(pixels, "RGB")


def random_rgb(seed: int, width: int = 97, height: int = 61) -> Image.Image:
    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8))


def save(image: Image.Image, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)
    return path


def png_bomb(path: Path, side: int = 9_000) -> Path:
    """A tiny 1-bit PNG whose header claims side x side pixels (81 M: over our 64 M limit, under
    Pillow's own 89 M warning, so it is our check that must catch it)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = zlib.compress(b"\0" * ((1 + side // 8) * side), 9)
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b""))
    return path


def seed_chroma(image: Image.Image) -> float:
    """The seed's Python implementation: mean of each channel difference image, averaged."""
    red, green, blue = image.convert("RGB").split()
    means = [ImageStat.Stat(ImageChops.difference(a, b)).mean[0] for a, b in ((red, green), (red, blue), (green, blue))]
    return round(sum(means) / 3, 4)


# --------------------------------------------------------------------------- chroma metric

def test_chroma_of_an_opaque_image_matches_the_seeds_formula():
    image = random_rgb(1)
    assert chroma_delta(image) == seed_chroma(image)
    assert chroma_delta(gray_ramp()) == 0.0
    assert chroma_delta(Image.new("RGB", (4, 4), (255, 0, 0))) == 170.0  # the metric's maximum


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "P", "L"])
def test_vectorised_chroma_equals_the_naive_per_pixel_reference(mode):
    image = random_rgb(7, 97, 301)  # several row strips, the last one partial
    if mode == "RGBA":
        alpha = np.random.default_rng(8).choice([0, 0, 128, 255], size=(301, 97)).astype(np.uint8)
        image = Image.fromarray(np.dstack([np.asarray(image), alpha]), "RGBA")
    elif mode in ("P", "L"):
        image = image.convert(mode)
    assert chroma_delta(image) == naive_chroma_delta(image)


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "LA", "P"])
def test_pixel_stats_equal_a_per_pixel_reference_of_chroma_and_luma_spread(mode):
    """The one-pass scan (interleaved bytes, strips, integer sums) against plain numpy over the
    visible pixels: the channel spread total, the luma (OpenCV's ITU-R 601 grey of the whole image
    at once, which the blank check has always used) and its standard deviation."""
    import cv2

    from kroma_kit.pipeline.pixel_metrics import pixel_stats

    rgb = np.asarray(random_rgb(11, 131, 257)).astype(np.int64)  # several strips, the last one partial
    alpha = np.random.default_rng(12).choice([0, 0, 1, 255], size=(257, 131)).astype(np.uint8)
    image = Image.fromarray(np.dstack([rgb.astype(np.uint8), alpha]), "RGBA") if mode in ("RGBA", "LA") \
        else Image.fromarray(rgb.astype(np.uint8))
    image = image.convert(mode) if mode in ("LA", "P") else image
    decoded = image.convert("RGBA" if mode in ("RGBA", "LA") else "RGB")
    visible = np.asarray(decoded)[..., 3] > 0 if mode in ("RGBA", "LA") else np.ones((257, 131), dtype=bool)
    pixels = np.asarray(decoded)[..., :3].astype(np.int64)[visible]
    luma = cv2.cvtColor(np.ascontiguousarray(np.asarray(decoded)[..., :3]), cv2.COLOR_RGB2GRAY).astype(np.int64)[visible]
    stats = pixel_stats(image)
    assert (stats.visible, stats.spread_sum) == (len(pixels), int((pixels.max(1) - pixels.min(1)).sum()))
    assert (stats.luma_sum, stats.luma_square_sum) == (int(luma.sum()), int((luma**2).sum()))
    assert stats.luma_std() == round(float(np.sqrt(max((luma**2).mean() - luma.mean() ** 2, 0.0))), 4)
    assert 0 < stats.visible < 257 * 131 if mode in ("RGBA", "LA") else stats.visible == 257 * 131


def test_transparent_colourful_pixels_are_ignored():
    pixels = np.zeros((40, 80, 4), dtype=np.uint8)
    pixels[:, :40, :3] = np.linspace(0, 255, 40, dtype=np.uint8)[None, :, None]  # grey, opaque
    pixels[:, :40, 3] = 255
    pixels[:, 40:] = (255, 0, 0, 0)  # saturated red hidden under alpha 0 (a cutout's background)
    cutout = Image.fromarray(pixels, "RGBA")
    assert chroma_delta(cutout) == 0.0
    assert chroma_delta(cutout.convert("RGB")) == 85.0  # what the seed measured: half the pixels at 170


def test_a_fully_transparent_image_has_no_chroma_and_is_blank(tmp_path):
    path = save(Image.new("RGBA", (16, 16), (255, 0, 0, 0)), tmp_path / "empty.png")
    assert chroma_delta(Image.open(path)) is None
    entry = check_file(path)
    assert entry["chroma_delta"] is None and entry["grayscale_like"] is None
    assert entry["hard_fail_reasons"] == ["blank_image"]
    assert entry["verdict"] == "fail"


# --------------------------------------------------------------------------- per-file checks

def test_a_grey_image_passes(tmp_path):
    entry = check_file(save(gray_ramp(), tmp_path / "gray.png"), GuardSettings(enforce_grayscale=True))
    assert entry["chroma_delta"] == 0.0
    assert entry["grayscale_like"] is True
    assert entry["hard_fail_reasons"] == [] and entry["soft_warnings"] == []
    assert entry["verdict"] == "pass"
    assert entry["size"] == [64, 48]


def test_a_saturated_image_is_a_soft_warning_by_default(tmp_path):
    entry = check_file(save(red_ramp(), tmp_path / "red.png"))
    assert entry["chroma_delta"] > 2.0 and entry["grayscale_like"] is False
    assert entry["hard_fail_reasons"] == []
    assert entry["soft_warnings"] == ["chroma_exceeds_threshold"]
    assert entry["verdict"] == "warn"


def test_a_saturated_image_fails_hard_when_the_manifest_says_so(tmp_path):
    path = save(red_ramp(), tmp_path / "red.png")
    exceed = check_file(path, GuardSettings(fail_on_chroma_exceed=True))
    assert exceed["hard_fail_reasons"] == ["chroma_exceeds_threshold"] and exceed["soft_warnings"] == []
    both = check_file(path, GuardSettings(enforce_grayscale=True, fail_on_chroma_exceed=True))
    assert both["hard_fail_reasons"] == ["not_grayscale_like", "chroma_exceeds_threshold"]
    enforced = check_file(path, GuardSettings(enforce_grayscale=True))
    assert enforced["hard_fail_reasons"] == ["not_grayscale_like"]
    assert enforced["soft_warnings"] == ["chroma_exceeds_threshold"]
    assert enforced["verdict"] == "fail"


def test_the_threshold_is_inclusive(tmp_path):
    pixels = np.dstack([np.tile(np.arange(64, dtype=np.uint8), (8, 1))] * 3)
    pixels[..., 0] = pixels[..., 0] + 3  # |R-G| = |R-B| = 3 everywhere: chroma exactly 2.0
    path = save(Image.fromarray(pixels), tmp_path / "edge.png")
    entry = check_file(path, GuardSettings(max_chroma_delta=2.0, fail_on_chroma_exceed=True))
    assert entry["chroma_delta"] == 2.0 and entry["grayscale_like"] is True and entry["verdict"] == "pass"


def test_a_blank_image_fails_unless_the_check_is_off(tmp_path):
    path = save(Image.new("RGB", (32, 32), (250, 250, 250)), tmp_path / "white.png")
    entry = check_file(path)
    assert entry["hard_fail_reasons"] == ["blank_image"] and entry["luma_std"] == 0.0
    assert check_file(path, GuardSettings(blank_std_threshold=0.0))["verdict"] == "pass"


def test_a_tiny_bit_of_noise_is_still_blank_but_a_drawing_is_not(tmp_path):
    almost = np.full((32, 32, 3), 128, dtype=np.uint8)
    almost[0, 0] = 131
    assert "blank_image" in check_file(save(Image.fromarray(almost), tmp_path / "almost.png"))["hard_fail_reasons"]
    assert check_file(save(gray_ramp(), tmp_path / "ramp.png"))["verdict"] == "pass"


def test_wrong_dimensions_fail_only_when_a_size_is_expected(tmp_path):
    path = save(gray_ramp(64, 48), tmp_path / "g.png")
    assert check_file(path, GuardSettings(expected_size=(48, 64)))["hard_fail_reasons"] == ["wrong_dimensions"]
    assert check_file(path, GuardSettings.from_mapping({"expected_size": "64x48"}))["verdict"] == "pass"
    assert check_file(path)["verdict"] == "pass"


@pytest.mark.parametrize("content", [b"not an image at all", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00"])
def test_an_unreadable_file_is_image_read_failed(tmp_path, content):
    path = tmp_path / "broken.png"
    path.write_bytes(content)
    entry = check_file(path)
    assert entry["hard_fail_reasons"] == ["image_read_failed"]
    assert "broken.png" in entry["error"]
    assert entry["chroma_delta"] is None and entry["verdict"] == "fail"


def test_a_truncated_image_is_image_read_failed(tmp_path):
    full = save(random_rgb(3, 200, 200), tmp_path / "full.png").read_bytes()
    path = tmp_path / "cut.png"
    path.write_bytes(full[: len(full) // 2])
    assert check_file(path)["hard_fail_reasons"] == ["image_read_failed"]


def test_a_decompression_bomb_is_refused_without_decoding(tmp_path):
    entry = check_file(png_bomb(tmp_path / "bomb.png"))
    assert entry["hard_fail_reasons"] == ["image_read_failed"]
    assert "bomb" in entry["error"]


# --------------------------------------------------------------------------- whole input

def test_a_folder_audit_counts_files_not_reasons(tmp_path):
    save(gray_ramp(), tmp_path / "a_gray.png")
    save(red_ramp(), tmp_path / "sub" / "b_red.jpg")
    save(Image.new("L", (20, 20), 0), tmp_path / "sub" / "deeper" / "c_blank.png")
    (tmp_path / "sub" / "d_corrupt.webp").write_bytes(b"garbage")
    save(Image.new("RGB", (20, 20), (200, 0, 0)), tmp_path / "e_flat_red.png")  # two hard reasons, one soft
    (tmp_path / "notes.txt").write_text("not an image")
    settings = GuardSettings(enforce_grayscale=True)

    report = audit(tmp_path, settings)

    assert report["input"] == str(tmp_path)
    assert report["settings"] == {"max_chroma_delta": 2.0, "enforce_grayscale": True,
                                  "fail_on_chroma_exceed": False, "expected_size": None,
                                  "blank_std_threshold": 1.0}
    names = [Path(entry["file"]).relative_to(tmp_path).as_posix() for entry in report["files"]]
    assert names == ["a_gray.png", "e_flat_red.png", "sub/b_red.jpg", "sub/d_corrupt.webp",
                     "sub/deeper/c_blank.png"]  # sorted by path
    reasons = {Path(entry["file"]).name: entry["hard_fail_reasons"] for entry in report["files"]}
    assert reasons == {"a_gray.png": [], "e_flat_red.png": ["not_grayscale_like", "blank_image"],
                       "b_red.jpg": ["not_grayscale_like"], "d_corrupt.webp": ["image_read_failed"],
                       "c_blank.png": ["blank_image"]}
    verdicts = {Path(entry["file"]).name: entry["verdict"] for entry in report["files"]}
    assert verdicts == {"a_gray.png": "pass", "e_flat_red.png": "fail", "b_red.jpg": "fail",
                        "c_blank.png": "fail", "d_corrupt.webp": "fail"}
    # 5 hard reasons and 2 soft warnings over 4 failing files: the summary counts files.
    assert report["summary"] == {"total_files": 5, "hard_failures": 4, "soft_warnings": 2}
    json.dumps(report)  # goes into run logs as is


def test_a_single_file_audit(tmp_path):
    report = audit(save(red_ramp(), tmp_path / "one.png"))
    assert report["summary"] == {"total_files": 1, "hard_failures": 0, "soft_warnings": 1}


def test_missing_input_and_empty_folder_are_one_synthetic_failure(tmp_path):
    missing = audit(tmp_path / "nope")
    assert missing["summary"] == {"total_files": 0, "hard_failures": 1, "soft_warnings": 0}
    assert missing["files"][0]["hard_fail_reasons"] == ["input_not_found"]
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.md").write_text("no images here")
    empty = audit(tmp_path / "empty")
    assert empty["summary"] == {"total_files": 0, "hard_failures": 1, "soft_warnings": 0}
    assert empty["files"][0]["hard_fail_reasons"] == ["no_images_found"]


def test_run_qa_is_the_seeds_qa_envelope(tmp_path):
    path = save(Image.new("RGB", (8, 8)), tmp_path / "black.png")
    assert run_qa(path, GuardSettings(enabled=False)) == {
        "ok": True, "skipped": True, "enabled": False, "reason": "output_guard_disabled"}
    result = run_qa(path)
    assert result["ok"] is False and result["has_hard_failures"] is True
    assert result["summary"] == result["report"]["summary"]


# --------------------------------------------------------------------------- settings

def test_settings_read_the_manifest_section_and_round_trip():
    manifest = json.loads((REPO / "settings" / "manifest.json").read_text()) \
        if (REPO / "settings" / "manifest.json").exists() else {}
    section = manifest.get("output_guard", {"enabled": True, "enforce_grayscale": False,
                                            "max_chroma_delta": 2.0, "fail_on_chroma_exceed": False})
    assert GuardSettings.from_mapping(section) == GuardSettings()
    custom = GuardSettings.from_mapping({"max_chroma_delta": 5, "expected_size": "1024x1536",
                                         "blank_std_threshold": 2.5, "enforce_grayscale": True})
    assert custom.expected_size == (1024, 1536) and custom.max_chroma_delta == 5.0
    assert GuardSettings.from_mapping(custom.to_dict()) == custom
    assert GuardSettings.from_mapping(None) == GuardSettings()


@pytest.mark.parametrize("section", [
    {"max_chroma": 3},  # a typo must not fall back to the default silently
    {"max_chroma_delta": -1},
    {"max_chroma_delta": float("nan")},
    {"enforce_grayscale": "false"},
    {"expected_size": "big"},
    {"expected_size": [0, 10]},
])
def test_bad_settings_are_config_errors(section):
    with pytest.raises(ConfigError):
        GuardSettings.from_mapping(section)


# --------------------------------------------------------------------------- rank

def test_rank_averages_the_chroma_excess_over_numeric_files():
    report = {
        "settings": {"max_chroma_delta": 2.0},
        "summary": {"total_files": 3, "hard_failures": 1, "soft_warnings": 1},
        "files": [{"chroma_delta": 7.1234}, {"chroma_delta": 1.0}, {"chroma_delta": None}],
    }
    assert rank_from_report(report) == Rank(1, 1, 2.5617)  # (5.1234 + 0) / 2
    assert rank_from_report(report, threshold=0.0) == Rank(1, 1, 4.0617)
    assert rank_from_report({"summary": {}, "files": [{"chroma_delta": None}]}) == Rank(0, 0, 0.0)


def test_rank_of_a_real_audit(tmp_path):
    save(red_ramp(), tmp_path / "red.png")
    save(gray_ramp(), tmp_path / "gray.png")
    report = audit(tmp_path)
    red_chroma = next(e["chroma_delta"] for e in report["files"] if e["file"].endswith("red.png"))
    assert rank_from_report(report) == Rank(0, 1, round((red_chroma - 2.0) / 2, 4))
    assert Rank.from_mapping(rank_from_report(report).to_dict()) == rank_from_report(report)


# --------------------------------------------------------------------------- archive/bad

STAMPED = r"_bad_\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z"


def test_archive_bad_moves_every_image_and_nothing_else(tmp_path):
    outputs = tmp_path / "outputs"
    save(gray_ramp(), outputs / "one.png")
    save(red_ramp(), outputs / "nested" / "two.jpg")
    (outputs / "keep.json").write_text("{}")
    archive = tmp_path / "archive" / "bad"

    result = archive_bad(outputs, archive)

    assert result["ok"] is True and result["moved_count"] == 2 and result["failed"] == []
    assert result["archive_dir"] == str(archive)
    for item in result["moved"]:
        assert not Path(item["from"]).exists() and Path(item["to"]).is_file()
        stem, ext = Path(item["from"]).stem, Path(item["from"]).suffix
        assert re.fullmatch(stem + STAMPED + re.escape(ext), Path(item["to"]).name)
    assert (outputs / "keep.json").exists()


def test_archive_bad_with_nothing_to_move_is_an_error(tmp_path):
    with pytest.raises(ImageInputError):
        archive_bad(tmp_path, tmp_path / "archive")
    with pytest.raises(ImageInputError):
        archive_bad(tmp_path / "missing", tmp_path / "archive")


def test_archive_bad_leaves_the_archive_itself_alone(tmp_path):
    save(gray_ramp(), tmp_path / "archive" / "bad" / "old_bad_stamp.png")
    save(gray_ramp(), tmp_path / "outputs" / "new.png")
    result = archive_bad(tmp_path, tmp_path / "archive" / "bad")
    assert [Path(item["from"]).name for item in result["moved"]] == ["new.png"]
    assert (tmp_path / "archive" / "bad" / "old_bad_stamp.png").exists()


def test_archive_failing_moves_only_what_the_audit_failed(tmp_path):
    good = save(gray_ramp(), tmp_path / "out" / "good.png")
    blank = save(Image.new("RGB", (10, 10), 255), tmp_path / "out" / "blank.png")
    red = save(red_ramp(), tmp_path / "out" / "red.png")  # soft warning only: stays
    report = audit(tmp_path / "out")

    result = archive_failing(report, tmp_path / "archive" / "bad")

    assert result["moved_count"] == 1 and result["ok"] is True
    assert result["moved"][0]["from"] == str(blank) and result["moved"][0]["reasons"] == ["blank_image"]
    assert good.exists() and red.exists() and not blank.exists()
    assert archive_failing(audit(tmp_path / "nothing"), tmp_path / "archive")["skipped"] == [
        {"file": str(tmp_path / "nothing"), "reason": "not_a_file"}]


def test_a_caller_decoded_image_is_checked_as_given_and_reports_like_its_file(tmp_path):
    """A run decodes each candidate once for the guard and the continuity gate (``decoded``)."""
    from kroma_kit.imaging import open_image

    red = save(red_ramp(), tmp_path / "red.png")
    settings = GuardSettings(fail_on_chroma_exceed=True)
    assert audit(red, settings, decoded=open_image(red)) == audit(red, settings)
    # The image given is the one judged (the file is not decoded again): here a grey one.
    report = audit(red, settings, decoded=gray_ramp())
    assert report["summary"] == {"total_files": 1, "hard_failures": 0, "soft_warnings": 0}
    assert report["files"][0]["file"] == str(red) and report["files"][0]["verdict"] == "pass"
