"""``kroma db copy --to postgresql://...|PATH``: move the workspace's catalog to the other engine."""

from __future__ import annotations

import argparse

from kroma_kit.cli.output import add_json_flag, emit


def register_db_copy(db_sub: argparse._SubParsersAction) -> None:
    copy = db_sub.add_parser(
        "copy", help="copy the catalog to PostgreSQL or to a SQLite file (row counts and checksums verified)")
    copy.add_argument("--to", required=True, dest="target",
                      help="postgresql://user@host:port/database, or a SQLite file path")
    copy.add_argument("--from", dest="source",
                      help="the source catalog (default: this workspace's: KROMA_CATALOG_URL or <KROMA_HOME>/catalog.db)")
    copy.add_argument("--force", action="store_true", help="replace the rows a non-empty target already holds")
    add_json_flag(copy)
    copy.set_defaults(handler=cmd_db_copy)


def cmd_db_copy(args: argparse.Namespace) -> int:
    from pathlib import Path

    from kroma_kit.catalog import open_workspace
    from kroma_kit.catalog.catalog_copy import copy_catalog
    from kroma_kit.postgres import is_postgres_url

    if args.source:
        source = args.source if is_postgres_url(args.source) else Path(args.source).expanduser()
    else:
        ws = open_workspace(args.home, create=False)
        source = ws.catalog_url or ws.catalog_path
    target = args.target if is_postgres_url(args.target) else Path(args.target).expanduser()
    report = copy_catalog(source, target, replace=args.force)
    rows = [{"table": name, **info} for name, info in report.tables.items()]
    emit(args, report.to_dict(), rows, ["table", "rows", "sha256"])
    if not getattr(args, "json", False):
        print(f"Copied {report.rows} rows in {len(report.tables)} tables from {report.source} to {report.target} "
              f"in {report.seconds:.1f}s; counts and checksums match. Point KROMA_CATALOG_URL at the target "
              "(or unset it for a SQLite file in KROMA_HOME) to use it.")
    return 0
