-- Creative knowledge layer (seed 002 §5.2) and the character image workspace (seed 004).
-- Portable SQL: TEXT ids (UUID4), ISO-8601 UTC text timestamps, JSON as TEXT, no AUTOINCREMENT.
-- Rows are never deleted by Kroma Kit: characters and images are marked deleted (deleted_at).

CREATE TABLE IF NOT EXISTS style_guides (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    rules_json TEXT NOT NULL DEFAULT '{}',
    is_default INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (project_id, name)
);
-- At most one default style guide per project.
CREATE UNIQUE INDEX IF NOT EXISTS idx_style_guides_one_default ON style_guides(project_id) WHERE is_default = 1;

CREATE TABLE IF NOT EXISTS characters (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    bio TEXT NOT NULL DEFAULT '',
    identity_constraints_json TEXT NOT NULL DEFAULT '{}',
    style_guide_id TEXT REFERENCES style_guides(id) ON DELETE SET NULL,
    metadata_json TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    deleted_at TEXT
);
-- seed 002: unique (project_id, code); a deleted character frees its code.
CREATE UNIQUE INDEX IF NOT EXISTS idx_characters_project_code ON characters(project_id, code) WHERE deleted_at IS NULL;
CREATE INDEX IF NOT EXISTS idx_characters_project ON characters(project_id, code);

CREATE TABLE IF NOT EXISTS reference_sets (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('style', 'character', 'scene', 'lighting', 'other')),
    character_id TEXT REFERENCES characters(id) ON DELETE SET NULL,
    description TEXT NOT NULL DEFAULT '',
    metadata_json TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (project_id, name)
);
CREATE INDEX IF NOT EXISTS idx_reference_sets_character ON reference_sets(project_id, character_id);

CREATE TABLE IF NOT EXISTS reference_items (
    id TEXT PRIMARY KEY,
    reference_set_id TEXT NOT NULL REFERENCES reference_sets(id) ON DELETE CASCADE,
    asset_id TEXT NOT NULL REFERENCES assets(id) ON DELETE CASCADE,
    weight REAL NOT NULL DEFAULT 1.0,
    notes TEXT NOT NULL DEFAULT '',
    role TEXT NOT NULL DEFAULT 'reference',
    sort_order INTEGER NOT NULL DEFAULT 0,
    metadata_json TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL,
    UNIQUE (reference_set_id, asset_id)
);

CREATE TABLE IF NOT EXISTS character_images (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    character_id TEXT NOT NULL REFERENCES characters(id) ON DELETE CASCADE,
    asset_id TEXT REFERENCES assets(id) ON DELETE SET NULL,
    kind TEXT NOT NULL CHECK (kind IN ('reference', 'portfolio_item', 'scene')),
    view TEXT,
    provider TEXT NOT NULL,
    prompt TEXT NOT NULL DEFAULT '',
    source_url TEXT,
    external_id TEXT,
    status TEXT NOT NULL CHECK (status IN ('succeeded', 'failed')),
    error TEXT,
    metrics_json TEXT NOT NULL DEFAULT '{}',
    run_id TEXT REFERENCES runs(id) ON DELETE SET NULL,
    job_key TEXT,
    parent_image_id TEXT REFERENCES character_images(id) ON DELETE SET NULL,
    created_by TEXT REFERENCES app_users(id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    deleted_at TEXT,
    archived_path TEXT,
    remote_delete_json TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS idx_character_images_character_created
    ON character_images(project_id, character_id, created_at DESC);
