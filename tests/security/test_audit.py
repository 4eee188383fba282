"""The audit trail: one writer that redacts secrets, `kroma audit list`, and the overview section."""

from __future__ import annotations

import json
import subprocess
import sys

from kroma_kit.catalog.audit import REDACTED, redact, write_event
from kroma_kit.catalog.projects import archive_project, create_project
from kroma_kit.security.audit_view import audit_rows
from tests.conftest import cli_env


def test_redact_hides_secret_values_but_keeps_names_and_counts() -> None:
    payload = {"api_key": "sk-1", "secret_name": "api_key", "nested": [{"Authorization": "Bearer x"}],
               "plaintext_reencrypted": 2, "path": "outputs/a.png", "aws_secret_access_key": "abc"}
    assert redact(payload) == {"api_key": REDACTED, "secret_name": "api_key",
                               "nested": [{"Authorization": REDACTED}], "plaintext_reencrypted": 2,
                               "path": "outputs/a.png", "aws_secret_access_key": REDACTED}


def test_write_event_lists_newest_first_with_actor_and_filter(workspace) -> None:
    project = create_project(workspace, "ep1")
    write_event(workspace.catalog_path, "image.deleted", {"path": "outputs/x.png", "token": "tok-123"},
                project_id=project["id"])
    archive_project(workspace, "ep1")
    rows = audit_rows(workspace, "ep1")
    assert [r["event_code"] for r in rows] == ["project.archived", "image.deleted", "project.created"]
    assert rows[1]["actor"] == "local" and rows[1]["payload"] == {"path": "outputs/x.png", "token": REDACTED}
    assert [r["event_code"] for r in audit_rows(workspace, "ep1", code_prefix="image.")] == ["image.deleted"]
    assert audit_rows(workspace, "ep1", code_prefix="image_") == []  # '_' is literal, not a wildcard
    out = subprocess.run([sys.executable, "-m", "kroma_kit", "audit", "list", "--project", "ep1", "--json"],
                         capture_output=True, text=True, env=cli_env(workspace.home), timeout=60)
    assert out.returncode == 0, out.stderr
    assert [e["event_code"] for e in json.loads(out.stdout)] == [r["event_code"] for r in rows]
    assert "tok-123" not in out.stdout


def test_overview_dashboard_shows_the_audit_section(workspace) -> None:
    from kroma_kit.dashboards import check_rendered, project_overview_dashboard
    from kroma_kit.dashboards.context import read_workspace

    project = create_project(workspace, "ep1")
    write_event(workspace.catalog_path, "sync.push", {"uploaded": 3}, project_id=project["id"])
    view = project_overview_dashboard(read_workspace(workspace.home), project="ep1")
    figures = check_rendered(view)
    assert figures["audit-events"] == [r["id"] for r in audit_rows(workspace, "ep1", limit=10)]
    html = view.body.value
    assert 'data-section="audit"' in html and "sync.push" in html and "uploaded=3" in html
