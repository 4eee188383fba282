"""``kroma character ...``, ``kroma style-guide ...``, ``kroma refset ...`` and
``kroma project bootstrap-prompt|bootstrap-import``: the CLI twins of the character workspace
(every panel action has one; ``--json`` everywhere).

This module is the argparse wiring only; the handlers are :mod:`kroma_kit.cli.character_handlers`
(characters and their images) and :mod:`kroma_kit.cli.knowledge_handlers` (style guides, reference
sets, bootstrap)."""

from __future__ import annotations

import argparse
from typing import Any

from kroma_kit.cli import character_handlers as characters
from kroma_kit.cli import knowledge_handlers as knowledge
from kroma_kit.cli.output import add_json_flag


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
    _profile_options(_sub(sub, "create", "create a character", characters.cmd_create))
    _sub(sub, "list", "list the project's characters", characters.cmd_list, code=False)
    _sub(sub, "show", "a character's profile, reference set and image counts", characters.cmd_show)
    update = _sub(sub, "update", "change a profile (identity merges key by key)", characters.cmd_update)
    _profile_options(update)
    update.add_argument("--replace-identity", action="store_true")
    _sub(sub, "delete", "mark a character deleted (rows and files stay)", characters.cmd_delete)
    prompt = _sub(sub, "prompt", "the suggested master-reference prompt", characters.cmd_prompt)
    prompt.add_argument("--suggest", action="store_true", help="ask the configured chat endpoint (else template)")
    reference = _sub(sub, "reference", "generate a master reference image (a run)", characters.cmd_reference)
    reference.add_argument("--prompt", help="the prompt to use (default: the suggestion)")
    reference.add_argument("--prompt-file")
    _run_options(reference)
    portfolio = _sub(sub, "portfolio", "generate the 360° portfolio from a reference (one run)", characters.cmd_portfolio)
    portfolio.add_argument("--reference", help="reference image id (default: the best reference)")
    portfolio.add_argument("--views", help="comma-separated views (default: the six turnaround views)")
    portfolio.add_argument("--extra-views", help="comma-separated expressions/poses to add")
    _run_options(portfolio)
    scene = _sub(sub, "scene", "generate a scene image of the character", characters.cmd_scene)
    scene.add_argument("--context", required=True, help="the scene context text")
    scene.add_argument("--scene-ref", help="a scene image to place the character in")
    scene.add_argument("--reference", help="reference image id (default: the best reference)")
    _run_options(scene)
    images = _sub(sub, "images", "the character's images, newest first", characters.cmd_images)
    images.add_argument("--kind", choices=["reference", "portfolio_item", "scene"])
    images.add_argument("--all", action="store_true", help="include deleted images")
    delete_image = _sub(sub, "delete-image", "archive an image (remote delete once when supported)",
                        characters.cmd_delete_image)
    delete_image.add_argument("image_id", metavar="IMAGE_ID")
    imported = _sub(sub, "import-ref", "import an image file as a reference", characters.cmd_import_ref)
    imported.add_argument("file", metavar="FILE")
    best = _sub(sub, "best-ref", "choose the reference portfolios and scenes start from", characters.cmd_best_ref)
    best.add_argument("image_id", metavar="IMAGE_ID")
    _sub(sub, "adopt", "turn the manifest's character_refs into characters (idempotent)", characters.cmd_adopt, code=False)
    resume = sub.add_parser("resume", help="finish a character run that stopped (nothing paid twice)")
    resume.add_argument("run_id", metavar="RUN_ID")
    resume.add_argument("--confirm-spend", action="store_true")
    add_json_flag(resume)
    resume.set_defaults(handler=characters.cmd_resume)

    guide = commands.add_parser("style-guide", help="style guides: palette, line weight, forbidden words")
    gsub = guide.add_subparsers(dest="guide_command", required=True)
    for name, handler in (("create", knowledge.cmd_guide_create), ("update", knowledge.cmd_guide_update)):
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
    glist.set_defaults(handler=knowledge.cmd_guide_list)
    gshow = gsub.add_parser("show")
    gshow.add_argument("name", metavar="NAME")
    gshow.add_argument("--project", required=True)
    add_json_flag(gshow)
    gshow.set_defaults(handler=knowledge.cmd_guide_show)

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
    for parser, handler in ((create, knowledge.cmd_refset_create), (rlist, knowledge.cmd_refset_list), (rshow, knowledge.cmd_refset_show),
                            (add, knowledge.cmd_refset_add), (remove, knowledge.cmd_refset_remove)):
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
    prompt.set_defaults(handler=knowledge.cmd_bootstrap_prompt)
    imported = project_sub.add_parser("bootstrap-import", help="apply an outside AI's kroma.bootstrap.v1 answer")
    imported.add_argument("--project", required=True)
    source = imported.add_mutually_exclusive_group(required=True)
    source.add_argument("--file")
    source.add_argument("--text")
    imported.add_argument("--mode", choices=["merge", "replace"])
    imported.add_argument("--dry-run", action="store_true")
    add_json_flag(imported)
    imported.set_defaults(handler=knowledge.cmd_bootstrap_import)
