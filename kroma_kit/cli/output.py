"""Printing for the CLI: ``--json`` gives machine-readable JSON on stdout, otherwise a table; and
the small argument helpers the command modules share (the ``--json`` flag, comma lists)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable, Sequence
from typing import Any


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON on stdout")


def comma_list(text: str | None) -> list[str] | None:
    """``"a, b,,c"`` -> ``["a", "b", "c"]``; None for an option not given (or given empty), so a
    caller can tell "leave as is" from "set to this list"."""
    return [part.strip() for part in text.split(",") if part.strip()] if text else None


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def print_table(rows: Iterable[dict[str, Any]], columns: Sequence[str]) -> None:
    """A plain aligned text table; ``(none)`` when empty."""
    rows = list(rows)
    if not rows:
        print("(none)")
        return
    cells = [[_fmt(row.get(col)) for col in columns] for row in rows]
    widths = [max(len(col), *(len(line[i]) for line in cells)) for i, col in enumerate(columns)]
    print("  ".join(col.ljust(w) for col, w in zip(columns, widths, strict=True)).rstrip())
    for line in cells:
        print("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip())


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".") if value else "0"
    return str(value)


def emit(args: argparse.Namespace, data: Any, rows: Iterable[dict[str, Any]] | None = None,
         columns: Sequence[str] | None = None) -> None:
    """JSON when ``--json``; else a table of ``rows`` (or key/value lines of ``data``)."""
    if getattr(args, "json", False):
        print_json(data)
    elif rows is not None and columns is not None:
        print_table(rows, columns)
    elif isinstance(data, dict):
        for key, value in data.items():
            print(f"{key}: {_fmt(value) if not isinstance(value, (dict, list)) else json.dumps(value, default=str)}")
    else:
        print(data)
