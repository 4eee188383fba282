"""Executors that change a project's images: post-processing steps (the same batch as
``kroma bgremove|upscale|color``) and picking a job's winner (``kroma review set-winner``)."""

from __future__ import annotations

from pathlib import Path

from kroma_kit.catalog.runs import get_run, list_runs
from kroma_kit.copilot.asset_executors import instruction_files
from kroma_kit.copilot.executors import Outcome, StepContext
from kroma_kit.errors import InputError, NotFoundError
from kroma_kit.pipeline.review import override_winner
from kroma_kit.postprocess.batch import process_files


def postprocess(ctx: StepContext) -> Outcome:
    """Each step over the files, the next step reading the previous one's outputs; a cancel
    request stops between steps."""
    execution = ctx.payload.get("execution", {})
    steps = list(execution.get("steps") or [])
    if not steps:
        raise InputError("A postprocess instruction needs execution.steps (bg_remove, upscale, color).")
    ctx.check_cancel()
    files: list[Path] = instruction_files(ctx, finals_only=True)
    done = []
    for step in steps:
        ctx.check_cancel()
        outputs: list[Path] = []
        cost = 0.0
        for file in files:
            batch = process_files(ctx.ws, ctx.project.slug, step, file, upscale_scale=execution.get("upscale_scale"),
                                  color_profile=execution.get("color_profile"),
                                  confirm_spend=ctx.instruction.confirmed_by_user_id is not None)
            if batch.failed:
                raise InputError(f"{step} failed on {file.name}: {batch.failed[0]['error']}")
            outputs += [Path(entry["output"]) for entry in batch.processed]
            cost += batch.cost_usd
        ctx.step("step_done", f"{step}: {len(outputs)} file(s)", payload={"step": step, "outputs": len(outputs)})
        done.append({"step": step, "outputs": [str(p) for p in outputs], "cost_usd": round(cost, 6)})
        files = outputs
    return Outcome(f"{' then '.join(steps)}: {len(files)} file(s) written.", {"steps": done})


def set_winner(ctx: StepContext) -> Outcome:
    inputs = ctx.payload.get("inputs", {})
    run_id = inputs.get("run_id") or "latest"
    if run_id == "latest":
        runs = [r for r in list_runs(ctx.ws, ctx.project.slug) if r.get("run_mode") == "run"]
        if not runs:
            raise NotFoundError(f"Project {ctx.project.slug} has no runs yet: nothing to pick a winner from.")
        run_id = runs[0]["id"]
    job = inputs.get("job")
    if not job:
        scenes = inputs.get("scenes") or []
        jobs = [j["job_key"] for j in get_run(ctx.ws, run_id)["jobs"]]
        matches = [key for key in jobs if scenes and key.endswith("_" + scenes[0])]
        if len(matches) != 1:
            raise InputError(f"Cannot tell which job of run {run_id[:8]} is meant (jobs: {', '.join(jobs)}); "
                             "name the job.")
        job = matches[0]
    result = override_winner(ctx.ws, run_id, job, int(inputs["candidate"]), note="set by the copilot")
    return Outcome(f"Candidate {inputs['candidate']} is now the winner of {job} in run {run_id[:8]}.",
                   {"run_id": run_id, "job": job, "review": result})
