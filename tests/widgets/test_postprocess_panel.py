"""PostProcessPanel: colour correction (and a cutout + upscale) on chosen outputs of a run."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from kroma_kit.postprocess import output_base
from kroma_kit.providers.bg_remove import NO_PLAIN_BACKGROUND
from kroma_kit.widgets import PostProcessPanel


def test_color_correction_on_one_selected_output(workspace, demo_project, local_run):
    panel = PostProcessPanel(workspace, project="demo")
    assert panel.run_id == local_run.run_id and len(panel.outputs.options) == 4
    assert "rembg" in panel.bg_backend.options and "removebg" not in panel.bg_backend.options  # free only
    chosen = panel.outputs.options[1][1]
    panel.select([chosen])
    panel.set_steps(color=True, color_profile="cold_rain")
    panel.run_button.click()
    results = panel.wait(timeout=60)

    assert len(results) == 1 and results[0].ok
    out = Path(results[0].final_path)
    assert out.parent == Path(demo_project["root"]) / "color_corrected"
    assert out.name == f"{output_base(chosen)}_cold_rain.png" and out.is_file()
    with Image.open(out) as corrected, Image.open(chosen) as original:
        assert corrected.size == original.size
    assert panel.progress.value == panel.progress.max == 1 and panel.progress.bar_style == "success"
    assert out.name in panel.table.value and "cold_rain" in panel.table.value
    assert Path(chosen).is_file()  # the input is never touched


def test_nothing_selected_or_no_step_is_refused_inline(workspace, demo_project, local_run):
    panel = PostProcessPanel(workspace, project="demo")
    panel.set_steps(color=True)
    panel.run_button.click()
    assert "Select at least one output" in panel.status.value and panel.task is None
    panel.select()
    panel.set_steps(color=False)
    panel.run_button.click()
    assert "Tick at least one step" in panel.status.value and panel.task is None


def test_cutout_then_upscale_chain_leaves_a_whole_scene_whole(workspace, demo_project, local_run):
    panel = PostProcessPanel(workspace, project="demo", run_id=local_run.run_id)
    chosen = panel.outputs.options[0][1]
    panel.select([chosen])
    panel.set_steps(bg_remove=True, bg_backend="auto", upscale=True, upscale_backend="lanczos", upscale_scale=2)
    (result,) = panel.run_and_wait(timeout=120)
    assert result.ok and [step.step for step in result.steps] == ["bg_remove", "upscale"]
    bg_step = result.record("bg_remove")
    assert bg_step.output is None and bg_step.skipped == NO_PLAIN_BACKGROUND  # a street scene: nothing to key
    assert result.record("upscale").input == str(chosen)  # the upscale got the whole picture
    with Image.open(result.final_path) as image:
        assert image.mode == "RGB" and image.size == (768 * 2, 512 * 2)
    assert f"skipped: {NO_PLAIN_BACKGROUND}" in panel.table.value
    assert panel.progress.value == 2


def test_a_failing_step_is_reported_and_stops_that_file_only(workspace, demo_project, local_run):
    import numpy as np
    from PIL import Image

    panel = PostProcessPanel(workspace, project="demo")
    chosen = panel.outputs.options[0][1]
    with Image.open(chosen) as image:
        size = image.size
    noise = np.random.default_rng(7).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    Image.fromarray(noise).save(chosen)  # a busy border: no flat backdrop for the flat keyer to find
    panel.select([chosen])
    panel.set_steps(bg_remove=True, bg_backend="flat", color=True)
    (result,) = panel.run_and_wait(timeout=60)
    assert not result.ok and result.failed_step == "bg_remove"
    assert panel.progress.bar_style == "danger" and "failed: bg_remove" in panel.status.value
    assert "flat" in panel.table.value


def _asset(conn, path):
    from kroma_kit.catalog.assets import find_asset

    (project_id,) = conn.execute("SELECT id FROM projects WHERE slug = 'demo'").fetchone()
    return find_asset(conn, project_id, path)


def _parents(conn, asset_id):
    rows = conn.execute("SELECT parent_asset_id FROM asset_links WHERE child_asset_id = ? "
                        "AND link_type = 'derived_from'", (asset_id,)).fetchall()
    return [row[0] for row in rows]


def test_each_output_is_a_catalog_asset_derived_from_its_input(workspace, demo_project, local_run):
    panel = PostProcessPanel(workspace, project="demo")
    chosen = panel.outputs.options[0][1]
    panel.select([chosen])
    panel.set_steps(upscale=True, upscale_backend="lanczos", upscale_scale=2, color=True, color_profile="cold_rain")
    (result,) = panel.run_and_wait(timeout=120)
    assert result.ok
    upscaled, colored = (Path(step.output) for step in result.steps)

    conn = workspace.connect()
    try:
        source, up, col = _asset(conn, chosen), _asset(conn, upscaled), _asset(conn, colored)
        assert source is not None and up["kind"] == "upscaled" and col["kind"] == "color_corrected"
        assert _parents(conn, up["id"]) == [source["id"]]  # the upscale came from the run's output
        assert _parents(conn, col["id"]) == [up["id"]]  # the colour grade from the upscale
        assert (up["width"], up["height"]) == (768 * 2, 512 * 2)
    finally:
        conn.close()

    archive = Path(demo_project["root"]) / "archive" / "replaced"
    assert not archive.exists() or not any(archive.rglob("*.png"))
    (again,) = panel.run_and_wait(timeout=120)
    assert again.ok and all(len(step.archived) == 1 for step in again.steps)
    archived = sorted(path.name for path in archive.rglob("*.png"))
    assert len(archived) == 2
    assert any(name.startswith(upscaled.stem) for name in archived)
    conn = workspace.connect()
    try:  # re-registering refreshes the same rows, it does not duplicate them
        assert conn.execute("SELECT COUNT(*) FROM assets WHERE kind IN ('upscaled', 'color_corrected')"
                            ).fetchone()[0] == 2
    finally:
        conn.close()
