"""The continuity gate on real pipeline output: the sample project run locally, stage after stage,
and breaks injected into it. Shared by the pipeline test (lean: few scenes and candidates) and
``bench_continuity`` (the whole sample project).

Normal candidates are every candidate the runs produce (style, night, night rain, characters);
each is scored by the run itself. Injected breaks, scored by the project's gate for the stage
they would come from:

- ``warm_wash``: the style stage run with the sample's warm-wash reference instead of the noir
  one (a different hand, drawn by the same local editor; the gate is off for that run, the
  project's gate then judges its outputs);
- ``watercolour``: a normal style output redrawn as a watercolour wash (no outlines, bled colour);
- ``identity``: a characters-stage output with the cast's placements swapped (each declared
  character's box holds the other one).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from kroma_kit.continuity.evalset import watercolour
from kroma_kit.continuity.service import project_gate
from kroma_kit.pipeline.execute import execute_run
from kroma_kit.pipeline.plan_model import PlanRequest

SCENES = ["inputs/scenes/street.png", "inputs/scenes/room.png", "inputs/scenes/rooftop.png",
          "inputs/scenes/harbor.png"]
WARM_WASH = "inputs/styles/warm_wash.png"
STAGES = (("style", "day", "clear"), ("time", "night", "clear"), ("weather", "night", "rain"),
          ("characters", "night", "rain"))


@dataclass
class SampleEval:
    """Verdicts of the normal candidates per (stage, job), and of each injected break."""

    normal: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    breaks: dict[str, list[str]] = field(default_factory=dict)
    blocks: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    warm_files: list[Path] = field(default_factory=list)  # written by the warm-wash run, over style outputs

    @property
    def normal_verdicts(self) -> list[str]:
        return [verdict for verdicts in self.normal.values() for verdict in verdicts]

    @property
    def pass_rate(self) -> float:
        verdicts = self.normal_verdicts
        return sum(verdict == "pass" for verdict in verdicts) / max(len(verdicts), 1)

    def caught(self) -> tuple[int, int]:
        verdicts = [verdict for items in self.breaks.values() for verdict in items]
        return sum(verdict != "pass" for verdict in verdicts), len(verdicts)

    def line(self) -> str:
        caught, total = self.caught()
        return f"{self.pass_rate:.0%} of normal candidates pass, {caught}/{total} injected breaks caught"


def _log(summary: Any) -> dict[str, Any]:
    return json.loads(Path(summary.run_log_path).read_text(encoding="utf-8"))


def evaluate_sample(ws: Any, project: dict[str, Any], *, scenes: int = 4, candidates: int = 3,
                    stages: tuple[str, ...] = ("style", "time", "weather", "characters")) -> SampleEval:
    """Run the sample project ``project`` (installed, with its characters) locally through
    ``stages`` and inject the breaks (see the module docstring)."""
    root = Path(project["root"])
    result = SampleEval()
    previous: str | None = None
    logs: dict[str, dict[str, Any]] = {}
    for stage, time_of_day, weather in STAGES:
        if stage not in stages:
            continue
        chained = previous if stage in ("time", "weather") else None
        request = PlanRequest(project=project["slug"], stage=stage, time=time_of_day, weather=weather,
                              candidates=candidates, provider="local", from_run=chained,
                              scene_refs=None if chained else SCENES[:scenes])
        summary = execute_run(ws, request, concurrency=2)
        logs[stage] = _log(summary)
        for job in logs[stage]["jobs"]:
            blocks = [candidate.get("continuity") or {} for candidate in job["candidates"]]
            result.blocks[(stage, job["id"])] = blocks
            result.normal[(stage, job["id"])] = [block.get("verdict", "missing") for block in blocks]
        if stage in ("style", "time"):
            previous = summary.run_id
    _, gate = project_gate(ws, project["slug"])
    if "style" in logs:
        result.breaks["watercolour"] = []
        for index, job in enumerate(logs["style"]["jobs"]):
            final = next(c["final_output"] for c in job["candidates"] if c.get("final_output"))
            pixels = np.asarray(Image.open(root / final).convert("RGB"), np.float32)
            side = min(pixels.shape[:2])  # the wash generator paints a square page
            washed_page = watercolour(np.ascontiguousarray(pixels[:side, :side]), np.random.default_rng(index))
            page = Image.fromarray(washed_page.astype(np.uint8))
            result.breaks["watercolour"].append(gate.score(page, stage="style").verdict)
    if "characters" in logs:
        result.breaks["identity"] = []
        for job in logs["characters"]["jobs"]:
            placements = job.get("character_placements") or []
            swapped = [{**place, "code": other["code"]} for place, other in zip(placements, reversed(placements),
                                                                                  strict=True)]
            codes = [place["code"] for place in placements]
            for candidate in job["candidates"]:
                if candidate.get("final_output") and len(codes) > 1:
                    verdict = gate.score(root / candidate["final_output"], codes, stage="characters",
                                         placements=swapped).verdict
                    result.breaks["identity"].append(verdict)
    # Last: this run writes the same output file names as the style run above.
    washed = execute_run(ws, PlanRequest(project=project["slug"], stage="style", candidates=1, provider="local",
                                         scene_refs=SCENES[:scenes], manifest_overrides={"style_refs": [WARM_WASH]},
                                         settings_overrides={"continuity": {"enabled": False}}), concurrency=2)
    result.warm_files = [root / candidate["final_output"] for job in _log(washed)["jobs"]
                         for candidate in job["candidates"] if candidate.get("final_output")]
    result.breaks["warm_wash"] = [gate.score(path, stage="style").verdict for path in result.warm_files]
    return result
