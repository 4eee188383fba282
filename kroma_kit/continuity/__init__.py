"""The continuity gate: does a shot keep the project's one drawing hand, and do its characters
stay themselves? Offline metrics (no model weights), thresholds calibrated per project from its
own reference sets, a gate the pipeline asks per candidate, and a labelled evaluation.

Modules: ``context`` (typed inputs), ``features`` + ``style`` (style drift), ``identity``
(character identity), ``augment`` + ``calibrate`` + ``store`` (thresholds), ``gate`` (verdicts),
``resolve`` (a project's context: the one place that knows where references come from),
``service`` (project actions for the CLI/panels), ``evalset`` + ``evaluate`` (proof).
This package never imports the pipeline: the pipeline imports it.
"""

from kroma_kit.continuity.calibrate import Calibration, calibrate
from kroma_kit.continuity.context import CharacterReference, ContinuityContext, StyleReference
from kroma_kit.continuity.gate import (
           CONTINUITY_BREAK,
           CONTINUITY_WARNING,
           ContinuityGate,
           ContinuityResult,
           GateSettings,
)

__all__ = ["CONTINUITY_BREAK", "CONTINUITY_WARNING", "Calibration", "CharacterReference", "ContinuityContext",
           "ContinuityGate", "ContinuityResult", "GateSettings", "StyleReference", "calibrate"]
