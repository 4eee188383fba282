"""``kroma dry``, ``kroma run``, ``kroma runs list|show|ingest``, ``kroma qa`` and ``kroma archivebad``.

Thin wrappers over :mod:`kroma_kit.pipeline` and :mod:`kroma_kit.catalog.runs`. ``run`` shows a
tqdm bar on stderr fed by the pipeline's event stream (off with ``--json`` or when stderr is not
a terminal), then a summary table and the paths of the outputs and the run log. Exit codes:
0 done (or planned), 1 a job failed or QA found hard failures, 3 the run stopped early (budget,
cancel: resume it with ``kroma run --resume RUN_ID``), 2 bad input or a refused spend.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from kroma_kit.cli.output import add_json_flag, emit, print_json, print_table
from kroma_kit.cli.progress import RunProgress

STAGE_CHOICES = ("style", "time", "weather", "characters")
RUN_COLUMNS = ["job", "status", "winner", "candidates", "cost_usd", "final_output", "reason"]
LIST_COLUMNS = ["id", "status", "run_mode", "stage", "provider_code", "jobs_done", "jobs_total", "jobs_failed",
                "actual_cost_usd", "started_at"]


def _bool(text: str) -> bool:
    value = text.strip().lower()
    if value in ("true", "1", "yes", "on"):
        return True
    if value in ("false", "0", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def _plan_arguments(parser: argparse.ArgumentParser, *, project_required: bool = True) -> None:
    parser.add_argument("--project", required=project_required,
                        help="project slug" + ("" if project_required else " (not needed with --resume)"))
    parser.add_argument("--stage", default="style", choices=STAGE_CHOICES)
    parser.add_argument("--time", default="day", choices=("day", "night"))
    parser.add_argument("--weather", default="clear", choices=("clear", "rain"))
    parser.add_argument("--candidates", type=int, help="candidates per job (default: the manifest's)")
    parser.add_argument("--provider", help="image provider: local (free, offline) or openai (paid)")
    parser.add_argument("--from-run", metavar="RUN_ID", help="use the approved outputs of this run as scenes")
    parser.add_argument("--jobs-file", type=Path, help="JSON array of jobs (id, prompt, input_images, ...)")
    parser.add_argument("--scene-refs", help="comma-separated scene paths instead of the manifest's")
    parser.add_argument("--allow-many-candidates", action="store_true", help="lift the candidate cap")
    parser.add_argument("--allow-large-batch", action="store_true", help="lift safe_batch_limit")
    post = parser.add_argument_group("post-processing (seed flag names)")
    post.add_argument("--post-bg-remove", action="store_true", default=None)
    post.add_argument("--post-upscale", action="store_true", default=None)
    post.add_argument("--post-color", action="store_true", default=None)
    post.add_argument("--post-color-profile", metavar="P")
    post.add_argument("--upscale-backend", metavar="B")
    post.add_argument("--upscale-scale", type=int, choices=(2, 4))
    post.add_argument("--bg-remove-backends", metavar="A,B")
    post.add_argument("--bg-refine-openai", type=_bool, metavar="true|false")
    post.add_argument("--bg-refine-openai-required", type=_bool, metavar="true|false")
    add_json_flag(parser)


def register(commands: argparse._SubParsersAction) -> None:
    dry = commands.add_parser("dry", help="plan a run: jobs, prompts, candidates and cost; no calls")
    _plan_arguments(dry)
    dry.set_defaults(handler=cmd_dry)

    run = commands.add_parser("run", help="run the pipeline (paid providers need --confirm-spend)")
    _plan_arguments(run, project_required=False)
    run.add_argument("--confirm-spend", action="store_true", help="allow paid provider calls")
    run.add_argument("--resume", metavar="RUN_ID", help="finish an interrupted, partial or failed run")
    run.add_argument("--concurrency", type=int, help="candidates generated at once (default: settings)")
    run.add_argument("--no-cache", action="store_true",
                     help="make every candidate again, even those the stage cache holds unchanged")
    run.add_argument("--no-archive-replaced", action="store_true",
                     help="overwrite existing outputs instead of moving them to archive/replaced")
    run.add_argument("--executor", choices=("threads", "dask"),
                     help="where candidates and post steps run (default: settings pipeline.executor)")
    run.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                     help="Dask scheduler for --executor dask (default: a local cluster of worker processes)")
    run.set_defaults(handler=cmd_run)

    runs = commands.add_parser("runs", help="list, show and ingest runs")
    runs_sub = runs.add_subparsers(dest="runs_command", required=True)
    listing = runs_sub.add_parser("list", help="the project's runs, newest first")
    listing.add_argument("--project", required=True)
    add_json_flag(listing)
    listing.set_defaults(handler=cmd_runs_list)
    show = runs_sub.add_parser("show", help="one run with its jobs and candidates")
    show.add_argument("run_id", help="run id (or a unique prefix of at least 6 characters)")
    add_json_flag(show)
    show.set_defaults(handler=cmd_runs_show)
    ingest = runs_sub.add_parser("ingest", help="(re)ingest a run log into the catalog (idempotent)")
    ingest.add_argument("path", type=Path)
    add_json_flag(ingest)
    ingest.set_defaults(handler=cmd_runs_ingest)

    qa = commands.add_parser("qa", help="run the output guard on a file or folder")
    qa.add_argument("--input", required=True, type=Path)
    qa.add_argument("--project", help="use the project's guard settings and record quality reports")
    add_json_flag(qa)
    qa.set_defaults(handler=cmd_qa)

    bad = commands.add_parser("archivebad", help="move images to the project's archive/bad")
    bad.add_argument("--input", required=True, type=Path)
    bad.add_argument("--project", help="archive into this project's archive/bad (default: ./archive/bad)")
    bad.add_argument("--failing-only", action="store_true", help="audit first; move only what fails the guard")
    add_json_flag(bad)
    bad.set_defaults(handler=cmd_archivebad)


def _ws(args: argparse.Namespace):
    from kroma_kit.catalog import open_workspace

    return open_workspace(args.home)


def _postprocess(args: argparse.Namespace) -> dict[str, Any] | None:
    flags: dict[str, Any] = {}
    for arg, key in (("post_bg_remove", "bg_remove"), ("post_upscale", "upscale"), ("post_color", "color"),
                     ("post_color_profile", "color_profile"), ("upscale_backend", "upscale_backend"),
                     ("upscale_scale", "upscale_scale"), ("bg_refine_openai", "bg_refine_openai"),
                     ("bg_refine_openai_required", "bg_refine_openai_required")):
        value = getattr(args, arg, None)
        if value is not None:
            flags[key] = value
    if args.bg_remove_backends:
        flags["bg_remove_backends"] = [name.strip() for name in args.bg_remove_backends.split(",") if name.strip()]
    return flags or None


def _request(args: argparse.Namespace):
    from kroma_kit.pipeline.plan_model import PlanRequest

    scenes = [ref.strip() for ref in args.scene_refs.split(",") if ref.strip()] if args.scene_refs else None
    return PlanRequest(project=args.project, stage=args.stage, time=args.time, weather=args.weather,
                       candidates=args.candidates, provider=args.provider, from_run=args.from_run,
                       jobs_file=args.jobs_file, scene_refs=scenes,
                       allow_many_candidates=args.allow_many_candidates, allow_large_batch=args.allow_large_batch,
                       postprocess=_postprocess(args), no_cache=bool(getattr(args, "no_cache", False)))


def cmd_dry(args: argparse.Namespace) -> int:
    from kroma_kit.pipeline.execute import dry_run
    from kroma_kit.pipeline.plan import plan_run

    ws = _ws(args)
    request = _request(args)
    summary = dry_run(ws, request)
    if args.json:
        print_json({**summary.to_dict(), "plan": plan_run(ws, request).to_dict()})
        return 0
    print_table(summary.table_rows(), ["job", "status", "candidates", "estimated_usd"])
    print(f"\nProject: {summary.project}  Jobs: {summary.jobs_total} (dry/planned)  "
          f"Candidates: {summary.candidates_total}  Estimated cost: ${summary.estimated_cost_usd:.4f}")
    for warning in summary.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(f"Run log: {summary.run_log_path}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from kroma_kit.pipeline.execute import execute_run
    from kroma_kit.pipeline.resume import resume_run

    if not args.resume and not args.project:
        from kroma_kit.errors import InputError

        raise InputError("kroma run needs --project SLUG (or --resume RUN_ID to finish an earlier run).")
    ws = _ws(args)
    progress = RunProgress(enabled=not args.json and sys.stderr.isatty())
    if args.resume:
        summary = resume_run(ws, args.resume, confirm_spend=args.confirm_spend, on_event=progress,
                             concurrency=args.concurrency, executor=args.executor, scheduler=args.scheduler)
    else:
        summary = execute_run(ws, _request(args), confirm_spend=args.confirm_spend, concurrency=args.concurrency,
                              on_event=progress, archive_replaced=False if args.no_archive_replaced else None,
                              executor=args.executor, scheduler=args.scheduler)
    if args.json:
        print_json(summary.to_dict())
    else:
        print_table(summary.table_rows(), RUN_COLUMNS)
        print(f"\nRun {summary.run_id}: {summary.status}  jobs done {summary.jobs_done}/{summary.jobs_total}, "
              f"failed {summary.jobs_failed}  cost ${summary.actual_cost_usd:.4f} "
              f"(estimated ${summary.estimated_cost_usd:.4f})"
              + (f"; {summary.candidates_cached} candidate(s) reused unchanged from the stage cache "
                 "(--no-cache makes them again)" if summary.candidates_cached else ""))
        if summary.outputs:
            print("Outputs:")
            for path in summary.outputs:
                print(f"  {path}")
        print(f"Run log: {summary.run_log_path}")
        for warning in summary.warnings:
            print(f"warning: {warning}", file=sys.stderr)
    if summary.status_reason and summary.status != "done":
        hint = f" Resume with `kroma run --resume {summary.run_id}`." if summary.status == "partial" else ""
        print(f"{summary.status}: {summary.status_reason}.{hint}", file=sys.stderr)
    return summary.exit_code


def cmd_runs_list(args: argparse.Namespace) -> int:
    from kroma_kit.catalog.runs import list_runs, mark_interrupted_runs

    ws = _ws(args)
    mark_interrupted_runs(ws, args.project)  # explicit recovery: a crashed run must not look live
    runs = list_runs(ws, args.project)
    emit(args, runs, runs, LIST_COLUMNS)
    return 0


def cmd_runs_show(args: argparse.Namespace) -> int:
    from kroma_kit.catalog.runs import get_run, mark_interrupted_runs

    ws = _ws(args)
    run = get_run(ws, args.run_id)
    if run["status"] == "running" and mark_interrupted_runs(ws, run["project_slug"]):
        run = get_run(ws, args.run_id)
    if args.json:
        print_json(run)
        return 0
    for key in ("id", "project_slug", "status", "status_reason", "run_mode", "stage", "time_of_day", "weather",
                "provider_code", "model_name", "estimated_cost_usd", "actual_cost_usd", "started_at",
                "finished_at", "pid", "host", "run_log_path"):
        print(f"{key}: {run.get(key) if run.get(key) is not None else '-'}")
    rows = []
    for job in run["jobs"]:
        for cand in job["candidates"]:
            rows.append({"job": job["job_key"], "job_status": job["status"], "c": cand["candidate_index"],
                         "status": cand["status"], "rank": cand["rank_position"],
                         "winner": "*" if cand["candidate_index"] == job["selected_candidate_index"] else "",
                         "soft": cand["rank_soft_warnings"], "hard": cand["rank_hard_failures"],
                         "chroma": cand["chroma_delta"], "cost_usd": cand["cost_usd"], "seed": cand["seed"]})
    print()
    print_table(rows, ["job", "job_status", "c", "status", "rank", "winner", "hard", "soft", "chroma", "cost_usd",
                       "seed"])
    return 0


def cmd_runs_ingest(args: argparse.Namespace) -> int:
    from kroma_kit.catalog.runs import ingest_run_log

    emit(args, ingest_run_log(_ws(args), args.path))
    return 0


def _project_input(args: argparse.Namespace) -> tuple[Any, dict[str, Any] | None, Path]:
    """The workspace (when a project is named), the project, and the input path: relative paths
    are taken from the current folder, else from the project root."""
    path = args.input
    if not args.project:
        return None, None, path
    from kroma_kit.catalog.projects import get_project

    ws = _ws(args)
    project = get_project(ws, args.project)
    if not path.is_absolute() and not path.exists() and (Path(project["root"]) / path).exists():
        path = Path(project["root"]) / path
    return ws, project, path


def cmd_qa(args: argparse.Namespace) -> int:
    from kroma_kit.pipeline.guard import GuardSettings, run_qa

    ws, project, path = _project_input(args)
    settings = GuardSettings()
    if project is not None:
        from kroma_kit.config import resolve_project_settings

        section = resolve_project_settings(Path(project["root"])).manifest.output_guard
        settings = GuardSettings.from_mapping(section.model_dump())
    result = run_qa(path, settings)
    if project is not None and result.get("enabled"):
        from kroma_kit.catalog.runs import record_quality_reports

        result["quality_reports_written"] = record_quality_reports(ws, project, result["report"])
    if args.json:
        print_json(result)
    elif not result.get("enabled"):
        print("output guard disabled: nothing checked")
    else:
        rows = [{"file": entry["file"], "verdict": entry.get("verdict"), "chroma_delta": entry.get("chroma_delta"),
                 "hard": ",".join(entry["hard_fail_reasons"]), "soft": ",".join(entry["soft_warnings"])}
                for entry in result["report"]["files"]]
        print_table(rows, ["file", "verdict", "chroma_delta", "hard", "soft"])
        summary = result["summary"]
        print(f"\nfiles {summary['total_files']}, hard failures {summary['hard_failures']}, "
              f"soft warnings {summary['soft_warnings']}")
    if result.get("has_hard_failures"):
        print("QA found hard failures.", file=sys.stderr)
        return 1
    return 0


def cmd_archivebad(args: argparse.Namespace) -> int:
    from kroma_kit.pipeline.guard import GuardSettings, archive_bad, archive_failing, audit

    ws, project, path = _project_input(args)
    archive_dir = Path(project["root"]) / "archive" / "bad" if project else Path.cwd() / "archive" / "bad"
    if args.failing_only:
        settings = GuardSettings()
        if project is not None:
            from kroma_kit.config import resolve_project_settings

            settings = GuardSettings.from_mapping(
                resolve_project_settings(Path(project["root"])).manifest.output_guard.model_dump())
        result = archive_failing(audit(path, settings), archive_dir)
    else:
        result = archive_bad(path, archive_dir)
    if project is not None:
        from kroma_kit.security.audit_hooks import audit_archive_moves

        audit_archive_moves(ws, project["id"], result["moved"], reason="archive_bad")
    emit(args, result, result["moved"], ["from", "to"])
    if not args.json:
        print(f"\nmoved {result['moved_count']} file(s) to {result['archive_dir']}")
    return 0 if result["ok"] else 1
