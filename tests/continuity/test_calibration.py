"""Calibration from reference sets only; overrides from settings; stored, shown, and noticed stale."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kroma_kit.continuity.calibrate import IDENTITY_CEILING, STYLE_FLOORS, calibrate
from kroma_kit.continuity.evaluate import load_set_context
from kroma_kit.continuity.gate import GateSettings
from kroma_kit.continuity.store import ensure_calibration, is_current, load_calibration
from kroma_kit.errors import ConfigError


@pytest.fixture(scope="module")
def calibrated(small_set: Path):
    context = load_set_context(small_set)
    return context, calibrate(context, margin=1.3)


def test_thresholds_sit_outside_the_references_own_spread(calibrated) -> None:
    context, calibration = calibrated
    assert set(calibration.identity_min) == set(context.characters)
    for part, threshold in calibration.style_parts.items():
        spread = calibration.spreads["style"][part]
        assert threshold >= max(spread["high"] * 1.3, STYLE_FLOORS[part]) - 1e-4
        assert spread["n"] >= len(context.style.paths)  # each ref against the others, plus variants
    for code, minimum in calibration.identity_min.items():
        spread = calibration.spreads[f"identity:{code}"]
        assert minimum < spread["low"] <= 1.0 and minimum <= IDENTITY_CEILING
        # another character of the project scores below the minimum: it would be caught
        assert spread["nearest_other"] < minimum


def test_a_wider_margin_gives_looser_thresholds(calibrated) -> None:
    context, tight = calibrated
    loose = calibrate(context, margin=2.0)
    assert all(loose.style_parts[p] >= tight.style_parts[p] for p in tight.style_parts)
    assert all(loose.identity_min[c] <= tight.identity_min[c] for c in tight.identity_min)


def test_settings_override_the_calibration(calibrated) -> None:
    _, calibration = calibrated
    code = sorted(calibration.identity_min)[0]
    settings = GateSettings.from_mapping({"style_part_max": {"line": 9.0}, "identity_min": 0.5,
                                          "identity_min_by_character": {code: 0.99}, "style_drift_max": 2.0})
    limits = settings.thresholds(calibration)
    assert limits.style_parts["line"] == 9.0 and limits.style_parts["palette"] == calibration.style_parts["palette"]
    assert limits.identity_min[code] == 0.99
    assert all(limits.identity_min[other] == 0.5 for other in calibration.identity_min if other != code)
    assert limits.style_drift_max == 2.0


def test_bad_settings_are_one_line_errors() -> None:
    with pytest.raises(ConfigError, match="unknown part"):
        GateSettings(style_part_max={"hue": 0.1})
    with pytest.raises(ConfigError, match="Unknown continuity setting"):
        GateSettings.from_mapping({"fail_on_breaks": True})


def test_stored_calibration_is_reused_until_a_reference_changes(small_set: Path, tmp_path: Path) -> None:
    context = load_set_context(small_set)
    settings = GateSettings()
    first, made = ensure_calibration(tmp_path, context, settings)
    assert made and load_calibration(tmp_path).to_dict() == first.to_dict()
    again, made_again = ensure_calibration(tmp_path, context, settings)
    assert not made_again and again.made_at == first.made_at
    ref = context.style.paths[0]
    stat = ref.stat()
    os.utime(ref, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    try:
        assert not is_current(again, load_set_context(small_set), settings)
        assert not is_current(again, context, GateSettings(margin=1.6))
    finally:
        os.utime(ref, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def test_damaged_calibration_file_says_how_to_fix_it(tmp_path: Path) -> None:
    (tmp_path / ".kroma").mkdir()
    (tmp_path / ".kroma" / "continuity_calibration.json").write_text("{broken", encoding="utf-8")
    with pytest.raises(ConfigError, match="kroma continuity calibrate"):
        load_calibration(tmp_path)


def test_a_lone_reference_gets_wide_floors_and_says_so(small_set: Path) -> None:
    from kroma_kit.continuity.calibrate import LONE_FLOORS, STYLE_STAGES
    from kroma_kit.continuity.context import ContinuityContext, StyleReference

    context = load_set_context(small_set)
    lone = ContinuityContext(StyleReference(context.style.paths[:1]), {})
    calibration = calibrate(lone, margin=1.3)
    assert set(calibration.style_by_stage) == set(STYLE_STAGES)
    for stage, parts in calibration.style_by_stage.items():
        assert all(parts[part] >= LONE_FLOORS[part] for part in parts)
        made = calibration.method["style"]["per_stage"][stage]
        assert made["floors"] == "lone_reference" and made["outputs"] == 0 and made["stage_augmentations"] > 0
    # lit stages are calibrated on relit variants too: never tighter than the style stage
    assert all(calibration.style_by_stage["weather"][p] >= calibration.style_by_stage["style"][p] for p in LONE_FLOORS)
    with_outputs = ContinuityContext(StyleReference(context.style.paths[:1]), {},
                                     outputs=(("style", context.style.paths[1]),))
    made = calibrate(with_outputs, margin=1.3).method["style"]["per_stage"]
    assert made["style"]["outputs"] == 1 and made["style"]["floors"] == "default" and made["time"]["outputs"] == 0
