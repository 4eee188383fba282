"""A tqdm progress bar fed by the pipeline's event stream: the CLI face of the events that the
widgets show in notebooks."""

from __future__ import annotations

import sys
from typing import Any


class RunProgress:
    """A tqdm bar driven by the run's events (called on worker threads, serialised by the emitter)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bar: Any = None
        self.cost = 0.0

    def __call__(self, event: Any) -> None:
        if not self.enabled:
            return
        if event.kind == "planned":
            from tqdm import tqdm

            self.bar = tqdm(total=event.candidates_to_run, unit="cand", file=sys.stderr, dynamic_ncols=True,
                            desc=f"{event.project} ({event.jobs_total} jobs)")
        elif event.kind == "candidate_done" and self.bar is not None:
            self.cost += event.cost_usd
            self.bar.update(1)
            self.bar.set_postfix_str(f"${self.cost:.3f} {event.job_id} c{event.candidate_index} {event.status}")
        elif event.kind == "job_done" and self.bar is not None:
            self.bar.write(f"{event.job_id}: {event.status}"
                           + (f" (winner c{event.selected_candidate})" if event.selected_candidate else ""),
                           file=sys.stderr)
        elif event.kind in ("finished", "failed") and self.bar is not None:
            self.bar.close()
            self.bar = None
