"""``kroma secrets`` (set, list, delete, status, rotate) and ``kroma audit list``.

A secret value is read from stdin (piped) or a hidden prompt, never from the command line, where
it would land in the shell history and in ``ps``. No command prints a value.
"""

from __future__ import annotations

import argparse
import sys

from kroma_kit.cli.output import add_json_flag, emit


def register(commands: argparse._SubParsersAction) -> None:
    secrets = commands.add_parser("secrets", help="encrypted provider keys per project")
    sub = secrets.add_subparsers(dest="secrets_command", required=True)
    set_ = sub.add_parser("set", help="store a secret (value from stdin or a hidden prompt)")
    set_.add_argument("--project", required=True)
    set_.add_argument("provider", help="provider code: openai, removebg, photoroom, aws, ...")
    set_.add_argument("name", help="secret name, e.g. api_key (aws: access_key_id, secret_access_key)")
    # Caught so argparse never echoes a value typed on the command line ("unrecognized arguments: sk-...").
    set_.add_argument("value_on_argv", nargs="*", help=argparse.SUPPRESS)
    add_json_flag(set_)
    set_.set_defaults(handler=cmd_secrets_set)
    for name, handler, text in (("list", cmd_secrets_list, "names, has_value and dates (never values)"),
                                ("status", cmd_secrets_status, "counts: encrypted, plaintext, per key ref")):
        one = sub.add_parser(name, help=text)
        one.add_argument("--project", required=True)
        add_json_flag(one)
        one.set_defaults(handler=handler)
    delete = sub.add_parser("delete", help="remove a secret")
    delete.add_argument("--project", required=True)
    delete.add_argument("provider")
    delete.add_argument("name")
    add_json_flag(delete)
    delete.set_defaults(handler=cmd_secrets_delete)
    rotate = sub.add_parser("rotate", help="re-encrypt the project's secrets under a new master key (old keys "
                            "stay readable)")
    rotate.add_argument("--project", required=True)
    rotate.add_argument("--reencrypt-only", action="store_true",
                        help="make no new key: re-encrypt rows not under the current key (after changing "
                             "KROMA_MASTER_KEY, or to finish a rotation)")
    rotate.add_argument("--force", action="store_true", help="re-encrypt rows already under the current key")
    add_json_flag(rotate)
    rotate.set_defaults(handler=cmd_secrets_rotate)

    audit = commands.add_parser("audit", help="the audit trail of a project")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    listing = audit_sub.add_parser("list", help="newest events first")
    listing.add_argument("--project", required=True)
    listing.add_argument("--limit", type=int, default=50)
    listing.add_argument("--code", help="only event codes starting with this (e.g. secret., sync.)")
    add_json_flag(listing)
    listing.set_defaults(handler=cmd_audit_list)


def _ws(args: argparse.Namespace):
    from kroma_kit.catalog import open_workspace

    return open_workspace(args.home)


def read_secret_value(prompt: str) -> str:
    """The value from stdin when piped, else from a hidden prompt on the terminal."""
    if not sys.stdin.isatty():
        return sys.stdin.read()
    import getpass

    return getpass.getpass(prompt)


def cmd_secrets_set(args: argparse.Namespace) -> int:
    from kroma_kit.security.secrets import set_secret

    if args.value_on_argv:
        from kroma_kit.errors import InputError

        raise InputError("Refusing a secret value on the command line: it lands in the shell history and in `ps`. "
                         "Pipe it on stdin or type it at the hidden prompt; if it was a real key, rotate it at "
                         "the provider.")
    ws = _ws(args)
    value = read_secret_value(f"Value for {args.provider}/{args.name} (hidden): ")
    emit(args, set_secret(ws, args.project, args.provider, args.name, value))
    return 0


def cmd_secrets_list(args: argparse.Namespace) -> int:
    from kroma_kit.security.secrets import list_secrets

    rows = list_secrets(_ws(args), args.project)
    emit(args, rows, rows, ["provider_code", "secret_name", "has_value", "key_ref", "updated_at"])
    return 0


def cmd_secrets_status(args: argparse.Namespace) -> int:
    from kroma_kit.security.secrets import secret_status

    emit(args, secret_status(_ws(args), args.project))
    return 0


def cmd_secrets_delete(args: argparse.Namespace) -> int:
    from kroma_kit.security.secrets import delete_secret

    emit(args, delete_secret(_ws(args), args.project, args.provider, args.name))
    return 0


def cmd_secrets_rotate(args: argparse.Namespace) -> int:
    from kroma_kit.security.secrets import rotate_secrets

    new_key = False if args.reencrypt_only else None
    emit(args, rotate_secrets(_ws(args), args.project, new_key=new_key, force=args.force).to_dict())
    return 0


def cmd_audit_list(args: argparse.Namespace) -> int:
    from kroma_kit.security.audit_view import audit_rows

    rows = audit_rows(_ws(args), args.project, limit=args.limit, code_prefix=args.code)
    emit(args, rows, rows, ["created_at", "event_code", "actor", "summary"])
    return 0
