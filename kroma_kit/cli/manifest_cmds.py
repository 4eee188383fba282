"""``kroma manifest`` and ``kroma prompt``: the ManifestEditor panel's actions from a shell.

Ref paths given to ``set-refs`` are manifest refs: relative to the project root (and inside it)
or absolute. ``add-ref`` takes a file anywhere (relative to the current folder), copies it into
the project and appends it. Prompts are saved as the panel saves them: a new catalog version
and the manifest rewritten.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from kroma_kit.cli.output import add_json_flag, emit, print_table
from kroma_kit.errors import InputError


def register(commands: argparse._SubParsersAction) -> None:
    manifest = commands.add_parser("manifest", help="show and edit a project's refs")
    manifest_sub = manifest.add_subparsers(dest="manifest_command", required=True)
    show = manifest_sub.add_parser("show", help="the resolved manifest: refs, prompts, problems")
    show.add_argument("--project", required=True)
    add_json_flag(show)
    show.set_defaults(handler=cmd_manifest_show)

    set_refs = manifest_sub.add_parser(
        "set-refs", help="replace (or --append to) one ref list; paths relative to the project root")
    set_refs.add_argument("--project", required=True)
    which = set_refs.add_mutually_exclusive_group(required=True)
    for kind in ("scene", "style", "character"):
        which.add_argument(f"--{kind}", nargs="+", metavar="PATH", dest=f"{kind}_refs")
    set_refs.add_argument("--append", action="store_true", help="add to the list instead of replacing it")
    add_json_flag(set_refs)
    set_refs.set_defaults(handler=cmd_manifest_set_refs)

    init = manifest_sub.add_parser(
        "init", help="write the starter manifest (no refs, default prompts) if the project has none")
    init.add_argument("--project", required=True)
    add_json_flag(init)
    init.set_defaults(handler=cmd_manifest_init)

    add_ref = manifest_sub.add_parser("add-ref", help="copy an image into the project and append it")
    add_ref.add_argument("--project", required=True)
    add_ref.add_argument("--kind", required=True, choices=("scene", "style", "character"))
    add_ref.add_argument("file")
    add_json_flag(add_ref)
    add_ref.set_defaults(handler=cmd_manifest_add_ref)

    prompt = commands.add_parser("prompt", help="save stage prompts as new versions; show their history")
    prompt_sub = prompt.add_subparsers(dest="prompt_command", required=True)
    save = prompt_sub.add_parser("save", help="new catalog version + manifest updated (as the panel's Save)")
    save.add_argument("--project", required=True)
    save.add_argument("name", help="manifest prompt key, e.g. style_base, time_night")
    text = save.add_mutually_exclusive_group(required=True)
    text.add_argument("--text")
    text.add_argument("--file", help="UTF-8 text file with the prompt ('-' reads stdin)")
    add_json_flag(save)
    save.set_defaults(handler=cmd_prompt_save)
    history = prompt_sub.add_parser("history", help="every saved version, newest first")
    history.add_argument("--project", required=True)
    history.add_argument("name")
    add_json_flag(history)
    history.set_defaults(handler=cmd_prompt_history)


def _ws(args: argparse.Namespace):
    from kroma_kit.catalog import open_workspace

    return open_workspace(args.home)


def _root(ws, slug: str) -> Path:
    from kroma_kit.catalog.projects import get_project

    return Path(get_project(ws, slug)["root"])


REF_FIELDS = ("scene_refs", "style_refs", "character_refs")


def cmd_manifest_show(args: argparse.Namespace) -> int:
    from kroma_kit.config import resolve_project_settings
    from kroma_kit.project_setup import check_manifest_files, manifest_notes

    resolved = resolve_project_settings(_root(_ws(args), args.project))
    manifest = resolved.manifest
    data = {"project": args.project,
            "manifest_file": str(resolved.manifest_file) if resolved.manifest_file else None,
            **{field: getattr(manifest, field) for field in REF_FIELDS},
            "prompts": manifest.prompts, "problems": check_manifest_files(resolved),
            "notes": manifest_notes(resolved, args.project)}
    if args.json:
        emit(args, data)
        return 0
    print(f"manifest: {data['manifest_file'] or 'built-in defaults (no manifest file)'}")
    for field in REF_FIELDS:
        print(f"{field} ({len(data[field])}):")
        for ref in data[field]:
            print(f"  {ref}")
    print("prompts:")
    print_table([{"name": name, "text": text} for name, text in sorted(manifest.prompts.items())],
                ["name", "text"])
    for problem in data["problems"]:
        print(f"problem: {problem}")
    for note in data["notes"]:
        print(f"note: {note}")
    return 0


def cmd_manifest_init(args: argparse.Namespace) -> int:
    from kroma_kit.project_setup import ensure_project_manifest, project_manifest_path

    root = _root(_ws(args), args.project)
    written = ensure_project_manifest(root)
    emit(args, {"project": args.project, "created": written is not None,
                "manifest_file": str(project_manifest_path(root))})
    return 0


def cmd_manifest_set_refs(args: argparse.Namespace) -> int:
    from kroma_kit.config import resolve_project_settings
    from kroma_kit.manifest_edit import update_manifest

    field = next(field for field in REF_FIELDS if getattr(args, field) is not None)
    ws = _ws(args)
    refs = list(getattr(args, field))
    if args.append:
        refs = [*getattr(resolve_project_settings(_root(ws, args.project)).manifest, field), *refs]
    manifest = update_manifest(ws, args.project, **{field: refs})
    emit(args, {"project": args.project, field: getattr(manifest, field)})
    return 0


def cmd_manifest_add_ref(args: argparse.Namespace) -> int:
    from kroma_kit.manifest_edit import add_ref_file

    emit(args, {"project": args.project, **add_ref_file(_ws(args), args.project, args.kind, args.file)})
    return 0


def _prompt_text(args: argparse.Namespace) -> str:
    if args.text is not None:
        return args.text
    if args.file == "-":
        return sys.stdin.read()
    try:
        return Path(args.file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"Cannot read prompt file {args.file}: {getattr(exc, 'strerror', None) or exc}") from None


def cmd_prompt_save(args: argparse.Namespace) -> int:
    from kroma_kit.manifest_edit import publish_prompt

    text = _prompt_text(args).strip()
    version = publish_prompt(_ws(args), args.project, args.name, text)
    emit(args, {"project": args.project, "name": args.name, "version": version, "text": text})
    return 0


def cmd_prompt_history(args: argparse.Namespace) -> int:
    from kroma_kit.catalog.prompts import prompt_history

    history = prompt_history(_ws(args), args.project, args.name)
    emit(args, history, history, ["version", "is_active", "created_at", "text"])
    return 0
