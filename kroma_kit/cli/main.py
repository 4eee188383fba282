"""Entry point of the ``kroma`` command: parses arguments, runs one handler, prints errors on one
line. Each ``*_cmds`` module registers its subcommands; handlers are thin wrappers over
``kroma_kit`` functions (every panel action has a CLI twin)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib import import_module

from kroma_kit.errors import KromaError

COMMAND_MODULES = (
    "kroma_kit.cli.workspace_cmds",
    "kroma_kit.cli.run_cmds",
    "kroma_kit.cli.review_cmds",
    "kroma_kit.cli.post_cmds",
    "kroma_kit.cli.manifest_cmds",
    "kroma_kit.cli.character_cmds",
    "kroma_kit.cli.copilot_cmds",
    "kroma_kit.cli.continuity_cmds",
    "kroma_kit.cli.secrets_cmds",
    "kroma_kit.cli.sync_cmds",
    "kroma_kit.cli.server_cmds",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kroma", description="Kroma Kit: staged AI image production for long visual stories.")
    parser.add_argument("--home", help="workspace folder (default: $KROMA_HOME, else ~/.kroma)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    for name in COMMAND_MODULES:
        import_module(name).register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result = args.handler(args)
    except KromaError as exc:
        if args.debug:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `kroma ... | head`: the reader left; exit quietly like other Unix tools.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # noqa: BLE001 - the CLI's last line of defence
        if args.debug:
            raise
        print(f"internal error: {type(exc).__name__}: {exc} (run with --debug for the traceback)",
              file=sys.stderr)
        return 1
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
