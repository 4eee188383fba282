"""HTML pieces every dashboard shares: stat cards, status and QA badges, tables, notes.

Stakeholders read these pages in a browser, and a browser test reads them too. So every figure
is rendered twice: as text for people (``$4.20``, ``91%``) and as a ``data-value`` attribute with
the raw number for machines, on an element with a stable ``kk-*`` class and a ``data-*`` name
(``<div class="kk-card" data-card="total-runs">``). Layout can change; those names must not.

Everything here is pure string building (no widgets, no I/O), so it is cheap to test and the
same HTML works in Voilà, JupyterLab and a saved notebook.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from kroma_kit.figures.text import esc, is_missing, to_datetime  # noqa: F401 (re-exported)

RUN_STATUSES = ("done", "running", "partial", "failed", "interrupted", "planned")
# Job and candidate statuses borrow the colour of the run status they amount to.
STATUS_STYLES = {"failed_output_guard": "failed", "skipped_budget": "partial", "generated": "running"}
VERDICTS = ("pass", "warn", "fail")

STYLE = """
<style>
.kk-dash { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #222; }
.kk-dash .kk-sub { font-size: 13px; color: #777; margin-bottom: 14px; }
.kk-dash .kk-section-title { font-size: 12px; font-weight: 600; text-transform: uppercase; color: #888;
  letter-spacing: 1px; margin: 18px 0 8px 0; }
.kk-cards { display: flex; flex-wrap: wrap; gap: 12px; margin: 8px 0 16px 0; }
.kk-cards > .kk-card { background: #fff; border: 1px solid #e0e0e0; border-radius: 8px; padding: 12px 16px;
  min-width: 130px; flex: 1; }
.kk-cards .kk-card-label { font-size: 11px; color: #888; text-transform: uppercase; letter-spacing: 1px; }
.kk-cards .kk-card-value { font-size: 26px; font-weight: 700; margin-top: 4px; white-space: nowrap; }
.kk-cards .kk-card-note { font-size: 11px; color: #999; margin-top: 2px; }
.kk-table { border-collapse: collapse; font-size: 13px; background: #fff; width: 100%; }
.kk-table th { background: #f6f6f6; text-align: left; padding: 7px 10px; color: #555;
  border-bottom: 1px solid #e0e0e0; font-weight: 600; }
.kk-table td { padding: 6px 10px; border-bottom: 1px solid #f0f0f0; vertical-align: top; }
.kk-table code { white-space: nowrap; }
.kk-table td.kk-num, .kk-table th.kk-num { text-align: right; font-variant-numeric: tabular-nums; }
.kk-badge { border-radius: 10px; padding: 2px 8px; font-size: 11px; font-weight: 600; white-space: nowrap;
  display: inline-block; line-height: 16px; vertical-align: middle; }
.kk-badge.kk-badge-done, .kk-badge.kk-badge-pass { background: #d4edda; color: #155724; }
.kk-badge.kk-badge-running, .kk-badge.kk-badge-warn, .kk-badge.kk-badge-planned { background: #fff3cd; color: #856404; }
.kk-badge.kk-badge-partial { background: #ffe5cc; color: #8a4b08; }
.kk-badge.kk-badge-failed, .kk-badge.kk-badge-fail { background: #f8d7da; color: #721c24; }
.kk-badge.kk-badge-interrupted { background: #e2e3e5; color: #383d41; }
.kk-badge.kk-badge-winner { background: #1a1a1a; color: #fff; }
.kk-note { background: #f4f6fa; border: 1px solid #dde3ee; border-radius: 8px; padding: 14px 16px;
  font-size: 14px; color: #333; margin: 8px 0; }
.kk-note code, .kk-dash code { background: #eef0f3; padding: 1px 4px; border-radius: 3px; font-size: 12px; }
.kk-path { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12px; word-break: break-all; }
.kk-muted { color: #999; }
.kk-chart img { max-width: 100%; height: auto; }
.kk-split { display: flex; flex-wrap: wrap; gap: 24px; align-items: flex-start; }
.kk-split > * { flex: 1 1 420px; min-width: 0; }
.kk-tiles { display: flex; flex-wrap: wrap; gap: 10px; }
.kk-tile { width: 180px; background: #fff; border: 1px solid #e0e0e0; border-radius: 6px; padding: 6px;
  font-size: 11px; }
.kk-tile img { width: 100%; height: auto; display: block; border-radius: 4px; background: #f3f3f3; }
.kk-tile .kk-tile-missing { height: 120px; display: flex; align-items: center; justify-content: center;
  color: #aaa; background: #f3f3f3; border-radius: 4px; }
.kk-tile.kk-is-winner { border: 2px solid #1a1a1a; }
.kk-dash details summary { cursor: pointer; font-size: 13px; color: #555; }
.kk-dash pre.kk-json { font-size: 12px; background: #fafafa; border: 1px solid #eee; padding: 8px;
  max-height: 320px; overflow: auto; }
.kk-meter { background: #eee; border-radius: 4px; height: 8px; width: 140px; display: inline-block; }
.kk-meter > span { display: block; height: 8px; border-radius: 4px; background: #3b7a57; }
.kk-meter.kk-over > span { background: #b03a2e; }
</style>
"""


@dataclass(frozen=True)
class Card:
    """One stat card: ``key`` becomes ``data-card``, ``value`` the ``data-value`` attribute."""

    key: str
    label: str
    text: str
    value: Any = None
    note: str = ""



def raw_value(value: Any) -> str:
    """The machine-readable form used in ``data-value``: plain numbers, ISO text, '' for missing."""
    if is_missing(value):
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(float(value))
    if hasattr(value, "item") and not isinstance(value, str):  # numpy scalars
        return raw_value(value.item())
    if isinstance(value, datetime):
        return iso_utc(value)
    return str(value)


def money(value: Any) -> str:
    """Dollars for people: ``$4.20``; sub-cent amounts keep enough digits to not read as zero."""
    if is_missing(value):
        return "—"
    amount = float(value)
    if amount == 0:
        return "$0.00"
    sign = "−" if amount < 0 else ""
    amount = abs(amount)
    if amount >= 0.01:
        return f"{sign}${amount:,.2f}"
    return f"{sign}${amount:.4f}".rstrip("0")


def percent(rate: Any) -> str:
    """A 0..1 rate as ``91%`` (``91.7%`` when it is not whole); missing rates read as a dash."""
    if is_missing(rate):
        return "—"
    value = float(rate) * 100
    return f"{value:.0f}%" if math.isclose(value, round(value), abs_tol=0.05) else f"{value:.1f}%"


def number(value: Any, digits: int = 0) -> str:
    if is_missing(value):
        return "—"
    return f"{float(value):,.{digits}f}" if digits else f"{int(value):,}"



def iso_utc(value: Any) -> str:
    moment = to_datetime(value)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else ""


def when(value: Any, *, now: datetime | None = None) -> str:
    """``2026-02-21 14:32 UTC (2h ago)``: the exact time for records, the age for people."""
    moment = to_datetime(value)
    if moment is None:
        return "—"
    return f"{moment:%Y-%m-%d %H:%M} UTC ({ago(moment, now=now)})"


def ago(moment: datetime, *, now: datetime | None = None) -> str:
    seconds = ((now or datetime.now(UTC)) - moment).total_seconds()
    if seconds < 60:
        return "just now"
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit} ago"
    return "just now"


def duration(start: Any, end: Any) -> str:
    """``4.2s`` or ``1m 05s`` between two timestamps, or a dash when either is missing."""
    first, last = to_datetime(start), to_datetime(end)
    if first is None or last is None:
        return "—"
    exact = max(0.0, (last - first).total_seconds())
    if exact < 60:
        return f"{exact:.1f}s"
    seconds = int(exact)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m {seconds:02d}s" if minutes else f"{seconds}s"


def status_badge(status: Any) -> str:
    """A run status badge; unknown statuses still render, in the neutral style."""
    name = str(status or "unknown").lower()
    style = name if name in RUN_STATUSES else STATUS_STYLES.get(name, "interrupted")
    return f'<span class="kk-badge kk-badge-{style}" data-status="{esc(name)}">{esc(name)}</span>'


def verdict_badge(verdict: Any) -> str:
    """A QA verdict badge (pass / warn / fail); no verdict reads "unchecked"."""
    name = str(verdict).lower() if not is_missing(verdict) and verdict else "unchecked"
    style = name if name in VERDICTS else "interrupted"
    return f'<span class="kk-badge kk-badge-{style}" data-verdict="{esc(name)}">{esc(name)}</span>'


def card(item: Card) -> str:
    note = f'<div class="kk-card-note">{esc(item.note)}</div>' if item.note else ""
    return (f'<div class="kk-card" data-card="{esc(item.key)}">'
            f'<div class="kk-card-label">{esc(item.label)}</div>'
            f'<div class="kk-card-value" data-value="{esc(raw_value(item.value))}">{esc(item.text)}</div>'
            f"{note}</div>")


def cards(items: Iterable[Card], *, name: str = "summary") -> str:
    return f'<div class="kk-cards" data-cards="{esc(name)}">' + "".join(card(i) for i in items) + "</div>"


def note(text_html: str, *, kind: str = "empty") -> str:
    """A plain-language message box (empty workspace, no runs, ...). ``text_html`` is trusted HTML."""
    return f'<div class="kk-note" data-note="{esc(kind)}">{text_html}</div>'


def split(*parts_html: str) -> str:
    """Lay parts side by side (a chart beside its table), wrapping on narrow screens."""
    return '<div class="kk-split">' + "".join(f"<div>{part}</div>" for part in parts_html) + "</div>"


def section(title: str, body_html: str, *, name: str) -> str:
    return (f'<div class="kk-section" data-section="{esc(name)}">'
            f'<div class="kk-section-title">{esc(title)}</div>{body_html}</div>')


@dataclass(frozen=True)
class Column:
    """A table column: header text, the ``data-col`` name, and whether it is numeric (right-aligned)."""

    name: str
    header: str
    numeric: bool = False


def table(columns: Sequence[Column], rows: Iterable[Sequence[str]], *, name: str,
          row_keys: Sequence[str] | None = None) -> str:
    """An HTML table; cells are trusted HTML (escape values with :func:`esc` before passing them).

    Each ``<tr>`` gets ``data-row`` (its key, e.g. a run id) so a test can find one row.
    """
    head = "".join(f'<th class="{"kk-num" if c.numeric else ""}" data-col="{esc(c.name)}">{esc(c.header)}</th>'
                   for c in columns)
    body = []
    for i, row in enumerate(rows):
        key = row_keys[i] if row_keys is not None else str(i)
        cells = "".join(f'<td class="{"kk-num" if c.numeric else ""}" data-col="{esc(c.name)}">{cell}</td>'
                        for c, cell in zip(columns, row, strict=True))
        body.append(f'<tr data-row="{esc(key)}">{cells}</tr>')
    return (f'<table class="kk-table" data-table="{esc(name)}"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table>")


def value_cell(text: str, value: Any) -> str:
    """A table cell body that carries its raw value too: ``<span data-value="0.42">$0.42</span>``."""
    return f'<span data-value="{esc(raw_value(value))}">{esc(text)}</span>'


def path_html(path: Any, *, name: str) -> str:
    """A file path shown as text (browsers will not follow file:// links from an http page)."""
    if is_missing(path) or not str(path):
        return f'<span class="kk-muted" data-path="{esc(name)}">—</span>'
    return f'<code class="kk-path" data-path="{esc(name)}" title="{esc(path)}">{esc(path)}</code>'


def shorten(text: Any, limit: int = 90) -> str:
    value = "" if is_missing(text) else " ".join(str(text).split())
    return value if len(value) <= limit else value[: limit - 1] + "…"
