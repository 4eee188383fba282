"""Handlers of ``kroma character ...``: profiles, prompts, generation runs (reference, portfolio,
scene, resume), images, and the turnaround sheet of ``kroma review sheet --character``. Each is a
thin wrapper over :mod:`kroma_kit.characters`; the argparse wiring is
:mod:`kroma_kit.cli.character_cmds`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from kroma_kit.cli.output import comma_list, emit
from kroma_kit.errors import InputError

IMAGE_COLUMNS = ["id", "kind", "view", "status", "provider", "created_at", "path"]


def _ws(args: argparse.Namespace):
    from kroma_kit.catalog import open_workspace

    return open_workspace(args.home)


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
        identity["signature_colors"] = comma_list(args.colors) or []
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
    return _generate(args, "portfolio", reference_image_id=args.reference, views=comma_list(args.views),
                     extra_views=comma_list(args.extra_views))


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
