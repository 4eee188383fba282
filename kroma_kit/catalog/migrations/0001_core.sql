-- Core tables for projects, runs, assets, QA, costs and audit (seed 002 target model).
-- Portable SQL: TEXT ids (UUID4), ISO-8601 UTC text timestamps, JSON as TEXT.

CREATE TABLE IF NOT EXISTS app_users (
    id TEXT PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    email TEXT,
    is_active INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

INSERT INTO app_users (id, username, display_name, email, is_active, created_at, updated_at)
VALUES ('00000000-0000-4000-8000-000000000001', 'local', 'Local User', NULL, 1,
        strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
ON CONFLICT DO NOTHING;

CREATE TABLE IF NOT EXISTS projects (
    id TEXT PRIMARY KEY,
    owner_user_id TEXT NOT NULL REFERENCES app_users(id),
    slug TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'archived', 'deleted')),
    settings_json TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (owner_user_id, slug)
);
CREATE INDEX IF NOT EXISTS idx_projects_owner_slug ON projects(owner_user_id, slug);

CREATE TABLE IF NOT EXISTS project_storage (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL UNIQUE REFERENCES projects(id) ON DELETE CASCADE,
    local_base_dir TEXT NOT NULL DEFAULT 'projects',
    local_project_root TEXT,
    s3_enabled INTEGER NOT NULL DEFAULT 0,
    s3_bucket TEXT,
    s3_prefix TEXT,
    s3_region TEXT,
    s3_profile TEXT,
    s3_endpoint_url TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS provider_accounts (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    provider_code TEXT NOT NULL,
    is_enabled INTEGER NOT NULL DEFAULT 1,
    config_json TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (project_id, provider_code)
);

CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    run_mode TEXT NOT NULL CHECK (run_mode IN ('dry', 'run')),
    status TEXT NOT NULL CHECK (status IN ('planned', 'running', 'done', 'failed', 'partial', 'interrupted')),
    stage TEXT,
    time_of_day TEXT,
    weather TEXT,
    model_name TEXT,
    provider_code TEXT,
    run_log_path TEXT,
    pid INTEGER,
    host TEXT,
    estimated_cost_usd REAL NOT NULL DEFAULT 0,
    actual_cost_usd REAL NOT NULL DEFAULT 0,
    jobs_total INTEGER NOT NULL DEFAULT 0,
    jobs_done INTEGER NOT NULL DEFAULT 0,
    status_reason TEXT,
    settings_snapshot_json TEXT NOT NULL DEFAULT '{}',
    started_at TEXT,
    finished_at TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_runs_project_created ON runs(project_id, created_at DESC);

CREATE TABLE IF NOT EXISTS assets (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('input', 'reference', 'generated', 'mask', 'upscaled', 'bg_removed',
                                       'color_corrected', 'final', 'run_log', 'export', 'other')),
    storage_uri TEXT NOT NULL,
    storage_backend TEXT NOT NULL DEFAULT 'local' CHECK (storage_backend IN ('local', 's3')),
    rel_path TEXT,
    mime_type TEXT,
    width INTEGER,
    height INTEGER,
    size_bytes INTEGER,
    sha256 TEXT,
    run_id TEXT REFERENCES runs(id) ON DELETE SET NULL,
    metadata_json TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL,
    UNIQUE (project_id, storage_uri)
);
CREATE INDEX IF NOT EXISTS idx_assets_project_kind_created ON assets(project_id, kind, created_at DESC);
CREATE INDEX IF NOT EXISTS idx_assets_project_sha ON assets(project_id, sha256);

CREATE TABLE IF NOT EXISTS asset_links (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    parent_asset_id TEXT NOT NULL REFERENCES assets(id) ON DELETE CASCADE,
    child_asset_id TEXT NOT NULL REFERENCES assets(id) ON DELETE CASCADE,
    link_type TEXT NOT NULL CHECK (link_type IN ('derived_from', 'variant_of', 'mask_for', 'reference_of')),
    created_at TEXT NOT NULL,
    UNIQUE (parent_asset_id, child_asset_id, link_type)
);

CREATE TABLE IF NOT EXISTS run_jobs (
    id TEXT PRIMARY KEY,
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    job_key TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('planned', 'running', 'done', 'failed_output_guard', 'failed',
                                           'skipped_budget')),
    prompt_text TEXT NOT NULL,
    selected_candidate_index INTEGER,
    final_asset_id TEXT REFERENCES assets(id) ON DELETE SET NULL,
    estimated_cost_usd REAL NOT NULL DEFAULT 0,
    meta_json TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL,
    UNIQUE (run_id, job_key)
);
CREATE INDEX IF NOT EXISTS idx_run_jobs_run_status ON run_jobs(run_id, status);

CREATE TABLE IF NOT EXISTS run_candidates (
    id TEXT PRIMARY KEY,
    job_id TEXT NOT NULL REFERENCES run_jobs(id) ON DELETE CASCADE,
    candidate_index INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('planned', 'generated', 'done', 'failed_output_guard', 'failed')),
    output_asset_id TEXT REFERENCES assets(id) ON DELETE SET NULL,
    final_asset_id TEXT REFERENCES assets(id) ON DELETE SET NULL,
    rank_hard_failures INTEGER NOT NULL DEFAULT 0,
    rank_soft_warnings INTEGER NOT NULL DEFAULT 0,
    rank_avg_chroma_exceed REAL NOT NULL DEFAULT 0,
    chroma_delta REAL,
    rank_position INTEGER,
    seed INTEGER,
    cost_usd REAL NOT NULL DEFAULT 0,
    latency_ms INTEGER,
    meta_json TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL,
    UNIQUE (job_id, candidate_index)
);
CREATE INDEX IF NOT EXISTS idx_run_candidates_job_index ON run_candidates(job_id, candidate_index);

CREATE TABLE IF NOT EXISTS quality_reports (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    run_id TEXT REFERENCES runs(id) ON DELETE CASCADE,
    job_id TEXT REFERENCES run_jobs(id) ON DELETE CASCADE,
    candidate_id TEXT REFERENCES run_candidates(id) ON DELETE CASCADE,
    asset_id TEXT REFERENCES assets(id) ON DELETE SET NULL,
    report_type TEXT NOT NULL CHECK (report_type IN ('output_guard', 'model_score', 'human_review')),
    verdict TEXT CHECK (verdict IN ('pass', 'warn', 'fail')),
    chroma_delta REAL,
    summary_json TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_quality_reports_project_created ON quality_reports(project_id, created_at DESC);

CREATE TABLE IF NOT EXISTS cost_events (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    run_id TEXT REFERENCES runs(id) ON DELETE CASCADE,
    job_key TEXT,
    candidate_index INTEGER,
    provider_code TEXT NOT NULL,
    operation_code TEXT NOT NULL,
    model_name TEXT,
    units REAL NOT NULL DEFAULT 0,
    cost_usd REAL NOT NULL DEFAULT 0,
    currency TEXT NOT NULL DEFAULT 'USD',
    event_key TEXT,
    meta_json TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL,
    UNIQUE (project_id, event_key)
);
CREATE INDEX IF NOT EXISTS idx_cost_events_project_created ON cost_events(project_id, created_at DESC);

CREATE TABLE IF NOT EXISTS prompt_templates (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    stage TEXT NOT NULL,
    template_text TEXT NOT NULL,
    version INTEGER NOT NULL,
    is_active INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    UNIQUE (project_id, name, version)
);

CREATE TABLE IF NOT EXISTS audit_events (
    id TEXT PRIMARY KEY,
    project_id TEXT REFERENCES projects(id) ON DELETE CASCADE,
    actor_user_id TEXT REFERENCES app_users(id),
    event_code TEXT NOT NULL,
    payload_json TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_audit_events_project_created ON audit_events(project_id, created_at DESC);
