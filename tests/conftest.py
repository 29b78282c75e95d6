from __future__ import annotations

import os

# Tests never reach the Hub: anything that tries to download fails at once instead of hanging.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

TINY_TASKS = (
    "sentence-similarity",
    "text-classification",
    "zero-shot-classification",
    "token-classification",
    "fill-mask",
    "text-generation",
)


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A tiny random-weight model folder per task, built once per test session."""
    from tests.tiny_models import build_tiny_model

    root = tmp_path_factory.mktemp("tiny-models")
    return {task: build_tiny_model(task, root / task) for task in TINY_TASKS}


@pytest.fixture(scope="module")
def browser():
    """One headless Debian Chromium per browser test module. Not per session: Playwright's sync API keeps an
    event loop running in the main thread while it is open, and later tests call asyncio.run()."""
    from playwright.sync_api import sync_playwright

    from tests.browser import launch_chromium

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        yield browser
        browser.close()
