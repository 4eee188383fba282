"""Text for HTML and labels: the one HTML-escape and the one reading of catalog timestamps.

Panels, dashboards and pictures all put user text (prompts, paths, notes) into HTML and show
catalog times; one helper each, so quoting and time zones never differ between two faces.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from typing import Any


def esc(value: Any) -> str:
    """HTML-escape anything (``None`` becomes an empty string)."""
    return "" if value is None else html.escape(str(value), quote=True)


def is_missing(value: Any) -> bool:
    """True for ``None``, NaN and pandas' NA/NaT, which all mean "no figure yet"."""
    if value is None:
        return True
    if isinstance(value, str | bytes | list | tuple | dict):
        return False
    import pandas as pd

    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # array-likes: not a single missing value
        return False


def to_datetime(value: Any) -> datetime | None:
    """Parse the catalog's ISO text (``...Z``) or a pandas/py datetime into an aware UTC datetime."""
    if is_missing(value) or value == "":
        return None
    if hasattr(value, "to_pydatetime"):
        value = value.to_pydatetime()
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
