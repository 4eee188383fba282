"""Moved: the drawing to :mod:`kroma_kit.figures.contact_sheet`, the query to
:func:`kroma_kit.analytics.pictures.run_contact_sheet`. These names stay importable."""

from kroma_kit.analytics.pictures import run_contact_sheet
from kroma_kit.figures.contact_sheet import (
    DEFAULT_TILE,
    ContactSheet,
    SheetLayout,
    render_contact_sheet,
)

__all__ = ["DEFAULT_TILE", "ContactSheet", "SheetLayout", "render_contact_sheet", "run_contact_sheet"]
