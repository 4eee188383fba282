"""Handlers of ``kroma style-guide ...``, ``kroma refset ...`` and ``kroma project
bootstrap-prompt|bootstrap-import``: the project's knowledge (style guides, reference sets, and
the outside-AI bootstrap that writes both). Thin wrappers over :mod:`kroma_kit.characters`; the
argparse wiring is :mod:`kroma_kit.cli.character_cmds`."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from kroma_kit.cli.output import comma_list, emit
from kroma_kit.errors import InputError


def _ws(args: argparse.Namespace):
    from kroma_kit.catalog import open_workspace

    return open_workspace(args.home)


def _rules(args: argparse.Namespace) -> dict[str, Any]:
    rules: dict[str, Any] = {}
    if args.palette is not None:
        rules["palette"] = comma_list(args.palette) or []
    if args.line_weight is not None:
        rules["line_weight"] = args.line_weight
    if args.forbid is not None:
        rules["forbidden_words"] = comma_list(args.forbid) or []
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
