"""`make demo`: set up the workspace and the sample project, run the style stage on the offline
defaults, and show where to look. Safe to run again: it reuses the project and adds a run."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from kroma_kit.errors import KromaError


def _say(text: str = "") -> None:
    print(text, flush=True)


def run_demo(*, serve: bool | None = None) -> int:
    from kroma_kit.catalog import open_workspace
    from kroma_kit.catalog.projects import create_project, get_project
    from kroma_kit.config import resolve_project_settings
    from kroma_kit.errors import NotFoundError
    from kroma_kit.project_setup import check_manifest_files, install_sample_project

    ws = open_workspace()
    _say(f"Workspace: {ws.home}  (catalog {ws.catalog_path}; set KROMA_HOME to use another)")
    try:
        project = get_project(ws, "demo")
        _say(f"Project 'demo' exists at {project['root']}")
    except NotFoundError:
        project = create_project(ws, "demo", "Demo: four scenes, one noir hand",
                                 description="Sample project drawn by Kroma Kit itself")
        _say(f"Created project 'demo' at {project['root']}")
    root = Path(project["root"])
    installed = install_sample_project(root)
    _show_characters(ws, project, installed)
    _say(f"Samples: {len(installed['scene_refs'])} scenes, {len(installed['style_refs'])} style refs, "
         f"{len(installed['character_refs'])} characters under {root / 'inputs'}")

    resolved = resolve_project_settings(root)
    problems = check_manifest_files(resolved)
    if problems:
        raise KromaError("Demo settings are not usable: " + "; ".join(problems))
    manifest = resolved.manifest
    _say(f"Settings valid: provider={resolved.settings.pipeline.provider}, "
         f"candidates={manifest.generation.candidates}, scenes={len(manifest.scene_refs)}, "
         f"guard max_chroma_delta={manifest.output_guard.max_chroma_delta} "
         f"(manifest {resolved.manifest_file})")

    summary = _run_style_stage(ws)
    _show_where_to_look(ws, root, summary)
    _maybe_serve(serve)
    return 0 if summary.status in ("done", "partial") else 1


def _show_characters(ws, project, installed) -> None:
    from kroma_kit.characters.profiles import list_characters
    from kroma_kit.characters.samples import install_sample_characters

    install_sample_characters(ws, project, installed)
    for character in list_characters(ws, project):
        _say(f"Character {character.code}: {character.name} (colours {' '.join(character.signature_colors)})"
             f"  kroma character show {character.code} --project demo")


def _run_style_stage(ws):
    from kroma_kit.cli.output import print_table
    from kroma_kit.cli.progress import RunProgress
    from kroma_kit.pipeline.execute import execute_run
    from kroma_kit.pipeline.plan_model import PlanRequest

    _say()
    _say("Running the style stage with the local provider, 3 candidates per scene ...")
    request = PlanRequest(project="demo", stage="style", candidates=3, provider="local")
    summary = execute_run(ws, request, on_event=RunProgress(enabled=sys.stderr.isatty()))
    _say()
    verdicts = _qa_by_job(ws, summary.run_id)
    rows = [{key: value for key, value in row.items() if key != "reason"} | {
        "qa": verdicts.get(row["job"], "-"), "reason": row["reason"]} for row in summary.table_rows()]
    print_table(rows, list(rows[0].keys()) if rows else ["job"])
    return summary


def _qa_by_job(ws, run_id: str) -> dict[str, str]:
    """Each job's guard verdicts, candidate by candidate ("PASS PASS WARN"), from the catalog."""
    from kroma_kit.analytics import candidates

    verdicts: dict[str, list[str]] = {}
    for row in candidates(ws, run_id=run_id).itertuples():
        verdicts.setdefault(row.job_key, []).append(str(row.verdict).upper() if isinstance(row.verdict, str) else "-")
    return {job: " ".join(items) for job, items in verdicts.items()}


def _show_where_to_look(ws, root: Path, summary) -> None:
    _say()
    _say(f"Run {summary.run_id}: {summary.status}, {summary.jobs_done}/{summary.jobs_total} jobs, "
         f"cost ${summary.actual_cost_usd:.2f}")
    _say(f"Run log:   {summary.run_log_path}")
    _say("Outputs:")
    for path in summary.outputs:
        _say(f"  {path}")
    _say(f"Folders:   {root / 'outputs'}  {root / 'archive'}  {root / 'runs'}")
    _say("Next:      make lab          (notebooks/00_quickstart.ipynb: panels, candidate grid, QA)")
    _say("           kroma runs list --project demo   |   kroma config show --project demo")


def _maybe_serve(serve: bool | None) -> None:
    from kroma_kit.dashboards_server import dashboard_urls

    if serve is None:
        serve = sys.stdout.isatty() and os.environ.get("DEMO_SERVE", "1") != "0"
    if not serve:
        _say("Dashboards: make dashboards   (Voilà on http://127.0.0.1:8866)")
        for title, url in dashboard_urls(8866).items():
            _say(f"  {title:<17} {url}")
        return
    from kroma_kit.dashboards_server import serve as serve_dashboards

    serve_dashboards(port=8866)


def main() -> int:
    try:
        return run_demo()
    except KromaError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    raise SystemExit(main())
