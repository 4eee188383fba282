-- Storage and security (issue 14): encrypted provider secrets, export records, S3 sync state.
-- Additive only. Portable SQL: TEXT ids, ISO-8601 UTC text timestamps, JSON as TEXT.

-- Provider secrets per project, Fernet-encrypted under the workspace master key (seed 002 §5.1).
-- key_ref names the master key a row is encrypted with ('plaintext' marks a legacy row to re-encrypt).
CREATE TABLE IF NOT EXISTS project_api_secrets (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    provider_code TEXT NOT NULL,
    secret_name TEXT NOT NULL,
    secret_ciphertext TEXT NOT NULL,
    key_ref TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (project_id, provider_code, secret_name)
);

-- One row per export bundle written (seed 002 §5.5), with the archive's sha256.
CREATE TABLE IF NOT EXISTS project_exports (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    export_asset_id TEXT REFERENCES assets(id) ON DELETE SET NULL,
    format TEXT NOT NULL CHECK (format IN ('tar.gz', 'zip', 'folder')),
    sha256 TEXT,
    output_path TEXT,
    include_files INTEGER NOT NULL DEFAULT 1,
    metadata_json TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_project_exports_project_created ON project_exports(project_id, created_at DESC);

-- What the last successful push/pull left at each S3 key: lets an unchanged project resync with one
-- LIST (size + etag compared to what we stored) instead of a HEAD per file.
CREATE TABLE IF NOT EXISTS project_sync_state (
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    destination TEXT NOT NULL,
    rel_path TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    etag TEXT,
    synced_at TEXT NOT NULL,
    PRIMARY KEY (project_id, destination, rel_path)
);

-- Every push/pull (also dry runs and failures), so a failed post-run push is visible later.
CREATE TABLE IF NOT EXISTS sync_runs (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    direction TEXT NOT NULL CHECK (direction IN ('push', 'pull')),
    destination TEXT NOT NULL,
    dry_run INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL CHECK (status IN ('ok', 'failed', 'partial', 'skipped')),
    triggered_by TEXT NOT NULL DEFAULT 'cli',
    run_id TEXT REFERENCES runs(id) ON DELETE SET NULL,
    summary_json TEXT NOT NULL DEFAULT '{}',
    error TEXT,
    started_at TEXT NOT NULL,
    finished_at TEXT
);
CREATE INDEX IF NOT EXISTS idx_sync_runs_project_started ON sync_runs(project_id, started_at DESC);
