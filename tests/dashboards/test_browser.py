"""The four dashboards in a real headless Chromium, served by Voilà, against real runs.

What a stakeholder sees must be what :mod:`kroma_kit.analytics` says: each test reads the
figures from the page's stable ``data-*`` attributes and compares them with an analytics call on
the same workspace. Every page must also render within the time limit, offline (no request
leaves the loopback server except Voilà's icon CSS), without a traceback or a console error.
Screenshots land in ``test-artifacts/dashboards/`` for a person to look at.
"""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from kroma_kit import analytics
from kroma_kit.dashboards import cards
from kroma_kit.dashboards.runs import run_label
from kroma_kit.security.audit_view import audit_rows
from tests.dashboards.conftest import save_screenshot
from tests.dashboards.seed import DEMO, EMPTY_PROJECT

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

RENDER_LIMIT_S = 60  # page load -> figures visible, on a busy 2-core CI machine
ERROR_TEXTS = ("Traceback (most recent call last)", "There was an error when executing cell")


def open_dashboard(page, voila, notebook: str, marker: str, query: str = "") -> float:
    """Go to a dashboard, wait for ``marker`` to be visible, return the seconds it took."""
    started = time.monotonic()
    page.goto(f"{voila.url}/voila/render/{notebook}{query}", wait_until="domcontentloaded")
    try:
        page.locator(marker).first.wait_for(state="visible", timeout=RENDER_LIMIT_S * 1000)
    except Exception:
        body = page.locator("body").inner_text()[-3000:]
        pytest.fail(f"{notebook} did not show {marker} within {RENDER_LIMIT_S} s.\n--- page ---\n{body}\n"
                    f"--- voila log ---\n{voila.log_tail()}")
    return time.monotonic() - started


def assert_clean(page, probe) -> None:
    text = page.locator("body").inner_text()
    for marker in ERROR_TEXTS:
        assert marker not in text, text[-3000:]
    assert probe.unexpected_errors() == []
    assert probe.unexpected_blocked() == []


def card(page, key: str) -> str:
    """The raw ``data-value`` of a stat card."""
    return page.locator(f'.kk-card[data-card="{key}"] .kk-card-value').get_attribute("data-value")


def card_text(page, key: str) -> str:
    return page.locator(f'.kk-card[data-card="{key}"] .kk-card-value').inner_text()


def row_keys(page, table: str) -> list[str]:
    return page.locator(f'table[data-table="{table}"] tbody tr').evaluate_all(
        "rows => rows.map(r => r.dataset.row)")


def images_loaded(page, selector: str) -> list[int]:
    """naturalWidth of every image matching ``selector`` (0 means it did not decode)."""
    return page.locator(selector).evaluate_all("imgs => imgs.map(i => i.naturalWidth)")


def test_project_overview_cards_and_runs_match_analytics(page, probe, voila, seeded_ws):
    elapsed = open_dashboard(page, voila, "project_overview.ipynb", '.kk-cards[data-cards="project-summary"]')
    summary = analytics.project_summary(seeded_ws, DEMO)
    runs = analytics.runs_table(seeded_ws, DEMO, limit=15)

    assert int(card(page, "total-runs")) == summary["total_runs"] == 4  # 3 stages + the courier portfolio
    assert int(card(page, "assets")) == summary["assets"] > 0
    assert float(card(page, "cost-usd")) == pytest.approx(summary["cost_usd"])
    assert summary["cost_usd"] > 0
    assert card_text(page, "cost-usd") == cards.money(summary["cost_usd"])
    assert float(card(page, "qa-pass-rate")) == pytest.approx(summary["qa_pass_rate"])
    assert card_text(page, "qa-pass-rate") == cards.percent(summary["qa_pass_rate"])
    assert card(page, "last-run") == cards.iso_utc(summary["last_run_at"])

    assert row_keys(page, "recent-runs") == list(runs["run_id"])
    shown_status = page.locator('table[data-table="recent-runs"] [data-status]').evaluate_all(
        "els => els.map(e => e.dataset.status)")
    assert shown_status == list(runs["status"])
    jobs = page.locator('table[data-table="recent-runs"] [data-jobs-done]').evaluate_all(
        "els => els.map(e => [Number(e.dataset.jobsDone), Number(e.dataset.jobsTotal)])")
    assert jobs == [[int(d), int(t)] for d, t in zip(runs["jobs_done"], runs["jobs_total"], strict=True)]
    assert row_keys(page, "projects") == list(analytics.project_overview(seeded_ws)["slug"]) == [DEMO, EMPTY_PROJECT]
    audit = audit_rows(seeded_ws, DEMO, limit=10)
    assert row_keys(page, "audit") == [event["id"] for event in audit] and audit  # newest audit events, in order
    assert_clean(page, probe)
    save_screenshot(page, "project_overview")
    assert elapsed < RENDER_LIMIT_S


def test_project_with_no_runs_says_so(page, probe, voila):
    open_dashboard(page, voila, "project_overview.ipynb", '.kk-note[data-note="no-runs"]', f"?project={EMPTY_PROJECT}")
    assert "No runs yet" in page.locator('.kk-note[data-note="no-runs"]').inner_text()
    assert card(page, "total-runs") == "0"
    assert_clean(page, probe)
    save_screenshot(page, "project_overview_no_runs")


def test_run_viewer_shows_the_run_and_follows_the_picker(page, probe, voila, seeded, seeded_ws):
    runs = analytics.runs_table(seeded_ws, DEMO)
    newest = str(runs.iloc[0]["run_id"])
    open_dashboard(page, voila, "run_viewer.ipynb", f'.kk-grid-meta[data-run-id="{newest}"]')
    detail = analytics.run_detail(seeded_ws, newest)
    shown = analytics.candidates(seeded_ws, run_id=newest)
    assert card(page, "status") == detail["run"]["status"] == "failed"
    assert int(card(page, "jobs")) == detail["run"]["jobs_done"]
    assert int(card(page, "candidates")) == len(shown)
    assert page.locator(".kk-grid-meta").get_attribute("data-candidates") == str(len(shown))
    expect(page.locator(".kk-candidate-grid .kk-card")).to_have_count(len(shown))
    expect(page.locator(".kk-candidate-grid img")).to_have_count(len(shown))
    assert row_keys(page, "jobs") == list(detail["jobs"]["job_key"])
    assert len(row_keys(page, "candidates")) == len(shown)
    assert page.locator('[data-path="run-log"]').inner_text() == detail["run"]["run_log_path"]
    assert page.locator('[data-field="settings-snapshot"]').count() == 1
    assert_clean(page, probe)
    save_screenshot(page, "run_viewer")

    style_run = seeded.run_ids["style"]
    row = runs[runs["run_id"] == style_run].iloc[0]
    page.set_viewport_size({"width": 1200, "height": 900})
    page.locator(".kk-run-select select").select_option(label=run_label(row))
    page.locator(f'.kk-grid-meta[data-run-id="{style_run}"]').wait_for(state="visible", timeout=30_000)
    picked = analytics.candidates(seeded_ws, run_id=style_run)
    assert card(page, "status") == "done"
    assert len(picked) == 12 and int(picked["is_winner"].sum()) == 4
    expect(page.locator(".kk-candidate-grid .kk-card")).to_have_count(12)
    expect(page.locator(".kk-candidate-grid img")).to_have_count(12)
    expect(page.locator(".kk-candidate-grid :text('winner')")).to_have_count(4)
    widths = images_loaded(page, ".kk-candidate-grid img")
    assert len(widths) == 12 and min(widths) > 0
    assert_clean(page, probe)
    save_screenshot(page, "run_viewer_style_run")


def test_qa_report_counts_chart_and_failing_files(page, probe, voila, seeded_ws):
    open_dashboard(page, voila, "qa_report.ipynb", '.kk-cards[data-cards="qa-summary"]')
    stages = analytics.qa_pass_rate_by_stage(seeded_ws, DEMO)
    everything = analytics.candidates(seeded_ws, slug=DEMO)
    for key, column in (("checked", "checked"), ("passed", "passed"), ("warned", "warned"), ("failed", "failed")):
        assert int(card(page, key)) == int(stages[column].sum()), key
    usable = int(stages["passed"].sum() + stages["warned"].sum())
    assert float(card(page, "pass-rate")) == pytest.approx(usable / int(stages["checked"].sum()))
    assert row_keys(page, "by-stage") == list(stages["stage"]) == ["style", "time", "weather", "character_portfolio"]

    failing = int((everything["verdict"] == "fail").sum())
    assert failing > 0
    page.locator(".kk-failing").first.wait_for(state="visible", timeout=30_000)
    assert page.locator(".kk-failing").count() == failing
    widths = images_loaded(page, ".kk-failing img")
    assert len(widths) == failing and min(widths) > 0
    chart = images_loaded(page, "img.kk-qa-chart")
    assert len(chart) == 1 and chart[0] > 0
    assert_clean(page, probe)
    save_screenshot(page, "qa_report")


def test_costs_match_analytics(page, probe, voila, seeded_ws):
    open_dashboard(page, voila, "costs.ipynb", '.kk-cards[data-cards="cost-summary"]')
    by_project = analytics.cost_by_project(seeded_ws).set_index("project")
    by_day = analytics.cost_by_provider_day(seeded_ws, DEMO)
    estimates = analytics.estimated_vs_actual(seeded_ws, DEMO)
    budgets = analytics.budget_vs_actual(seeded_ws, DEMO)

    assert float(card(page, "cost-usd")) == pytest.approx(by_project.loc[DEMO, "cost_usd"]) and by_project.loc[DEMO, "cost_usd"] > 0
    assert int(card(page, "runs")) == int(by_project.loc[DEMO, "runs"])
    assert float(card(page, "actual-usd")) == pytest.approx(estimates["actual_cost_usd"].sum())
    assert float(card(page, "estimated-usd")) == pytest.approx(estimates["estimated_cost_usd"].sum())
    providers = by_day.groupby("provider_code")["cost_usd"].sum().sort_values(ascending=False)
    assert row_keys(page, "cost-by-provider") == list(providers.index)
    assert row_keys(page, "cost-by-project") == list(by_project.index)
    assert row_keys(page, "budgets") == list(budgets.dropna(subset=["budget_usd"])["scope"])
    assert row_keys(page, "estimated-vs-actual") == list(estimates["run_id"])
    charts = images_loaded(page, "figure.kk-chart img")
    assert len(charts) == 4 and min(charts) > 0
    assert_clean(page, probe)
    save_screenshot(page, "costs")


def test_closed_pages_leave_no_kernels(voila):
    """Every page above was left with its shutdown beacon, so no kernel may outlive it for long
    (culling, 30 s idle, is only the safety net and would take longer than this wait)."""
    import psutil

    def live_kernels() -> list[psutil.Process]:
        """Kernels still running; one that has exited but is not yet reaped (a zombie) or is gone
        between listing and reading counts as closed."""
        found = []
        for child in psutil.Process(voila.proc.pid).children(recursive=True):
            try:
                if child.status() != psutil.STATUS_ZOMBIE and "ipykernel" in " ".join(child.cmdline()):
                    found.append(child)
            except (psutil.NoSuchProcess, psutil.ZombieProcess):
                continue
        return found

    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        kernels = live_kernels()
        if not kernels:
            return
        time.sleep(0.5)
    pytest.fail(f"{len(kernels)} kernel(s) still running after every page closed:\n{voila.log_tail()}")


def test_characters_page_shows_each_turnaround_sheet(page, probe, voila, seeded_ws):
    from kroma_kit.characters.profiles import list_characters

    open_dashboard(page, voila, "characters.ipynb", ".kk-char-sheet")
    codes = page.locator("section.kk-character").evaluate_all("s => s.map(x => x.dataset.character)")
    assert codes == [c.code for c in list_characters(seeded_ws, DEMO)]
    cells = page.locator('section[data-character="courier"] .kk-char-sheet').get_attribute("data-cells")
    assert cells.split(",")[:2] == ["reference", "front"] and len(cells.split(",")) == 7
    assert all(width > 0 for width in images_loaded(page, ".kk-char-sheet"))
    save_screenshot(page, "characters")
    assert_clean(page, probe)
