"""The run log's shape as a typed model (pydantic).

Every model allows extra fields: the original tool's logs and older Kroma logs carry keys this
version does not name, and a log must round-trip without losing them. Fields that a reader needs
are named here, so renaming one is a change in one place, not a grep hunt.
"""

from __future__ import annotations

import types
import typing
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, Field

from kroma_kit.storage.open_record import Number, OpenRecord

SCHEMA_VERSION = 1
LOG_KIND = "kroma.run_log"
RUN_STATUSES = ("planned", "running", "done", "failed", "partial", "interrupted")
JOB_STATUSES = ("planned", "running", "done", "failed_output_guard", "failed", "skipped_budget")
CANDIDATE_STATUSES = ("planned", "generated", "done", "failed_output_guard", "failed")
SETTLED_CANDIDATE = ("generated", "done", "failed_output_guard")  # a file exists and was paid for
# The job fields that name its winner: what a winner override writes (all are :class:`JobRecord` fields).
WINNER_FIELDS = ("selected_candidate", "final_output", "output", "winner_reason", "winner_override",
                 "winner_history")


RunStatus = Literal["planned", "running", "done", "failed", "partial", "interrupted"]
JobStatus = Literal["planned", "running", "done", "failed_output_guard", "failed", "skipped_budget"]
CandidateStatus = Literal["planned", "generated", "done", "failed_output_guard", "failed"]


# The keys readers ask of free-form blocks (their JSON paths, see :func:`runlog_path`): the
# continuity gate's block on a candidate, an artist's winner override on a job, and the run's
# output-guard settings.
CONTINUITY_KEYS = ("verdict", "reasons", "kinds", "style", "identity", "severity", "elapsed_ms", "breaks",
                   "calibration_made_at", "flag", "error")
OVERRIDE_KEYS = ("candidate_index", "previous_candidate", "final_output", "reviewer", "forced", "reviewed_at",
                 "note", "report_id", "candidate_status", "previous_winner_reason", "previous_final_output")
GUARD_SETTING_KEYS = ("enabled", "enforce_grayscale", "max_chroma_delta", "fail_on_chroma_exceed",
                      "expected_size", "blank_std_threshold")

class Rank(OpenRecord):
    """The ranking key of a candidate: fewer hard failures, then fewer warnings, then less colour."""

    hard_failures: int = 0
    soft_warnings: int = 0
    avg_chroma_exceed: Number = 0.0


class CachedFrom(OpenRecord):
    """Where a candidate reused from the stage cache was made (its files and verdict are that
    candidate's; this run paid nothing for it)."""

    run_id: str
    job_id: str
    candidate_index: int


# The post steps whose blocks a candidate may hold (a job holds the winner's, see STEP_BLOCKS).
STEP_NAMES = ("bg_remove", "bg_refine_openai", "upscale", "color")


class StepBlock(OpenRecord):
    """A post step's record on a candidate or its job (``bg_remove``, ``bg_refine_openai``,
    ``upscale``, ``color``): the file it made; backend, timings and the rest kept as written."""

    output: str | None = None


class GuardSummary(OpenRecord):
    """The output guard's counts over the files it checked."""

    total_files: Number | None = None
    hard_failures: Number = 0
    soft_warnings: Number = 0


class GuardFile(OpenRecord):
    """The output guard's verdict on one file it checked."""

    file: str | None = None
    chroma_delta: Number | None = None
    verdict: str | None = None
    hard_fail_reasons: list[Any] = Field(default_factory=list)
    soft_warnings: list[Any] = Field(default_factory=list)


class OutputGuardBlock(OpenRecord):
    """The output guard's block on a candidate (and on its job, copied from the winner): what it
    checked, where a failing file was moved (``bad_archive``), the summary and per-file verdicts."""

    checked_input: str | None = None
    bad_archive: str | None = None
    summary: GuardSummary | None = None
    files: list[GuardFile] = Field(default_factory=list)


class ContinuityBlock(OpenRecord):
    """The continuity gate's block on a candidate. Every key a reader asks of it
    (:data:`CONTINUITY_KEYS`) is a field; only ``verdict`` is checked (a string), the others are
    kept exactly as the gate wrote them."""

    verdict: str | None = None
    reasons: Any = None
    kinds: Any = None
    style: Any = None
    identity: Any = None
    severity: Any = None
    elapsed_ms: Any = None
    breaks: Any = None
    calibration_made_at: Any = None
    flag: Any = None
    error: Any = None


class BlockViews(OpenRecord):
    """Typed, read-only views of a candidate's (or job's) free-form blocks, validated when a
    reader asks. The blocks are stored as the plain dicts their writers give: a whole-log write
    then serialises dicts, not five more model instances per candidate (the run log is written
    after every change). A view is a fresh copy; a change goes through :meth:`OpenRecord.set`."""

    def step(self, name: str) -> StepBlock | None:
        """Post step ``name``'s block (one of :data:`STEP_NAMES`), or None when it did not run."""
        if name not in STEP_NAMES:
            raise KeyError(f"{name!r} is not a post step (one of {', '.join(STEP_NAMES)}).")
        return _view(StepBlock, self.get(name))

    def guard_block(self) -> OutputGuardBlock | None:
        """The output guard's block, or None when the guard did not check this one."""
        return _view(OutputGuardBlock, self.get("output_guard"))


_Block = TypeVar("_Block", bound=OpenRecord)


def _view(block: type[_Block], data: dict[str, Any] | None) -> _Block | None:
    return None if data is None else block.model_validate(data)


class CandidateRecord(BlockViews):
    candidate_index: int = Field(ge=1)
    status: CandidateStatus
    seed: int | None = None
    output: str | None = None
    final_output: str | None = None
    cost_usd: Number = 0.0
    rank: Rank | None = None
    rank_position: int | None = None
    usage: dict[str, Any] = Field(default_factory=dict)
    attempts: list[dict[str, Any]] = Field(default_factory=list)
    timings: dict[str, Any] = Field(default_factory=dict)
    error: str | None = None
    sha256: str | None = None
    bytes: int | None = None
    model: str | None = None
    provider_params: dict[str, Any] = Field(default_factory=dict)
    output_guard: dict[str, Any] | None = None  # read as guard_block()
    error_status: int | None = None
    replaced_archive: str | None = None
    adopted_from_file: bool | None = None
    final_sha256: str | None = None
    bg_remove: dict[str, Any] | None = None  # the post steps' records (seed keys), read as step(name)
    bg_refine_openai: dict[str, Any] | None = None
    upscale: dict[str, Any] | None = None
    color: dict[str, Any] | None = None
    continuity: dict[str, Any] | None = Field(default=None, json_schema_extra={"keys": CONTINUITY_KEYS})
    previous_failures: list[dict[str, Any]] = Field(default_factory=list)  # failures a resume retried
    cache_key: str | None = None  # the stage cache's content key of this candidate's work
    cached_from: CachedFrom | None = None  # set when reused from the stage cache: shown as "cached"

    def continuity_block(self) -> ContinuityBlock | None:
        """The continuity gate's block, or None when the gate did not score this candidate."""
        return _view(ContinuityBlock, self.continuity)


class RankingEntry(OpenRecord):
    position: int
    candidate_index: int
    status: str | None = None
    eligible: bool = False
    rank: Rank | None = None


class CharacterJobMeta(OpenRecord):
    """What a character run's job makes (``character_job``, written by
    :mod:`kroma_kit.characters.generation`): the image kind and view, the character, and what a
    portfolio or scene image starts from. Read back to resume the run and to record its images."""

    kind: str = "reference"
    view: str | None = None
    code: str | None = None
    character: dict[str, Any] = Field(default_factory=dict)
    all_views: list[Any] = Field(default_factory=list)
    scene_context: str | None = None
    reference_image_id: str | None = None
    reference_external_id: str | None = None
    scene_ref: str | None = None


class CharacterRunMarker(OpenRecord):
    """A run that makes character images (``character_run``): whose, and which kind. Such a run
    is resumed by ``kroma character resume``, not ``kroma run --resume``."""

    code: str
    kind: str


class JobRecord(BlockViews):
    id: str = Field(min_length=1)
    status: JobStatus
    prompt: str
    input_images: list[str]
    mode: str | None = None
    time: str | None = None
    weather: str | None = None
    scene_key: str | None = None
    source: dict[str, Any] = Field(default_factory=dict)
    estimated_cost_usd: Number = 0.0
    selected_candidate: int | None = None
    final_output: str | None = None
    output: str | None = None
    winner_reason: str | None = None
    failure_reason: str | None = None
    winner_override: dict[str, Any] | None = Field(default=None, json_schema_extra={"keys": OVERRIDE_KEYS})
    winner_history: list[dict[str, Any]] = Field(default_factory=list)
    ranking: list[RankingEntry] = Field(default_factory=list)
    candidates: list[CandidateRecord] = Field(default_factory=list)
    output_guard: dict[str, Any] | None = None  # read as guard_block()
    candidates_not_started: int | None = None
    character_placements: list[dict[str, Any]] = Field(default_factory=list)  # where each cut-out goes
    character_ref_count: int | None = None
    bg_remove: dict[str, Any] | None = None  # the winner's step blocks (STEP_BLOCKS), copied to the job
    upscale: dict[str, Any] | None = None
    color: dict[str, Any] | None = None
    character_job: CharacterJobMeta | None = None  # jobs of a character run only

    def candidate(self, index: int) -> CandidateRecord | None:
        return next((c for c in self.candidates if c.candidate_index == index), None)

    def winner(self) -> CandidateRecord | None:
        return self.candidate(self.selected_candidate) if self.selected_candidate else None


class CostEventRecord(OpenRecord):
    provider_code: str
    operation_code: str
    cost_usd: Number
    units: Number = 0
    event_key: str = Field(min_length=1)
    job_id: str | None = None
    candidate_index: int | None = None
    model: str | None = None
    currency: str = "USD"
    usage: dict[str, Any] = Field(default_factory=dict)
    at: str | None = None


class RunLogRecord(OpenRecord):
    """A whole run log. Read one with :func:`kroma_kit.storage.runlog.load_run_log`.

    Fields are declared in the order a new log writes them (``log_from_plan``): the live log is
    written with pydantic-core's serializer, which follows this order (keys it does not name come
    last, e.g. ``generation``, ``source``, ``request``)."""

    schema_version: int
    kind: str | None = None
    run_id: str = Field(min_length=1)
    timestamp: str | None = None
    project: str = Field(min_length=1)
    project_id: str | None = None
    mode: Literal["dry", "run"]
    stage: str | None = None
    time: str | None = None
    weather: str | None = None
    provider: str | None = None
    paid: bool = False
    model: str | None = None
    size: str | None = None
    quality: str | None = None
    provider_params: dict[str, Any] = Field(default_factory=dict)
    status: RunStatus
    status_reason: str | None = None
    started_at: str | None = None
    updated_at: str | None = None
    finished_at: str | None = None
    pid: int | None = None
    host: str | None = None
    process_start: str | None = None
    postprocess: dict[str, Any] | None = None
    output_guard: dict[str, Any] | None = Field(default=None, json_schema_extra={"keys": GUARD_SETTING_KEYS})
    storage: dict[str, Any] | None = None
    warnings: list[Any] = Field(default_factory=list)
    settings_snapshot: dict[str, Any] = Field(default_factory=dict)
    manifest: dict[str, Any] = Field(default_factory=dict)
    manifest_hash: str | None = None
    budgets: dict[str, Any] = Field(default_factory=dict)
    concurrency: int | None = None
    archive_replaced: bool | None = None
    estimated_cost_usd: Number = 0.0
    actual_cost_usd: Number = 0.0
    resumes: list[dict[str, Any]] = Field(default_factory=list)
    jobs: list[JobRecord]
    cost_events: list[CostEventRecord] = Field(default_factory=list)
    candidates_not_started: int | None = None
    s3_files: dict[str, Any] | None = None  # S3-first uploads: done, pending (kroma_kit.pipeline.s3_outputs)
    character_run: CharacterRunMarker | None = None  # set by kroma_kit.characters.generation

    def job(self, job_id: str) -> JobRecord | None:
        return next((job for job in self.jobs if job.id == job_id), None)

    def to_dict(self) -> dict[str, Any]:
        """The log as JSON data, with exactly the keys it was read or built with (no defaults added)."""
        return self.to_json_data()


# The names a reader uses; the ``*Record`` names are kept for existing callers.
RunLogModel = RunLogRecord
JobEntry = JobRecord
CandidateEntry = CandidateRecord
CostEvent = CostEventRecord


def runlog_path(model: type[BaseModel], *names: str) -> str:
    """The JSON path (``$.a.b``) of field ``a`` of ``model``, then ``b`` of that field's model, and
    so on, for SQL that reads a run-log document with ``->>`` (e.g. ``winner_override``,
    ``reviewed_at`` of a job's ``meta_json``). Each name is checked
    against the model's fields (inside a free-form block, against the keys the field declares), so
    a renamed field fails when the module that builds the SQL is imported, not as a silent NULL."""
    if not names:
        raise ValueError("runlog_path needs at least one field name.")
    current: type[BaseModel] | None = model
    keys: tuple[str, ...] | None = None
    for depth, name in enumerate(names):
        where = ".".join(names[:depth]) or model.__name__
        if current is not None:
            field = current.model_fields.get(name)
            if field is None:
                raise KeyError(f"{current.__name__} has no field {name!r} (path {'.'.join(names)})")
            extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
            current, keys = _model_of(field.annotation), tuple(extra.get("keys") or ()) or None  # type: ignore[arg-type]
        elif keys is not None and name in keys:
            keys = None  # a key of a block: nothing is declared below it
        else:
            raise KeyError(f"{where} declares no key {name!r} (path {'.'.join(names)})")
    return "$." + ".".join(names)


def _model_of(annotation: Any) -> type[BaseModel] | None:
    """The model a field holds (``X``, ``X | None``), or None for plain data."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        models = [arg for arg in typing.get_args(annotation) if isinstance(arg, type) and issubclass(arg, BaseModel)]
        return models[0] if len(models) == 1 else None
    return None
