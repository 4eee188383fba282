"""Before a run pays: the configured image model is asked about (`GET /v1/models/{model}` on the
fake Images API, real wire shape) and a retired one is refused with the replacement named, one
retiring within 30 days is warned about, and a gateway that does not answer is a warning, not a
refusal. Dry runs never ask: they warn from the pricing table."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from kroma_kit.catalog.runs import project_spent_usd
from kroma_kit.cli.main import main
from kroma_kit.config import resolve_project_settings
from kroma_kit.pipeline.execute import dry_run, execute_run
from kroma_kit.pipeline.model_check import check_paid_models
from kroma_kit.pipeline.plan import build_provider
from kroma_kit.providers.model_lifecycle import ModelRetired, classify, utc_today
from kroma_kit.providers.openai_images import DEFAULT_MODEL
from tests.pipeline.runsupport import TEST_KEY, openai_request, openai_settings

TODAY = utc_today()


def _with_model(fake, model: str) -> dict:
    settings = openai_settings(fake)
    settings["providers"]["openai"]["model"] = model
    return settings


def test_the_default_model_is_current_and_asked_about_once_before_paying(workspace, demo, fake, openai_key):
    summary = execute_run(workspace, openai_request(fake, scenes=2), confirm_spend=True)
    assert summary.status == "done" and len(fake.requests) == 2
    (lookup,) = fake.model_requests
    assert DEFAULT_MODEL == "gpt-image-2"
    assert (lookup.method, lookup.path) == ("GET", "/v1/models/gpt-image-2")
    assert lookup.authorization == f"Bearer {TEST_KEY}" and lookup.started < fake.requests[0].started
    assert all(request.params["model"] == "gpt-image-2" for request in fake.requests)
    assert all("input_fidelity" not in request.params for request in fake.requests)
    assert not any("image model" in warning for warning in summary.warnings)


def test_a_retired_model_is_refused_in_one_line_before_any_money_moves(workspace, demo, fake, openai_key, capsys):
    fake.set_model("gpt-image-1", shutdown_date=str(TODAY - timedelta(days=1)))
    with pytest.raises(ModelRetired) as refused:
        execute_run(workspace, openai_request(fake, settings=_with_model(fake, "gpt-image-1")), confirm_spend=True)
    message = str(refused.value)
    assert "gpt-image-1 was shut down on" in message and "use gpt-image-2 instead" in message
    assert "\n" not in message
    assert fake.requests == [] and len(fake.model_requests) == 1
    assert not list((Path(demo["root"]) / "runs").glob("*.json"))  # not even a run log
    assert project_spent_usd(workspace, demo["id"]) == 0

    # the same refusal from the CLI: one line on stderr, a non-zero exit, no traceback
    settings = Path(demo["root"]) / ".kroma" / "pipeline.settings.toml"
    settings.parent.mkdir(exist_ok=True)
    settings.write_text(f'[providers.openai]\nmodel = "gpt-image-1"\nbase_url = "{fake.base_url}"\n')
    code = main(["run", "--project", "demo", "--provider", "openai", "--confirm-spend", "--candidates", "1",
                 "--scene-refs", "inputs/scenes/street.png"])
    err = capsys.readouterr().err
    assert code != 0 and err.startswith("error: Image model gpt-image-1 was shut down")
    assert len(err.strip().splitlines()) == 1 and fake.requests == []


def test_a_model_retiring_within_30_days_runs_with_a_warning(workspace, demo, fake, openai_key):
    soon = TODAY + timedelta(days=10)
    fake.set_model("gpt-image-2", shutdown_date=str(soon))
    summary = execute_run(workspace, openai_request(fake), confirm_spend=True)
    assert summary.status == "done" and len(fake.requests) == 1
    assert any(f"gpt-image-2 retires on {soon}" in warning for warning in summary.warnings)


@pytest.mark.parametrize("gateway", ["no models endpoint", "model not listed"])
def test_a_gateway_that_cannot_answer_is_a_warning_not_a_refusal(workspace, demo, fake, openai_key, gateway):
    if gateway == "no models endpoint":
        fake.serve_models = False
    else:
        del fake.models["gpt-image-2"]
    summary = execute_run(workspace, openai_request(fake), confirm_spend=True)
    assert summary.status == "done" and len(fake.requests) == 1 and fake.model_requests[0].status == 404
    (warning,) = [w for w in summary.warnings if "could not check" in w]
    assert "gpt-image-2" in warning and "HTTP 404" in warning


def test_the_cutout_refine_model_is_checked_too(workspace, demo, fake, openai_key):
    fake.set_model("gpt-image-2", shutdown_date=str(TODAY))  # retired today
    resolved = resolve_project_settings(Path(demo["root"]), overrides={
        **openai_settings(fake), "pipeline": {"provider": "local",
                                              "postprocess": {"bg_remove": True, "bg_refine_openai": True}}})
    local = build_provider("local", resolved)
    with pytest.raises(ModelRetired, match="gpt-image-2 was shut down on"):
        check_paid_models(local, resolved, refine=True)
    assert [r.path for r in fake.model_requests] == ["/v1/models/gpt-image-2"]
    assert check_paid_models(local, resolved, refine=False) == []  # a free run asks nobody
    assert len(fake.model_requests) == 1


def test_dry_runs_stay_offline_and_warn_from_the_pricing_table(workspace, demo, fake, openai_key):
    summary = dry_run(workspace, openai_request(fake, settings=_with_model(fake, "gpt-image-1")))
    assert summary.status == "planned" and fake.requests == [] and fake.model_requests == []
    (warning,) = [w for w in summary.warnings if "image model" in w]
    assert "gpt-image-1 was shut down on 2026-10-23 (pricing table pricing.json)" in warning
    assert "use gpt-image-2 instead" in warning
    current = dry_run(workspace, openai_request(fake))
    assert not any("image model" in w for w in current.warnings) and fake.model_requests == []


def test_the_30_day_window():
    assert classify("m", TODAY, TODAY, source="t").state == "retired"
    assert classify("m", TODAY + timedelta(days=30), TODAY, source="t").state == "retiring"
    assert classify("m", TODAY + timedelta(days=31), TODAY, source="t").state == "current"
    assert classify("m", None, TODAY, source="t").state == "current"
