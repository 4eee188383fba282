"""PostProcessPanel: colour correction (and a cutout + upscale) on chosen outputs of a run."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from kroma_kit.postprocess import output_base
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


def test_cutout_then_upscale_chain(workspace, demo_project, local_run):
    panel = PostProcessPanel(workspace, project="demo", run_id=local_run.run_id)
    panel.select([panel.outputs.options[0][1]])
    panel.set_steps(bg_remove=True, bg_backend="auto", upscale=True, upscale_backend="lanczos", upscale_scale=2)
    (result,) = panel.run_and_wait(timeout=120)
    assert result.ok and [step.step for step in result.steps] == ["bg_remove", "upscale"]
    with Image.open(result.final_path) as image:
        assert image.mode == "RGBA" and image.size == (768 * 2, 512 * 2)
    assert panel.progress.value == 2


def test_a_failing_step_is_reported_and_stops_that_file_only(workspace, demo_project, local_run):
    panel = PostProcessPanel(workspace, project="demo")
    panel.select([panel.outputs.options[0][1]])
    panel.set_steps(bg_remove=True, bg_backend="flat", color=True)  # a street scene has no flat backdrop
    (result,) = panel.run_and_wait(timeout=60)
    assert not result.ok and result.failed_step == "bg_remove"
    assert panel.progress.bar_style == "danger" and "failed: bg_remove" in panel.status.value
    assert "flat" in panel.table.value
