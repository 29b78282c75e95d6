"""The Demo tab in a real browser: what a visitor clicks and sees."""

from __future__ import annotations

import pytest

pytest.importorskip("playwright")
from playwright.sync_api import expect  # noqa: E402

from tests.apptools import AppProcess  # noqa: E402
from tests.browser import screenshot  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def app(tmp_path_factory) -> AppProcess:
    with AppProcess({"DIAGNOSTICS_AT_STARTUP": "false"}, tmp_path_factory.mktemp("app") / "app.log") as app:
        yield app


@pytest.fixture
def page(context, app):
    page = context.new_page()
    page.goto(app.url)
    return page


def test_clicking_an_example_ranks_its_candidates(page):
    """One click on the first example fills the inputs and shows the candidates ranked."""
    page.locator("#demo-examples").get_by_text("A man is playing a guitar.").first.click()
    expect(page.locator("#demo-source textarea")).to_have_value("A man is playing a guitar.")
    output = page.locator("#demo-output")
    expect(output).to_contain_text("Someone is strumming a guitar.", timeout=30_000)
    expect(output.locator("h2").first).to_have_text("Someone is strumming a guitar.")
    screenshot(page, "demo")


def test_the_tab_says_where_the_model_runs(page):
    """The visitor reads which device and dtype serve them."""
    expect(page.locator("#demo-where")).to_contain_text("runs on CPU")
    expect(page.locator("#demo-where")).to_contain_text("float32")


def test_empty_input_gets_a_clear_message(page):
    """Run with nothing typed: a readable message, no trace, and the page keeps working."""
    page.locator("#demo-run").click()
    expect(page.get_by_text("Source sentence is empty: type some text.")).to_be_visible(timeout=30_000)
    expect(page.get_by_text("Traceback")).to_have_count(0)
    page.locator("#demo-source textarea").fill("A cat sleeps.")
    page.locator("#demo-candidates textarea").fill("A kitten naps.\nStocks rallied.")
    page.locator("#demo-run").click()
    expect(page.locator("#demo-output h2").first).to_have_text("A kitten naps.", timeout=30_000)


def test_text_that_was_cut_is_reported(page):
    """A very long source is cut, and the notes under the result say so."""
    page.locator("#demo-source textarea").fill("word " * 3000)
    page.locator("#demo-candidates textarea").fill("a\nb")
    page.locator("#demo-run").click()
    expect(page.locator("#demo-notes")).to_contain_text("MAX_INPUT_CHARS", timeout=30_000)
