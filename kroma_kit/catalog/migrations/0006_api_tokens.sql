-- Bearer tokens of the REST API (kroma-behavior.md §8.2). Only the SHA-256 of a token is stored,
-- with its first 12 characters to tell tokens apart in lists; the token itself is shown once.
-- project_id NULL = every project; expires_at / revoked_at / last_used_at are ISO-8601 UTC text.

CREATE TABLE IF NOT EXISTS api_tokens (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES app_users(id),
    project_id TEXT REFERENCES projects(id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    token_prefix TEXT NOT NULL,
    label TEXT NOT NULL DEFAULT '',
    expires_at TEXT,
    revoked_at TEXT,
    last_used_at TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_api_tokens_revoked_expires ON api_tokens(revoked_at, expires_at);
