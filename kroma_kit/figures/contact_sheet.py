"""A run's candidates as one contact-sheet PNG: the candidate grid for people at a terminal.

``kroma review sheet`` answers the grid's question ("did the right candidate win?") where no
notebook is open: one row per job, one tile per candidate (in candidate-index columns, so a
missing candidate leaves a gap rather than shifting the others), each labelled with its index,
a pass/warn/fail badge in the grid's colours and the chroma delta, and the winner outlined.
The numbers are :func:`kroma_kit.analytics.candidates`, the grid's own query (gathered by
:func:`kroma_kit.analytics.pictures.run_contact_sheet`), and the pictures
are the workspace's cached thumbnails, so a sheet of a big run costs no full-size decodes. A
candidate without a usable image gets a grey tile that says why instead of failing the sheet.
"""

from __future__ import annotations

import os
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kroma_kit.errors import InputError, KromaError
from kroma_kit.figures.palette import VERDICT_COLOURS

if TYPE_CHECKING:
    from PIL import Image, ImageDraw, ImageFont


DEFAULT_TILE = 256
PAD = 8  # around each tile, inside its cell; the winner outline is drawn here
OUTLINE = 4
LABEL_HEIGHT = 26
HEADER_WIDTH = 170  # the job key column
TITLE_HEIGHT = 34
BACKGROUND = (255, 255, 255)
MISSING_TILE = (205, 205, 205)
TEXT = (34, 34, 34)
WINNER_OUTLINE = (242, 178, 0)  # gold; unlike any badge colour, so the outline reads as "winner" only
NO_VERDICT = (130, 130, 130)
CACHED_LABEL = "CACHED"
CACHED_FILL = (74, 85, 104)  # slate: not a verdict colour; "reused", not "good" or "bad"
NO_IMAGE_REASON = "the candidate failed before producing one"


@dataclass(frozen=True)
class SheetLayout:
    """Where everything goes on a sheet of ``jobs`` rows and ``columns`` candidate columns."""

    jobs: int
    columns: int
    tile: int = DEFAULT_TILE

    @property
    def cell_width(self) -> int:
        return self.tile + 2 * PAD

    @property
    def cell_height(self) -> int:
        return self.tile + LABEL_HEIGHT + 2 * PAD

    @property
    def size(self) -> tuple[int, int]:
        return (HEADER_WIDTH + self.columns * self.cell_width + PAD,
                TITLE_HEIGHT + self.jobs * self.cell_height + PAD)

    def cell_box(self, row: int, column: int) -> tuple[int, int, int, int]:
        """(left, top, right, bottom) of a candidate's cell, 0-based row and column; the winner
        outline runs along its edge."""
        left = HEADER_WIDTH + column * self.cell_width
        top = TITLE_HEIGHT + row * self.cell_height
        return left, top, left + self.cell_width - 1, top + self.cell_height - 1


@dataclass
class ContactSheet:
    """The sheet image and what is on it (the CLI's ``--json``)."""

    image: Image.Image
    layout: SheetLayout
    run_id: str
    job_keys: list[str]
    candidates: int

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the sheet as PNG atomically (a reader never sees half a file)."""
        from kroma_kit.errors import StorageError
        from kroma_kit.storage.atomic import atomic_write_with

        target = Path(path).expanduser()
        if target.suffix.lower() != ".png":
            raise InputError(f"A contact sheet is a PNG: give --out a .png name, not {target.name!r}.")
        try:
            return atomic_write_with(target, lambda handle: self.image.save(handle, format="PNG"))
        except OSError as exc:
            raise StorageError(f"Cannot write {target}: {exc}") from exc


def render_contact_sheet(rows: list[dict[str, Any]], *, title: str, tile: int = DEFAULT_TILE,
                         home: str | os.PathLike[str] | None = None, run_id: str = "") -> ContactSheet:
    """Draw candidate rows (as :func:`kroma_kit.analytics.candidates` gives them) onto a sheet."""
    from PIL import Image, ImageDraw

    jobs: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        jobs.setdefault(str(row["job_key"]), []).append(row)
    columns = max(int(row["candidate_index"]) for row in rows)
    layout = SheetLayout(len(jobs), columns, tile)
    sheet = Image.new("RGB", layout.size, BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    draw.text((PAD, PAD), title, fill=TEXT, font=_font(16))
    for row_number, (job_key, candidates) in enumerate(jobs.items()):
        left, top, _, _ = layout.cell_box(row_number, 0)
        draw.text((PAD, top + PAD + tile // 2), _fit(job_key, HEADER_WIDTH - 2 * PAD, 12), fill=TEXT,
                  font=_font(12), anchor="lm")
        for candidate in candidates:
            box = layout.cell_box(row_number, int(candidate["candidate_index"]) - 1)
            _draw_candidate(sheet, draw, box, candidate, tile, home)
    return ContactSheet(sheet, layout, run_id, list(jobs), len(rows))


def _draw_candidate(sheet: Image.Image, draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int],
                    row: dict[str, Any], tile: int, home: str | os.PathLike[str] | None) -> None:
    left, top, right, bottom = box
    picture_box = (left + PAD, top + PAD, left + PAD + tile - 1, top + PAD + tile - 1)
    try:
        picture = _thumbnail(row, tile, home)
    except KromaError as exc:
        _draw_missing(draw, picture_box, row, str(exc))
    else:
        with picture:
            offset = ((tile - picture.width) // 2, (tile - picture.height) // 2)
            rgba = picture.convert("RGBA")
            sheet.paste(rgba, (picture_box[0] + offset[0], picture_box[1] + offset[1]), rgba)
    _draw_label(draw, (left + PAD, picture_box[3] + 4), picture_box[2], row)
    _draw_continuity(draw, picture_box, row)
    _draw_cached(draw, picture_box, row)
    if row.get("is_winner"):
        draw.rectangle(box, outline=WINNER_OUTLINE, width=OUTLINE)


def _thumbnail(row: dict[str, Any], tile: int, home: str | os.PathLike[str] | None) -> Image.Image:
    from PIL import Image

    from kroma_kit.storage.thumbnails import thumbnail, thumbnail_cache_dir

    path = row.get("final_path") or row.get("output_path")
    if not path:
        raise KromaError(NO_IMAGE_REASON)
    cached = thumbnail(path, row.get("sha256") or None, size=tile, cache_dir=thumbnail_cache_dir(home))
    image = Image.open(cached)
    image.load()
    return image


def _draw_missing(draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], row: dict[str, Any],
                  reason: str) -> None:
    """A grey tile naming the candidate's status and why there is no picture."""
    draw.rectangle(box, fill=MISSING_TILE)
    width = box[2] - box[0]
    chars = max(12, width // 7)
    lines = [str(row.get("status") or "no image").upper(), ""] + textwrap.wrap(f"no image: {reason}", chars)
    draw.multiline_text((box[0] + 8, box[1] + 8), "\n".join(lines[:12]), fill=TEXT, font=_font(12), spacing=3)


def _draw_label(draw: ImageDraw.ImageDraw, origin: tuple[int, int], right: int, row: dict[str, Any]) -> None:
    """``#2 [PASS] chroma 0.42`` under the tile, the badge in its verdict colour."""
    from PIL import ImageColor

    x, y = origin
    font = _font(13)
    index = f"#{int(row['candidate_index'])}"
    draw.text((x, y), index, fill=TEXT, font=font)
    x += int(draw.textlength(index, font=font)) + 6
    verdict = row.get("verdict")
    badge = str(verdict or "n/a").upper()
    badge_width = int(draw.textlength(badge, font=font)) + 10
    colour = VERDICT_COLOURS.get(str(verdict))
    draw.rounded_rectangle((x, y - 1, x + badge_width, y + 17), radius=4,
                           fill=ImageColor.getrgb(colour) if colour else NO_VERDICT)
    draw.text((x + 5, y), badge, fill=(255, 255, 255), font=font)
    x += badge_width + 6
    chroma = row.get("chroma_delta")
    value = f"{float(chroma):.2f}" if chroma is not None else "-"
    text = f"chroma {value}"
    if x + draw.textlength(text, font=font) > right:  # small tiles: the number alone
        text = value
    draw.text((x, y), text, fill=TEXT, font=font)


def _draw_continuity(draw: ImageDraw.ImageDraw, picture_box: tuple[int, int, int, int], row: dict[str, Any]) -> None:
    """The continuity gate's badge in the tile's top-right corner ("C WARN" in its verdict colour),
    when the candidate was scored: a continuity break shows on the picture it concerns."""
    from PIL import ImageColor

    verdict = row.get("continuity_verdict")
    colour = VERDICT_COLOURS.get(str(verdict)) if verdict else None
    if not colour:
        return
    font = _font(12)
    text = "C " + str(verdict).upper()
    width = int(draw.textlength(text, font=font)) + 10
    right, top = picture_box[2] - 4, picture_box[1] + 4
    draw.rounded_rectangle((right - width, top, right, top + 18), radius=4, fill=ImageColor.getrgb(colour))
    draw.text((right - width + 5, top + 1), text, fill=(255, 255, 255), font=font)


def _draw_cached(draw: ImageDraw.ImageDraw, picture_box: tuple[int, int, int, int], row: dict[str, Any]) -> None:
    """"CACHED" in the tile's top-left corner for a candidate reused from the stage cache (made
    and paid by an earlier run), so a sheet never passes old work off as this run's."""
    if not row.get("cached_from_run"):
        return
    font = _font(12)
    width = int(draw.textlength(CACHED_LABEL, font=font)) + 10
    left, top = picture_box[0] + 4, picture_box[1] + 4
    draw.rounded_rectangle((left, top, left + width, top + 18), radius=4, fill=CACHED_FILL)
    draw.text((left + 5, top + 1), CACHED_LABEL, fill=(255, 255, 255), font=font)


def _fit(text: str, width: int, font_size: int) -> str:
    """Shorten ``text`` with "..." to fit ``width`` pixels (job keys can be long)."""
    font = _font(font_size)
    if font.getlength(text) <= width:
        return text
    while text and font.getlength(text + "...") > width:
        text = text[:-1]
    return text + "..."


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    from PIL import ImageFont

    return ImageFont.load_default(size=size)
