-- S3-first project files (issue 17): a project's storage mode, and the outputs written while the
-- bucket could not be reached. Additive only; portable SQL (no SQLite-only syntax).

-- 'local' (files on disk only), 'mirror' (disk + `kroma sync push` to S3), 's3' (each output goes to
-- the bucket as it is made; the local root is a cache). Rows from before this migration read as
-- 'local'; `s3_enabled` still says whether a mirror push is allowed.
ALTER TABLE project_storage ADD COLUMN storage_mode TEXT NOT NULL DEFAULT 'local'
    CHECK (storage_mode IN ('local', 'mirror', 's3'));

-- An output of an S3-first project whose upload failed: kept on disk, never evicted, retried by the
-- next output written and by `kroma sync push` (which clears the row once the object is up).
CREATE TABLE IF NOT EXISTS storage_pending_uploads (
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    rel_path TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    run_id TEXT,
    attempts INTEGER NOT NULL DEFAULT 1,
    last_error TEXT,
    first_failed_at TEXT NOT NULL,
    last_failed_at TEXT NOT NULL,
    PRIMARY KEY (project_id, rel_path)
);
