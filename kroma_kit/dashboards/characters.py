"""Characters: each character of the project with its identity colours, its best reference and
its turnaround sheet (reference + the newest image of each portfolio view), so a stakeholder can
see at a glance whether every character has a sheet and stays itself all the way round.

Read-only: the sheet is drawn in memory from the character's files (nothing is written, no
thumbnail cache entry is made) and inlined as a PNG ``data:`` URL.
"""

from __future__ import annotations

import base64
from typing import Any

from kroma_kit.dashboards import cards
from kroma_kit.dashboards.base import DashboardView, EmptyState
from kroma_kit.workspace import Workspace

SHEET_TILE = 128


class CharactersView(DashboardView):
    title = "Characters"
    css_name = "characters"

    def __init__(self, ws: Workspace | None = None, *, project: str | None = None) -> None:
        super().__init__(ws, project=project)

    def render_body(self) -> str:
        from kroma_kit.characters.images import latest_portfolio
        from kroma_kit.characters.profiles import list_characters
        from kroma_kit.characters.sheet import render_turnaround_sheet
        from kroma_kit.errors import InputError

        assert self.project is not None
        characters = list_characters(self.workspace, self.project)
        if not characters:
            raise EmptyState("This project has no characters yet. Create one with <code>kroma character create "
                             f"--project {cards.esc(self.project)} CODE</code>.", kind="no-characters")
        sections = []
        per_character: dict[str, Any] = {}
        for character in characters:
            swatches = "".join(f'<span class="kk-swatch" data-colour="{cards.esc(c)}" title="{cards.esc(c)}" '
                               f'style="display:inline-block;width:14px;height:14px;background:{cards.esc(c)};'
                               'border:1px solid #333;margin-right:3px"></span>'
                               for c in character.identity.signature_colors)
            views = [image.view for image in latest_portfolio(self.workspace, self.project, character.code)]
            try:
                sheet = render_turnaround_sheet(self.workspace, self.project, character.code, tile=SHEET_TILE)
                data = base64.b64encode(sheet.png_bytes()).decode("ascii")
                picture = (f'<img class="kk-char-sheet" data-cells="{",".join(sheet.cells)}" '
                           f'alt="turnaround of {cards.esc(character.code)}" src="data:image/png;base64,{data}" '
                           'style="max-width:100%">')
                cells = sheet.cells
            except InputError as exc:
                picture = cards.note(cards.esc(str(exc)), kind="empty")
                cells = []
            per_character[character.code] = {"name": character.name, "colours": character.signature_colors,
                                             "cells": cells, "views": views}
            sections.append(
                f'<section class="kk-character" data-character="{cards.esc(character.code)}" '
                f'data-views="{len(views)}"><h3>{cards.esc(character.name)} <code>{cards.esc(character.code)}</code> '
                f"{swatches}</h3><p>{cards.esc(character.bio)}</p>{picture}</section>")
        with_portfolio = sum(1 for info in per_character.values() if info["views"])
        self.figures = {"characters": len(characters), "with-portfolio": with_portfolio,
                        "per-character": per_character}
        summary = (f'<div class="kk-cards" data-cards="characters"><div class="kk-card" data-card="characters">'
                   f'<div class="kk-card-value" data-value="{len(characters)}">{len(characters)}</div>'
                   '<div>characters</div></div><div class="kk-card" data-card="with-portfolio">'
                   f'<div class="kk-card-value" data-value="{with_portfolio}">{with_portfolio}</div>'
                   "<div>with a 360° portfolio</div></div></div>")
        return summary + "".join(sections)


def characters_dashboard(ws: Workspace | None = None, *, project: str | None = None) -> CharactersView:
    return CharactersView(ws, project=project)
