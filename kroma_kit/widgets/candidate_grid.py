"""CandidateGrid: every candidate of a run as a thumbnail, with its QA verdict and the winner.

The review question is "did the right candidate win?". Each job is a row of thumbnails (from the
workspace thumbnail cache, so a big grid opens fast) with a pass/warn/fail badge and the chroma
delta the guard measured; the winner is marked and the ranking's reason is shown. Hover shows the
prompt and cost, "Details" shows everything the catalog knows about a candidate. The artist can
overrule the ranking ("Make winner" -> :func:`kroma_kit.pipeline.review.override_winner`, which
updates the catalog and the run log); with ``read_only=True`` (Voilà dashboards) that control and
the note box are not built at all.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ipywidgets as widgets

from kroma_kit.errors import KromaError
from kroma_kit.sync.files import local_copy
from kroma_kit.widgets._common import VERDICT_COLOURS, Panel, button, close_tree, esc, records, usd
from kroma_kit.workspace import Workspace

THUMB_WIDTH = "180px"
DETAIL_FIELDS = ("job_key", "candidate_index", "status", "verdict", "chroma_delta", "hard_failures",
                 "soft_warnings", "avg_chroma_exceed", "rank_position", "cost_usd", "latency_ms", "seed",
                 "provider_code", "model_name", "final_path", "continuity_verdict", "continuity_reasons")


@dataclass
class CandidateCard:
    """The widgets of one candidate and the analytics row they show."""

    row: dict[str, Any]
    tooltip: str
    box: widgets.VBox
    picture: widgets.HTML
    badge: widgets.HTML
    winner_label: widgets.HTML
    details_button: widgets.Button
    winner_button: widgets.Button | None

    @property
    def verdict(self) -> str | None:
        return self.row.get("verdict")

    @property
    def is_winner(self) -> bool:
        return bool(self.row.get("is_winner"))


class CandidateGrid(Panel):
    """Thumbnails grouped by job for one run (``run_id``, or the project's latest real run).

    ``cards[(job_key, candidate_index)]`` gives each candidate's widgets; ``load(run_id)``
    switches runs; ``show_detail(job, i)`` fills the detail area; ``select_winner(job, i)``
    overrides the ranking (not in ``read_only`` mode).
    """

    def __init__(self, ws: Workspace | None = None, *, project: str | None = None, run_id: str | None = None,
                 read_only: bool = False) -> None:
        super().__init__(ws, project=project)
        self.read_only = read_only
        self.cards: dict[tuple[str, int], CandidateCard] = {}
        self.reasons: dict[str, str | None] = {}
        self.header = widgets.HTML()
        self.rows_box = widgets.VBox()
        self.detail = widgets.HTML()
        self.detail.add_class("kk-detail")
        self.note = widgets.Text(description="Note", placeholder="why this one (kept with the override)")
        controls: list[widgets.Widget] = [self.header]
        if not read_only:
            controls.append(self.note)
        self.widget = widgets.VBox([*controls, self.rows_box, self.detail, self.status])
        self.widget.add_class("kk-candidate-grid")
        if run_id or project:
            self.load(run_id)

    # ------------------------------------------------------------------ actions

    def load(self, run_id: str | None = None) -> int:
        """Show ``run_id`` (or the project's latest real run); returns the number of candidates."""
        from kroma_kit.analytics import candidates, run_detail, runs_table

        if run_id is None:
            runs = [row for row in records(runs_table(self.ws, self.require_project())) if row["mode"] == "run"]
            if not runs:
                self.run_id = None
                self.cards = {}
                self._replace_rows(())
                self.header.value = "<i>No runs yet: start one with RunPanel.</i>"
                return 0
            run_id = runs[0]["run_id"]
        detail = run_detail(self.ws, run_id)
        run = detail["run"]
        self.run_id = run["run_id"]
        self.project = run["project"]
        self.reasons = {job["job_key"]: job.get("winner_reason") for job in records(detail["jobs"])}
        rows = records(candidates(self.ws, run_id=self.run_id))
        self.header.value = (
            f"<b>Run {esc(self.run_id[:8])}</b> · {esc(run['stage'])} {esc(run.get('time_of_day') or '')} "
            f"{esc(run.get('weather') or '')} · {esc(run['status'])} · {len(rows)} candidates · "
            f"cost {usd(run.get('actual_cost_usd'))}")
        self.cards = {}
        self.detail.value = ""
        job_rows: list[widgets.Widget] = []
        for job_key in dict.fromkeys(row["job_key"] for row in rows):
            cards = [self._card(row) for row in rows if row["job_key"] == job_key]
            reason = self.reasons.get(job_key)
            title = f"<b>{esc(job_key)}</b>" + (f" · <small>{esc(reason)}</small>" if reason else "")
            job_rows.append(widgets.VBox([widgets.HTML(title),
                                          widgets.HBox([c.box for c in cards],
                                                       layout=widgets.Layout(flex_flow="row wrap"))]))
        self._replace_rows(tuple(job_rows))
        return len(rows)

    def reload(self) -> None:
        self.load(self.run_id)

    def show_detail(self, job_key: str, candidate_index: int) -> dict[str, Any]:
        """Show every known fact about one candidate (prompt, cost, QA, seed, file) below the grid."""
        row = self._card_of(job_key, candidate_index).row
        facts = "".join(f"<tr><td><b>{esc(name)}</b></td><td>{esc(_shown(name, row.get(name)))}</td></tr>"
                        for name in DETAIL_FIELDS)
        self.detail.value = (f"<div><b>{esc(job_key)} #{candidate_index}</b><table>{facts}</table>"
                             f"<p><b>Prompt</b><br>{esc(row.get('prompt_text'))}</p></div>")
        return row

    def select_winner(self, job_key: str, candidate_index: int, note: str | None = None) -> dict[str, Any]:
        """Make ``candidate_index`` the winner of ``job_key`` (catalog and run log), then reload."""
        if self.read_only:
            raise KromaError("This candidate grid is read-only: overriding a winner is done in the workbench.")
        from kroma_kit.pipeline.review import override_winner

        self._card_of(job_key, candidate_index)
        if self.run_id is None:
            raise KromaError("No run loaded.")
        text = self.note.value.strip() if note is None else note
        result = override_winner(self.ws, self.run_id, job_key, candidate_index, note=text)
        self.load(self.run_id)
        self.note.value = ""
        self.set_status(f"{job_key}: candidate {candidate_index} is now the winner.", "ok")
        return result

    def winners(self) -> dict[str, int]:
        """The winner of each job on screen: ``{job_key: candidate_index}``."""
        return {job: index for (job, index), card in self.cards.items() if card.is_winner}

    # ------------------------------------------------------------------ building blocks

    def _replace_rows(self, rows: tuple[widgets.Widget, ...]) -> None:
        old = self.rows_box.children
        self.rows_box.children = rows
        for widget in old:
            close_tree(widget)

    def _card_of(self, job_key: str, candidate_index: int) -> CandidateCard:
        card = self.cards.get((job_key, int(candidate_index)))
        if card is None:
            raise KromaError(f"No candidate {candidate_index} of job {job_key!r} in run "
                             f"{(self.run_id or '?')[:8]}.")
        return card

    def _card(self, row: dict[str, Any]) -> CandidateCard:
        job_key, index = row["job_key"], int(row["candidate_index"])
        tooltip = f"{row.get('prompt_text') or ''}\n\ncost {usd(row.get('cost_usd'))} · seed {row.get('seed')}"
        picture = self._picture(row, tooltip)
        verdict = row.get("verdict")
        colour = VERDICT_COLOURS.get(str(verdict), "#555")
        chroma = row.get("chroma_delta")
        badge = widgets.HTML(
            f"<span style='background:{colour};color:white;padding:1px 6px;border-radius:3px'>"
            f"{esc(str(verdict or row.get('status')).upper())}</span> "
            f"<small>chroma {'—' if chroma is None else f'{float(chroma):.2f}'}</small>")
        badge.add_class(f"kk-badge-{verdict or 'none'}")
        continuity = row.get("continuity_verdict")
        if continuity:
            listed = row.get("continuity_reasons")
            reasons = "; ".join(json.loads(listed) if isinstance(listed, str) else []) or "continuity holds"
            badge.value += (f" <span class='kk-continuity-{esc(str(continuity))}' title='{html.escape(reasons, quote=True)}' "
                            f"style='background:{VERDICT_COLOURS.get(str(continuity), '#555')};color:white;"
                            f"padding:1px 4px;border-radius:3px'>C {esc(str(continuity).upper())}</span>")
        cached = row.get("cached_from_run")
        if cached:  # reused from the stage cache: made (and paid) by an earlier run
            badge.value += (f" <span class='kk-cached' title='reused unchanged from run {esc(str(cached))}: no new "
                            "work, no cost' style='background:#4a5568;color:white;padding:1px 4px;"
                            "border-radius:3px'>CACHED</span>")
        winner_label = widgets.HTML("<b style='color:#b7791f'>★ winner</b>" if row.get("is_winner") else "")
        details = button("Details", "kk-details", tooltip=tooltip)
        details.on_click(self.action(lambda: self.show_detail(job_key, index)))
        parts: list[widgets.Widget] = [picture, widgets.HTML(f"<small>#{index}</small>"), badge, winner_label,
                                       details]
        make_winner = None
        if not self.read_only and not row.get("is_winner"):
            make_winner = button("Make winner", "kk-make-winner", tooltip=f"Override the ranking for {job_key}")
            make_winner.on_click(self.action(lambda: self.select_winner(job_key, index)))
            parts.append(make_winner)
        box = widgets.VBox(parts, layout=widgets.Layout(
            margin="0 10px 10px 0", padding="2px", width=f"calc({THUMB_WIDTH} + 8px)",
            border="2px solid #b7791f" if row.get("is_winner") else "2px solid transparent"))
        box.add_class("kk-card")
        card = CandidateCard(row, tooltip, box, picture, badge, winner_label, details, make_winner)
        self.cards[(job_key, index)] = card
        return card

    def _picture(self, row: dict[str, Any], tooltip: str) -> widgets.HTML:
        """The thumbnail as an ``<img title=...>`` in an HTML widget: hovering it shows the prompt
        and cost. (An ``ipywidgets.Image`` cannot carry a tooltip: the widget frontend's tooltip
        code reads a ``description`` that Image has not, and the view fails to render.)"""
        from kroma_kit.storage.thumbnails import thumbnail_data_url

        path = row.get("final_path") or row.get("output_path")
        try:
            if not path:
                raise KromaError("no file (the candidate failed before producing one)")
            url = thumbnail_data_url(self._source(path, row.get("sha256")), row.get("sha256"), home=self.ws.home)
        except KromaError as exc:
            placeholder = widgets.HTML(f"<div style='height:100px;color:#b42318'><small>{esc(exc)}</small></div>")
            placeholder.add_class("kk-thumb-missing")
            return placeholder
        picture = widgets.HTML(
            f'<img class="kk-thumb" style="width:{THUMB_WIDTH}" title="{html.escape(tooltip, quote=True)}" '
            f'alt="{html.escape(str(row["job_key"]), quote=True)} #{row["candidate_index"]}" '
            f'src="{url}">')
        picture.add_class("kk-thumb-box")
        return picture


    def _source(self, path: str, sha256: str | None) -> Path:
        """The candidate's file on disk: an S3-first project may have evicted it from the local cache,
        so it is fetched back (sha256 verified) unless its thumbnail is cached already."""
        from kroma_kit.storage.thumbnails import DEFAULT_SIZE, thumbnail_cache_dir, thumbnail_path

        source = Path(path)
        if source.is_file() or not self.project:
            return source
        if sha256 and thumbnail_path(sha256, DEFAULT_SIZE, cache_dir=thumbnail_cache_dir(self.ws.home)).is_file():
            return source
        return local_copy(self.ws, self.project, source)


def _shown(name: str, value: Any) -> str:
    if value is None:
        return "—"
    if name == "cost_usd":
        return usd(value)
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)
