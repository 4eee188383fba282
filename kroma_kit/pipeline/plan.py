"""Planning a run: which jobs, which prompt, which inputs, how many candidates, what it will cost.

Planning never touches the network and never writes. It is also where bad input stops: an
unknown project, stage, time or weather, a broken jobs file, or a scene/style/character file that
is missing, corrupt or oversized raises one :class:`~kroma_kit.errors.KromaError` naming the file
or field, before any paid call can happen.

Seed behaviour kept (kroma-behavior.md §1.3-§1.6, §3.1): one job per scene for one (stage, time,
weather); the prompt is the chunks ``style_base``, ``time_<t>`` (stages time/weather),
``weather_<w>`` (stage weather) and the no-invention sentence, joined by one space; job ids
``{stage}_{i}_{sanitized scene stem}``; inputs are the scene then the style refs; the jobs file;
the batch limit; the candidate cap (checked for real runs only, like the seed's dry mode).

Added:
- stage ``characters`` (after the scene's style, time and weather are locked): the prompt is
  ``style_base, time_<t>, weather_<w>, characters_base`` then the no-invention sentence. Time and
  weather stay in the prompt because the scene already carries them and dropping them invites
  the model to drift back; the manifest's ``character_refs`` follow the style refs in the inputs.
- ``from_run``: the scenes are the winners of an earlier run, and each job keeps the scene key of
  the job it continues (``style_1_street`` -> ``time_1_street``), so a scene keeps its name through
  the stages instead of collecting ``__c2`` suffixes.
- a cost estimate per job and in total, from the provider's pricing (no network).

The types (request, job, plan) are :mod:`kroma_kit.pipeline.plan_model`; they stay importable
from here, the module that makes them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kroma_kit.catalog.projects import get_project
from kroma_kit.config import (
    NO_INVENTION_SENTENCE,
    STAGES,
    TIMES,
    WEATHERS,
    ProjectSettings,
    resolve_project_settings,
)
from kroma_kit.errors import ConfigError, ImageInputError, InputError, LimitExceeded
from kroma_kit.imaging import check_image, sanitize_stem
from kroma_kit.pipeline.cast import cast_inputs, default_cast, parse_cast, scene_cast
from kroma_kit.pipeline.plan_model import Plan, PlannedJob, PlanRequest
from kroma_kit.pipeline.sources import check_choice, jobs_from_file, scenes_from_run
from kroma_kit.postprocess.project import check_post_chain, refine_estimate_usd
from kroma_kit.project_setup import resolve_ref
from kroma_kit.providers.base import ImageProvider, get_image_provider
from kroma_kit.workspace import ProjectLayout, Workspace

# --------------------------------------------------------------------------- prompts and ids

def compose_prompt(prompts: dict[str, str], stage: str, time: str, weather: str, *,
                   no_invention: bool = True) -> str:
    """The seed's prompt (§1.3) plus the characters stage; a missing chunk names its key."""
    check_choice("stage", stage, STAGES)
    chunks = [_prompt_chunk(prompts, "style_base")]
    if stage in ("time", "weather", "characters"):
        chunks.append(_prompt_chunk(prompts, f"time_{time}"))
    if stage in ("weather", "characters"):
        chunks.append(_prompt_chunk(prompts, f"weather_{weather}"))
    if stage == "characters":
        chunks.append(_prompt_chunk(prompts, "characters_base"))
    if no_invention:
        chunks.append(NO_INVENTION_SENTENCE)
    return " ".join(chunks)


def _prompt_chunk(prompts: dict[str, str], key: str) -> str:
    text = (prompts.get(key) or "").strip()
    if not text:
        raise ConfigError(f"Missing prompts.{key} in the manifest (empty or absent). Add it to the "
                          f"project's manifest.json under \"prompts\".")
    return text


def job_id(stage: str, index: int, scene_key: str) -> str:
    """``{stage}_{i}_{key}``: seed-compatible ids (e.g. ``style_1_scene_01``)."""
    return f"{stage}_{index}_{scene_key}"


# --------------------------------------------------------------------------- the plan

def plan_run(ws: Workspace, request: PlanRequest, *, mode: str = "dry") -> Plan:
    """Resolve and validate ``request`` into a :class:`Plan`. No network, no writes.

    ``mode="run"`` also applies the candidate cap (the seed's dry mode skips it).
    """
    check_choice("mode", mode, ("dry", "run"))
    check_choice("stage", request.stage, STAGES)
    check_choice("time", request.time, TIMES)
    check_choice("weather", request.weather, WEATHERS)
    project = get_project(ws, request.project)
    root = Path(project["root"])
    resolved = resolve_project_settings(root, overrides=_settings_overrides(request),
                                        manifest_overrides=request.manifest_overrides)
    settings, manifest = resolved.settings, resolved.manifest
    layout = ProjectLayout(root)
    candidates = _candidate_count(request, manifest.generation.candidates)
    warnings: list[str] = []

    if request.jobs_file is not None and request.from_run is not None:
        raise InputError("Use either a jobs file or --from-run, not both.")
    if request.jobs_file is not None:
        jobs = []
        for entry in jobs_from_file(Path(request.jobs_file), root):
            paths = entry.pop("paths")
            declared = entry.pop("characters", None)
            if declared is not None:
                where = f"Jobs file entry {entry['source']['jobs_file_entry']} ('{entry['id']}')"
                extra, entry["character_placements"] = cast_inputs(ws, project, parse_cast(declared, where), where)
                paths = [*paths, *extra]
                entry["character_ref_count"] += len(extra)
            jobs.append(PlannedJob(**entry, input_images=[layout.relative(p) for p in paths],
                                   candidates=candidates, input_paths=paths))
        source: dict[str, Any] = {"kind": "jobs_file", "jobs_file": Path(request.jobs_file).as_posix()}
    else:
        default = default_cast(ws, project["id"]) if request.stage == "characters" else []
        if request.stage == "characters" and not (manifest.character_refs or manifest.scene_characters or default):
            raise ConfigError("Stage 'characters' needs characters: create them (`kroma character create`, with a "
                              "reference image) and declare each scene's cast in the manifest's "
                              "\"scene_characters\", or list loose files in \"character_refs\".")
        prompt = compose_prompt(manifest.prompts, request.stage, request.time, request.weather,
                                no_invention=manifest.policy.default_no_invention)
        _check_style_policy(manifest.style_refs, manifest.policy)
        refs = [resolve_ref(root, ref) for ref in manifest.style_refs]
        characters = [resolve_ref(root, ref) for ref in manifest.character_refs] \
            if request.stage == "characters" else []
        if request.from_run is not None:
            scenes = scenes_from_run(ws, project, request.from_run)
            source = {"kind": "from_run", "from_run": request.from_run}
        else:
            refs_given = request.scene_refs if request.scene_refs is not None else manifest.scene_refs
            scenes = [(resolve_ref(root, ref), None, {"scene_ref": ref}) for ref in refs_given]
            source = {"kind": "scene_refs" if request.scene_refs is not None else "manifest"}
        if not scenes:
            raise ConfigError(f"Project '{request.project}' has no scenes yet (one job is made per scene): "
                              f"add one with `kroma manifest add-ref --project {request.project} --kind scene "
                              "FILE` (or the ManifestEditor), or pass --scene-refs, --from-run or --jobs-file.")
        jobs = []
        for index, (scene, key, origin) in enumerate(scenes, start=1):
            scene_key = key or sanitize_stem(scene.name, str(index))
            cast_files, placements = characters, []
            if request.stage == "characters":
                cast = scene_cast(manifest.scene_characters, origin.get("scene_ref"), scene_key)
                if cast is None and default:
                    cast = default
                if cast is not None:
                    cast_files, placements = cast_inputs(ws, project, cast, f"Scene '{scene_key}'")
                    origin = {**origin, "characters": [member.code for member in cast]}  # checked by the gate
                elif not characters:
                    raise ConfigError(f"Scene '{scene_key}' declares no characters: add it to the manifest's "
                                      "\"scene_characters\" (e.g. {\"" + scene_key + "\": [\"hero\"]}).")
            paths = [scene, *refs, *cast_files]
            jobs.append(PlannedJob(
                id=job_id(request.stage, index, scene_key), mode=request.stage, time=request.time,
                weather=request.weather, prompt=prompt, input_images=[layout.relative(p) for p in paths],
                candidates=candidates, scene_key=scene_key, character_ref_count=len(cast_files),
                source=origin, input_paths=paths, character_placements=placements))
        if request.stage == "style" and (request.time, request.weather) != ("day", "clear"):
            warnings.append(f"stage 'style' ignores time '{request.time}' and weather '{request.weather}' "
                            "(use --stage time / weather for those passes)")
        elif request.stage == "time" and request.weather != "clear":
            warnings.append(f"stage 'time' ignores weather '{request.weather}' (use --stage weather)")

    _check_unique_ids(jobs)
    validate_inputs(jobs)
    if len(jobs) > manifest.safe_batch_limit and not request.allow_large_batch:
        raise LimitExceeded(f"Batch exceeds safety limit ({manifest.safe_batch_limit}): {len(jobs)} jobs. "
                         "Use --allow-large-batch to override, or raise safe_batch_limit in the manifest.")
    max_candidates = manifest.generation.max_candidates
    if mode == "run" and candidates > max_candidates and not request.allow_many_candidates:
        raise LimitExceeded(f"Candidate count {candidates} exceeds limit {max_candidates}. "
                         "Use --allow-many-candidates to override.")

    check_post_chain(resolved)
    refine = refine_estimate_usd(resolved)
    provider = build_provider(settings_provider_code(resolved), resolved)
    described = provider.describe()
    guard_section = manifest.output_guard.model_dump(mode="json")
    for job in jobs:
        try:
            one = float(provider.estimate_cost(job.image_request(0)))
        except ConfigError as exc:
            raise ConfigError(f"Cannot estimate the cost of job {job.id}: {exc}") from exc
        job.estimated_cost_usd = round((one + refine) * job.candidates, 6)
    total = round(sum(job.estimated_cost_usd for job in jobs), 6)
    budgets = settings.budgets.model_dump(mode="json")
    if provider.paid or refine:
        if budgets.get("per_run_usd") is not None and total > budgets["per_run_usd"]:
            warnings.append(f"estimated ${total:.2f} exceeds the per-run budget ${budgets['per_run_usd']:.2f}: "
                            "the run will stop as 'partial' when the next call would cross it")
        if not described.get("configured", True):
            warnings.append(f"provider '{provider.code}' is not configured (no API key): a real run will fail")
    return Plan(
        project=project["slug"], project_id=project["id"], project_root=root, stage=request.stage,
        time=request.time, weather=request.weather, provider=provider.code, paid=bool(provider.paid or refine),
        model=described.get("model"), size=described.get("size"), quality=described.get("quality"),
        provider_params=described, candidates=candidates, max_candidates=max_candidates, jobs=jobs,
        estimated_cost_usd=total, postprocess=postprocess_record(settings.pipeline.postprocess.model_dump()),
        output_guard=guard_section, budgets=budgets, concurrency=settings.pipeline.concurrency,
        archive_replaced=settings.pipeline.archive_replaced, source=source, warnings=warnings,
        settings=resolved, provider_obj=provider, catalog_project=project)


def _settings_overrides(request: PlanRequest) -> dict[str, Any] | None:
    overrides: dict[str, Any] = json.loads(json.dumps(request.settings_overrides or {}))
    pipeline = overrides.setdefault("pipeline", {})
    if request.provider is not None:
        pipeline["provider"] = request.provider
    if request.postprocess:
        pipeline.setdefault("postprocess", {}).update(request.postprocess)
    if not pipeline:
        overrides.pop("pipeline")
    return overrides or None


def settings_provider_code(resolved: ProjectSettings) -> str:
    return resolved.settings.pipeline.provider


def build_provider(code: str, resolved: ProjectSettings) -> ImageProvider:
    """The image provider ``code`` with its settings section (``providers.<code>``) as options."""
    section = getattr(resolved.settings.providers, code, None)
    options = {k: v for k, v in section.model_dump().items() if v is not None} if section is not None else {}
    return get_image_provider(code, **options)


def _candidate_count(request: PlanRequest, manifest_count: int) -> int:
    count = request.candidates if request.candidates is not None else manifest_count
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise InputError(f"Candidate count must be an integer >= 1, got {count!r}.")
    return count


def postprocess_record(flags: dict[str, Any]) -> dict[str, Any]:
    """The seed's run-log ``postprocess`` block, with the fixed ``pipeline_order``."""
    order = ["generate"]
    if flags.get("bg_remove"):
        order.append("bg_remove")
        if flags.get("bg_refine_openai"):
            order.append("bg_refine_openai")
    if flags.get("upscale"):
        order.append("upscale")
    if flags.get("color"):
        order.append("color")
    return {
        "upscale": bool(flags.get("upscale")),
        "upscale_backend": flags.get("upscale_backend") if flags.get("upscale") else None,
        "upscale_scale": flags.get("upscale_scale") if flags.get("upscale") else None,
        "color": bool(flags.get("color")),
        "color_profile": flags.get("color_profile") if flags.get("color") else None,
        "bg_remove": bool(flags.get("bg_remove")),
        "bg_remove_backends": list(flags.get("bg_remove_backends") or []) if flags.get("bg_remove") else [],
        "bg_refine_openai": bool(flags.get("bg_remove") and flags.get("bg_refine_openai")),
        "bg_refine_openai_required": bool(flags.get("bg_remove") and flags.get("bg_refine_openai")
                                          and flags.get("bg_refine_openai_required")),
        "pipeline_order": order,
    }


def _check_style_policy(style_refs: list[str], policy: Any) -> None:
    """The first seed version's contamination guard, on when ``policy.enforce_allowed_style_roots``."""
    if not policy.enforce_allowed_style_roots:
        return
    roots = [root.rstrip("/") for root in policy.allowed_style_roots]
    for ref in style_refs:
        clean = ref.replace("\\", "/")
        if not any(clean == root or clean.startswith(f"{root}/") for root in roots):
            raise ConfigError(f"Style anchor not allowed by policy: {ref} (allowed roots: "
                              f"{', '.join(policy.allowed_style_roots)}). Outputs must not become style anchors.")


def _check_unique_ids(jobs: list[PlannedJob]) -> None:
    seen: set[str] = set()
    for job in jobs:
        if job.id in seen:
            raise InputError(f"Two jobs share the id '{job.id}': output files would overwrite each other. "
                             "Rename one scene or jobs-file entry.")
        seen.add(job.id)


def validate_inputs(jobs: list[PlannedJob]) -> None:
    """Decode every input image once (missing, corrupt, oversized or bomb -> ImageInputError); a file
    already decoded unchanged in this process is not decoded again (:func:`check_image`)."""
    checked: set[Path] = set()
    for job in jobs:
        for position, path in enumerate(job.input_paths):
            if path in checked:
                continue
            role = "scene" if position == 0 else (
                "character ref" if position >= len(job.input_paths) - job.character_ref_count else "style ref")
            try:
                check_image(path)
            except ImageInputError as exc:
                raise ImageInputError(f"Job {job.id}: {role} unusable: {exc}") from exc
            checked.add(path)
