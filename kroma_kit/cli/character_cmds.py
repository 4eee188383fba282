"""``kroma character ...``, ``kroma style-guide ...``, ``kroma refset ...`` and
``kroma project bootstrap-prompt|bootstrap-import``: the CLI twins of the character workspace
(every panel action has one; ``--json`` everywhere)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from kroma_kit.cli.output import add_json_flag, emit
from kroma_kit.errors import InputError

IMAGE_COLUMNS = ["id", "kind", "view", "status", "provider", "created_at", "path"]


def _ws(args: argparse.Namespace):
    from kroma_kit.catalog import open_workspace

    return open_workspace(args.home)


def _csv(text: str | None) -> list[str] | None:
    return [part.strip() for part in text.split(",") if part.strip()] if text else None


def _sub(parent: Any, name: str, help_text: str, handler: Any, *, code: bool = True) -> argparse.ArgumentParser:
    parser = parent.add_parser(name, help=help_text)
    if code:
        parser.add_argument("code", metavar="CODE", help="character code (e.g. detective)")
    parser.add_argument("--project", required=True)
    add_json_flag(parser)
    parser.set_defaults(handler=handler)
    return parser


def _profile_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--name")
    parser.add_argument("--bio")
    parser.add_argument("--identity", help="identity constraints as a JSON object")
    for field in ("hair", "eyes", "skin", "build", "outfit"):
        parser.add_argument(f"--{field}")
    parser.add_argument("--colors", help="signature colours, comma-separated hex (#b2946a,#3e3632)")
    parser.add_argument("--must-keep", action="append", default=None, help="repeatable")
    parser.add_argument("--never", action="append", default=None, help="repeatable")
    parser.add_argument("--style-guide", help="style guide name (default: the project's default)")


def _run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--candidates", type=int)
    parser.add_argument("--provider", choices=["local", "openai", "character_library"])
    parser.add_argument("--confirm-spend", action="store_true", help="allow paid provider calls")
    parser.add_argument("--dry-run", action="store_true", help="plan and estimate only; nothing is called")


def register(commands: argparse._SubParsersAction) -> None:
    character = commands.add_parser("character", help="characters: profiles, prompts, reference/portfolio/scene images")
    sub = character.add_subparsers(dest="character_command", required=True)
    _profile_options(_sub(sub, "create", "create a character", cmd_create))
    _sub(sub, "list", "list the project's characters", cmd_list, code=False)
    _sub(sub, "show", "a character's profile, reference set and image counts", cmd_show)
    update = _sub(sub, "update", "change a profile (identity merges key by key)", cmd_update)
    _profile_options(update)
    update.add_argument("--replace-identity", action="store_true")
    _sub(sub, "delete", "mark a character deleted (rows and files stay)", cmd_delete)
    prompt = _sub(sub, "prompt", "the suggested master-reference prompt", cmd_prompt)
    prompt.add_argument("--suggest", action="store_true", help="ask the configured chat endpoint (else template)")
    reference = _sub(sub, "reference", "generate a master reference image (a run)", cmd_reference)
    reference.add_argument("--prompt", help="the prompt to use (default: the suggestion)")
    reference.add_argument("--prompt-file")
    _run_options(reference)
    portfolio = _sub(sub, "portfolio", "generate the 360° portfolio from a reference (one run)", cmd_portfolio)
    portfolio.add_argument("--reference", help="reference image id (default: the best reference)")
    portfolio.add_argument("--views", help="comma-separated views (default: the six turnaround views)")
    portfolio.add_argument("--extra-views", help="comma-separated expressions/poses to add")
    _run_options(portfolio)
    scene = _sub(sub, "scene", "generate a scene image of the character", cmd_scene)
    scene.add_argument("--context", required=True, help="the scene context text")
    scene.add_argument("--scene-ref", help="a scene image to place the character in")
    scene.add_argument("--reference", help="reference image id (default: the best reference)")
    _run_options(scene)
    images = _sub(sub, "images", "the character's images, newest first", cmd_images)
    images.add_argument("--kind", choices=["reference", "portfolio_item", "scene"])
    images.add_argument("--all", action="store_true", help="include deleted images")
    delete_image = _sub(sub, "delete-image", "archive an image (remote delete once when supported)",
                        cmd_delete_image)
    delete_image.add_argument("image_id", metavar="IMAGE_ID")
    imported = _sub(sub, "import-ref", "import an image file as a reference", cmd_import_ref)
    imported.add_argument("file", metavar="FILE")
    best = _sub(sub, "best-ref", "choose the reference portfolios and scenes start from", cmd_best_ref)
    best.add_argument("image_id", metavar="IMAGE_ID")
    _sub(sub, "adopt", "turn the manifest's character_refs into characters (idempotent)", cmd_adopt, code=False)
    resume = sub.add_parser("resume", help="finish a character run that stopped (nothing paid twice)")
    resume.add_argument("run_id", metavar="RUN_ID")
    resume.add_argument("--confirm-spend", action="store_true")
    add_json_flag(resume)
    resume.set_defaults(handler=cmd_resume)

    guide = commands.add_parser("style-guide", help="style guides: palette, line weight, forbidden words")
    gsub = guide.add_subparsers(dest="guide_command", required=True)
    for name, handler in (("create", cmd_guide_create), ("update", cmd_guide_update)):
        parser = gsub.add_parser(name)
        parser.add_argument("name", metavar="NAME")
        parser.add_argument("--project", required=True)
        parser.add_argument("--description")
        parser.add_argument("--palette", help="comma-separated hex colours")
        parser.add_argument("--line-weight")
        parser.add_argument("--forbid", help="comma-separated forbidden words")
        parser.add_argument("--notes")
        parser.add_argument("--default", action="store_true", help="make it the project's default")
        add_json_flag(parser)
        parser.set_defaults(handler=handler)
    glist = gsub.add_parser("list")
    glist.add_argument("--project", required=True)
    add_json_flag(glist)
    glist.set_defaults(handler=cmd_guide_list)
    gshow = gsub.add_parser("show")
    gshow.add_argument("name", metavar="NAME")
    gshow.add_argument("--project", required=True)
    add_json_flag(gshow)
    gshow.set_defaults(handler=cmd_guide_show)

    refset = commands.add_parser("refset", help="reference sets: packs of style/character/scene refs")
    rsub = refset.add_subparsers(dest="refset_command", required=True)
    create = rsub.add_parser("create")
    create.add_argument("name", metavar="NAME")
    create.add_argument("--kind", default="other", choices=["style", "character", "scene", "lighting", "other"])
    create.add_argument("--description", default="")
    rlist = rsub.add_parser("list")
    rshow = rsub.add_parser("show")
    rshow.add_argument("name", metavar="NAME")
    add = rsub.add_parser("add")
    add.add_argument("name", metavar="NAME")
    add.add_argument("file", metavar="FILE")
    add.add_argument("--weight", type=float, default=1.0)
    add.add_argument("--notes", default="")
    remove = rsub.add_parser("remove")
    remove.add_argument("name", metavar="NAME")
    remove.add_argument("item", metavar="FILE_OR_ASSET_ID")
    for parser, handler in ((create, cmd_refset_create), (rlist, cmd_refset_list), (rshow, cmd_refset_show),
                            (add, cmd_refset_add), (remove, cmd_refset_remove)):
        parser.add_argument("--project", required=True)
        add_json_flag(parser)
        parser.set_defaults(handler=handler)

    _register_bootstrap(commands)


def _register_bootstrap(commands: argparse._SubParsersAction) -> None:
    """Add ``bootstrap-prompt`` / ``bootstrap-import`` under the existing ``kroma project``."""
    project = commands.choices.get("project")
    if project is None:
        project = commands.add_parser("project")
        project.add_subparsers(dest="project_command", required=True)
    project_sub = next(a for a in project._actions if isinstance(a, argparse._SubParsersAction))
    prompt = project_sub.add_parser("bootstrap-prompt", help="the kroma.bootstrap.v1 prompt for an outside AI")
    prompt.add_argument("--project", required=True)
    prompt.add_argument("--out", help="write the prompt text to this file")
    add_json_flag(prompt)
    prompt.set_defaults(handler=cmd_bootstrap_prompt)
    imported = project_sub.add_parser("bootstrap-import", help="apply an outside AI's kroma.bootstrap.v1 answer")
    imported.add_argument("--project", required=True)
    source = imported.add_mutually_exclusive_group(required=True)
    source.add_argument("--file")
    source.add_argument("--text")
    imported.add_argument("--mode", choices=["merge", "replace"])
    imported.add_argument("--dry-run", action="store_true")
    add_json_flag(imported)
    imported.set_defaults(handler=cmd_bootstrap_import)


# --------------------------------------------------------------------------- characters

def _identity(args: argparse.Namespace) -> dict[str, Any] | None:
    identity: dict[str, Any] = {}
    if args.identity:
        try:
            identity = json.loads(args.identity)
        except json.JSONDecodeError as exc:
            raise InputError(f"--identity is not valid JSON: {exc}") from None
        if not isinstance(identity, dict):
            raise InputError("--identity must be a JSON object.")
    for field in ("hair", "eyes", "skin", "build", "outfit"):
        if getattr(args, field) is not None:
            identity[field] = getattr(args, field)
    if args.colors is not None:
        identity["signature_colors"] = _csv(args.colors) or []
    if args.must_keep is not None:
        identity["must_keep"] = args.must_keep
    if args.never is not None:
        identity["never"] = args.never
    return identity or None


def cmd_create(args: argparse.Namespace) -> int:
    from kroma_kit.characters.profiles import create_character

    character = create_character(_ws(args), args.project, args.code, args.name, bio=args.bio or "",
                                 identity=_identity(args), style_guide=args.style_guide)
    emit(args, character.to_dict())
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from kroma_kit.characters.profiles import list_characters

    rows = [c.to_dict() for c in list_characters(_ws(args), args.project)]
    table = [{"code": r["code"], "name": r["name"], "colors": " ".join(r["identity"]["signature_colors"]),
              "updated_at": r["updated_at"]} for r in rows]
    emit(args, rows, table, ["code", "name", "colors", "updated_at"])
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from kroma_kit.characters.overview import character_overview

    emit(args, character_overview(_ws(args), args.project, args.code))
    return 0


def cmd_update(args: argparse.Namespace) -> int:
    from kroma_kit.characters.profiles import update_character

    character = update_character(_ws(args), args.project, args.code, name=args.name, bio=args.bio,
                                 identity=_identity(args), replace_identity=args.replace_identity,
                                 style_guide=args.style_guide)
    emit(args, character.to_dict())
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    from kroma_kit.characters.profiles import delete_character

    emit(args, delete_character(_ws(args), args.project, args.code).to_dict())
    return 0


def cmd_prompt(args: argparse.Namespace) -> int:
    from kroma_kit.characters.overview import prompt_for

    suggestion = prompt_for(_ws(args), args.project, args.code, use_chat=args.suggest)
    if args.json:
        emit(args, {"success": True, **suggestion.to_dict()})
    else:
        print(suggestion.prompt)
    return 0


def _generate(args: argparse.Namespace, kind: str, **fields: Any) -> int:
    from kroma_kit.characters.generation import (
        CharacterRunRequest,
        generate_character_images,
        plan_character_run,
    )
    from kroma_kit.cli.progress import RunProgress

    request = CharacterRunRequest(project=args.project, code=args.code, kind=kind, candidates=args.candidates,
                                  provider=args.provider, **fields)
    ws = _ws(args)
    if args.dry_run:
        emit(args, plan_character_run(ws, request).to_dict())
        return 0
    result = generate_character_images(ws, request, confirm_spend=args.confirm_spend,
                                       on_event=RunProgress(enabled=sys.stderr.isatty() and not args.json))
    if args.json:
        emit(args, result.to_dict())
    else:
        rows = [image.to_dict() for image in result.images]
        print(f"run {result.summary.run_id}: {result.summary.status}, ${result.summary.actual_cost_usd:.4f}")
        emit(args, rows, rows, IMAGE_COLUMNS)
        for failure in result.failures:
            print(f"failed: {failure}", file=sys.stderr)
    return 0 if not result.failures else 1


def cmd_reference(args: argparse.Namespace) -> int:
    prompt = args.prompt
    if args.prompt_file:
        try:
            prompt = Path(args.prompt_file).read_text(encoding="utf-8")
        except OSError as exc:
            raise InputError(f"Cannot read prompt file {args.prompt_file}: {exc.strerror or exc}") from None
    return _generate(args, "reference", prompt=prompt)


def cmd_portfolio(args: argparse.Namespace) -> int:
    return _generate(args, "portfolio", reference_image_id=args.reference, views=_csv(args.views),
                     extra_views=_csv(args.extra_views))


def cmd_scene(args: argparse.Namespace) -> int:
    return _generate(args, "scene", reference_image_id=args.reference, scene_context=args.context,
                     scene_ref=args.scene_ref)


def cmd_resume(args: argparse.Namespace) -> int:
    from kroma_kit.characters.generation import resume_character_run

    result = resume_character_run(_ws(args), args.run_id, confirm_spend=args.confirm_spend)
    rows = [image.to_dict() for image in result.images]
    emit(args, result.to_dict(), rows, IMAGE_COLUMNS)
    return 0 if result.summary.status == "done" else 1


def cmd_images(args: argparse.Namespace) -> int:
    from kroma_kit.characters.images import list_character_images

    rows = [image.to_dict() for image in list_character_images(_ws(args), args.project, args.code, kind=args.kind,
                                                               include_deleted=args.all)]
    emit(args, rows, rows, IMAGE_COLUMNS)
    return 0


def cmd_delete_image(args: argparse.Namespace) -> int:
    from kroma_kit.characters.images import delete_character_image

    emit(args, delete_character_image(_ws(args), args.project, args.code, args.image_id).to_dict())
    return 0


def cmd_import_ref(args: argparse.Namespace) -> int:
    from kroma_kit.characters.images import import_reference_image

    emit(args, import_reference_image(_ws(args), args.project, args.code, args.file).to_dict())
    return 0


def cmd_best_ref(args: argparse.Namespace) -> int:
    from kroma_kit.characters.images import set_best_reference

    emit(args, set_best_reference(_ws(args), args.project, args.code, args.image_id).to_dict())
    return 0


def cmd_adopt(args: argparse.Namespace) -> int:
    from kroma_kit.characters.adopt import adopt_manifest_characters

    emit(args, adopt_manifest_characters(_ws(args), args.project).to_dict())
    return 0


# --------------------------------------------------------------------------- style guides, refsets

def _rules(args: argparse.Namespace) -> dict[str, Any]:
    rules: dict[str, Any] = {}
    if args.palette is not None:
        rules["palette"] = _csv(args.palette) or []
    if args.line_weight is not None:
        rules["line_weight"] = args.line_weight
    if args.forbid is not None:
        rules["forbidden_words"] = _csv(args.forbid) or []
    if args.notes is not None:
        rules["notes"] = args.notes
    return rules


def cmd_guide_create(args: argparse.Namespace) -> int:
    from kroma_kit.characters.profiles import create_style_guide

    guide = create_style_guide(_ws(args), args.project, args.name, description=args.description or "",
                               rules=_rules(args), is_default=args.default)
    emit(args, guide.to_dict())
    return 0


def cmd_guide_update(args: argparse.Namespace) -> int:
    from kroma_kit.characters.profiles import update_style_guide

    guide = update_style_guide(_ws(args), args.project, args.name, description=args.description,
                               rules=_rules(args), make_default=args.default)
    emit(args, guide.to_dict())
    return 0


def cmd_guide_list(args: argparse.Namespace) -> int:
    from kroma_kit.characters.profiles import list_style_guides

    rows = [g.to_dict() for g in list_style_guides(_ws(args), args.project)]
    emit(args, rows, rows, ["name", "is_default", "description", "updated_at"])
    return 0


def cmd_guide_show(args: argparse.Namespace) -> int:
    from kroma_kit.characters.profiles import get_style_guide

    emit(args, get_style_guide(_ws(args), args.project, args.name).to_dict())
    return 0


def cmd_refset_create(args: argparse.Namespace) -> int:
    from kroma_kit.characters.references import create_reference_set

    emit(args, create_reference_set(_ws(args), args.project, args.name, args.kind,
                                    description=args.description).to_dict())
    return 0


def cmd_refset_list(args: argparse.Namespace) -> int:
    from kroma_kit.characters.references import list_reference_sets

    rows = [s.to_dict() for s in list_reference_sets(_ws(args), args.project)]
    table = [{"name": r["name"], "kind": r["kind"], "items": len(r["items"])} for r in rows]
    emit(args, rows, table, ["name", "kind", "items"])
    return 0


def cmd_refset_show(args: argparse.Namespace) -> int:
    from kroma_kit.characters.references import get_reference_set

    data = get_reference_set(_ws(args), args.project, args.name).to_dict()
    emit(args, data, data["items"], ["asset_id", "role", "weight", "notes", "path"])
    return 0


def cmd_refset_add(args: argparse.Namespace) -> int:
    from kroma_kit.characters.references import add_reference

    emit(args, add_reference(_ws(args), args.project, args.name, args.file, weight=args.weight,
                             notes=args.notes).to_dict())
    return 0


def cmd_refset_remove(args: argparse.Namespace) -> int:
    from kroma_kit.characters.references import remove_reference

    emit(args, remove_reference(_ws(args), args.project, args.name, args.item).to_dict())
    return 0


# --------------------------------------------------------------------------- bootstrap

def cmd_bootstrap_prompt(args: argparse.Namespace) -> int:
    from kroma_kit.characters.bootstrap import bootstrap_prompt
    from kroma_kit.storage.atomic import atomic_write_text

    bundle = bootstrap_prompt(_ws(args), args.project)
    if args.out:
        atomic_write_text(args.out, bundle["prompt"])
    if args.json:
        emit(args, bundle)
    elif not args.out:
        print(bundle["prompt"])
    else:
        print(f"wrote {args.out}")
    return 0


def cmd_bootstrap_import(args: argparse.Namespace) -> int:
    from kroma_kit.characters.bootstrap import bootstrap_import

    if args.file:
        try:
            text = Path(args.file).read_text(encoding="utf-8")
        except OSError as exc:
            raise InputError(f"Cannot read bootstrap answer {args.file}: {exc.strerror or exc}") from None
    else:
        text = args.text
    result = bootstrap_import(_ws(args), args.project, ai_response_text=text, mode=args.mode, dry_run=args.dry_run)
    emit(args, result)
    return 0


def cmd_turnaround_sheet(args: argparse.Namespace) -> int:
    """``kroma review sheet --character CODE --project P --out F``: the turnaround sheet as PNG."""
    from kroma_kit.characters.sheet import render_turnaround_sheet

    if not args.character:
        raise InputError("Give a RUN_ID for a run's contact sheet, or --character CODE for a turnaround sheet.")
    sheet = render_turnaround_sheet(_ws(args), args.project, args.character, tile=args.size)
    path = sheet.save(args.out).resolve()
    if args.json:
        emit(args, {"path": str(path), "character": sheet.code, "cells": sheet.cells,
                    "width": sheet.image.width, "height": sheet.image.height})
    else:
        print(path)
    return 0
