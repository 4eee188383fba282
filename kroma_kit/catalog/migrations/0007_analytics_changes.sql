-- Row change log for the analytics snapshot (kroma_kit.analytics.snapshot_delta).
-- Why: every process keeps a DuckDB copy of the catalog for workspace-wide dashboards; copying a
-- 1M-candidate catalog whole after each commit takes seconds. New rows are found by rowid (these
-- tables have TEXT ids, so SQLite numbers rows max(rowid) + 1), but an UPDATE of an existing row
-- (a run's status, a candidate's verdict) or a DELETE leaves no such trace: these triggers log
-- the key of every updated or deleted row, so a snapshot re-reads just those rows (a delete makes
-- it copy again whole). Inserts are not logged: bulk inserts stay as cheap as before.
-- The log keeps about the last 100,000 changes (pruned every 10,000): a snapshot older than that
-- copies whole. A table without these triggers is copied whole after any change.

CREATE TABLE IF NOT EXISTS kroma_row_changes (
    seq INTEGER PRIMARY KEY,
    table_name TEXT NOT NULL,
    row_key TEXT,
    deleted INTEGER NOT NULL DEFAULT 0
);

CREATE TRIGGER IF NOT EXISTS kroma_row_changes_prune AFTER INSERT ON kroma_row_changes
WHEN NEW.seq % 10000 = 0
BEGIN
    DELETE FROM kroma_row_changes WHERE seq <= NEW.seq - 100000;
END;

CREATE TRIGGER IF NOT EXISTS kroma_changes_app_users_update AFTER UPDATE ON app_users
BEGIN
    INSERT INTO kroma_row_changes (table_name, row_key, deleted) VALUES ('app_users', NEW.id, 0);
    INSERT INTO kroma_row_changes (table_name, row_key, deleted) SELECT 'app_users', OLD.id, 1 WHERE OLD.id IS NOT NEW.id;
END;
CREATE TRIGGER IF NOT EXISTS kroma_changes_app_users_delete AFTER DELETE ON app_users
BEGIN
    INSERT INTO kroma_row_changes (table_name, row_key, deleted) VALUES ('app_users', OLD.id, 1);
END;
CREATE TRIGGER IF NOT EXISTS kroma_changes_projects_update AFTER UPDATE ON projects
BEGIN
    INSERT INTO kroma_row_changes (table_name, row_key, deleted) VALUES ('projects', NEW.id, 0);
    INSERT INTO kroma_row_changes (table_name, row_key, deleted) SELECT 'projects', OLD.id, 1 WHERE OLD.id IS NOT NEW.id;
END;
CREATE TRIGGER IF NOT EXISTS kroma_changes_projects_delete AFTER DELETE ON projects
BEGIN
    INSERT INTO kroma_row_changes (table_name, row_key, deleted) VALUES ('projects', OLD.id, 1);
END;
CREATE TRIGGER IF NOT EXISTS kroma_changes_project_storage_update AFTER UPDATE ON project_storage
BEGIN
    INSERT INTO kroma_row_changes (table_name, row_key, deleted) VALUES ('project_storage', NEW.id, 0);
    INSERT INTO kroma_row_changes (table_name, row_key, deleted) SELECT 'project_storage', OLD.id, 1 WHERE OLD.id IS NOT NEW.id;
END;
CREATE TRIGGER IF NOT EXISTS kroma_changes_project_storage_delete AFTER DELETE ON project_storage
BEGIN
    INSERT INTO kroma_row_changes (table_name, row_key, deleted) VALUES ('project_storage', OLD.id, 1);
END;
CREATE TRIGGER IF NOT EXISTS kroma_changes_provider_accounts_update AFTER UPDATE ON provider_accounts
BEGIN
    INSERT INTO kroma_row_changes (table_name, row_key, deleted) VALUES ('provider_accounts', NEW.id, 0);
    INSERT INTO kroma_row_changes (table_name, row_key, deleted) SELECT 'provider_accounts', OLD.id, 1 WHERE OLD.id IS NOT NEW.id;
END;
CREATE TRIGGER IF NOT EXISTS kroma_changes_provider_accounts_delete AFTER DELETE ON provider_accounts
BEGIN
    INSERT INTO kroma_row_changes (table_name, row_key, deleted) VALUES ('provider_accounts', OLD.id, 1);
END;
CREATE TRIGGER IF NOT EXISTS kroma_changes_runs_update AFTER UPDATE ON runs
BEGIN
    INSERT INTO kroma_row_changes (table_name, row_key, deleted) VALUES ('runs', NEW.id, 0);
    INSERT INTO kroma_row_changes (table_name, row_key, deleted) SELECT 'runs', OLD.id, 1 WHERE OLD.id IS NOT NEW.id;
END;
CREATE TRIGGER IF NOT EXISTS kroma_changes_runs_delete AFTER DELETE ON runs
BEGIN
    INSERT INTO kroma_row_changes (table_name, row_key, deleted) VALUES ('runs', OLD.id, 1);
END;
CREATE TRIGGER IF NOT EXISTS kroma_changes_assets_update AFTER UPDATE ON assets
BEGIN
    INSERT INTO kroma_row_changes (table_name, row_key, deleted) VALUES ('assets', NEW.id, 0);
    INSERT INTO kroma_row_changes (table_name, row_key, deleted) SELECT 'assets', OLD.id, 1 WHERE OLD.id IS NOT NEW.id;
END;
CREATE TRIGGER IF NOT EXISTS kroma_changes_assets_delete AFTER DELETE ON assets
BEGIN
    INSERT INTO kroma_row_changes (table_name, row_key, deleted) VALUES ('assets', OLD.id, 1);
END;
CREATE TRIGGER IF NOT EXISTS kroma_changes_asset_links_update AFTER UPDATE ON asset_links
BEGIN
    INSERT INTO kroma_row_changes (table_name, row_key, deleted) VALUES ('asset_links', NEW.id, 0);
    INSERT INTO kroma_row_changes (table_name, row_key, deleted) SELECT 'asset_links', OLD.id, 1 WHERE OLD.id IS NOT NEW.id;
END;
CREATE TRIGGER IF NOT EXISTS kroma_changes_asset_links_delete AFTER DELETE ON asset_links
BEGIN
    INSERT INTO kroma_row_changes (table_name, row_key, deleted) VALUES ('asset_links', OLD.id, 1);
END;
CREATE TRIGGER IF NOT EXISTS kroma_changes_run_jobs_update AFTER UPDATE ON run_jobs
BEGIN
    INSERT INTO kroma_row_changes (table_name, row_key, deleted) VALUES ('run_jobs', NEW.id, 0);
    INSERT INTO kroma_row_changes (table_name, row_key, deleted) SELECT 'run_jobs', OLD.id, 1 WHERE OLD.id IS NOT NEW.id;
END;
CREATE TRIGGER IF NOT EXISTS kroma_changes_run_jobs_delete AFTER DELETE ON run_jobs
BEGIN
    INSERT INTO kroma_row_changes (table_name, row_key, deleted) VALUES ('run_jobs', OLD.id, 1);
END;
CREATE TRIGGER IF NOT EXISTS kroma_changes_run_candidates_update AFTER UPDATE ON run_candidates
BEGIN
    INSERT INTO kroma_row_changes (table_name, row_key, deleted) VALUES ('run_candidates', NEW.id, 0);
    INSERT INTO kroma_row_changes (table_name, row_key, deleted) SELECT 'run_candidates', OLD.id, 1 WHERE OLD.id IS NOT NEW.id;
END;
CREATE TRIGGER IF NOT EXISTS kroma_changes_run_candidates_delete AFTER DELETE ON run_candidates
BEGIN
    INSERT INTO kroma_row_changes (table_name, row_key, deleted) VALUES ('run_candidates', OLD.id, 1);
END;
CREATE TRIGGER IF NOT EXISTS kroma_changes_quality_reports_update AFTER UPDATE ON quality_reports
BEGIN
    INSERT INTO kroma_row_changes (table_name, row_key, deleted) VALUES ('quality_reports', NEW.id, 0);
    INSERT INTO kroma_row_changes (table_name, row_key, deleted) SELECT 'quality_reports', OLD.id, 1 WHERE OLD.id IS NOT NEW.id;
END;
CREATE TRIGGER IF NOT EXISTS kroma_changes_quality_reports_delete AFTER DELETE ON quality_reports
BEGIN
    INSERT INTO kroma_row_changes (table_name, row_key, deleted) VALUES ('quality_reports', OLD.id, 1);
END;
CREATE TRIGGER IF NOT EXISTS kroma_changes_cost_events_update AFTER UPDATE ON cost_events
BEGIN
    INSERT INTO kroma_row_changes (table_name, row_key, deleted) VALUES ('cost_events', NEW.id, 0);
    INSERT INTO kroma_row_changes (table_name, row_key, deleted) SELECT 'cost_events', OLD.id, 1 WHERE OLD.id IS NOT NEW.id;
END;
CREATE TRIGGER IF NOT EXISTS kroma_changes_cost_events_delete AFTER DELETE ON cost_events
BEGIN
    INSERT INTO kroma_row_changes (table_name, row_key, deleted) VALUES ('cost_events', OLD.id, 1);
END;
CREATE TRIGGER IF NOT EXISTS kroma_changes_prompt_templates_update AFTER UPDATE ON prompt_templates
BEGIN
    INSERT INTO kroma_row_changes (table_name, row_key, deleted) VALUES ('prompt_templates', NEW.id, 0);
    INSERT INTO kroma_row_changes (table_name, row_key, deleted) SELECT 'prompt_templates', OLD.id, 1 WHERE OLD.id IS NOT NEW.id;
END;
CREATE TRIGGER IF NOT EXISTS kroma_changes_prompt_templates_delete AFTER DELETE ON prompt_templates
BEGIN
    INSERT INTO kroma_row_changes (table_name, row_key, deleted) VALUES ('prompt_templates', OLD.id, 1);
END;
CREATE TRIGGER IF NOT EXISTS kroma_changes_audit_events_update AFTER UPDATE ON audit_events
BEGIN
    INSERT INTO kroma_row_changes (table_name, row_key, deleted) VALUES ('audit_events', NEW.id, 0);
    INSERT INTO kroma_row_changes (table_name, row_key, deleted) SELECT 'audit_events', OLD.id, 1 WHERE OLD.id IS NOT NEW.id;
END;
CREATE TRIGGER IF NOT EXISTS kroma_changes_audit_events_delete AFTER DELETE ON audit_events
BEGIN
    INSERT INTO kroma_row_changes (table_name, row_key, deleted) VALUES ('audit_events', OLD.id, 1);
END;
