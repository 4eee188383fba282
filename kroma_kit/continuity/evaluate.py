"""``kroma continuity eval``: measure the gate on a labelled set (format in :mod:`.evalset`).

It calibrates on ``refs/`` only, then scores every case: a case is *flagged* when the gate would
warn or fail it for any reason. Detection rate = flagged breaks / breaks; false-alarm rate =
flagged ok cases / ok cases; both overall and per kind (the ``expect`` label, and the generator's
``variant`` when the set has one), plus a confusion table expected x what the gate said.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kroma_kit.continuity.calibrate import Calibration, calibrate
from kroma_kit.continuity.context import CharacterReference, ContinuityContext, StyleReference
from kroma_kit.continuity.gate import ContinuityGate, GateSettings
from kroma_kit.errors import InputError
from kroma_kit.imaging import list_images

EXPECTS = ("ok", "style_break", "identity_break")
SAID = ("pass", "style", "identity", "style+identity")


def load_set_context(root: Path) -> ContinuityContext:
    """The context of a labelled set: ``refs/style`` and each ``refs/characters/<code>`` folder,
    with signature colours from ``characters.json`` when the set has one."""
    style_dir, characters_dir = root / "refs" / "style", root / "refs" / "characters"
    if not style_dir.is_dir() and not characters_dir.is_dir():
        raise InputError(f"{root} is not a continuity set: it has neither refs/style nor refs/characters. "
                         "See `kroma continuity eval --help` for the layout.")
    signatures: dict[str, Any] = {}
    if (root / "characters.json").is_file():
        signatures = json.loads((root / "characters.json").read_text(encoding="utf-8"))
    characters = {}
    if characters_dir.is_dir():
        for folder in sorted(p for p in characters_dir.iterdir() if p.is_dir()):
            images = list_images(folder)
            if images:
                hexes = (signatures.get(folder.name) or {}).get("signature_colours_hex", [])
                characters[folder.name] = CharacterReference(folder.name, tuple(images), tuple(hexes))
    style = StyleReference(tuple(list_images(style_dir))) if style_dir.is_dir() else None
    return ContinuityContext(style if style and style.paths else None, characters, project=root.name)


def _read_cases(root: Path) -> list[dict[str, Any]]:
    path = root / "cases.json"
    try:
        cases = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path} is missing: a continuity set lists its cases there.") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: invalid JSON at line {exc.lineno}: {exc.msg}") from None
    if not isinstance(cases, list) or not cases:
        raise InputError(f"{path} must be a non-empty list of cases.")
    for number, case in enumerate(cases, start=1):
        if not isinstance(case, dict) or "file" not in case or case.get("expect") not in EXPECTS:
            raise InputError(f"{path}: case {number} needs 'file' and 'expect' (one of {', '.join(EXPECTS)}).")
    return cases


@dataclass(frozen=True)
class EvalReport:
    detection_rate: float
    false_alarm_rate: float
    per_kind: dict[str, dict[str, Any]]
    confusion: dict[str, dict[str, int]]
    cases: int
    calibration: dict[str, Any]
    results: list[dict[str, Any]]

    def to_dict(self, *, with_results: bool = False) -> dict[str, Any]:
        data = {"detection_rate": self.detection_rate, "false_alarm_rate": self.false_alarm_rate,
                "per_kind": self.per_kind, "confusion": self.confusion, "cases": self.cases,
                "calibration": self.calibration}
        if with_results:
            data["results"] = self.results
        return data


def _rate(hits: int, total: int) -> float:
    return round(hits / total, 4) if total else 0.0


def evaluate_set(root: str | Path, settings: GateSettings | None = None,
                 calibration: Calibration | None = None) -> EvalReport:
    """Calibrate on the set's refs (unless given), score every case, and report (module docstring)."""
    root = Path(root)
    context = load_set_context(root)
    cases = _read_cases(root)
    settings = settings or GateSettings()
    calibration = calibration or calibrate(context, margin=settings.margin)
    gate = ContinuityGate(context, calibration, settings)
    results = []
    confusion: dict[str, Counter[str]] = {expect: Counter() for expect in EXPECTS}
    groups: dict[str, list[bool]] = defaultdict(list)
    for case in cases:
        file = root / case["file"]
        result = gate.score(file, [code for code in case.get("characters", []) if code in context.characters])
        kinds = result.kinds()
        said = "+".join(kinds) if kinds else "pass"
        confusion[case["expect"]][said] += 1
        groups[case["expect"]].append(result.broken)
        if case.get("variant"):
            groups[f"{case['expect']}:{case['variant']}"].append(result.broken)
        results.append({**case, "flagged": result.broken, "said": said, "reasons": result.reasons,
                        "style_drift": result.style.style_drift if result.style else None,
                        "identity": {s.code: s.identity for s in result.identities}})
    breaks = groups["style_break"] + groups["identity_break"]
    per_kind = {kind: {"cases": len(flags), "flagged": sum(flags),
                       ("false_alarm_rate" if kind.startswith("ok") else "detection_rate"): _rate(sum(flags), len(flags))}
                for kind, flags in sorted(groups.items())}
    return EvalReport(detection_rate=_rate(sum(breaks), len(breaks)),
                      false_alarm_rate=_rate(sum(groups["ok"]), len(groups["ok"])),
                      per_kind=per_kind,
                      confusion={expect: {said: confusion[expect].get(said, 0) for said in SAID} for expect in EXPECTS},
                      cases=len(cases), calibration=calibration.to_dict(), results=results)
