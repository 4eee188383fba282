"""``kroma storage show|set-local|set-s3|evict|pending`` and ``kroma sync push|pull|history``."""

from __future__ import annotations

import argparse
import sys
import threading
from typing import Any

from kroma_kit.cli.output import add_json_flag, emit


def _bool(text: str) -> bool:
    value = text.strip().lower()
    if value in ("true", "1", "yes", "on"):
        return True
    if value in ("false", "0", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def _duration(text: str) -> float:
    """``90``, ``90s``, ``30m``, ``12h``, ``7d``, ``2w`` as seconds."""
    value = text.strip().lower()
    unit = DURATION_UNITS.get(value[-1:], None)
    number = value[:-1] if unit else value
    try:
        seconds = float(number) * (unit or 1)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a duration like 90s, 30m, 12h, 7d or 2w, got {text!r}") from None
    if seconds < 0:
        raise argparse.ArgumentTypeError(f"a duration cannot be negative: {text!r}")
    return seconds


def register(commands: argparse._SubParsersAction) -> None:
    storage = commands.add_parser("storage", help="a project's storage policy: local root and S3 mirror")
    storage_sub = storage.add_subparsers(dest="storage_command", required=True)
    show = storage_sub.add_parser("show")
    show.add_argument("--project", required=True)
    add_json_flag(show)
    show.set_defaults(handler=cmd_storage_show)
    local = storage_sub.add_parser("set-local", help="point the project at another local root")
    local.add_argument("--project", required=True)
    local.add_argument("--root", required=True, help="absolute path, or relative to the current folder")
    add_json_flag(local)
    local.set_defaults(handler=cmd_storage_set_local)
    s3 = storage_sub.add_parser("set-s3", help="set the S3 mirror (only the options given change)")
    s3.add_argument("--project", required=True)
    s3.add_argument("--bucket")
    s3.add_argument("--prefix", help="key prefix; objects go to s3://BUCKET/PREFIX/SLUG/")
    s3.add_argument("--region")
    s3.add_argument("--profile", help="AWS profile (else the environment, else the project's aws secrets)")
    s3.add_argument("--endpoint-url", help="S3-compatible endpoint (MinIO, Ceph, R2, ...)")
    s3.add_argument("--enabled", type=_bool, help="true or false (true: a mirror unless --mode says s3)")
    s3.add_argument("--mode", choices=("local", "mirror", "s3"),
                    help="local: disk only; mirror: disk first, `kroma sync push` copies; s3: each output goes "
                    "to the bucket as it is made and the local root is a cache")
    add_json_flag(s3)
    s3.set_defaults(handler=cmd_storage_set_s3)
    evict = storage_sub.add_parser("evict", help="empty the local cache of images that are safely in the bucket")
    evict.add_argument("--project", required=True)
    evict.add_argument("--older-than", type=_duration, help="only files not modified for this long (30m, 12h, 7d)")
    evict.add_argument("--dry-run", action="store_true", help="list what would go; delete nothing")
    add_json_flag(evict)
    evict.set_defaults(handler=cmd_storage_evict)
    pending = storage_sub.add_parser("pending", help="outputs whose upload failed (kept local; the next push "
                                     "sends them)")
    pending.add_argument("--project", required=True)
    add_json_flag(pending)
    pending.set_defaults(handler=cmd_storage_pending)

    sync = commands.add_parser("sync", help="push the project root to S3, or pull it back")
    sync_sub = sync.add_subparsers(dest="sync_command", required=True)
    push = sync_sub.add_parser("push", help="upload new and changed files (incremental)")
    push.add_argument("--project", required=True)
    push.add_argument("--dry-run", action="store_true", help="show what would move; change nothing")
    push.add_argument("--delete", action="store_true", help="remove objects under this project's prefix "
                      "that no longer exist locally")
    push.add_argument("--allow-missing-local", action="store_true", help="skip quietly when the root is missing")
    add_json_flag(push)
    push.set_defaults(handler=cmd_sync_push)
    pull = sync_sub.add_parser("pull", help="restore the project root from S3 (verified, archives differing files)")
    pull.add_argument("--project", required=True)
    pull.add_argument("--dry-run", action="store_true")
    add_json_flag(pull)
    pull.set_defaults(handler=cmd_sync_pull)
    history = sync_sub.add_parser("history", help="recent pushes and pulls, failed ones too")
    history.add_argument("--project", required=True)
    history.add_argument("--limit", type=int, default=20)
    add_json_flag(history)
    history.set_defaults(handler=cmd_sync_history)


def _ws(args: argparse.Namespace):
    from kroma_kit.catalog import open_workspace

    return open_workspace(args.home)


def cmd_storage_show(args: argparse.Namespace) -> int:
    from kroma_kit.sync.policy import show_policy

    emit(args, show_policy(_ws(args), args.project))
    return 0


def cmd_storage_set_local(args: argparse.Namespace) -> int:
    from kroma_kit.sync.policy import set_local

    emit(args, set_local(_ws(args), args.project, args.root))
    return 0


def cmd_storage_set_s3(args: argparse.Namespace) -> int:
    from kroma_kit.sync.policy import set_s3

    emit(args, set_s3(_ws(args), args.project, bucket=args.bucket, prefix=args.prefix, region=args.region,
                      profile=args.profile, endpoint_url=args.endpoint_url, enabled=args.enabled, mode=args.mode))
    return 0


def cmd_storage_evict(args: argparse.Namespace) -> int:
    from kroma_kit.sync.files import evict

    report = evict(_ws(args), args.project, older_than_s=args.older_than, dry_run=args.dry_run)
    if args.json:
        emit(args, report.to_dict())
        return 0
    head = "dry run: would evict" if report.dry_run else "evicted"
    print(f"{head} {len(report.evicted)} file(s) ({_human(report.bytes_freed)}) from {report.project}'s cache; "
          f"kept {len(report.kept_pending)} pending upload, {len(report.kept_not_uploaded)} not in the bucket, "
          f"{report.kept_recent} recent")
    for rel in report.kept_pending[:50]:
        print(f"  pending: {rel}")
    return 0


def cmd_storage_pending(args: argparse.Namespace) -> int:
    from kroma_kit.catalog.projects import get_project
    from kroma_kit.sync.s3_first import pending_uploads

    ws = _ws(args)
    rows = pending_uploads(ws, get_project(ws, args.project))
    emit(args, rows, rows, ["rel_path", "attempts", "last_failed_at", "last_error"])
    return 0


class TqdmProgress:
    """Bytes moved, as a tqdm bar on stderr (quiet with --json or when stderr is not a terminal)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bar: Any = None
        self._lock = threading.Lock()  # uploads report from several threads

    def start(self, files: int, total_bytes: int, label: str) -> None:
        if self.enabled and files:
            from tqdm import tqdm

            self.bar = tqdm(total=total_bytes, unit="B", unit_scale=True, unit_divisor=1024, file=sys.stderr,
                            desc=f"{label} ({files} files)", dynamic_ncols=True)

    def advance(self, nbytes: int) -> None:
        with self._lock:
            if self.bar is not None:
                self.bar.update(nbytes)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _human(nbytes: int) -> str:
    size = float(nbytes)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{nbytes} B"


def _emit_report(args: argparse.Namespace, report) -> int:
    from kroma_kit.errors import StorageError

    if args.json:
        emit(args, report.to_dict())
    else:
        verb = "uploaded" if report.direction == "push" else "downloaded"
        if report.skipped:
            print(f"skipped: {report.reason} ({report.destination})")
        else:
            head, verb = ("dry run: ", f"would {verb[:-2] if verb.endswith('ed') else verb}") if report.dry_run \
                else ("", verb)
            moved = (len(report.planned.get("upload", report.planned.get("download", [])))
                     if report.dry_run else report.transferred)
            moved_bytes = report.bytes_planned if report.dry_run else report.bytes_transferred
            print(f"{head}{report.project} {report.direction} {report.destination}: {report.files_total} files "
                  f"({_human(report.bytes_total)}); {verb} {moved} ({_human(moved_bytes)}), "
                  f"unchanged {report.unchanged + report.verified}, deleted {report.deleted}, "
                  f"archived {report.archived}, failed {len(report.failed)} in {report.seconds:.1f}s")
            for name, items in report.planned.items():
                for item in items[:200]:
                    print(f"  {name}: {item}")
        for path, message in sorted(report.failed.items()):
            print(f"  failed: {path}: {message}", file=sys.stderr)
    if report.failed:
        raise StorageError(f"{len(report.failed)} of {report.files_total} file(s) failed to "
                           f"{report.direction}; the rest is done. Run the same command again to retry them.")
    return 0


def cmd_sync_push(args: argparse.Namespace) -> int:
    from kroma_kit.sync.push import push_project

    report = push_project(_ws(args), args.project, dry_run=args.dry_run, delete=args.delete,
                          allow_missing_local=args.allow_missing_local,
                          progress=TqdmProgress(not args.json and sys.stderr.isatty()))
    return _emit_report(args, report)


def cmd_sync_pull(args: argparse.Namespace) -> int:
    from kroma_kit.sync.pull import pull_project

    report = pull_project(_ws(args), args.project, dry_run=args.dry_run,
                          progress=TqdmProgress(not args.json and sys.stderr.isatty()))
    return _emit_report(args, report)


def cmd_sync_history(args: argparse.Namespace) -> int:
    from kroma_kit.sync.history import sync_history

    rows = sync_history(_ws(args), args.project, limit=args.limit)
    emit(args, rows, rows, ["started_at", "direction", "status", "triggered_by", "destination", "error"])
    return 0
