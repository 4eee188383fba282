"""``kroma project export`` and ``kroma project import`` (registered under ``kroma project``)."""

from __future__ import annotations

import argparse

from kroma_kit.cli.output import add_json_flag, emit


def register_project_bundle_commands(project_sub: argparse._SubParsersAction) -> None:
    export = project_sub.add_parser("export", help="write the project as a bundle (catalog slice + files)")
    export.add_argument("slug")
    export.add_argument("--output", help="FILE.tar.gz (or .tgz), or a new folder; default "
                        "<KROMA_HOME>/exports/<slug>_<stamp>.tar.gz")
    export.add_argument("--no-files", action="store_true", help="only project.db and metadata.json")
    add_json_flag(export)
    export.set_defaults(handler=cmd_project_export)
    exports = project_sub.add_parser("exports", help="the project's exports, newest first")
    exports.add_argument("slug")
    exports.add_argument("--limit", type=int, default=50)
    add_json_flag(exports)
    exports.set_defaults(handler=cmd_project_exports)
    imp = project_sub.add_parser("import", help="import a bundle (verified before anything is written)")
    imp.add_argument("bundle", help="a .tar.gz bundle or an unpacked bundle folder")
    imp.add_argument("--slug", help="import under this slug (default: the bundle's)")
    imp.add_argument("--mode", choices=("merge", "replace"), default="merge",
                     help="when the slug exists: merge into it, or retire it (archived, renamed) and replace")
    imp.add_argument("--dry-run", action="store_true", help="check and count, change nothing")
    add_json_flag(imp)
    imp.set_defaults(handler=cmd_project_import)


def _ws(args: argparse.Namespace):
    from kroma_kit.catalog import open_workspace

    return open_workspace(args.home)


def cmd_project_export(args: argparse.Namespace) -> int:
    from kroma_kit.bundles.export import export_project

    result = export_project(_ws(args), args.slug, output=args.output, include_files=not args.no_files)
    emit(args, result.to_dict())
    return 0


def cmd_project_exports(args: argparse.Namespace) -> int:
    from kroma_kit.bundles.export import list_project_exports

    rows = list_project_exports(_ws(args), args.slug, limit=args.limit)
    emit(args, rows, rows, ["created_at", "format", "include_files", "present", "sha256", "output_path"])
    return 0


def cmd_project_import(args: argparse.Namespace) -> int:
    from kroma_kit.bundles.importer import import_bundle

    result = import_bundle(_ws(args), args.bundle, slug=args.slug, mode=args.mode, dry_run=args.dry_run)
    if args.json:
        emit(args, result.to_dict())
        return 0
    head = "dry run: " if result.dry_run else ""
    print(f"{head}imported into '{result.project}' ({result.mode}) at {result.root}"
          + (f"; retired the old project as '{result.replaced_project}'" if result.replaced_project else ""))
    rows = [{"table": t, **c} for t, c in result.rows.items()]
    from kroma_kit.cli.output import print_table

    print_table(rows, ["table", "provided", "inserted", "unchanged", "remapped"])
    print("files: " + ", ".join(f"{k} {v}" for k, v in result.files.items()))
    for warning in result.warnings:
        print(f"warning: {warning}")
    return 0
