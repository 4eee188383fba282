"""A stand-in for one browser tab: build the four dashboard views again and again.

Run as ``python -m tests.dashboards.render_loop <report.json> <stop-file>`` with ``KROMA_HOME``
set. Each pass builds every view fresh (what a page load does in a Voilà kernel), records how
long it took and any error (a raised exception or an error shown on the page), and the loop ends
when the stop file appears. The report says when each render started and ended, so the test can
count the renders that overlapped the run it was writing.
"""

from __future__ import annotations

import json
import sys
import time
import traceback
from pathlib import Path


def main(report: Path, stop: Path) -> int:
    from kroma_kit.dashboards import (
        costs_dashboard,
        project_overview_dashboard,
        qa_report_dashboard,
        run_viewer_dashboard,
    )

    builders = {"overview": project_overview_dashboard, "run_viewer": run_viewer_dashboard,
                "qa_report": qa_report_dashboard, "costs": costs_dashboard}
    renders: list[dict[str, object]] = []
    errors: list[str] = []
    ready = report.with_suffix(".ready")
    while True:
        for name, build in builders.items():
            started = time.time()
            try:
                view = build()
                if view.error:
                    errors.append(f"{name}: {view.error}")
            except Exception:  # the test reports it; the loop keeps going like other tabs would
                errors.append(f"{name}: {traceback.format_exc()}")
            renders.append({"view": name, "start": started, "end": time.time()})
        ready.touch()
        if stop.exists():
            break
    report.write_text(json.dumps({"renders": renders, "errors": errors}))
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))
