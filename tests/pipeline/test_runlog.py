"""The run log format (validation, versions, seeds, names) and the PNG generation record."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image

from kroma_kit.errors import InputError
from kroma_kit.pipeline.metadata import embed_record, embed_record_in_file, read_record, to_png_bytes
from kroma_kit.pipeline.runlog import (
    candidate_filename,
    candidate_seed,
    process_alive,
    process_start_token,
    read_run_log,
    validate_run_log,
)


def _minimal() -> dict:
    return {"schema_version": 1, "run_id": "r1", "project": "demo", "mode": "run", "status": "done",
            "jobs": [{"id": "style_1_a", "status": "done", "prompt": "p", "input_images": ["a.png"],
                      "candidates": [{"candidate_index": 1, "status": "done", "seed": 7}]}],
            "cost_events": [{"provider_code": "openai", "operation_code": "image_generation", "cost_usd": 0.25,
                             "event_key": "r1:style_1_a:c1:image_generation"}]}


def test_a_valid_log_reads_back(tmp_path):
    path = tmp_path / "r1.json"
    path.write_text(json.dumps(_minimal()))
    assert read_run_log(path)["jobs"][0]["candidates"][0]["seed"] == 7


@pytest.mark.parametrize(("change", "message"), [
    (lambda log: log.pop("run_id"), "run_id"),
    (lambda log: log.update(status="ok"), "status"),
    (lambda log: log["jobs"][0].update(status="weird"), "jobs.0.status"),
    (lambda log: log["jobs"][0]["candidates"][0].update(candidate_index=0), "candidate_index"),
    (lambda log: log.update(schema_version=99), "newer than this Kroma Kit reads"),
    (lambda log: log["cost_events"].append(dict(log["cost_events"][0])), "duplicate cost_events"),
])
def test_invalid_logs_are_refused_with_the_field_named(change, message):
    log = _minimal()
    change(log)
    with pytest.raises(InputError, match=message):
        validate_run_log(log)


def test_unreadable_logs(tmp_path):
    with pytest.raises(InputError, match="Run log not found"):
        read_run_log(tmp_path / "nope.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    with pytest.raises(InputError, match="not valid JSON"):
        read_run_log(broken)


def test_seeds_are_deterministic_per_run_job_and_candidate():
    assert candidate_seed("run", "job", 1) == candidate_seed("run", "job", 1)
    assert len({candidate_seed("run", "job", k) for k in range(1, 7)}) == 6
    assert candidate_seed("run", "job", 1) != candidate_seed("other", "job", 1)
    assert 0 <= candidate_seed("run", "job", 1) < 2 ** 31


def test_candidate_file_names_follow_the_seed():
    assert candidate_filename("style_1_scene_01", 1, 1) == "style_1_scene_01.png"
    assert candidate_filename("style_1_scene_01", 2, 3) == "style_1_scene_01__c2.png"


def _png(color=(10, 20, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), color).save(buffer, format="PNG")
    return buffer.getvalue()


def test_generation_record_round_trips_without_touching_pixels(tmp_path):
    original = _png()
    record = {"prompt": "Ink it. Ünïcode ok.", "provider": "openai", "model": "gpt-image-1", "seed": 42,
              "run_id": "r", "job_id": "j", "candidate_index": 2}
    tagged = embed_record(original, record)
    path = tmp_path / "out.png"
    path.write_bytes(embed_record(tagged, {**record, "seed": 43}))  # re-embedding replaces, never stacks
    read = read_record(path)
    assert read["seed"] == 43 and read["prompt"] == record["prompt"] and read["version"] == 1
    assert tagged.count(b"kroma:generation") == 1
    with Image.open(path) as image:
        assert image.tobytes() == Image.open(io.BytesIO(original)).tobytes()
        image.load()
        assert "kroma:generation" in image.info  # any PNG reader sees it


def test_non_png_inputs_are_converted_and_non_png_files_have_no_record(tmp_path):
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (1, 2, 3)).save(buffer, format="JPEG")
    assert to_png_bytes(buffer.getvalue()).startswith(b"\x89PNG")
    jpeg = tmp_path / "a.jpg"
    jpeg.write_bytes(buffer.getvalue())
    assert read_record(jpeg) is None and embed_record_in_file(jpeg, {"a": 1}) is False
    assert read_record(tmp_path / "missing.png") is None


def test_process_liveness():
    import os
    import subprocess
    import sys

    me = os.getpid()
    assert process_alive(me, process_start_token(me))
    assert not process_alive(me, "not-my-start-time")  # a recycled pid is not the run's process
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert not process_alive(child.pid)
    assert not process_alive(None) and not process_alive(0)
