"""Offline voice round trip: espeak-ng speaks workbench commands to WAV, pocketsphinx transcribes
them with the project's grammar, and the copilot turns each into the right instruction and slots."""

from __future__ import annotations

import shutil
import subprocess

import pytest

pytestmark = pytest.mark.skipif(not shutil.which("espeak-ng") or not shutil.which("sox"),
                                reason="needs Debian espeak-ng and sox (make debs)")

# (spoken command, action, slots that must be filled)
COMMANDS = [
    ("dry run the night stage for street", "dry_run", {"stage": "time", "time": "night", "scenes": ["street"]}),
    ("generate three candidates for rooftop", "run", {"candidates": 3, "scenes": ["rooftop"]}),
    ("remove the background of the harbor", "postprocess", {"steps": ["bg_remove"], "scenes": ["harbor"]}),
    ("upscale the outputs by four", "postprocess", {"steps": ["upscale"], "scale": 4}),
    ("archive the bad outputs", "archive_bad", {}),
    ("make candidate two the winner for street", "set_winner", {"candidate": 2, "scenes": ["street"]}),
    ("apply the cinematic warm color profile", "postprocess", {"steps": ["color"], "color_profile": "cinematic_warm"}),
]


def test_spoken_commands_become_the_right_instructions(shared_ws, ctx, tmp_path):
    from kroma_kit.catalog.voice_requests import list_voice_requests
    from kroma_kit.copilot.grammar import parse
    from kroma_kit.copilot.voice import transcribe

    right = 0
    heard = []
    for number, (spoken, action, slots) in enumerate(COMMANDS):
        raw = tmp_path / f"cmd{number}.wav"
        subprocess.run(["espeak-ng", "-v", "en-us", "-w", str(raw), spoken], check=True, capture_output=True)
        result = transcribe(shared_ws, "demo", raw)
        intent = parse(result.text, ctx)
        ok = intent is not None and intent.action == action and all(intent.slots.get(k) == v for k, v in slots.items())
        right += ok
        heard.append((spoken, result.text, result.mode, ok))
    print(f"voice round trip: {right}/{len(COMMANDS)} right", heard)
    assert right >= len(COMMANDS) - 1, heard
    rows = list_voice_requests(shared_ws, ctx.project_id)
    assert len(rows) >= len(COMMANDS) and all(r["status"] == "done" and r["latency_ms"] is not None for r in rows)
    assert all(r["input_asset_id"] for r in rows)
