"""Every JSON path the analytics SQL reads from a run-log document resolves to a field of the
typed run-log model, so renaming a field breaks this test (and the import), never a view quietly
returning NULL."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import kroma_kit
from kroma_kit.analytics import pictures, views
from kroma_kit.storage.runlog_model import CandidateRecord, JobRecord, RunLogModel, runlog_path

# ``<alias>.<column> ->> '<path>'`` or ``log ->> '<path>'``, as the views and pictures spell them.
PATH_USE = re.compile(r"(?:(\w+)\.)?(\w+)\s*->>\s*'(\$[^']*)'")
# Which model each document column holds: a job's and a candidate's meta_json are their run-log
# entries; run_logs' ``log`` (and read_json_objects' ``json``) is the whole log.
DOCUMENTS = {("j", "meta_json"): JobRecord, ("c", "meta_json"): CandidateRecord, (None, "log"): RunLogModel,
             ("o", "json"): RunLogModel}
NOT_RUN_LOGS = {"settings_snapshot_json"}  # the runs row's own settings snapshot, not a run-log document


def _sql_texts() -> list[str]:
    texts = [*views.VIEW_SQL.values(), views.run_logs_sql([("demo", "/tmp/r.json")]), pictures.THRESHOLD_SQL]
    return texts + [value for module in (views, pictures) for value in vars(module).values()
                    if isinstance(value, str) and "->>" in value]


def test_every_json_path_in_the_analytics_sql_is_a_model_field():
    seen = set()
    for text in _sql_texts():
        for alias, column, path in PATH_USE.findall(text):
            if column in NOT_RUN_LOGS:
                continue
            model = DOCUMENTS[(alias or None, column)]
            names = path.removeprefix("$.").split(".")
            assert runlog_path(model, *names) == path
            seen.add((model.__name__, path))
    assert {("JobRecord", "$.winner_override.reviewed_at"), ("JobRecord", "$.winner_reason"),
            ("CandidateRecord", "$.continuity.verdict"), ("RunLogRecord", "$.output_guard.max_chroma_delta"),
            ("RunLogRecord", "$.run_id")} <= seen


def test_no_module_spells_a_run_log_path_by_hand():
    """Paths into run-log documents come from :func:`runlog_path`; only the runs row's settings
    snapshot (not a run log) is read with a literal path."""
    root = Path(kroma_kit.__file__).parent
    literal = re.compile(r"(\w+)\s*->>\s*'\$\.")
    offenders = [f"{path.relative_to(root)}:{number}"
                 for path in sorted(root.rglob("*.py"))
                 for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
                 for column in literal.findall(line) if column not in NOT_RUN_LOGS]
    assert offenders == []


@pytest.mark.parametrize("names", [("runid",), ("winner_override", "reviewd_at"), ("jobs", "x"),
                                   ("output_guard", "max_chroma")])
def test_a_renamed_or_misspelt_field_fails_loudly(names):
    model = JobRecord if names[0] == "winner_override" else RunLogModel
    with pytest.raises(KeyError, match=names[-1]):
        runlog_path(model, *names)
