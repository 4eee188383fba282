"""``kroma review set-winner|history|sheet`` and ``kroma analytics summary|overview|sql|chart``.

CLI twins of the review panel (:mod:`kroma_kit.pipeline.review`), the candidate grid (as a
contact-sheet PNG, :mod:`kroma_kit.figures.contact_sheet`) and the dashboard numbers and charts
(:mod:`kroma_kit.analytics`): the same functions, printed as a table or, with ``--json``, as JSON.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from kroma_kit.cli.output import add_json_flag, emit, print_table

if TYPE_CHECKING:
    pass

HISTORY_COLUMNS = ["source", "candidate_index", "previous_candidate", "reviewer", "forced", "reviewed_at", "note"]
CHART_KINDS = ("qa", "costs")
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
    sheet = review_sub.add_parser("sheet", help="a contact-sheet PNG of a run's candidates (QA badges, winner)")
    sheet.add_argument("run_id", metavar="RUN_ID", nargs="?",
                       help="run id (or a unique prefix of 6+ characters); not with --character")
    sheet.add_argument("--character", metavar="CODE",
                       help="this character's turnaround sheet (reference + portfolio) instead of a run")
    sheet.add_argument("--continuity", action="store_true",
                       help="with --character: a continuity sheet instead, every final image of the project "
                            "with this character's identity score")
    sheet.add_argument("--project", required=True, help="the run's project (checked)")
    sheet.add_argument("--out", required=True, help="PNG file to write")
    sheet.add_argument("--size", type=int, default=256, help="tile size in pixels (default 256)")
    add_json_flag(sheet)
    sheet.set_defaults(handler=cmd_sheet)

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
    chart = analytics_sub.add_parser("chart", help="save a dashboard chart as PNG: qa (chroma vs threshold, "
                                                   "pass rate by stage) or costs (by provider and day)")
    chart.add_argument("kind", choices=CHART_KINDS)
    chart.add_argument("--project", required=True)
    chart.add_argument("--run", help="qa only: one run instead of every run of the project")
    chart.add_argument("--out", required=True, help="PNG file to write")
    add_json_flag(chart)
    chart.set_defaults(handler=cmd_chart)


def _ws(args: argparse.Namespace):
    from kroma_kit.catalog import open_workspace

    return open_workspace(args.home)


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

    rows = analytics.records(analytics.project_overview(_ws(args)), json_ready=True)
    emit(args, rows, rows, OVERVIEW_COLUMNS)
    return 0


def cmd_sql(args: argparse.Namespace) -> int:
    from kroma_kit import analytics

    frame = analytics.sql(_ws(args), args.query)
    rows = analytics.records(frame, json_ready=True)
    if args.json:
        emit(args, rows)
    else:
        print_table(rows, [str(column) for column in frame.columns])
    return 0


def cmd_sheet(args: argparse.Namespace) -> int:
    from kroma_kit.analytics.pictures import run_contact_sheet
    from kroma_kit.errors import InputError

    if args.character and args.run_id:
        raise InputError("A character sheet (--character) covers the whole project: give no RUN_ID with it.")
    if args.continuity and not args.character:
        raise InputError("--continuity needs --character CODE (whose identity scores to lay out).")
    if args.character and args.continuity:
        from kroma_kit.cli.continuity_cmds import cmd_sheet as continuity_sheet_cmd

        return continuity_sheet_cmd(args)
    if args.character:
        from kroma_kit.cli.character_handlers import cmd_turnaround_sheet

        return cmd_turnaround_sheet(args)
    if not args.run_id:
        raise InputError("Give the RUN_ID of the run to lay out (or --character CODE for a character sheet).")

    sheet = run_contact_sheet(_ws(args), args.run_id, project=args.project, tile=args.size)
    path = sheet.save(args.out).resolve()
    if args.json:
        emit(args, {"path": str(path), "run_id": sheet.run_id, "jobs": len(sheet.job_keys),
                    "candidates": sheet.candidates})
    else:
        print(path)
    return 0


def cmd_chart(args: argparse.Namespace) -> int:
    from pathlib import Path

    from kroma_kit.errors import InputError, StorageError
    from kroma_kit.storage.atomic import atomic_write_bytes

    target = Path(args.out).expanduser()
    if target.suffix.lower() != ".png":
        raise InputError(f"Charts are PNGs: give --out a .png name, not {target.name!r}.")
    if args.run and args.kind != "qa":
        raise InputError("--run narrows the qa chart only; the costs chart is per project.")
    if args.kind == "qa":
        from kroma_kit.analytics.pictures import qa_chart_png

        png = qa_chart_png(_ws(args), args.project, args.run)
    else:
        from kroma_kit.analytics.pictures import cost_chart_png

        png = cost_chart_png(_ws(args), args.project)
    try:
        path = atomic_write_bytes(target, png).resolve()
    except OSError as exc:
        raise StorageError(f"Cannot write {target}: {exc}") from exc
    if args.json:
        emit(args, {"path": str(path), "chart": args.kind, "project": args.project})
    else:
        print(path)
    return 0
