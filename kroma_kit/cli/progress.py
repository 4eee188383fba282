"""A tqdm progress bar fed by the pipeline's event stream (the CLI face of the events that
widgets show in notebooks)."""

from __future__ import annotations

import sys
import threading
from typing import Any


class TqdmProgress:
    """Callable ``on_event`` handler: the bar's total is the planned candidate count, each
    finished candidate advances it, and the postfix shows the latest verdict."""

    def __init__(self, *, disable: bool | None = None, desc: str = "candidates") -> None:
        self._disable = (not sys.stderr.isatty()) if disable is None else disable
        self._desc = desc
        self._bar: Any = None
        self._lock = threading.Lock()

    def __enter__(self) -> TqdmProgress:
        from tqdm import tqdm

        self._bar = tqdm(total=0, desc=self._desc, unit="img", disable=self._disable, file=sys.stderr)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.close()

    def __call__(self, event: Any) -> None:
        if self._bar is None:
            return
        kind = getattr(event, "kind", None)
        with self._lock:
            if kind == "planned":
                total = getattr(event, "total", None) or 0
                self._bar.total = total
                self._bar.refresh()
            elif kind == "candidate_done":
                self._bar.update(1)
                job = getattr(event, "job_id", "")
                self._bar.set_postfix_str(f"{job} c{getattr(event, 'candidate_index', '')}", refresh=False)
            elif kind in ("finished", "failed"):
                self._bar.refresh()
