"""The OpenAI cutout refine inside a pipeline run (seed: --post-bg-remove --bg-refine-openai),
end to end against the fake Images API: the free local provider generates, the flat backend cuts
out, and the one paid step goes through the run's spend lock, budget, cost events and run log.
The gateway comes from the project's ``providers.openai.base_url`` setting, not the environment."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from kroma_kit.catalog.runs import get_run
from kroma_kit.errors import SpendError
from kroma_kit.pipeline.execute import dry_run, execute_run
from kroma_kit.pipeline.postchain import REFINE_OPERATION
from kroma_kit.pipeline.resume import resume_run
from tests.pipeline.runsupport import local_request, openai_settings

REFINE = {"bg_remove": True, "bg_remove_backends": ["flat", "grabcut"], "bg_refine_openai": True,
          "bg_refine_openai_required": True}


@pytest.fixture
def gateway_only_in_settings(monkeypatch, openai_key, fake):
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)  # the run must find the fake through settings
    fake.echo_input = True  # a refine answers with the cutout, cleaned (here: as sent)
    return openai_key


def test_refine_runs_through_the_settings_gateway_and_is_costed(workspace, demo, fake, gateway_only_in_settings):
    summary = execute_run(workspace, local_request(scenes=2, candidates=2, postprocess=REFINE,
                                                   settings_overrides=openai_settings(fake)), confirm_spend=True)
    assert summary.status == "done"
    sent = fake.requests
    assert len(sent) == 4 and all(r.path.endswith("/images/edits") for r in sent)
    assert all(r.fields["background"] == "transparent" and "size" not in r.fields for r in sent)
    assert all(r.headers["authorization"] == f"Bearer {gateway_only_in_settings}" for r in sent)

    log = json.loads(Path(summary.run_log_path).read_text())
    refines = [e for e in log["cost_events"] if e["operation_code"] == REFINE_OPERATION]
    assert len(refines) == 4 and all(e["provider_code"] == "openai" and e["cost_usd"] > 0 for e in refines)
    assert summary.actual_cost_usd == pytest.approx(sum(e["cost_usd"] for e in refines))
    root = Path(demo["root"])
    for job in log["jobs"]:
        winner = next(c for c in job["candidates"] if c["candidate_index"] == job["selected_candidate"])
        assert winner["bg_remove"]["refine_openai"] is True and winner["bg_remove"]["refine_error"] is None
        assert winner["bg_remove"]["archived"]  # the plain cutout was kept before the refine replaced it
        final = Image.open(root / job["final_output"])
        assert final.mode == "RGBA" and final.size == Image.open(root / winner["output"]).size
        assert any("resized back" in note for note in winner["bg_remove"]["notes"])

    run = get_run(workspace, summary.run_id)
    paid = [e for e in run["cost_events"] if e["cost_usd"] > 0]
    assert [e["operation_code"] for e in paid] == [REFINE_OPERATION] * 4  # the local images cost $0
    assert sum(e["cost_usd"] for e in run["cost_events"]) == pytest.approx(summary.actual_cost_usd)


def test_refine_is_a_paid_call_even_with_the_free_provider(workspace, demo, fake, gateway_only_in_settings):
    request = local_request(scenes=1, candidates=1, postprocess=REFINE, settings_overrides=openai_settings(fake))
    plan = dry_run(workspace, request)
    assert plan.estimated_cost_usd > 0 and fake.requests == []
    with pytest.raises(SpendError, match="confirm-spend"):
        execute_run(workspace, request)
    assert fake.requests == []


def test_a_budget_stop_before_the_refine_keeps_the_images_and_a_resume_finishes(workspace, demo, fake,
                                                                               gateway_only_in_settings):
    """The free images are made; the refine would cross the budget, so nothing is sent, nothing
    fails: the candidates wait as ``generated`` and the run is partial. Raising the budget in the
    project settings and resuming refines them, with no image made twice."""
    root = Path(demo["root"])
    settings = openai_settings(fake, per_run_usd=0.01)
    summary = execute_run(workspace, local_request(scenes=2, candidates=1, postprocess=REFINE,
                                                   settings_overrides=settings), confirm_spend=True)
    assert fake.requests == []
    assert summary.status == "partial" and "per-run budget $0.01" in summary.status_reason
    assert summary.actual_cost_usd == 0.0
    log = json.loads(Path(summary.run_log_path).read_text())
    assert [job["status"] for job in log["jobs"]] == ["skipped_budget", "skipped_budget"]
    waiting = [c for job in log["jobs"] for c in job["candidates"]]
    assert [c["status"] for c in waiting] == ["generated", "generated"]
    assert all("waits for budget" in c["error"] and (root / c["output"]).is_file() for c in waiting)
    made = {c["output"]: (root / c["output"]).read_bytes() for c in waiting}

    (root / ".kroma").mkdir(exist_ok=True)
    (root / ".kroma" / "pipeline.settings.json").write_text(json.dumps({"budgets": {"per_run_usd": 5.0}}))
    resumed = resume_run(workspace, summary.run_id, confirm_spend=True)
    assert resumed.status == "done" and len(fake.requests) == 2
    log = json.loads(Path(resumed.run_log_path).read_text())
    assert [job["status"] for job in log["jobs"]] == ["done", "done"]
    assert all((root / path).read_bytes() == data for path, data in made.items())  # not generated again
    paid = [e for e in log["cost_events"] if e["cost_usd"] > 0]
    assert [e["operation_code"] for e in paid] == [REFINE_OPERATION] * 2
    assert sorted(e["operation_code"] for e in log["cost_events"]).count("image_generation") == 2  # made once
