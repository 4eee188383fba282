"""CandidateGrid: thumbnails with QA badges and the winner, details, and the artist's override
reaching the catalog and the run log; read-only mode for dashboards."""

from __future__ import annotations

import html

import pytest

from kroma_kit.analytics import candidates, run_detail
from kroma_kit.errors import KromaError
from kroma_kit.storage.runlog import read_run_log
from kroma_kit.storage.thumbnails import thumbnail_cache_dir
from kroma_kit.widgets import CandidateGrid


def test_grid_shows_every_candidate_with_badge_and_winner(workspace, local_run):
    grid = CandidateGrid(workspace, project="demo")  # no run_id: the latest real run
    catalog = candidates(workspace, run_id=local_run.run_id)

    assert grid.run_id == local_run.run_id and len(grid.cards) == len(catalog) == 8
    for row in catalog.itertuples():
        card = grid.cards[(row.job_key, row.candidate_index)]
        assert 'src="data:image/webp;base64,UklGR' in card.picture.value and card.verdict == row.verdict
        assert f"kk-badge-{row.verdict}" in card.badge._dom_classes
        assert row.verdict.upper() in card.badge.value and f"chroma {row.chroma_delta:.2f}" in card.badge.value
        assert ("winner" in card.winner_label.value) == bool(row.is_winner)
        assert row.prompt_text in card.tooltip and "cost $0.0000" in card.tooltip
        assert f'title="{html.escape(card.tooltip, quote=True)}"' in card.picture.value  # hover text
        assert (card.winner_button is None) == bool(row.is_winner)
    assert len(list(thumbnail_cache_dir(workspace.home).rglob("*.webp"))) >= 8
    assert grid.winners() == {job: int(i) for job, i in zip(catalog[catalog.is_winner].job_key,
                                                            catalog[catalog.is_winner].candidate_index,
                                                            strict=True)}

    grid.cards[("style_2_room", 2)].details_button.click()
    assert "style_2_room #2" in grid.detail.value and "seed" in grid.detail.value
    assert "Preserve geometry and perspective" in grid.detail.value


def test_override_winner_updates_catalog_and_run_log(workspace, local_run):
    grid = CandidateGrid(workspace, run_id=local_run.run_id)
    job = "style_3_rooftop"
    loser = next(i for (key, i), card in grid.cards.items() if key == job and not card.is_winner)
    grid.note.value = "keeps the water tower's silhouette"
    grid.cards[(job, loser)].winner_button.click()

    assert grid.winners()[job] == loser and "now the winner" in grid.status.value
    jobs = run_detail(workspace, local_run.run_id)["jobs"].set_index("job_key")
    assert int(jobs.loc[job, "selected_candidate_index"]) == loser and bool(jobs.loc[job, "overridden"])
    assert "keeps the water tower" in jobs.loc[job, "winner_reason"]
    logged = next(j for j in read_run_log(local_run.run_log_path)["jobs"] if j["id"] == job)
    assert logged["selected_candidate"] == loser and logged["winner_override"]["note"].startswith("keeps")
    assert grid.cards[(job, loser)].winner_button is None and "winner" in grid.cards[(job, loser)].winner_label.value
    assert grid.note.value == ""


def test_read_only_grid_has_no_override_controls(workspace, local_run):
    grid = CandidateGrid(workspace, project="demo", read_only=True)
    assert len(grid.cards) == 8 and all(card.winner_button is None for card in grid.cards.values())
    assert grid.note not in grid.widget.children
    before = grid.winners()
    with pytest.raises(KromaError, match="read-only"):
        grid.select_winner("style_1_street", 1)
    assert CandidateGrid(workspace, project="demo").winners() == before


def test_project_without_runs_shows_a_hint(workspace, demo_project):
    grid = CandidateGrid(workspace, project="demo")
    assert grid.cards == {} and "No runs yet" in grid.header.value
