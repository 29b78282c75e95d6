"""The Admin tab on paid hardware in a real browser: the owner sees the metrics plotted and sets the replica
count; a signed-out visitor sees why not and can change nothing."""

from __future__ import annotations

import re

import pytest

pytest.importorskip("playwright")
from playwright.sync_api import expect  # noqa: E402

from tests.admin_app import local_env  # noqa: E402
from tests.apptools import AppProcess  # noqa: E402
from tests.browser import open_admin, screenshot  # noqa: E402
from tests.hub_standin import HubStandIn  # noqa: E402

LIVE_SECTION = "Live metrics and run log"

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def hub():
    with HubStandIn(
        user="alice", hardware="t4-small", settle_after_polls=0, replicas=("aaa11", "bbb22"), metrics_interval_s=0.5
    ) as hub:
        hub.add_log("Running on local URL:  http://0.0.0.0:7860", f"leaked {hub.token}")
        yield hub


@pytest.fixture(scope="module")
def app(hub, tmp_path_factory) -> AppProcess:
    with AppProcess(local_env(hub), tmp_path_factory.mktemp("app") / "app.log") as app:
        yield app


def test_signed_out_visitor_sees_no_metrics(context, app, hub):
    """Signed out: the live section says it is for the owner, and the Hub's streams are never opened."""
    page = context.new_page()
    open_admin(page, app.url, LIVE_SECTION)
    expect(page.get_by_text("Live metrics and the run log are for the Space's owner").first).to_be_visible(
        timeout=30_000
    )
    assert not [r for r in hub.requests if r.endpoint in ("metrics", "logs")]


def test_owner_sees_the_metrics_plotted_per_replica_and_the_log(context, app, hub):
    """The owner signs in and opens the Admin tab: both replicas are plotted and the log tail shows, scrubbed."""
    page = context.new_page()
    page.goto(f"{app.url}/login/huggingface")
    open_admin(page, app.url, LIVE_SECTION)
    expect(page.get_by_text("Live: 2 replicas (aaa11, bbb22)")).to_be_visible(timeout=60_000)
    for plot in ("cpu", "memory", "gpu", "gpu-memory"):
        # One coloured line per replica (a line without a colour is drawn invisibly).
        lines = page.locator(f'#live-plot-{plot} path[aria-roledescription="line mark"][stroke]')
        expect(lines).to_have_count(2, timeout=30_000)
        expect(lines.first).to_have_attribute("aria-label", re.compile("replica: (aaa11|bbb22)"))
    log = page.get_by_label("Run log (last lines)")
    expect(log).to_have_value(re.compile("Running on local URL"), timeout=60_000)
    expect(log).to_have_value(re.compile(r"leaked \[redacted\]"))
    assert hub.token not in page.content()
    screenshot(page, "admin-live-owner")


def replica_requests(hub) -> list:
    return [r for r in hub.changes() if r.endpoint == "replicas"]


def test_signed_out_visitor_cannot_set_replicas(context, app, hub):
    """Signed out: the replica count and its price show, and the button that sets it is disabled."""
    page = context.new_page()
    open_admin(page, app.url, LIVE_SECTION)
    expect(page.get_by_text(re.compile(r"replicas? × \$0\.40/hour")).first).to_be_visible(timeout=30_000)
    expect(page.get_by_role("button", name="Set replicas…")).to_be_disabled()


def test_owner_sets_three_replicas_after_confirming_the_price(context, app, hub, monkeypatch):
    """The owner asks for 3 replicas, confirms $1.20/hour, the Hub gets {"replicas": 3}, and the tab and log show it."""
    # New replicas take a while to start on the Hub: until then the runtime says 3 requested, 1 running.
    monkeypatch.setattr(hub, "settle_after_polls", 1_000)
    page = context.new_page()
    page.goto(f"{app.url}/login/huggingface")
    open_admin(page, app.url, LIVE_SECTION)
    set_replicas = page.get_by_role("button", name="Set replicas…")
    expect(set_replicas).to_be_enabled(timeout=30_000)
    page.get_by_role("spinbutton", name="Replicas").fill("3")
    set_replicas.click()
    confirm = page.get_by_role("button", name="Confirm: run 3 replicas of t4-small")
    expect(confirm).to_be_visible(timeout=30_000)
    expect(page.get_by_text("3 replicas × $0.40/hour = $1.20/hour while running")).to_be_visible()
    assert replica_requests(hub) == []  # nothing is billed before the confirmation
    confirm.click()
    expect(page.get_by_text(re.compile(r"Replicas 1 running \(3 requested\)"))).to_be_visible(timeout=30_000)
    assert [r.body for r in replica_requests(hub)] == [{"replicas": 3}]
    change = page.get_by_role("row").filter(has_text="set replicas to 3")
    expect(change).to_contain_text("alice")
    expect(change).to_contain_text("Asked for 3 replicas")
    screenshot(page, "admin-replicas-owner")
