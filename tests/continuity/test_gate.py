"""The gate's verdicts and reasons on labelled cases of the small set."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kroma_kit.continuity.calibrate import calibrate
from kroma_kit.continuity.evaluate import load_set_context
from kroma_kit.continuity.gate import ContinuityGate, GateSettings


@pytest.fixture(scope="module")
def gate_parts(small_set: Path):
    context = load_set_context(small_set)
    return context, calibrate(context)


def _case(small_set: Path, variant: str) -> dict:
    cases = json.loads((small_set / "cases.json").read_text())
    return next(case for case in cases if case["variant"] == variant)


def test_reference_images_pass(small_set: Path, gate_parts) -> None:
    context, calibration = gate_parts
    gate = ContinuityGate(context, calibration)
    code = sorted(context.characters)[0]
    result = gate.score(context.characters[code].paths[0], [code])
    assert result.verdict == "pass" and not result.reasons and result.severity() == 0
    assert result.identities[0].identity > result.identities[0].threshold


def test_another_character_is_an_identity_break_with_a_quotable_reason(small_set: Path, gate_parts) -> None:
    context, calibration = gate_parts
    codes = sorted(context.characters)
    shown, declared = context.characters[codes[0]].paths[0], codes[1]
    result = ContinuityGate(context, calibration).score(shown, [declared])
    assert result.verdict == "warn" and result.kinds() == ["identity"]
    score = result.identities[0]
    assert result.reasons == [f"identity {score.identity:.2f} for {declared} below {score.threshold:.2f}"]
    assert result.severity() > 0


def test_fail_on_break_turns_the_warning_into_a_failure(small_set: Path, gate_parts) -> None:
    context, calibration = gate_parts
    case = _case(small_set, "other_character")
    warned = ContinuityGate(context, calibration).score(small_set / case["file"], case["characters"])
    failed = ContinuityGate(context, calibration, GateSettings(fail_on_break=True)).score(
        small_set / case["file"], case["characters"])
    assert "identity" in warned.kinds() and warned.verdict == "warn"
    assert failed.verdict == "fail" and failed.reasons == warned.reasons


def test_a_tighter_style_limit_from_settings_breaks_an_ok_shot(small_set: Path, gate_parts) -> None:
    context, calibration = gate_parts
    case = _case(small_set, "pose")
    default = ContinuityGate(context, calibration).score(small_set / case["file"], case["characters"])
    tight = ContinuityGate(context, calibration, GateSettings(style_drift_max=0.01)).score(
        small_set / case["file"], case["characters"])
    assert default.verdict == "pass"
    assert tight.kinds() == ["style"]
    assert tight.reasons[0] == (f"style_drift {tight.style.style_drift:.2f} above 0.01 (worst: "
                                f"{max(tight.style.parts, key=lambda p: tight.style.parts[p] / calibration.style_parts[p])})")


def test_loosened_thresholds_let_a_break_pass(small_set: Path, gate_parts) -> None:
    context, calibration = gate_parts
    case = _case(small_set, "other_character")
    loose = GateSettings(style_drift_max=1000.0, identity_min=0.0)
    assert ContinuityGate(context, calibration, loose).score(small_set / case["file"], case["characters"]).verdict \
        == "pass"


def test_result_serialises_for_the_run_log(small_set: Path, gate_parts) -> None:
    context, calibration = gate_parts
    code = sorted(context.characters)[0]
    data = ContinuityGate(context, calibration).score(context.characters[code].paths[0], [code]).to_dict()
    assert json.loads(json.dumps(data)) == data
    assert set(data["style"]["parts"]) == {"colour", "palette", "tone", "line"}
    assert data["identity"][0]["code"] == code


def test_workers_scoring_at_once_share_one_computation_of_the_references(small_set: Path, gate_parts) -> None:
    """A run's first wave scores on eight workers at the same moment: the references' features are
    made once for all of them (eight computations were eight times the CPU, under the GIL)."""
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    context, calibration = gate_parts
    gate = ContinuityGate(context, calibration)
    code = sorted(context.characters)[0]
    start = Barrier(8)

    def references(_: int) -> tuple[int, int]:
        start.wait()
        return id(gate._style_references()), id(gate._character(code)[0])

    with ThreadPoolExecutor(8) as pool:
        seen = set(pool.map(references, range(8)))
    assert len(seen) == 1  # every worker got the very same lists: computed once
