"""The Diagnostics tab's Apply in a real browser, the app run as on Spaces with the Hub stand-in as its Hub: the
signed-in owner applies the start-up report's fix (no GPU on cpu-basic: request t4-small) after confirming its
price; a signed-out visitor sees no Apply at all.

The owner's session is the cookie Gradio would set after sign-in (tests/admin_app.py `session_cookie`). SPACE_HOST
is left empty, so the page the browser opens (http://127.0.0.1:PORT) is the app's own page for the Origin check,
as https://SPACE_HOST is on Spaces (Chromium sends the real Origin; a test cannot claim another)."""

from __future__ import annotations

import re

import pytest

pytest.importorskip("playwright")
from playwright.sync_api import expect

from tests.admin_app import session_cookie, spaces_env
from tests.apptools import AppProcess
from tests.browser import screenshot
from tests.hub_standin import HubStandIn, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def hub():
    with HubStandIn(user="alice", space_id="alice/self-check", settle_after_polls=0) as hub:
        yield hub


@pytest.fixture(scope="module")
def app(hub, tmp_path_factory) -> AppProcess:
    env = {
        **spaces_env(hub),
        "SPACE_HOST": "",
        "CPU_CORES": "2",
        "HF_ENDPOINT": hub.url,
        "HF_TOKEN": hub.token,
        "HF_HUB_OFFLINE": "0",
    }
    with AppProcess(env, tmp_path_factory.mktemp("app") / "app.log") as app:
        yield app


def open_diagnostics(context, app: AppProcess):
    page = context.new_page()
    page.goto(app.url)
    page.get_by_role("tab", name="Diagnostics").click()
    expect(page.locator("#diagnostics-headline")).to_contain_text("WARN", timeout=180_000)
    return page


def test_the_owner_applies_the_hardware_fix_after_confirming_its_price(context, app, hub):
    """Apply → the price to confirm → Confirm: the stand-in receives exactly t4-small with a 1 h sleep time."""
    context.add_cookies([{"name": "session", "value": session_cookie("alice").split("=", 1)[1], "url": app.url}])
    page = open_diagnostics(context, app)
    apply = page.locator("#diagnostics-apply")
    expect(apply).to_be_visible(timeout=30_000)
    offered = re.compile(r"\(WARN gpu-no-gpu\): request hardware t4-small")
    expect(page.get_by_label("Fix to apply")).to_have_value(offered)
    assert hub.changes() == []
    apply.click()
    confirm = page.get_by_role("button", name="Confirm: switch to t4-small at $0.40/hour (sleep: 1 h)")
    expect(confirm).to_be_visible(timeout=30_000)
    assert hub.changes() == []
    confirm.click()
    assert wait_for(lambda: any(r.endpoint == "hardware" for r in hub.changes()), timeout_s=30)
    assert [(r.endpoint, r.body) for r in hub.changes()] == [
        ("hardware", {"flavor": "t4-small", "sleepTimeSeconds": 3600})
    ]
    expect(page.locator("#diagnostics-apply-result")).to_contain_text("Requested t4-small", timeout=30_000)
    expect(page.locator("#diagnostics-fixes-history")).to_contain_text("waiting for the next start-up")
    screenshot(page, "diagnostics-apply-owner")


def test_a_signed_out_visitor_sees_no_apply(context, app, hub):
    """The same report, the same fix in its words; no Apply section, and nothing reaches the Hub."""
    hub.clear_requests()
    page = open_diagnostics(context, app)
    expect(page.locator("#diagnostics-summary")).to_contain_text("upgrade the Space's hardware")
    expect(page.locator("#diagnostics-fixes-note")).to_contain_text("owner, signed in", timeout=30_000)
    expect(page.locator("#diagnostics-apply")).to_be_hidden()
    expect(page.get_by_role("button", name="Apply", exact=True)).to_have_count(0)
    assert hub.changes() == []
    screenshot(page, "diagnostics-visitor")
