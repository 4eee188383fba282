"""QAChartPanel: a real PNG from the analytics numbers, per project and per run, read-only mode."""

from __future__ import annotations

import io

from PIL import Image

from kroma_kit.project_setup import SAMPLE_OUTPUT_GUARD
from kroma_kit.widgets import QAChartPanel


def _size(png: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(png)) as image:
        assert image.format == "PNG"
        return image.size


def test_chart_is_a_png_with_the_threshold_and_counts(workspace, local_run):
    panel = QAChartPanel(workspace, project="demo")
    assert panel.png[:8] == b"\x89PNG\r\n\x1a\n" and panel.image.value == panel.png
    assert _size(panel.png) == (900, 340)
    assert "8 candidates with a chroma measurement" in panel.facts.value
    threshold = SAMPLE_OUTPUT_GUARD["max_chroma_delta"]  # the sample manifest's guard, not the app's 2.0
    assert f"threshold {threshold:g};" in panel.facts.value and "8 QA-checked" in panel.facts.value
    assert [value for _, value in panel.run_choice.options] == ["", local_run.run_id]

    panel.run_choice.value = local_run.run_id  # picking a run redraws for that run only
    assert panel.run_id == local_run.run_id and panel.image.value == panel.png

    saved = panel.save_png()
    assert saved.endswith(".png") and "/exports/qa_" in saved


def test_empty_project_and_read_only_mode(workspace, demo_project):
    panel = QAChartPanel(workspace, project="demo", read_only=True)
    assert _size(panel.png) == (900, 340) and "0 candidates" in panel.facts.value
    assert panel.save_button is None
    assert not any(getattr(child, "description", "") == "Save to exports"
                   for child in panel.widget.children[0].children)
