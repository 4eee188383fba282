"""``kroma init``, ``kroma db``, ``kroma project`` and ``kroma config``."""

from __future__ import annotations

import argparse
from pathlib import Path

from kroma_kit.cli.output import add_json_flag, emit


def register(commands: argparse._SubParsersAction) -> None:
    init = commands.add_parser("init", help="create the workspace and its catalog")
    add_json_flag(init)
    init.set_defaults(handler=cmd_init)

    db = commands.add_parser("db", help="catalog migrations, copy between SQLite and PostgreSQL")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    for name, handler in (("migrate", cmd_db_migrate), ("status", cmd_db_status)):
        sub = db_sub.add_parser(name)
        add_json_flag(sub)
        sub.set_defaults(handler=handler)
    from kroma_kit.cli.db_copy_cmds import register_db_copy

    register_db_copy(db_sub)

    project = commands.add_parser("project", help="create, list, show, re-root and archive projects")
    project_sub = project.add_subparsers(dest="project_command", required=True)
    create = project_sub.add_parser("create", help="create a project")
    create.add_argument("--slug", required=True)
    create.add_argument("--name")
    create.add_argument("--description", default="")
    create.add_argument("--root", help="local project root (absolute or relative path)")
    create.add_argument("--samples", action="store_true",
                        help="install the bundled sample scenes, styles and characters and a manifest")
    add_json_flag(create)
    create.set_defaults(handler=cmd_project_create)
    listing = project_sub.add_parser("list")
    listing.add_argument("--all", action="store_true", help="include archived projects")
    add_json_flag(listing)
    listing.set_defaults(handler=cmd_project_list)
    show = project_sub.add_parser("show")
    show.add_argument("slug")
    add_json_flag(show)
    show.set_defaults(handler=cmd_project_show)
    set_root = project_sub.add_parser("set-root", help="point the project at another local folder")
    set_root.add_argument("slug")
    set_root.add_argument("path")
    add_json_flag(set_root)
    set_root.set_defaults(handler=cmd_project_set_root)
    archive = project_sub.add_parser("archive")
    archive.add_argument("slug")
    add_json_flag(archive)
    archive.set_defaults(handler=cmd_project_archive)
    from kroma_kit.cli.bundle_cmds import register_project_bundle_commands

    register_project_bundle_commands(project_sub)

    config = commands.add_parser("config", help="validate and show the layered settings")
    config_sub = config.add_subparsers(dest="config_command", required=True)
    for name, handler in (("validate", cmd_config_validate), ("show", cmd_config_show)):
        sub = config_sub.add_parser(name)
        sub.add_argument("--project", required=True)
        add_json_flag(sub)
        sub.set_defaults(handler=handler)


def _ws(args: argparse.Namespace):
    from kroma_kit.catalog import open_workspace

    return open_workspace(args.home)


def cmd_init(args: argparse.Namespace) -> int:
    from kroma_kit.catalog.migrations import migration_status

    ws = _ws(args)
    conn = ws.connect()
    try:
        status = migration_status(conn)
    finally:
        conn.close()
    emit(args, {"workspace": str(ws.home), "catalog": ws.catalog_label,
                "migrations": [m["version"] for m in status if m["applied"]]})
    return 0


def cmd_db_migrate(args: argparse.Namespace) -> int:
    from kroma_kit.catalog.db import connect
    from kroma_kit.catalog.migrations import migrate
    from kroma_kit.workspace import Workspace, workspace_home

    home = workspace_home(args.home)
    home.mkdir(parents=True, exist_ok=True)
    conn = connect(Workspace(home).catalog_path)  # the SQLite file, or KROMA_CATALOG_URL's database
    try:
        applied = migrate(conn)
    finally:
        conn.close()
    from kroma_kit.catalog import open_workspace
    from kroma_kit.characters.adopt import adopt_all_projects

    adopted = [report.to_dict() for report in adopt_all_projects(open_workspace(home))]
    emit(args, {"catalog": Workspace(home).catalog_label, "applied": applied, "characters_adopted": adopted})
    return 0


def cmd_db_status(args: argparse.Namespace) -> int:
    from kroma_kit.catalog.migrations import migration_status

    ws = _ws(args)
    conn = ws.connect()
    try:
        status = migration_status(conn)
    finally:
        conn.close()
    emit(args, {"catalog": ws.catalog_label, "migrations": status}, status,
         ["version", "applied", "applied_at"])
    return 0


PROJECT_COLUMNS = ["slug", "name", "status", "root", "created_at"]


def cmd_project_create(args: argparse.Namespace) -> int:
    from kroma_kit.project_setup import new_project

    ws = _ws(args)
    project = new_project(ws, args.slug, args.name, description=args.description, root=args.root,
                          samples=args.samples)
    if args.samples:
        from kroma_kit.characters.samples import install_sample_characters

        project["sample_knowledge"] = install_sample_characters(ws, project, project["samples"])
    emit(args, project)
    if not args.json and not args.samples:
        print(f"next: add a scene with `kroma manifest add-ref --project {args.slug} --kind scene FILE`")
    return 0


def cmd_project_list(args: argparse.Namespace) -> int:
    from kroma_kit.catalog import projects

    rows = projects.list_projects(_ws(args), include_archived=args.all)
    emit(args, rows, rows, PROJECT_COLUMNS)
    return 0


def cmd_project_show(args: argparse.Namespace) -> int:
    from kroma_kit.catalog import projects

    emit(args, projects.get_project(_ws(args), args.slug))
    return 0


def cmd_project_set_root(args: argparse.Namespace) -> int:
    from kroma_kit.project_setup import reroot_project

    emit(args, reroot_project(_ws(args), args.slug, args.path))
    return 0


def cmd_project_archive(args: argparse.Namespace) -> int:
    from kroma_kit.catalog import projects

    emit(args, projects.archive_project(_ws(args), args.slug))
    return 0


def _project_settings(args: argparse.Namespace):
    from kroma_kit.catalog import projects
    from kroma_kit.config import resolve_project_settings

    project = projects.get_project(_ws(args), args.project)
    return project, resolve_project_settings(Path(project["root"]))


def cmd_config_validate(args: argparse.Namespace) -> int:
    from kroma_kit.project_setup import check_manifest_files, manifest_notes

    project, resolved = _project_settings(args)
    problems = check_manifest_files(resolved)
    data = {"project": project["slug"], "valid": not problems, "problems": problems,
            "notes": manifest_notes(resolved, project["slug"]),
            "manifest_file": str(resolved.manifest_file) if resolved.manifest_file else None,
            "scenes": len(resolved.manifest.scene_refs), "style_refs": len(resolved.manifest.style_refs),
            "character_refs": len(resolved.manifest.character_refs)}
    if args.json:
        emit(args, data)
    else:
        emit(args, {key: value for key, value in data.items() if key not in ("problems", "notes")})
        for note in data["notes"]:
            print(f"note: {note}")
    if problems:
        from kroma_kit.errors import ConfigError

        raise ConfigError(f"Project '{project['slug']}' settings are not usable: " + "; ".join(problems))
    return 0


def cmd_config_show(args: argparse.Namespace) -> int:
    _project, resolved = _project_settings(args)
    explained = resolved.explain()
    if args.json:
        emit(args, explained)
        return 0
    for section in ("settings", "manifest"):
        print(f"[{section}]")
        rows = [{"key": key, "value": item["value"], "source": item["source"]}
                for key, item in explained[section].items()]
        from kroma_kit.cli.output import print_table

        print_table(rows, ["key", "value", "source"])
        print()
    return 0
