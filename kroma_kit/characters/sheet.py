"""A character's turnaround sheet: the best reference, then the newest image of each portfolio
view in turnaround order, each on a checkerboard (so transparent cut-outs read as cut-outs) and
labelled, under a header with the name, code and signature colour swatches. What a person looks
at to judge whether the character stays itself; ``kroma review sheet --character CODE`` and the
``characters`` dashboard draw it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from kroma_kit.characters._common import project_of
from kroma_kit.characters.images import best_reference, latest_portfolio
from kroma_kit.characters.profiles import get_character
from kroma_kit.errors import InputError
from kroma_kit.imaging import open_image
from kroma_kit.storage.atomic import atomic_write_bytes
from kroma_kit.workspace import Workspace

HEADER = 44
LABEL = 22
PAD = 8


@dataclass
class TurnaroundSheet:
    image: Image.Image
    code: str
    cells: list[str]  # labels in order: "reference", then the views

    def save(self, path: str | Path) -> Path:
        import io

        buffer = io.BytesIO()
        self.image.save(buffer, "PNG")
        return atomic_write_bytes(Path(path), buffer.getvalue())

    def png_bytes(self) -> bytes:
        import io

        buffer = io.BytesIO()
        self.image.save(buffer, "PNG")
        return buffer.getvalue()


def _font(size: int) -> Any:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1
        return ImageFont.load_default()


def _checker(width: int, height: int, step: int = 12) -> Image.Image:
    board = Image.new("RGB", (width, height), (236, 236, 236))
    draw = ImageDraw.Draw(board)
    for y in range(0, height, step):
        for x in range((y // step) % 2 * step, width, step * 2):
            draw.rectangle((x, y, x + step - 1, y + step - 1), fill=(214, 214, 214))
    return board


def render_turnaround_sheet(ws: Workspace, project: str | dict[str, Any], code: str, *, tile: int = 192
                            ) -> TurnaroundSheet:
    if not 48 <= tile <= 1024:
        raise InputError(f"Tile size must be 48..1024 pixels, got {tile}.")
    proj = project_of(ws, project)
    character = get_character(ws, proj, code)
    cells: list[tuple[str, Path]] = []
    best = best_reference(ws, proj, code)
    if best is not None and best.path is not None:
        cells.append(("reference", best.path))
    cells += [((image.view or "view").replace("_", " "), image.path) for image in latest_portfolio(ws, proj, code)
              if image.path is not None]
    if not cells:
        raise InputError(f"Character '{code}' has no reference or portfolio image yet: nothing to draw. Generate "
                         f"one with `kroma character reference {code} --project {proj['slug']}`.")
    cell_h = round(tile * 4 / 3)
    width = PAD + len(cells) * (tile + PAD)
    height = HEADER + cell_h + LABEL + PAD
    sheet = Image.new("RGB", (max(width, 320), height), (250, 250, 248))
    draw = ImageDraw.Draw(sheet)
    draw.text((PAD, 12), f"{character.name} ({character.code})", fill=(20, 20, 24), font=_font(18))
    x = sheet.width - PAD - 22 * len(character.identity.signature_colors)
    for colour in character.identity.signature_colors:
        draw.rectangle((x, 12, x + 18, 30), fill=colour, outline=(20, 20, 24))
        x += 22
    for index, (label, path) in enumerate(cells):
        left = PAD + index * (tile + PAD)
        board = _checker(tile, cell_h)
        picture = open_image(path).convert("RGBA")
        picture.thumbnail((tile, cell_h))
        board.paste(picture, ((tile - picture.width) // 2, (cell_h - picture.height) // 2), picture)
        sheet.paste(board, (left, HEADER))
        if index == 0 and label == "reference":
            draw.rectangle((left - 2, HEADER - 2, left + tile + 1, HEADER + cell_h + 1), outline=(40, 120, 60),
                           width=2)
        draw.text((left, HEADER + cell_h + 4), label, fill=(40, 40, 44), font=_font(13))
    return TurnaroundSheet(sheet, code, [label for label, _ in cells])
