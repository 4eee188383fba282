"""The characters dashboard without a browser: every character with its turnaround sheet, an
empty state for a project with none, and reading without writing."""

from __future__ import annotations

from kroma_kit.dashboards import characters_dashboard, check_rendered
from kroma_kit.dashboards.context import read_workspace
from tests.dashboards.seed import DEMO, EMPTY_PROJECT
from tests.dashboards.test_views import catalog_state


def test_each_character_shows_its_turnaround_sheet(seeded) -> None:
    before = catalog_state(seeded.home)
    view = characters_dashboard(read_workspace(seeded.home), project=DEMO)
    figures = check_rendered(view)
    assert figures["characters"] == 2 and figures["with-portfolio"] == 1
    courier = figures["per-character"]["courier"]
    assert courier["cells"] == ["reference", "front", "three quarter left", "left profile", "back",
                                "right profile", "three quarter right"]
    assert figures["per-character"]["detective"]["cells"] == ["reference"]
    assert view.body.value.count('class="kk-char-sheet"') == 2
    assert 'data-colour="#c8342e"' in view.body.value
    assert catalog_state(seeded.home) == before


def test_a_project_without_characters_says_so(seeded) -> None:
    view = characters_dashboard(read_workspace(seeded.home), project=EMPTY_PROJECT)
    assert view.error is None and not view.has_data and 'data-note="no-characters"' in view.body.value
