"""``kroma review set-winner|history`` and ``kroma analytics summary|overview|sql``.

CLI twins of the review panel (:mod:`kroma_kit.pipeline.review`) and of the dashboard numbers
(:mod:`kroma_kit.analytics`): the same functions, printed as a table or, with ``--json``, as JSON.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from kroma_kit.cli.output import add_json_flag, emit, print_table

if TYPE_CHECKING:
    import pandas as pd

HISTORY_COLUMNS = ["source", "candidate_index", "previous_candidate", "reviewer", "forced", "reviewed_at", "note"]
OVERVIEW_COLUMNS = ["slug", "name", "total_runs", "assets", "cost_usd", "qa_pass_rate", "last_run_at"]


def register(commands: argparse._SubParsersAction) -> None:
    review = commands.add_parser("review", help="override a job's winner and see its history")
    review_sub = review.add_subparsers(dest="review_command", required=True)
    set_winner = review_sub.add_parser("set-winner", help="make another candidate the job's winner")
    set_winner.add_argument("--run", required=True, help="run id (or a unique prefix of 6+ characters)")
    set_winner.add_argument("--job", required=True, help="job key, e.g. style_1_street")
    set_winner.add_argument("--candidate", required=True, type=int, help="candidate index (1-based)")
    set_winner.add_argument("--note", default="", help="why this one (kept in the review record)")
    set_winner.add_argument("--reviewer", default="local", help="who decided (default: local)")
    set_winner.add_argument("--force", action="store_true",
                            help="allow a candidate that failed the output guard")
    add_json_flag(set_winner)
    set_winner.set_defaults(handler=cmd_set_winner)
    history = review_sub.add_parser("history", help="every winner choice of a job, the ranking's first")
    history.add_argument("--run", required=True)
    history.add_argument("--job", required=True)
    add_json_flag(history)
    history.set_defaults(handler=cmd_history)

    analytics = commands.add_parser("analytics", help="dashboard numbers and ad-hoc SQL (DuckDB)")
    analytics_sub = analytics.add_subparsers(dest="analytics_command", required=True)
    summary = analytics_sub.add_parser("summary", help="one project's cards: runs, assets, cost, QA")
    summary.add_argument("--project", required=True)
    add_json_flag(summary)
    summary.set_defaults(handler=cmd_summary)
    overview = analytics_sub.add_parser("overview", help="one row per active project")
    add_json_flag(overview)
    overview.set_defaults(handler=cmd_overview)
    query = analytics_sub.add_parser(
        "sql", help="run a SELECT over v_runs, v_jobs, v_candidates, v_costs, v_assets, v_projects, run_logs "
                    "and the catalog tables (read-only)")
    query.add_argument("--query", required=True, help='e.g. "SELECT stage, count(*) FROM v_candidates GROUP BY 1"')
    add_json_flag(query)
    query.set_defaults(handler=cmd_sql)


def _ws(args: argparse.Namespace):
    from kroma_kit.workspace import open_workspace

    return open_workspace(args.home)


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """DataFrame rows as JSON-ready dicts (NaN -> None, numpy scalars -> Python)."""
    return json.loads(frame.to_json(orient="records", date_format="iso", default_handler=str))


def cmd_set_winner(args: argparse.Namespace) -> int:
    from kroma_kit.pipeline.review import override_winner

    result = override_winner(_ws(args), args.run, args.job, args.candidate, note=args.note,
                             reviewer=args.reviewer, force=args.force)
    emit(args, result)
    return 0


def cmd_history(args: argparse.Namespace) -> int:
    from kroma_kit.pipeline.review import winner_history

    rows = winner_history(_ws(args), args.run, args.job)
    emit(args, rows, rows, HISTORY_COLUMNS)
    return 0


def cmd_summary(args: argparse.Namespace) -> int:
    from kroma_kit import analytics

    emit(args, analytics.project_summary(_ws(args), args.project))
    return 0


def cmd_overview(args: argparse.Namespace) -> int:
    from kroma_kit import analytics

    rows = records(analytics.project_overview(_ws(args)))
    emit(args, rows, rows, OVERVIEW_COLUMNS)
    return 0


def cmd_sql(args: argparse.Namespace) -> int:
    from kroma_kit import analytics

    frame = analytics.sql(_ws(args), args.query)
    rows = records(frame)
    if args.json:
        emit(args, rows)
    else:
        print_table(rows, [str(column) for column in frame.columns])
    return 0
