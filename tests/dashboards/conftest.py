"""Fixtures for the dashboard tests: one seeded workspace per session, one Voilà server and one
headless Chromium for the browser module (reference/jupyter-testing.md §4; a 2-core CI can't
afford more).

- Voilà serves ``dashboards/`` in folder mode on a free loopback port, with the same command
  ``make dashboards`` uses plus two test-only settings: ``disable_check_xsrf`` (so a page's
  shutdown beacon is accepted and its kernel stops when the page closes, voila#1458) and short
  idle culling for anything that still leaks. Readiness is polled on a static file: a GET of a
  notebook URL would start a kernel.
- Chromium is Debian's ``/usr/bin/chromium`` driven by Playwright's bundled driver
  (``executable_path``; ``playwright install`` never runs). Every request that is not to the
  loopback server is aborted and recorded, which proves the pages work offline.
- Each page is closed with ``run_before_unload=True`` (interception removed first, a moment
  left for the beacon) so its kernel is shut down at once rather than culled later.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.dashboards.seed import SeededWorkspace, seed_workspace

REPO_ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPO_ROOT / "test-artifacts" / "dashboards"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
LOOPBACK_PREFIXES = ("http://127.0.0.1", "http://localhost", "ws://127.0.0.1", "ws://localhost", "data:", "blob:")
# Known, harmless noise of Voilà 0.5.13 offline (reference/jupyter-testing.md §4.7).
NOISE = ("Unsatisfied version", "No satisfying version", "net::ERR_FAILED", "setData is not a function")
ALLOWED_BLOCKED = ("fontawesome", "font-awesome")  # icon CSS hard-coded in Voilà's template


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def clean_env(home: Path) -> dict[str, str]:
    """This process's environment pointed at ``home``, without paid-provider keys."""
    from kroma_kit.dashboards.context import EXPECT_HOME_ENV

    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "REMOVE_BG", "PHOTOROOM"))}
    env.update({"KROMA_HOME": str(home), EXPECT_HOME_ENV: str(home), "PYTHONPATH": str(REPO_ROOT)})
    return env


@pytest.fixture(scope="session")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> SeededWorkspace:
    """A workspace with the demo project and three real runs (see ``tests/dashboards/seed.py``)."""
    return seed_workspace(tmp_path_factory.mktemp("dashboards") / "home")


@pytest.fixture(scope="session")
def seeded_ws(seeded: SeededWorkspace):
    from kroma_kit.dashboards.context import read_workspace

    return read_workspace(seeded.home)


@dataclass
class VoilaServer:
    url: str
    proc: object
    log_file: Path

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_file.read_text(errors="replace") if self.log_file.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


@pytest.fixture(scope="module")
def voila(seeded: SeededWorkspace, tmp_path_factory: pytest.TempPathFactory) -> Iterator[VoilaServer]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium (`make debs`) to run the browser tests")
    from kroma_kit.dashboards_server import base_url, start_voila, stop_voila, wait_until_ready

    port = free_port()
    log_file = tmp_path_factory.mktemp("voila") / "voila.log"
    proc = start_voila(port, log_file=log_file, env=clean_env(seeded.home), show_tracebacks=True,
                       cull_idle_timeout=30, cull_interval=10,
                       extra_args=["--Voila.tornado_settings=disable_check_xsrf=True"])
    server = VoilaServer(base_url(port), proc, log_file)
    try:
        wait_until_ready(port, proc)
    except (RuntimeError, TimeoutError) as exc:
        stop_voila(proc)
        pytest.fail(f"{exc}\n--- voila log ---\n{server.log_tail()}")
    yield server
    stop_voila(proc)


@pytest.fixture(scope="module")
def browser(voila: VoilaServer):
    """Module scope on purpose: while Playwright's sync API is open, asyncio sees its loop as the
    main thread's running loop, so any later test calling ``asyncio.run()`` would fail."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class PageProbe:
    """What a page did besides rendering: requests we blocked, errors it logged."""

    blocked: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def unexpected_errors(self) -> list[str]:
        return [e for e in self.errors if not any(noise in e for noise in NOISE)]

    def unexpected_blocked(self) -> list[str]:
        return [url for url in self.blocked if not any(name in url for name in ALLOWED_BLOCKED)]


@pytest.fixture
def probe() -> PageProbe:
    return PageProbe()


@pytest.fixture
def page(browser, probe: PageProbe):
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    tab = context.new_page()

    def route(request_route):
        url = request_route.request.url
        if url.startswith(LOOPBACK_PREFIXES):
            request_route.continue_()
        else:
            probe.blocked.append(url)
            request_route.abort()

    tab.route("**/*", route)
    tab.on("pageerror", lambda exc: probe.errors.append(f"pageerror: {exc}"))
    tab.on("console", lambda msg: probe.errors.append(f"console: {msg.text}") if msg.type == "error" else None)
    yield tab
    # The page's beforeunload beacon asks Voilà to shut its kernel down. Measured: with the
    # route handler still installed, or the context closed at once, the beacon is often lost.
    tab.unroute("**/*")
    tab.close(run_before_unload=True)
    time.sleep(0.3)
    context.close()


def save_screenshot(tab, name: str) -> Path:
    """A PNG of the whole dashboard. Voilà scrolls inside ``#rendered_cells``, so a full-page
    screenshot is only the viewport: grow the viewport to the content first (recipe §4.4)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    height = tab.evaluate("() => (document.querySelector('#rendered_cells') || document.body).scrollHeight")
    tab.set_viewport_size({"width": 1200, "height": min(int(height) + 80, 12000)})
    tab.wait_for_timeout(600)
    target = ARTIFACTS / f"{name}.png"
    tab.screenshot(path=str(target), full_page=True)
    return target
