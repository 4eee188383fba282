"""Executors of QA and asset instructions: the output guard over the project's images, archiving
the failing ones, post-processing steps, and picking a job's winner; each through the same
functions as ``kroma qa``, ``kroma archivebad``, ``kroma bgremove|upscale|color`` and
``kroma review set-winner``."""

from __future__ import annotations

from pathlib import Path

from kroma_kit.catalog.copilot_lookup import final_files
from kroma_kit.catalog.projects import get_project
from kroma_kit.catalog.runs import record_quality_reports
from kroma_kit.copilot.executors import Outcome, StepContext
from kroma_kit.errors import InputError
from kroma_kit.imaging import list_images
from kroma_kit.pipeline.guard import GuardSettings, archive_failing, audit, run_qa
from kroma_kit.storage.atomic import atomic_write_json
from kroma_kit.workspace import ProjectLayout


def instruction_files(ctx: StepContext, *, finals_only: bool = False) -> list[Path]:
    """The images an asset instruction works on: ``inputs.path`` (default ``outputs``) inside the
    project, narrowed to the named scenes. ``finals_only`` (post-processing) takes the winners of
    the newest run instead of every candidate in ``outputs`` (the PostProcessPanel's default)."""
    layout = ProjectLayout(ctx.project.root)
    inputs = ctx.payload.get("inputs", {})
    folder = layout.inside(str(inputs.get("path") or "outputs"))
    scenes = inputs.get("scenes") or []
    if finals_only and folder == layout.outputs.resolve():
        files = [Path(p) for p in final_files(ctx.ws, ctx.project.project_id, inputs.get("run_id")) if Path(p).is_file()]
        what = "winners of the newest run"
    else:
        if not folder.exists():
            raise InputError(f"{layout.relative(folder)} does not exist in project {ctx.project.slug}: nothing to do.")
        files = list_images(folder)
        what = layout.relative(folder)
    if scenes:
        files = [f for f in files if any(scene in f.stem.lower() for scene in scenes)]
    if not files:
        where = f" for {', '.join(scenes)}" if scenes else ""
        raise InputError(f"No images in the {what}{where} of project {ctx.project.slug}.")
    return files


def _guard(ctx: StepContext) -> GuardSettings:
    return GuardSettings.from_mapping(ctx.project.output_guard)


def qa_check(ctx: StepContext) -> Outcome:
    """The output guard over the project's images (``kroma qa --project``), with the quality
    reports recorded and the whole report kept as a file in ``exports/qa/``."""
    files = instruction_files(ctx)
    settings = _guard(ctx)
    entries = []
    for number, file in enumerate(files):
        if number % 8 == 0:
            ctx.check_cancel()
        entries.append(run_qa(file, settings))
    checked = [entry["report"]["files"][0] for entry in entries if entry.get("enabled")]
    report = {"input": str(ctx.project.root / "outputs"), "settings": settings.report_settings(), "files": checked,
              "summary": {"total_files": len(checked),
                          "hard_failures": sum(1 for e in checked if e["hard_fail_reasons"]),
                          "soft_warnings": sum(1 for e in checked if e["soft_warnings"])}}
    written = record_quality_reports(ctx.ws, get_project(ctx.ws, ctx.project.slug), report)
    path = ProjectLayout(ctx.project.root).exports / "qa" / f"qa_{ctx.instruction.id}.json"
    atomic_write_json(path, report)
    summary = report["summary"]
    return Outcome(f"QA checked {summary['total_files']} images: {summary['hard_failures']} failing, "
                   f"{summary['soft_warnings']} with warnings.",
                   {"summary": summary, "quality_reports": written, "report_path": str(path)})


def archive_bad(ctx: StepContext) -> Outcome:
    layout = ProjectLayout(ctx.project.root)
    ctx.check_cancel()
    settings = _guard(ctx)
    report = {"files": [entry for file in instruction_files(ctx) for entry in audit(file, settings)["files"]]}
    ctx.check_cancel()
    moved = archive_failing(report, layout.archive_bad)
    return Outcome(f"Moved {moved['moved_count']} failing image(s) to archive/bad.",
                   {"moved_count": moved["moved_count"], "moved": moved["moved"], "skipped": moved["skipped"]})
