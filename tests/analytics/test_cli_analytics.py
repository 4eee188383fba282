"""``kroma analytics summary|overview|sql``: the same numbers as the Python calls, as JSON or a table."""

from __future__ import annotations

import json
import subprocess
import sys

from kroma_kit import analytics
from tests.conftest import REPO_ROOT, cli_env


def run_cli(real, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kroma_kit", *args], capture_output=True, text=True,
                          env=cli_env(real.ws.home, real.ws.catalog_url), cwd=REPO_ROOT, timeout=120)


def test_summary_json_matches_the_python_call(real):
    done = run_cli(real, "analytics", "summary", "--project", "demo", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == analytics.project_summary(real.ws, "demo")


def test_sql_json_and_table(real):
    query = "SELECT stage, COUNT(*) AS candidates FROM v_candidates WHERE mode = 'run' GROUP BY stage ORDER BY stage"
    done = run_cli(real, "analytics", "sql", "--query", query, "--json")
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    expected = real.rows("SELECT r.stage, COUNT(*) AS candidates FROM run_candidates c JOIN run_jobs j ON j.id = "
                         "c.job_id JOIN runs r ON r.id = j.run_id WHERE r.run_mode = 'run' GROUP BY r.stage "
                         "ORDER BY r.stage")
    assert rows == expected
    table = run_cli(real, "analytics", "sql", "--query", query)
    assert table.stdout.splitlines()[0].split() == ["stage", "candidates"]
    bad = run_cli(real, "analytics", "sql", "--query", "SELECT * FROM nope")
    assert bad.returncode == 2 and bad.stderr.startswith("error: Analytics query failed")


def test_overview_lists_active_projects(real):
    done = run_cli(real, "analytics", "overview", "--json")
    assert [row["slug"] for row in json.loads(done.stdout)] == ["demo", "empty"]
