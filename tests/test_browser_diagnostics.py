"""The Diagnostics tab of the running app in a real browser: verdicts, Re-run, the Markdown report."""

from __future__ import annotations

import pytest

pytest.importorskip("playwright")
from playwright.sync_api import expect  # noqa: E402

from tests.apptools import AppProcess  # noqa: E402
from tests.browser import screenshot  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TITLES = ("GPU & driver", "CUDA wheels", "PyTorch", "JAX", "TensorFlow")


@pytest.fixture(scope="module")
def app(tmp_path_factory) -> AppProcess:
    with AppProcess({}, tmp_path_factory.mktemp("app") / "app.log") as app:
        yield app


@pytest.fixture
def page(context, app):
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=app.url)
    page = context.new_page()
    page.goto(app.url)
    page.get_by_role("tab", name="Diagnostics").click()
    return page


def test_each_framework_gets_a_verdict_with_its_reason(page):
    """On this CPU machine: a WARN per framework, saying there is no GPU and how to get one."""
    expect(page.locator("#diagnostics-headline")).to_contain_text("WARN", timeout=120_000)
    table = page.locator("#diagnostics-summary")
    for title in TITLES:
        expect(table).to_contain_text(title)
    expect(table).to_contain_text("torch 2.10.0+cu128 runs on the CPU")
    expect(table).to_contain_text("upgrade the Space's hardware")
    page.get_by_text("JAX", exact=True).last.click()
    expect(page.locator("#diagnostics-jax")).to_contain_text("default backend")
    screenshot(page, "diagnostics")


def test_rerun_produces_a_new_report(page):
    """Re-run starts a fresh report and the headline shows its new time."""
    headline = page.locator("#diagnostics-headline")
    expect(headline).to_contain_text("WARN", timeout=120_000)
    before = headline.inner_text()
    page.locator("#diagnostics-rerun").click()
    expect(headline).not_to_have_text(before, timeout=120_000)
    expect(headline).to_contain_text("WARN")


def test_the_markdown_report_can_be_copied(page):
    """"Copy as Markdown" puts the whole report, verdicts first, on the clipboard."""
    expect(page.locator("#diagnostics-headline")).to_contain_text("WARN", timeout=120_000)
    page.get_by_text("Copy as Markdown").click()
    page.locator("#diagnostics-markdown").get_by_role("button", name="Copy").click()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.startswith("# GPU diagnostics")
    assert all(title in copied for title in TITLES)
