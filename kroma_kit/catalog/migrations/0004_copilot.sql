-- Copilot: chat sessions and messages, agent instructions (seed 002 section 5.6 and the section 9.2
-- envelope), their event log, and voice requests. Portable SQL: TEXT ids, ISO-8601 UTC text
-- timestamps, JSON as TEXT, no AUTOINCREMENT. ``seq`` orders instructions by age exactly (two created
-- in the same millisecond keep their order); it is assigned inside the inserting transaction.

CREATE TABLE IF NOT EXISTS chat_sessions (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES app_users(id),
    title TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'archived')),
    context_json TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_chat_sessions_project_updated ON chat_sessions(project_id, updated_at DESC);

CREATE TABLE IF NOT EXISTS chat_messages (
    id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES chat_sessions(id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('user', 'assistant', 'system', 'tool')),
    content_text TEXT NOT NULL,
    content_json TEXT NOT NULL DEFAULT '{}',
    voice_asset_id TEXT REFERENCES assets(id) ON DELETE SET NULL,
    token_usage_json TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_chat_messages_session_created ON chat_messages(session_id, created_at);

CREATE TABLE IF NOT EXISTS agent_instructions (
    id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL UNIQUE,
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    session_id TEXT REFERENCES chat_sessions(id) ON DELETE SET NULL,
    message_id TEXT REFERENCES chat_messages(id) ON DELETE SET NULL,
    instruction_type TEXT NOT NULL CHECK (instruction_type IN
        ('pipeline_run', 'asset_edit', 'qa_check', 'storage_sync', 'custom')),
    payload_json TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('draft', 'queued', 'running', 'done', 'failed', 'canceled')),
    priority INTEGER NOT NULL DEFAULT 100,
    requires_confirmation INTEGER NOT NULL DEFAULT 0,
    confirmed_by_user_id TEXT REFERENCES app_users(id),
    estimate_json TEXT NOT NULL DEFAULT '{}',
    attempts INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER,
    locked_by TEXT,
    locked_at TEXT,
    next_attempt_at TEXT,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    result_json TEXT NOT NULL DEFAULT '{}',
    queued_at TEXT,
    started_at TEXT,
    finished_at TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_agent_instructions_queue ON agent_instructions(status, priority, seq);
CREATE INDEX IF NOT EXISTS idx_agent_instructions_project_created
    ON agent_instructions(project_id, created_at DESC);

CREATE TABLE IF NOT EXISTS agent_instruction_events (
    id TEXT PRIMARY KEY,
    instruction_id TEXT NOT NULL REFERENCES agent_instructions(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    event_type TEXT NOT NULL,
    status_from TEXT,
    status_to TEXT,
    worker_id TEXT,
    message TEXT NOT NULL DEFAULT '',
    payload_json TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL,
    UNIQUE (instruction_id, seq)
);

CREATE TABLE IF NOT EXISTS voice_requests (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    session_id TEXT REFERENCES chat_sessions(id) ON DELETE SET NULL,
    message_id TEXT REFERENCES chat_messages(id) ON DELETE SET NULL,
    direction TEXT NOT NULL CHECK (direction IN ('stt', 'tts')),
    provider_code TEXT NOT NULL,
    model_name TEXT,
    status TEXT NOT NULL CHECK (status IN ('queued', 'done', 'failed')),
    input_asset_id TEXT REFERENCES assets(id) ON DELETE SET NULL,
    output_asset_id TEXT REFERENCES assets(id) ON DELETE SET NULL,
    text TEXT NOT NULL DEFAULT '',
    latency_ms INTEGER,
    error TEXT,
    meta_json TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL,
    finished_at TEXT
);
CREATE INDEX IF NOT EXISTS idx_voice_requests_project_created ON voice_requests(project_id, created_at DESC);
