"""The `kroma` CLI for workspace, projects and config, run as a real child process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import cli_env


def kroma(home: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, "-m", "kroma_kit", *args], capture_output=True, text=True,
                            env=cli_env(home), timeout=120)
    if check and result.returncode != 0:
        raise AssertionError(f"kroma {' '.join(args)} failed ({result.returncode}): {result.stderr}")
    return result


def test_init_and_db_status_json(kroma_home: Path) -> None:
    init = json.loads(kroma(kroma_home, "init", "--json").stdout)
    assert Path(init["workspace"]) == kroma_home.resolve()
    assert (kroma_home / "catalog.db").is_file()
    status = json.loads(kroma(kroma_home, "db", "status", "--json").stdout)
    assert status["migrations"] and all(m["applied"] for m in status["migrations"])
    migrated = json.loads(kroma(kroma_home, "db", "migrate", "--json").stdout)
    assert migrated["applied"] == []


def test_project_lifecycle_json(kroma_home: Path, tmp_path: Path) -> None:
    created = json.loads(kroma(kroma_home, "project", "create", "--slug", "ep1", "--name", "Episode 1",
                               "--json").stdout)
    assert created["slug"] == "ep1" and created["name"] == "Episode 1" and created["status"] == "active"
    listed = json.loads(kroma(kroma_home, "project", "list", "--json").stdout)
    assert [p["slug"] for p in listed] == ["ep1"]
    shown = json.loads(kroma(kroma_home, "project", "show", "ep1", "--json").stdout)
    assert shown["id"] == created["id"]
    new_root = tmp_path / "abs-root"
    storage = json.loads(kroma(kroma_home, "project", "set-root", "ep1", str(new_root), "--json").stdout)
    assert Path(storage["resolved_root"]) == new_root.resolve() and (new_root / "outputs").is_dir()
    assert json.loads(kroma(kroma_home, "project", "show", "ep1", "--json").stdout)["root"] == str(new_root.resolve())
    archived = json.loads(kroma(kroma_home, "project", "archive", "ep1", "--json").stdout)
    assert archived["status"] == "archived"
    assert json.loads(kroma(kroma_home, "project", "list", "--json").stdout) == []


def test_errors_are_one_line_without_traceback(kroma_home: Path) -> None:
    bad = kroma(kroma_home, "project", "create", "--slug", "../escape", check=False)
    assert bad.returncode != 0
    assert bad.stderr.startswith("error: Invalid project slug")
    assert "Traceback" not in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
    missing = kroma(kroma_home, "project", "show", "nope", check=False)
    assert missing.returncode != 0 and "Unknown project 'nope'" in missing.stderr
    debug = kroma(kroma_home, "--debug", "project", "show", "nope", check=False)
    assert "Traceback" in debug.stderr


def test_config_show_and_validate(kroma_home: Path) -> None:
    kroma(kroma_home, "project", "create", "--slug", "demo", "--samples")
    shown = json.loads(kroma(kroma_home, "config", "show", "--project", "demo", "--json").stdout)
    assert shown["settings"]["pipeline.provider"]["value"] == "local"
    assert shown["manifest"]["generation.candidates"]["value"] == 3
    assert shown["manifest"]["generation.candidates"]["source"].endswith("projects/demo/manifest.json")
    valid = json.loads(kroma(kroma_home, "config", "validate", "--project", "demo", "--json").stdout)
    assert valid["valid"] is True and valid["scenes"] >= 4
    scene = kroma_home / "projects" / "demo" / "inputs" / "scenes" / "street.png"
    scene.write_bytes(b"not a png")
    broken = kroma(kroma_home, "config", "validate", "--project", "demo", "--json", check=False)
    assert broken.returncode != 0
    assert "street.png" in broken.stderr
