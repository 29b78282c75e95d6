"""The Admin tab in a real browser, with the Hub stand-in as the Hub: what a visitor and the owner see."""

from __future__ import annotations

import pytest

pytest.importorskip("playwright")
from playwright.sync_api import expect  # noqa: E402

from tests.admin_app import local_env  # noqa: E402
from tests.apptools import AppProcess  # noqa: E402
from tests.browser import open_admin, screenshot  # noqa: E402
from tests.hub_standin import HubStandIn, wait_for  # noqa: E402

PANEL = "Space administration"

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ACTION_BUTTONS = ("Switch hardware…", "Set sleep time only", "Stop billing", "Pause the Space", "Restart the Space")


@pytest.fixture(scope="module")
def hub():
    with HubStandIn(user="alice", space_id="alice/gpu-self-check", hardware="t4-small", settle_after_polls=0) as hub:
        yield hub


@pytest.fixture(scope="module")
def app(hub, tmp_path_factory) -> AppProcess:
    with AppProcess(local_env(hub), tmp_path_factory.mktemp("app") / "app.log") as app:
        yield app


def test_signed_out_visitor_sees_the_panel_read_only(context, app, hub):
    """Not signed in: the runtime shows, a sign-in button is offered, and every action button is disabled."""
    page = context.new_page()
    open_admin(page, app.url, PANEL)
    expect(page.get_by_text("t4-small").first).to_be_visible(timeout=30_000)
    expect(page.get_by_role("button", name="Sign in with Hugging Face")).to_be_visible()
    for name in ACTION_BUTTONS:
        expect(page.get_by_role("button", name=name)).to_be_disabled()
    screenshot(page, "admin-signed-out")
    assert hub.changes() == []


def test_signed_in_owner_changes_the_sleep_time(context, app, hub):
    """The owner signs in, picks 15 min, and the stand-in receives exactly that; the panel shows it."""
    page = context.new_page()
    page.goto(f"{app.url}/login/huggingface")
    open_admin(page, app.url, PANEL)
    expect(page.get_by_text("alice, the owner of this Space")).to_be_visible(timeout=30_000)
    set_sleep = page.get_by_role("button", name="Set sleep time only")
    expect(set_sleep).to_be_enabled()
    page.get_by_label("Sleep after (no visitors)").click()
    page.get_by_role("option", name="15 min", exact=True).click()
    set_sleep.click()
    assert wait_for(lambda: any(r.endpoint == "sleeptime" for r in hub.changes()), timeout_s=30)
    [change] = [r for r in hub.changes() if r.endpoint == "sleeptime"]
    assert change.body == {"seconds": 900}
    expect(page.get_by_text("15 min").first).to_be_visible()
    expect(page.get_by_text("✅").first).to_be_visible(timeout=30_000)
    screenshot(page, "admin-owner")
