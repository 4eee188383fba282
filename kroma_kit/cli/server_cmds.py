"""``kroma serve`` (the REST API) and ``kroma token create|list|revoke`` (its bearer tokens; the
CLI twins of ``POST /auth/token``, ``GET /auth/tokens`` and ``DELETE /auth/tokens/{id}``)."""

from __future__ import annotations

import argparse
import sys

from kroma_kit.cli.output import add_json_flag, emit

TOKEN_COLUMNS = ["id", "token_prefix", "label", "project_slug", "expires_at", "revoked_at", "last_used_at",
                 "created_at"]


def register(commands: argparse._SubParsersAction) -> None:
    serve = commands.add_parser("serve", help="serve the REST API (FastAPI + uvicorn)")
    serve.add_argument("--bind", default=None, help="HOST:PORT (default $KROMA_BACKEND_BIND, else 127.0.0.1:8788)")
    serve.add_argument("--workers", type=int, default=1, help="server processes (default 1)")
    serve.add_argument("--log-level", default="info", choices=("critical", "error", "warning", "info", "debug"))
    serve.set_defaults(handler=cmd_serve)

    token = commands.add_parser("token", help="API bearer tokens: create (shown once), list, revoke")
    token_sub = token.add_subparsers(dest="token_command", required=True)
    create = token_sub.add_parser("create", help="create a token; it is printed once, only its hash is kept")
    create.add_argument("--label", default="")
    create.add_argument("--project", help="limit the token to this project")
    create.add_argument("--expires", metavar="DATE", help="YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (UTC)")
    add_json_flag(create)
    create.set_defaults(handler=cmd_token_create)
    listing = token_sub.add_parser("list", help="every token (never its value)")
    listing.add_argument("--project", help="only this project's tokens")
    add_json_flag(listing)
    listing.set_defaults(handler=cmd_token_list)
    revoke = token_sub.add_parser("revoke", help="revoke a token by id")
    revoke.add_argument("token_id")
    add_json_flag(revoke)
    revoke.set_defaults(handler=cmd_token_revoke)


def _ws(args: argparse.Namespace):
    from kroma_kit.catalog import open_workspace

    return open_workspace(args.home)


def cmd_serve(args: argparse.Namespace) -> int:
    import os

    from kroma_kit.errors import InputError
    from kroma_kit.server.config import DEFAULT_BIND, split_bind
    from kroma_kit.server.serve import serve

    bind = args.bind or os.environ.get("KROMA_BACKEND_BIND") or DEFAULT_BIND
    try:
        split_bind(bind)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    if not 1 <= args.workers <= 32:
        raise InputError(f"--workers must be from 1 to 32, got {args.workers}.")
    print(f"Kroma Kit API on http://{bind} (OpenAPI at /openapi.json)", file=sys.stderr)
    serve(_ws(args), bind, log_level=args.log_level, workers=args.workers)
    return 0


def cmd_token_create(args: argparse.Namespace) -> int:
    from kroma_kit.catalog.tokens import create_token

    record = create_token(_ws(args), label=args.label, project_slug=args.project, expires_at=args.expires)
    emit(args, record)
    if not args.json:
        print("\nThe token is shown this once; store it now (only its SHA-256 is kept).", file=sys.stderr)
    return 0


def cmd_token_list(args: argparse.Namespace) -> int:
    from kroma_kit.catalog.tokens import list_tokens

    found = list_tokens(_ws(args), project_slug=args.project)
    emit(args, found, found, TOKEN_COLUMNS)
    return 0


def cmd_token_revoke(args: argparse.Namespace) -> int:
    from kroma_kit.catalog.tokens import revoke_token

    emit(args, revoke_token(_ws(args), args.token_id))
    return 0
