"""Offline background removal on whole scenes, through the CLI: `auto` (no rembg model, no key)
leaves a scene unchanged with `skipped: no plain background (...)` in the run log's post steps
and in `kroma bgremove`, and the guard and ranking judge the whole picture; characters on their
plain backgrounds are still cut out."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from kroma_kit.cli.main import main
from kroma_kit.providers.bg_remove import NO_PLAIN_BACKGROUND
from kroma_kit.providers.bg_subject import subject_shape


def _run(capsys, *args: str) -> tuple[int, dict]:
    code = main([*args, "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_run_with_post_bg_remove_leaves_scenes_whole_and_says_why(demo_project, capsys, tmp_path, monkeypatch):
    root = Path(demo_project["root"])
    monkeypatch.setenv("U2NET_HOME", str(tmp_path))  # no model file here: rembg fails fast, `auto` decides
    code, summary = _run(capsys, "run", "--project", "demo", "--scene-refs",
                         "inputs/scenes/street.png,inputs/scenes/harbor.png", "--candidates", "2",
                         "--post-bg-remove", "--post-upscale", "--upscale-backend", "lanczos")
    assert code == 0 and summary["status"] == "done" and summary["jobs_done"] == 2
    log = json.loads(Path(summary["run_log_path"]).read_text())
    for job in log["jobs"]:
        for candidate in job["candidates"]:
            step = candidate["bg_remove"]
            assert step["skipped"] == NO_PLAIN_BACKGROUND and step["output"] is None
            assert step["backends_tried"] == ["rembg", "auto"]
            assert any(note.startswith("auto: ") and "part(s)" in note for note in step["notes"])
            # the next step got the whole picture, and the guard judged what was written
            assert candidate["upscale"]["input"] == candidate["output"]
            assert candidate["output_guard"]["checked_input"] == candidate["final_output"]
            with Image.open(root / candidate["final_output"]) as final:
                assert "A" not in final.getbands() or final.getchannel("A").getextrema() == (255, 255)
    assert not any((root / "background_removed").iterdir())  # nothing shredded was written


def test_bgremove_skips_scenes_and_still_cuts_out_characters(demo_project, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("U2NET_HOME", str(tmp_path))
    root = Path(demo_project["root"])
    code, scenes = _run(capsys, "bgremove", "--project", "demo", "--input", str(root / "inputs/scenes"))
    assert code == 0 and scenes["ok"] and scenes["processed_count"] == 0 and scenes["failed_count"] == 0
    assert scenes["skipped_count"] == 4
    assert {entry["skipped"] for entry in scenes["skipped"]} == {NO_PLAIN_BACKGROUND}
    assert not any((root / "background_removed").iterdir())

    assert main(["bgremove", "--project", "demo", "--input", str(root / "inputs/scenes/room.png")]) == 0
    text = capsys.readouterr().out
    assert f"skipped: {NO_PLAIN_BACKGROUND}" in text and "1 left unchanged (skipped)" in text

    code, characters = _run(capsys, "bgremove", "--project", "demo", "--input", str(root / "characters"))
    assert code == 0 and characters["processed_count"] == 2 and characters["skipped_count"] == 0
    for entry in characters["processed"]:
        with Image.open(entry["output"]) as cutout:
            alpha = np.asarray(cutout.getchannel("A"))
        height, width = alpha.shape
        assert alpha[0, 0] == alpha[-1, -1] == 0  # the plain page is gone
        assert alpha[height // 2, width // 2] == 255  # the figure is kept
        shape = subject_shape(alpha)
        assert shape.separable and shape.parts == 1 and 0.1 < shape.coverage < 0.5
