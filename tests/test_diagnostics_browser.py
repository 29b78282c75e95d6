"""The Diagnostics tab in a real browser: the report appears on page load, details open per framework."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

pytest.importorskip("playwright")
import gradio as gr  # noqa: E402
from playwright.sync_api import expect, sync_playwright  # noqa: E402

from diagnostics.tab import build_diagnostics_tab  # noqa: E402
from diagnostics.cache import LatestReport  # noqa: E402
from tests.apptools import free_port  # noqa: E402
from tests.browser import launch_chromium, screenshot  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def tab_url() -> Iterator[str]:
    with gr.Blocks() as demo:
        with gr.Tab("Diagnostics"):
            build_diagnostics_tab(LatestReport(timeout_s=120))
    demo.queue()
    _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=free_port(), quiet=True)
    yield url
    demo.close()


@pytest.fixture
def page(tab_url: str):
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(tab_url)
        yield page
        browser.close()


def test_report_appears_on_page_load_with_a_row_per_component(page):
    expect(page.locator("#diagnostics-headline")).to_contain_text("WARN", timeout=90_000)
    table = page.locator("#diagnostics-summary")
    for title in ("GPU & driver", "CUDA wheels", "PyTorch", "JAX", "TensorFlow"):
        expect(table).to_contain_text(title)
    expect(table).to_contain_text("no GPU on this machine")
    page.get_by_text("JAX", exact=True).last.click()
    expect(page.locator("#diagnostics-jax")).to_contain_text("default backend")
    screenshot(page, "diagnostics-tab")
