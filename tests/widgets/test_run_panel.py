"""RunPanel: a local run from start to finish, the spend lock on a paid provider, cancel, and
widget updates that happen on the UI thread only (the ipykernel >= 7 pitfall)."""

from __future__ import annotations

import asyncio
import json
import shutil
import threading
from pathlib import Path

import pytest

from kroma_kit.analytics import candidates, runs_table
from kroma_kit.storage.runlog import read_run_log
from kroma_kit.widgets import RunPanel
from tests.fakes.openai_images_server import FakeOpenAIImagesServer


def test_local_run_completes_with_full_progress_and_a_row_per_candidate(workspace, demo_project):
    panel = RunPanel(workspace, project="demo", candidates=2)
    finished = []
    panel.on_finished(finished.append)
    summary = panel.run_and_wait(timeout=120)

    assert summary.status == "done" and summary.jobs_done == 4
    assert panel.progress.max == 8 and panel.progress.value == 8 and panel.progress.bar_style == "success"
    assert panel.counter.value == "8/8"
    assert len(panel.rows) == 8 and {row["status"] for row in panel.rows.values()} == {"done"}
    assert all(row["verdict"] in ("pass", "warn", "fail") for row in panel.rows.values())
    winners = {job for (job, _), row in panel.rows.items() if row["winner"] == "★"}
    assert winners == {"style_1_street", "style_2_room", "style_3_rooftop", "style_4_harbor"}
    assert "done" in panel.status.value and panel.run_id == summary.run_id and finished == [summary]
    assert panel.table.value.count("<tr>") == 1 + 8
    assert not panel.run_button.disabled and panel.cancel_button.disabled

    catalog = candidates(workspace, run_id=summary.run_id)
    assert len(catalog) == 8 and int(catalog["is_winner"].sum()) == 4
    assert read_run_log(summary.run_log_path)["status"] == "done"


def test_paid_run_without_confirmation_is_refused_and_calls_nothing(workspace, demo_project, monkeypatch):
    with FakeOpenAIImagesServer() as fake:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-widgets")
        monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
        panel = RunPanel(workspace, project="demo", provider="openai", candidates=1)
        panel.plan.run_dry()
        assert panel.plan.paid and not panel.plan.confirmed

        panel.run_button.click()
        with pytest.raises(Exception, match="Spending is locked"):
            panel.wait(timeout=30)
        assert "Spending is locked" in panel.status.value and panel.progress.bar_style == "danger"
        assert fake.requests == []
        assert list(runs_table(workspace, "demo")["mode"]) == ["dry"]  # no run row, no run log

        panel.plan.run_dry()
        panel.plan.confirm.value = True
        summary = panel.run_and_wait(timeout=60)
        assert summary.status == "done" and len(fake.requests) == 4 and summary.actual_cost_usd > 0


def test_cancel_stops_new_calls_and_the_run_ends_partial(workspace, demo_project):
    panel = RunPanel(workspace, project="demo", candidates=3)
    panel.start()
    panel.cancel_button.click()
    summary = panel.wait(timeout=120)
    assert summary.status == "partial" and "cancel" in (summary.status_reason or "")
    assert panel.progress.value < panel.progress.max == 12
    assert "partial" in panel.status.value


def test_widgets_change_only_on_the_thread_that_started_the_run(workspace, demo_project):
    """Under a running event loop (as in a kernel) updates arrive through the loop, on its thread,
    without anyone calling wait(): the ipykernel >= 7 safe path. The loop runs on a thread of its
    own because pytest's main thread may already run one (Playwright's, in the same session)."""
    panel = RunPanel(workspace, project="demo", candidates=1)
    threads: set[int] = set()
    apply = panel._apply

    def recording(event):
        threads.add(threading.get_ident())
        apply(event)
    panel._apply = recording

    async def click_and_idle():
        task = panel.start()
        while task.running:
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)

    ui = threading.Thread(target=lambda: asyncio.run(click_and_idle()), name="fake-kernel-loop")
    ui.start()
    ui.join(timeout=120)
    assert threads == {ui.ident}
    assert panel.progress.value == panel.progress.max == 4
    assert panel.summary is not None and panel.summary.status == "done"


def test_a_confirmation_does_not_cover_a_plan_that_got_dearer(workspace, demo_project, monkeypatch):
    root = Path(demo_project["root"])
    with FakeOpenAIImagesServer() as fake:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-widgets")
        monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
        panel = RunPanel(workspace, project="demo", provider="openai", candidates=1)
        panel.plan.run_dry()
        panel.plan.confirm.value = True

        shutil.copy(root / "inputs/scenes/street.png", root / "inputs/scenes/alley.png")
        manifest = json.loads((root / "manifest.json").read_text())
        manifest["scene_refs"].append("inputs/scenes/alley.png")  # edited after the tick: 5 jobs, not 4
        (root / "manifest.json").write_text(json.dumps(manifest))

        panel.run_button.click()
        assert "dry-run again" in panel.status.value and panel.task is None and fake.requests == []


def test_one_confirmation_pays_for_one_run_and_the_next_stage_can_start_from_it(workspace, demo_project,
                                                                              monkeypatch):
    with FakeOpenAIImagesServer() as fake:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-widgets")
        monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
        panel = RunPanel(workspace, project="demo", provider="openai", candidates=1)
        panel.plan.run_dry()
        panel.plan.confirm.value = True
        first = panel.run_and_wait(timeout=60)
        assert first.status == "done" and len(fake.requests) == 4
        assert not panel.plan.confirmed and panel.plan.dry is not None  # plan kept, tick used up

        panel.run_button.click()
        with pytest.raises(Exception, match="Spending is locked"):
            panel.wait(timeout=30)
        assert len(fake.requests) == 4
        assert first.run_id in [value for _, value in panel.plan.from_run.options]
