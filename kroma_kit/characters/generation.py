"""Character images as runs of the pipeline: a reference, a 360° portfolio or a scene image is a
planned run whose jobs are the images to make (one job per portfolio view, all in one run), and
it goes through the same machinery as every other run: plan and cost estimate, spend lock,
budgets, N candidates per job, output guard, ranking with its reason, the run log, cost events,
catalog ingest and resume. Only the last step is the workspace's own: each job's winner becomes
a ``character_images`` row (exact prompt, provider, source URL, external id, metrics) and joins
the character's reference set.

Job ids carry a short token of the run (``detective_front_3f2a9c1e``), so a new reference never
overwrites an older one: several generations are kept as history.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from kroma_kit.catalog.db import new_id
from kroma_kit.catalog.runs import get_run, mark_interrupted_runs, project_spent_usd
from kroma_kit.characters._common import project_of
from kroma_kit.characters.images import best_reference, get_character_image, record_run_images
from kroma_kit.characters.profiles import effective_style_guide, get_character
from kroma_kit.characters.prompting import (
    portfolio_prompt,
    scene_prompt,
    strip_quotes,
    suggest_reference_prompt,
)
from kroma_kit.characters.records import DEFAULT_PORTFOLIO_VIEWS, Character, CharacterImage
from kroma_kit.config import ProjectSettings, resolve_project_settings
from kroma_kit.errors import InputError, ProviderError, ProviderNotConfigured, SpendError
from kroma_kit.imaging import open_image, sanitize_stem
from kroma_kit.pipeline import events as ev
from kroma_kit.pipeline.context import RunContext
from kroma_kit.pipeline.execute import run_context
from kroma_kit.pipeline.guard import GuardSettings
from kroma_kit.pipeline.plan import build_provider, postprocess_record
from kroma_kit.pipeline.plan_model import Plan, PlannedJob
from kroma_kit.pipeline.resume import settings_from_log
from kroma_kit.pipeline.runlog import RunLog, log_from_plan, run_log_path
from kroma_kit.pipeline.summary import RunSummary
from kroma_kit.processes import process_start_token, this_host
from kroma_kit.project_setup import resolve_ref
from kroma_kit.providers.base import ImageProvider
from kroma_kit.providers.character_library import CharacterLibraryProvider
from kroma_kit.providers.character_request import CharacterImageRequest
from kroma_kit.providers.character_sketch import CharacterSketchProvider
from kroma_kit.providers.spend import Budgets, SpendGuard, require_confirmation
from kroma_kit.storage.runlog import actual_cost
from kroma_kit.storage.runlog_model import CharacterJobMeta, RunLogModel
from kroma_kit.workspace import ProjectLayout, Workspace

CHARACTER_PROVIDERS = ("local", "openai", "character_library")
KINDS = {"reference": "reference", "portfolio": "portfolio_item", "scene": "scene"}
NO_POST = {"pipeline": {"postprocess": {"bg_remove": False, "upscale": False, "color": False}}}


@dataclass
class CharacterJob(PlannedJob):
    """A planned job that makes one character image; the request it builds carries the character."""

    kind: str = "reference"
    view: str | None = None
    character: dict[str, Any] = field(default_factory=dict)
    scene_context: str = ""
    reference_image_id: str | None = None
    reference_external_id: str | None = None
    scene_ref_path: Path | None = None
    all_views: list[str] = field(default_factory=list)

    def job_meta(self) -> dict[str, Any]:
        return {"kind": self.kind, "view": self.view, "code": self.character.get("code"),
                "character": dict(self.character), "all_views": list(self.all_views),
                "scene_context": self.scene_context, "reference_image_id": self.reference_image_id,
                "reference_external_id": self.reference_external_id,
                "scene_ref": self.scene_ref_path.as_posix() if self.scene_ref_path else None}

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "character_job": self.job_meta()}

    def image_request(self, seed: int, *, grayscale: bool = False) -> CharacterImageRequest:
        reference = self.input_paths[0] if self.kind != "reference" and self.input_paths else None
        return CharacterImageRequest(
            prompt=self.prompt, input_images=list(self.input_paths), seed=seed, stage=self.mode, time=self.time,
            weather=self.weather, grayscale=grayscale, kind=self.kind, view=self.view, character=dict(self.character),
            scene_context=self.scene_context, reference_path=reference,
            reference_external_id=self.reference_external_id, scene_ref=self.scene_ref_path,
            all_views=list(self.all_views))


@dataclass
class CharacterRunRequest:
    """What the artist asked for. ``kind``: reference | portfolio | scene."""

    project: str
    code: str
    kind: str = "reference"
    prompt: str | None = None  # the (edited) reference prompt; None = the suggestion
    reference_image_id: str | None = None  # portfolio/scene: which reference; None = the best one
    views: list[str] | None = None  # portfolio: default six views (+ extra_views)
    extra_views: list[str] | None = None  # expressions / poses added to the turnaround
    scene_context: str = ""
    scene_ref: str | None = None
    candidates: int | None = None
    provider: str | None = None
    budgets: dict[str, float | None] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class CharacterRunResult:
    """The run (the pipeline's summary) and the images it added to the character's workspace."""

    summary: RunSummary
    images: list[CharacterImage]
    failures: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {"run": self.summary.to_dict(), "images": [image.to_dict() for image in self.images],
                "failures": list(self.failures)}


def build_character_provider(code: str, resolved: ProjectSettings) -> ImageProvider:
    if code == "local":
        return CharacterSketchProvider()
    if code == "character_library":
        return CharacterLibraryProvider()
    if code == "openai":
        return build_provider("openai", resolved)
    raise InputError(f"Unknown character image provider {code!r}. Expected {'|'.join(CHARACTER_PROVIDERS)}.")


def _views(request: CharacterRunRequest, project: dict[str, Any]) -> list[str]:
    extra = list(request.extra_views or []) + list((project.get("settings") or {}).get("character_extra_views") or [])
    views = list(request.views or DEFAULT_PORTFOLIO_VIEWS) + [v for v in extra if v not in (request.views or [])]
    clean = []
    for view in views:
        key = sanitize_stem(str(view))
        if not key:
            raise InputError(f"Portfolio view {view!r} cannot name a file; use letters, digits and '_'.")
        if key not in clean:
            clean.append(key)
    return clean


def _reference(ws: Workspace, proj: dict[str, Any], character: Character, image_id: str | None) -> CharacterImage:
    if image_id:
        image = get_character_image(ws, proj, character.code, image_id)
        if image.kind != "reference" or image.status != "succeeded" or image.deleted_at:
            raise InputError(f"Image {image_id} is not a usable reference of '{character.code}' "
                             f"({image.status} {image.kind}{', deleted' if image.deleted_at else ''}).")
    else:
        found = best_reference(ws, proj, character.code)
        if found is None:
            raise InputError(f"Character '{character.code}' has no reference image yet: generate one first "
                             f"(`kroma character reference {character.code} --project {proj['slug']}`).")
        image = found
    if image.path is None or not image.path.is_file():
        raise InputError(f"The reference image {image.id} of '{character.code}' is missing on disk ({image.path}).")
    open_image(image.path).close()
    return image


def plan_character_run(ws: Workspace, request: CharacterRunRequest) -> Plan:
    """Resolve and validate ``request`` into a pipeline :class:`Plan` (no network, no writes)."""
    proj = project_of(ws, request.project)
    if request.kind not in KINDS:
        raise InputError(f"Invalid character image kind {request.kind!r}. Expected {'|'.join(KINDS)}.")
    character = get_character(ws, proj, request.code)
    guide = effective_style_guide(ws, proj, character)
    root = Path(proj["root"])
    resolved = resolve_project_settings(root, overrides=NO_POST if not request.budgets else
                                        {**NO_POST, "budgets": dict(request.budgets)})
    manifest = resolved.manifest
    code = request.provider or resolved.settings.pipeline.provider
    provider = build_character_provider(code, resolved)
    candidates = request.candidates if request.candidates is not None else manifest.generation.candidates
    if isinstance(candidates, bool) or not isinstance(candidates, int) or candidates < 1:
        raise InputError(f"Candidate count must be an integer >= 1, got {candidates!r}.")
    if candidates > manifest.generation.max_candidates:
        raise SpendError(f"Candidate count {candidates} exceeds limit {manifest.generation.max_candidates}.")
    token = new_id()[:8]
    snapshot = {"code": character.code, "name": character.name, "identity": character.identity.model_dump(),
                "library_id": character.metadata.get("character_library_id") or character.code}
    kind = KINDS[request.kind]
    stage = f"character_{request.kind}"
    common = {"mode": stage, "time": "day", "weather": "clear", "candidates": candidates, "character": snapshot}
    jobs: list[CharacterJob] = []
    source: dict[str, Any] = {"kind": "character", "character": character.code, "image_kind": kind}
    if request.kind == "reference":
        prompt = strip_quotes(request.prompt) if request.prompt and request.prompt.strip() else \
            suggest_reference_prompt(character, guide)
        jobs.append(CharacterJob(id=f"{character.code}_reference_{token}", prompt=prompt, input_images=[],
                                 input_paths=[], kind=kind, **common))
    else:
        reference = _reference(ws, proj, character, request.reference_image_id)
        assert reference.path is not None
        source["reference_image_id"] = reference.id
        rel = ProjectLayout(root).relative(reference.path)
        if request.kind == "portfolio":
            views = _views(request, proj)
            if len(views) > manifest.safe_batch_limit:
                raise SpendError(f"Batch exceeds safety limit ({manifest.safe_batch_limit}): {len(views)} views.")
            for view in views:
                jobs.append(CharacterJob(
                    id=f"{character.code}_{view}_{token}", prompt=portfolio_prompt(character, view, guide),
                    input_images=[rel], input_paths=[reference.path], kind=kind, view=view,
                    reference_image_id=reference.id, reference_external_id=reference.external_id,
                    all_views=views, **common))
        else:
            if not request.scene_context.strip():
                raise InputError("A scene image needs a scene context text (what happens, where).")
            inputs, scene_path = [reference.path], None
            if request.scene_ref:
                scene_path = ProjectLayout(root).inside(request.scene_ref) if not Path(request.scene_ref).is_absolute() \
                    else Path(request.scene_ref)
                open_image(scene_path).close()
                inputs.append(scene_path)
            jobs.append(CharacterJob(
                id=f"{character.code}_scene_{token}", prompt=scene_prompt(character, request.scene_context, guide),
                input_images=[ProjectLayout(root).relative(p) for p in inputs], input_paths=inputs, kind=kind,
                scene_context=request.scene_context.strip(), reference_image_id=reference.id,
                reference_external_id=reference.external_id, scene_ref_path=scene_path, **common))
    described = provider.describe()
    for job in jobs:
        job.estimated_cost_usd = round(float(provider.estimate_cost(job.image_request(0))) * job.candidates, 6)
    total = round(sum(job.estimated_cost_usd for job in jobs), 6)
    guard = manifest.output_guard.model_dump(mode="json")
    guard.update(enforce_grayscale=False, expected_size=None)  # character sheets are in colour, any size
    warnings = []
    budgets = resolved.settings.budgets.model_dump(mode="json")
    if provider.paid and budgets.get("per_run_usd") is not None and total > budgets["per_run_usd"]:
        warnings.append(f"estimated ${total:.2f} exceeds the per-run budget ${budgets['per_run_usd']:.2f}")
    return Plan(project=proj["slug"], project_id=proj["id"], project_root=root, stage=stage, time="day",
                weather="clear", provider=provider.code, paid=bool(provider.paid), model=described.get("model"),
                size=described.get("size"), quality=described.get("quality"), provider_params=described,
                candidates=candidates, max_candidates=manifest.generation.max_candidates, jobs=list(jobs),
                estimated_cost_usd=total, postprocess=postprocess_record({}), output_guard=guard, budgets=budgets,
                concurrency=resolved.settings.pipeline.concurrency, archive_replaced=True, source=source,
                warnings=warnings, settings=resolved, provider_obj=provider)


def generate_character_images(ws: Workspace, request: CharacterRunRequest, *, confirm_spend: bool = False,
                              on_event: ev.EventCallback | None = None,
                              cancel: threading.Event | None = None) -> CharacterRunResult:
    """Plan and run ``request``; record the winners as character images.

    Raises before anything is written for bad input or a locked spend, and after the run when no
    image came out (e.g. the Character Library answered 500): the error is surfaced with its
    one-line reason and no character image is recorded (the run log keeps every attempt)."""
    proj = project_of(ws, request.project)
    mark_interrupted_runs(ws, proj["slug"])
    plan = plan_character_run(ws, request)
    provider = plan.provider_obj
    assert provider is not None
    require_confirmation(plan.paid, confirm_spend, plan.provider)
    if not plan.provider_params.get("configured", True):
        raise ProviderNotConfigured(f"Provider '{plan.provider}' is not configured: "
                                    + ("set CHARACTER_LIBRARY_API_URL" if plan.provider == "character_library"
                                       else "set OPENAI_API_KEY") + ". Nothing was sent.", provider=plan.provider)
    run_id = new_id()
    data = log_from_plan(plan, run_id, "run", request.to_dict())
    data["character_run"] = {"code": request.code, "kind": KINDS[request.kind]}
    layout = plan.layout.ensure()
    runlog = RunLog(run_log_path(layout.root, run_id), data)
    runlog.save()
    spend = SpendGuard(paid=plan.paid, budgets=Budgets(**plan.budgets),
                       project_spent=project_spent_usd(ws, proj["id"], exclude_run=run_id))
    ctx = RunContext(ws=ws, project=proj, layout=layout, log=runlog, jobs=plan.jobs, provider=provider,
                     guard_settings=GuardSettings.from_mapping(plan.output_guard), settings=plan.settings,
                     archive_replaced=True, concurrency=plan.concurrency, spend=spend,
                     events=ev.EventEmitter(on_event), cancel=cancel or threading.Event(),
                     confirm_spend=confirm_spend)
    ctx.recorder.record_now()
    clock = time.perf_counter()
    summary = run_context(ctx)
    elapsed = int((time.perf_counter() - clock) * 1000)
    images, failures = record_run_images(ws, proj, request.code, ctx.log.model, duration_ms=elapsed)
    if not any(image.status == "succeeded" for image in images):
        reason = failures[0] if failures else summary.status_reason or summary.status
        raise ProviderError(f"No {KINDS[request.kind].replace('_', ' ')} image for '{request.code}': {reason} "
                            f"(run {summary.run_id}; no image recorded).", provider=plan.provider)
    return CharacterRunResult(summary, images, failures)


# --------------------------------------------------------------------------- resume

RESUMABLE = ("interrupted", "partial", "failed")


def _jobs_from_log(log: RunLogModel, root: Path) -> list[CharacterJob]:
    jobs = []
    for job in log.jobs:
        meta = job.character_job or CharacterJobMeta()
        paths = [Path(p) if Path(p).is_absolute() else root / p for p in job.input_images]
        jobs.append(CharacterJob(
            id=job.id, mode=job.mode, time=job.time, weather=job.weather, prompt=job.prompt,
            input_images=list(job.input_images), candidates=len(job.candidates),
            estimated_cost_usd=float(job.estimated_cost_usd or 0), input_paths=paths,
            kind=meta.kind, view=meta.view, character=dict(meta.character),
            scene_context=meta.scene_context or "", reference_image_id=meta.reference_image_id,
            reference_external_id=meta.reference_external_id,
            scene_ref_path=Path(meta.scene_ref) if meta.scene_ref else None, all_views=list(meta.all_views)))
    return jobs


def resume_character_run(ws: Workspace, run_id: str, *, confirm_spend: bool = False,
                         on_event: ev.EventCallback | None = None) -> CharacterRunResult:
    """Finish a character run that stopped (process died, provider failures): candidates on
    disk and paid for are kept (the pipeline adopts them), failed ones that cost nothing are
    tried again, and the winners become character images (once per job).

    The log is read and changed as the typed model through :class:`RunLog` (the same named
    changes as a pipeline resume: unpaid failures reopened, a ``resumes`` entry, this process as
    the run's owner), so a listing in another process sees a live run, not an interrupted one."""
    run = get_run(ws, run_id)
    mark_interrupted_runs(ws, run["project_slug"])
    proj = project_of(ws, run["project_slug"])
    root = Path(proj["root"])
    runlog = RunLog.open(resolve_ref(root, run["run_log_path"]))
    log = runlog.model
    marker = log.character_run
    if marker is None:
        raise InputError(f"Run {log.run_id} is not a character run; resume it with `kroma run --resume`.")
    if log.status not in RESUMABLE:
        raise InputError(f"Run {log.run_id} is {log.status}; only {', '.join(RESUMABLE)} runs can be resumed.")
    resolved = settings_from_log(log, root)
    provider = build_character_provider(log.provider, resolved)
    require_confirmation(provider.paid, confirm_spend, provider.code)
    today = resolve_project_settings(root).settings.budgets
    budgets = Budgets(per_run_usd=today.per_run_usd, per_project_usd=today.per_project_usd)
    concurrency = int(log.concurrency or 4)
    runlog.reopen_unpaid_failures()  # failed candidates that cost nothing are tried again; paid ones stay
    pid = os.getpid()
    runlog.begin_resume(pid=pid, host=this_host(), process_start=process_start_token(pid),
                        budgets=budgets.to_dict(), concurrency=concurrency)
    spend = SpendGuard(paid=provider.paid, budgets=budgets, run_spent=actual_cost(log),
                       project_spent=project_spent_usd(ws, proj["id"], exclude_run=log.run_id))
    ctx = RunContext(ws=ws, project=proj, layout=ProjectLayout(root).ensure(), log=runlog,
                     jobs=_jobs_from_log(log, root), provider=provider,
                     guard_settings=GuardSettings.from_mapping(log.output_guard), settings=resolved,
                     archive_replaced=True, concurrency=concurrency, spend=spend,
                     events=ev.EventEmitter(on_event), cancel=threading.Event(), confirm_spend=confirm_spend)
    ctx.recorder.record_now()
    clock = time.perf_counter()
    summary = run_context(ctx)
    images, failures = record_run_images(ws, proj, marker.code, ctx.log.model,
                                         duration_ms=int((time.perf_counter() - clock) * 1000))
    return CharacterRunResult(summary, images, failures)
