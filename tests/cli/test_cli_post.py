"""`kroma bgremove | upscale | color` on a project's files: outputs, lineage, errors."""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image

from tests.cli.test_cli_workspace import kroma


def test_chain_of_standalone_steps_keeps_alpha_and_registers_lineage(kroma_home: Path) -> None:
    kroma(kroma_home, "project", "create", "--slug", "demo", "--samples")
    root = kroma_home / "projects" / "demo"
    cut = json.loads(kroma(kroma_home, "bgremove", "--project", "demo", "--input", str(root / "characters"),
                           "--bg-remove-backends", "auto", "--json").stdout)
    assert cut["ok"] and cut["processed_count"] == 2
    nobg = root / "background_removed" / "detective_nobg.png"
    assert Image.open(nobg).getchannel("A").getextrema() == (0, 255)
    up = json.loads(kroma(kroma_home, "upscale", "--project", "demo", "--input", str(nobg),
                          "--upscale-backend", "lanczos", "--upscale-scale", "2", "--json").stdout)
    upscaled = Path(up["processed"][0]["output"])
    assert upscaled == root / "upscaled" / "detective_nobg_x2.png"
    assert Image.open(upscaled).size == (768, 1024)
    col = json.loads(kroma(kroma_home, "color", "--project", "demo", "--input", str(upscaled),
                           "--profile", "cold_rain", "--json").stdout)
    final = Path(col["processed"][0]["output"])
    assert final.name == "detective_nobg_x2_cold_rain.png"
    assert Image.open(final).getchannel("A").getextrema() == (0, 255)

    from kroma_kit.catalog import open_workspace
    from kroma_kit.catalog.assets import asset_parents, find_asset

    ws = open_workspace(kroma_home)
    conn = ws.connect()
    project_id = conn.execute("SELECT id FROM projects WHERE slug = 'demo'").fetchone()[0]
    chain = []
    asset = find_asset(conn, project_id, final)
    while asset is not None:
        chain.append(asset["kind"])
        parents = asset_parents(conn, asset["id"])
        asset = parents[0] if parents else None
    # the sample characters are registered reference images (their reference sets), so the
    # lineage ends at that asset rather than at a fresh "input"
    assert chain == ["color_corrected", "upscaled", "bg_removed", "reference"]

    again = json.loads(kroma(kroma_home, "color", "--project", "demo", "--input", str(upscaled),
                             "--profile", "cold_rain", "--json").stdout)
    assert again["ok"]
    assert any(p.name.startswith("detective_nobg_x2_cold_rain_replaced_")
               for p in (root / "archive" / "replaced").iterdir())


def test_bad_inputs_fail_clearly_and_lose_nothing(kroma_home: Path) -> None:
    kroma(kroma_home, "project", "create", "--slug", "demo", "--samples")
    root = kroma_home / "projects" / "demo"
    missing = kroma(kroma_home, "color", "--project", "demo", "--input", str(root / "nope"), check=False)
    assert missing.returncode != 0 and "Input not found" in missing.stderr
    folder = root / "mixed"
    folder.mkdir()
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    Image.new("RGB", (40, 30), (90, 80, 70)).save(folder / "good.png")
    mixed = kroma(kroma_home, "color", "--project", "demo", "--input", str(folder), "--json", check=False)
    assert mixed.returncode == 1
    data = json.loads(mixed.stdout)
    assert data["processed_count"] == 1 and data["failed_count"] == 1
    assert "broken.png" in data["failed"][0]["input"]
    assert (root / "color_corrected" / "good_neutral.png").is_file()
    assert (folder / "broken.png").exists()
    paid = kroma(kroma_home, "bgremove", "--project", "demo", "--input", str(folder / "good.png"),
                 "--bg-remove-backends", "removebg", check=False)
    assert paid.returncode != 0 and "--confirm-spend" in paid.stderr
    unknown = kroma(kroma_home, "color", "--project", "demo", "--input", str(folder / "good.png"),
                    "--profile", "sepia_dream", "--json", check=False)
    assert unknown.returncode != 0 and "sepia_dream" in (unknown.stdout + unknown.stderr)
