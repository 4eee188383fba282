"""The QA report's continuity view: the gate's scores over the project's runs and scenes, and the
shots that broke continuity (with the gate's own words). Data from
:func:`kroma_kit.continuity.report.continuity_report`; HTML in the dashboards' card style."""

from __future__ import annotations

from typing import Any

from kroma_kit.dashboards import cards
from kroma_kit.dashboards.cards import Column

SUMMARY_COLUMNS = (
    Column("candidates", "Scored", numeric=True), Column("broken", "Broke", numeric=True),
    Column("winners-broken", "Winners broke", numeric=True), Column("mean-style-drift", "Mean style drift", numeric=True),
    Column("lowest-identity", "Lowest identity"),
)
MAX_SHOTS = 40


def _identity(values: dict[str, float]) -> str:
    return ", ".join(f"{cards.esc(code)} {value:.2f}" for code, value in sorted(values.items())) or "—"


def _rows(items: list[dict[str, Any]], key: str) -> tuple[list[list[str]], list[str]]:
    rows, keys = [], []
    for item in items:
        label = cards.esc(cards.shorten(item[key], 14)) if key == "run_id" else cards.esc(item[key])
        drift = item.get("mean_style_drift")
        rows.append([f"<code>{label}</code>" if key == "run_id" else label,
                     cards.value_cell(cards.number(item["candidates"]), item["candidates"]),
                     cards.value_cell(cards.number(item["broken"]), item["broken"]),
                     cards.value_cell(cards.number(item["winners_broken"]), item["winners_broken"]),
                     cards.value_cell("—" if drift is None else f"{drift:.2f}", drift),
                     _identity(item.get("lowest_identity") or {})])
        keys.append(str(item[key]))
    return rows, keys


def continuity_section(report: dict[str, Any], run_id: str | None = None) -> str:
    """The continuity section: per run, per scene, broken shots (of ``run_id`` when given)."""
    if not report["scored"]:
        return cards.section("Continuity", cards.note(
            "No candidate has been scored for continuity yet (the gate scores runs made with "
            "<code>continuity.enabled</code> and references in the manifest).", kind="no-continuity"),
            name="continuity")
    runs = [run for run in report["runs"] if not run_id or str(run["run_id"]) == run_id]
    shots = [shot for shot in report["broken_shots"] if not run_id or str(shot["run_id"]) == run_id]
    run_rows, run_keys = _rows(runs, "run_id")
    scene_rows, scene_keys = _rows(report["scenes"], "scene")
    shot_rows = [[cards.esc(shot["job"]), f"#{int(shot['candidate_index'])}", "★" if shot["winner"] else "",
                  cards.verdict_badge(shot["verdict"]), cards.esc("; ".join(shot["reasons"]))]
                 for shot in shots[:MAX_SHOTS]]
    shot_columns = (Column("job", "Job"), Column("candidate", "Candidate"), Column("winner", "Winner"),
                    Column("verdict", "Verdict"), Column("reasons", "Why"))
    body = "".join([
        f'<div class="kk-sub" data-field="continuity-broken" data-value="{len(shots)}">'
        f"{len(shots)} shot(s) broke continuity (style drift above the calibrated limit, or a declared "
        "character below its identity minimum).</div>",
        cards.table((Column("run-id", "Run"), *SUMMARY_COLUMNS), run_rows, name="continuity-by-run", row_keys=run_keys),
        cards.table((Column("scene", "Scene"), *SUMMARY_COLUMNS), scene_rows, name="continuity-by-scene",
                    row_keys=scene_keys),
        cards.table(shot_columns, shot_rows, name="continuity-broken-shots") if shot_rows
        else cards.note("No shot broke continuity in this selection.", kind="continuity-holds"),
    ])
    return cards.section("Continuity", body, name="continuity")
