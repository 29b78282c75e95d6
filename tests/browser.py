"""Headless Debian Chromium driven by Playwright, for tests that look at the app as a visitor does."""

from __future__ import annotations

import os
from pathlib import Path

# Debian's package; CHROMIUM names another build (e.g. on a machine without apt).
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_MISSING = (
    f"Chromium is not installed at {CHROMIUM}, so the browser tests are skipped: install it with "
    "`apt-get install chromium` (Debian, Ubuntu) or point CHROMIUM at a Chromium binary."
)
REQUIRE_BROWSER = "REQUIRE_BROWSER"
"""Set to 1 (as .ci/run does), a missing Chromium fails the run instead of skipping the browser tests."""
# Without these, Chromium keeps trying to reach Google on a machine with no internet.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
SCREENSHOTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "screenshots"


def launch_chromium(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def open_admin(page, url: str, heading: str) -> None:
    """Open the app at `url` and its Admin tab, once `heading` shows."""
    from playwright.sync_api import expect

    page.goto(url)
    page.get_by_role("tab", name="Admin").click()
    expect(page.get_by_text(heading)).to_be_visible()
