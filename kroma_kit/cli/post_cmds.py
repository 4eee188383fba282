"""``kroma bgremove``, ``kroma upscale`` and ``kroma color``: one post-processing step over a file
or folder of a project, with a progress bar."""

from __future__ import annotations

import argparse
import sys

from kroma_kit.cli.output import add_json_flag, emit


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--project", required=True)
    parser.add_argument("--input", required=True, help="an image file or a folder (recursive)")
    parser.add_argument("--output", help="output folder (default: the project's folder for this step)")
    parser.add_argument("--no-archive-replaced", action="store_true",
                        help="overwrite existing outputs instead of moving them to archive/replaced/")
    parser.add_argument("--executor", choices=("threads", "dask"),
                        help="where the files are processed (default: settings pipeline.executor)")
    parser.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                        help="Dask scheduler for --executor dask (default: a local cluster of worker processes)")
    add_json_flag(parser)


def register(commands: argparse._SubParsersAction) -> None:
    bg = commands.add_parser("bgremove", help="cut subjects out (rembg, flat/grabcut, remove.bg, PhotoRoom)")
    _common(bg)
    bg.add_argument("--bg-remove-backends", help="comma-separated, tried in order, e.g. rembg,auto")
    bg.add_argument("--confirm-spend", action="store_true", help="allow paid backends")
    bg.set_defaults(handler=cmd_bgremove)

    up = commands.add_parser("upscale", help="upscale images (realesrgan, lanczos); alpha is kept")
    _common(up)
    up.add_argument("--upscale-backend", help="realesrgan (default) or lanczos")
    up.add_argument("--upscale-scale", type=int, choices=(2, 3, 4))
    up.set_defaults(handler=cmd_upscale)

    color = commands.add_parser("color", help="colour-correct images with a profile; alpha is kept")
    _common(color)
    color.add_argument("--profile", help="neutral, cinematic_warm, cold_rain or a project profile")
    color.set_defaults(handler=cmd_color)


def _run(args: argparse.Namespace, step: str, **options: object) -> int:
    from tqdm import tqdm

    from kroma_kit.catalog import open_workspace
    from kroma_kit.postprocess.batch import process_files

    ws = open_workspace(args.home)
    bar = tqdm(desc=step, unit="img", file=sys.stderr, disable=args.json or not sys.stderr.isatty())

    def progress(done: int, total: int, entry: dict) -> None:
        bar.total = total
        bar.update(1)

    try:
        result = process_files(ws, args.project, step, args.input, output_dir=args.output,
                               archive_replaced=not args.no_archive_replaced, on_progress=progress,
                               executor=args.executor, scheduler=args.scheduler, **options)
    finally:
        bar.close()
    data = result.to_dict()
    rows = [{"input": e["input"], "output": e["output"], "ms": e["timings_ms"].get("total")}
            for e in result.processed] + [
        {"input": e["input"], "output": f"skipped: {e['skipped']}", "ms": e["timings_ms"].get("total")}
        for e in result.skipped] + [{"input": f["input"], "output": f"FAILED: {f['error']}", "ms": None}
                                    for f in result.failed]
    emit(args, data, rows, ["input", "output", "ms"])
    if not args.json:
        skipped = f", {len(result.skipped)} left unchanged (skipped)" if result.skipped else ""
        print(f"{len(result.processed)} written to {result.output_dir}{skipped}, {len(result.failed)} failed")
    return 0 if result.ok else 1


def cmd_bgremove(args: argparse.Namespace) -> int:
    backends = [b.strip() for b in args.bg_remove_backends.split(",") if b.strip()] \
        if args.bg_remove_backends else None
    return _run(args, "bg_remove", bg_backends=backends, confirm_spend=args.confirm_spend)


def cmd_upscale(args: argparse.Namespace) -> int:
    return _run(args, "upscale", upscale_backend=args.upscale_backend, upscale_scale=args.upscale_scale)


def cmd_color(args: argparse.Namespace) -> int:
    return _run(args, "color", color_profile=args.profile)
