"""Looking back over a project: where continuity held and which shots broke it.

:func:`continuity_report` summarises the stored scores (``model_score`` quality reports) per run
and per scene, and lists the broken shots with their reasons: the data of the QA continuity view.
:func:`continuity_sheet` lays every final image of the project side by side with one character's
identity score: a continuity sheet a person can take in at a glance.
"""

from __future__ import annotations

import os
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from statistics import mean
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from kroma_kit.catalog.continuity_reports import continuity_rows, final_images
from kroma_kit.catalog.projects import get_project
from kroma_kit.continuity.service import project_gate
from kroma_kit.errors import InputError, KromaError
from kroma_kit.storage.atomic import atomic_write_bytes
from kroma_kit.workspace import Workspace

BADGE = {"pass": (46, 139, 87), "warn": (230, 145, 30), "fail": (200, 50, 50)}
_STAGE_PREFIX = re.compile(r"^[a-z]+_\d+_")


def _scene(job_key: str) -> str:
    return _STAGE_PREFIX.sub("", job_key) or job_key


def continuity_report(ws: Workspace, slug: str) -> dict[str, Any]:
    """Per run and per scene: candidates scored, how many broke, mean style drift, lowest identity
    per character; and every broken winner or candidate with its reasons."""
    project = get_project(ws, slug)
    rows = continuity_rows(ws, project["id"])
    runs: dict[str, dict[str, Any]] = {}
    scenes: dict[str, list[dict[str, Any]]] = defaultdict(list)
    broken = []
    for row in rows:
        block = row["block"]
        run = runs.setdefault(row["run_id"], {"run_id": row["run_id"], "stage": row["stage"],
                                              "started_at": row["started_at"], "rows": []})
        run["rows"].append(row)
        scenes[_scene(row["job"])].append(row)
        if block.get("reasons"):
            broken.append({"run_id": row["run_id"], "job": row["job"], "candidate_index": row["candidate_index"],
                           "winner": row["winner"], "verdict": row["verdict"], "reasons": block["reasons"]})
    return {"project": slug, "scored": len(rows),
            "broken": sum(1 for row in rows if row["block"].get("reasons")),
            "runs": [{key: value for key, value in run.items() if key != "rows"} | _summary(run["rows"])
                     for run in runs.values()],
            "scenes": [{"scene": scene} | _summary(items) for scene, items in sorted(scenes.items())],
            "broken_shots": broken}


def _summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    drifts = [row["block"]["style"]["style_drift"] for row in rows if row["block"].get("style")]
    identity: dict[str, float] = {}
    for row in rows:
        for score in row["block"].get("identity") or []:
            identity[score["code"]] = min(identity.get(score["code"], 1.0), float(score["identity"]))
    return {"candidates": len(rows), "broken": sum(1 for row in rows if row["block"].get("reasons")),
            "winners_broken": sum(1 for row in rows if row["winner"] and row["block"].get("reasons")),
            "mean_style_drift": round(mean(drifts), 4) if drifts else None, "lowest_identity": identity}


@dataclass
class ContinuitySheet:
    """The sheet picture and one row per final image (file, job, identity, verdict, reasons)."""

    image: Image.Image
    rows: list[dict[str, Any]]
    character: str

    def save(self, path: str | os.PathLike[str]) -> Path:
        target = Path(path).expanduser()
        if target.suffix.lower() != ".png":
            raise InputError(f"A continuity sheet is a PNG: give a .png name, not {target.name!r}.")
        import io

        buffer = io.BytesIO()
        self.image.save(buffer, format="PNG")
        return atomic_write_bytes(target, buffer.getvalue())


def continuity_sheet(ws: Workspace, slug: str, code: str, *, tile: int = 192, columns: int = 6) -> ContinuitySheet:
    """Every final image of the project, scored for character ``code`` (identity, and style drift),
    side by side, oldest first, each with a pass/break badge and its identity score."""
    project, gate = project_gate(ws, slug)
    project.context.character(code)
    finals = final_images(ws, get_project(ws, slug)["id"])
    if not finals:
        raise InputError(f"Project '{slug}' has no final images yet: run a stage first (`kroma run`).")
    rows = []
    for item in finals:
        path = project.root / item["rel_path"] if item.get("rel_path") else Path(item["storage_uri"])
        row: dict[str, Any] = {"file": str(path), "job": item.get("job_key"), "run_id": item.get("run_id")}
        try:
            result = gate.score(path, [code])
        except (KromaError, OSError) as exc:
            row.update(verdict=None, identity=None, reasons=[f"unreadable: {exc}"])
        else:
            score = result.identities[0]
            row.update(verdict="pass" if not score.broken else ("fail" if result.verdict == "fail" else "warn"),
                       identity=score.identity, threshold=score.threshold,
                       reasons=[reason for reason in result.reasons if reason.startswith("identity")])
        rows.append(row)
    return ContinuitySheet(_draw(rows, code, slug, tile, columns), rows, code)


def _font(size: int) -> ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1
        return ImageFont.load_default()


def _draw(rows: list[dict[str, Any]], code: str, slug: str, tile: int, columns: int) -> Image.Image:
    columns = max(1, min(columns, len(rows)))
    label, pad, title = 40, 8, 34
    cell_w, cell_h = tile + 2 * pad, tile + label + 2 * pad
    count_rows = (len(rows) + columns - 1) // columns
    sheet = Image.new("RGB", (columns * cell_w + pad, title + count_rows * cell_h + pad), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    draw.text((pad, 8), f"{slug}: continuity of {code} over {len(rows)} final image(s)", fill=(34, 34, 34),
              font=_font(16))
    for number, row in enumerate(rows):
        x, y = pad + (number % columns) * cell_w, title + (number // columns) * cell_h
        try:
            with Image.open(row["file"]) as image:
                thumb = image.convert("RGB")
                thumb.thumbnail((tile, tile))
        except OSError:
            thumb = Image.fromarray(np.full((tile, tile, 3), 205, np.uint8))
        sheet.paste(thumb, (x + pad + (tile - thumb.width) // 2, y + pad + (tile - thumb.height) // 2))
        colour = BADGE.get(row.get("verdict") or "", (130, 130, 130))
        draw.rectangle((x + pad, y + pad + tile + 4, x + pad + tile, y + pad + tile + label - 4), fill=colour)
        text = f"{row['identity']:.2f} (min {row['threshold']:.2f})" if row.get("identity") is not None else "no score"
        draw.text((x + pad + 4, y + pad + tile + 6), f"{row.get('job') or Path(row['file']).stem}"[:28],
                  fill=(255, 255, 255), font=_font(11))
        draw.text((x + pad + 4, y + pad + tile + 20), f"identity {text}", fill=(255, 255, 255), font=_font(11))
    return sheet
