"""The browser of the Playwright tests: Debian's Chromium (``/usr/bin/chromium``), never a
downloaded one, with a Chinese locale and a village PC's screen. ``page`` is registered for the
whole suite by ``tests/conftest.py``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
RESULTS = Path(__file__).resolve().parents[1] / "test-results"


@pytest.fixture
def page(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    # Playwright's sync API runs an event loop in this thread; Django would refuse ORM calls from it.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (/usr/bin/chromium): apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
            context.set_default_timeout(15_000)
            yield context.new_page()
        finally:
            browser.close()


def login(page: Any, base: str, username: str, password: str | None = None) -> None:
    """Sign in through the login form and land on the home page."""
    from playwright.sync_api import expect

    from tests.factories.accounts import PASSWORD

    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password or PASSWORD)
    page.click("form[action='/login/'] button[type=submit]")
    expect(page).to_have_url(f"{base}/")
