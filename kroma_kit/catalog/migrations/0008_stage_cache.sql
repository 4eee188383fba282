-- Stage caching (issue 17): the content key of a candidate's work (inputs' sha256, prompt,
-- provider/model/parameters, seed slot, settings that change the output) -> the candidate that
-- did it, with its run-log record, so a re-run with the same key reuses the files instead of
-- paying again. One row per key and project; a newer candidate with the same key replaces it.
-- Portable SQL (SQLite and PostgreSQL): plain TEXT/INTEGER columns, a composite primary key.

CREATE TABLE IF NOT EXISTS stage_cache (
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    cache_key TEXT NOT NULL,
    run_id TEXT NOT NULL,
    job_id TEXT NOT NULL,
    candidate_index INTEGER NOT NULL,
    record_json TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (project_id, cache_key)
);
CREATE INDEX IF NOT EXISTS idx_stage_cache_run ON stage_cache(run_id);
