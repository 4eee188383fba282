"""The API's wire types: the envelopes (``{"ok": true, <named payload>}`` and the error envelope)
and the catalog records they carry. They double as the OpenAPI schemas. Records name the fields
clients rely on and allow the rest (``extra="allow"``), so a column added by a later migration
shows up without breaking the schema."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class ErrorEnvelope(BaseModel):
    ok: Literal[False] = False
    error: str = Field(description="what failed, why, and what to do; one line")
    error_kind: Literal["validation", "provider", "infra", "policy", "unknown"]
    error_code: str = Field(description="stable code: validation_error, not_found, unauthorized, forbidden, "
                                        "invalid_project_slug, spend_confirmation_required, internal_error, ...")


class Envelope(BaseModel):
    ok: Literal[True] = True


class Record(BaseModel):
    model_config = ConfigDict(extra="allow")


class DeletedResponse(Envelope):
    deleted: Literal[True] = True
    id: str


class Project(Record):
    id: str
    slug: str
    name: str
    description: str
    status: str
    settings: dict[str, Any]
    root: str
    created_at: str
    updated_at: str


class Storage(Record):
    project_id: str
    local_base_dir: str
    local_project_root: str | None = None
    s3_enabled: bool
    s3_bucket: str | None = None
    s3_prefix: str | None = None
    s3_region: str | None = None
    s3_profile: str | None = None
    s3_endpoint_url: str | None = None
    resolved_root: str


class Candidate(Record):
    id: str
    job_id: str
    candidate_index: int
    status: str
    output_asset_id: str | None = None
    final_asset_id: str | None = None
    rank_hard_failures: int
    rank_soft_warnings: int
    rank_avg_chroma_exceed: float
    chroma_delta: float | None = None
    seed: int | None = None
    cost_usd: float
    meta: dict[str, Any]


class Job(Record):
    id: str
    run_id: str
    job_key: str
    status: str
    prompt_text: str
    selected_candidate_index: int | None = None
    final_asset_id: str | None = None
    meta: dict[str, Any]


class JobWithCandidates(Job):
    candidates: list[Candidate]


class Run(Record):
    id: str
    project_id: str
    project_slug: str
    run_mode: str
    status: str
    stage: str | None = None
    provider_code: str | None = None
    jobs_total: int
    jobs_done: int
    jobs_failed: int
    estimated_cost_usd: float
    actual_cost_usd: float
    status_reason: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    created_at: str


class Asset(Record):
    id: str
    project_id: str
    kind: str
    storage_uri: str
    rel_path: str | None = None
    mime_type: str | None = None
    width: int | None = None
    height: int | None = None
    size_bytes: int | None = None
    sha256: str | None = None
    run_id: str | None = None
    metadata: dict[str, Any]
    created_at: str


class LinkRef(Record):
    link_id: str
    asset_id: str
    link_type: str


class AssetDetail(Asset):
    parents: list[LinkRef]
    children: list[LinkRef]


class AssetLink(Record):
    id: str
    project_id: str
    parent_asset_id: str
    child_asset_id: str
    link_type: str
    created_at: str


class QualityReport(Record):
    id: str
    project_id: str
    run_id: str | None = None
    job_id: str | None = None
    candidate_id: str | None = None
    asset_id: str | None = None
    report_type: str
    verdict: str | None = None
    chroma_delta: float | None = None
    summary: dict[str, Any]
    created_at: str


class CostEvent(Record):
    id: str
    project_id: str
    run_id: str | None = None
    provider_code: str
    operation_code: str
    units: float
    cost_usd: float
    currency: str
    meta: dict[str, Any]
    created_at: str


class AuditEvent(Record):
    id: str
    project_id: str | None = None
    actor_user_id: str | None = None
    actor: str = Field(description="the actor's user name (or id)")
    event_code: str
    payload: dict[str, Any] = Field(description="secret-named fields are stored redacted")
    summary: str
    created_at: str


class PromptTemplate(Record):
    id: str
    project_id: str
    name: str
    stage: str
    template_text: str
    version: int
    is_active: bool
    created_at: str


class ProviderAccount(Record):
    id: str
    project_id: str
    provider_code: str
    enabled: bool
    display_name: str | None = None
    account_ref: str | None = None
    base_url: str | None = None
    config_json: dict[str, Any]
    created_at: str
    updated_at: str


class ApiToken(Record):
    id: str
    project_id: str | None = None
    project_slug: str | None = None
    token_prefix: str
    label: str
    expires_at: str | None = None
    revoked_at: str | None = None
    last_used_at: str | None = None
    created_at: str


class NewApiToken(ApiToken):
    token: str = Field(description="the bearer token; shown this once, only its SHA-256 is kept")
