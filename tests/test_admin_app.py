"""The Admin tab served by Gradio (as a subprocess), called the way an attacker would: through the queue.

The app is the real app.py, with HF_ENDPOINT pointing at the Hub stand-in and a fake HF_TOKEN.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from tests.admin_app import AdminApp, output_text
from tests.hub_standin import HubStandIn, wait_for

pytestmark = pytest.mark.slow

ACTIONS = ("on_choose", "on_confirm", "on_set_sleep", "on_stop_billing", "on_pause", "on_restart")


@pytest.fixture(scope="module")
def hub() -> Iterator[HubStandIn]:
    with HubStandIn(user="alice", space_id="alice/self-check") as standin:
        yield standin


@pytest.fixture(scope="module")
def app(hub: HubStandIn, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AdminApp]:
    server = AdminApp(hub, tmp_path_factory.mktemp("admin-app") / "app.log")
    yield server
    server.close()


@pytest.fixture(autouse=True)
def fresh_hub(hub: HubStandIn) -> None:
    hub.clear_failures()
    hub.clear_requests()


def test_no_event_changes_anything_for_an_anonymous_caller(app: AdminApp, hub: HubStandIn) -> None:
    """Every backend event, called by fn_index with nobody signed in (and a forged oauth_token): nothing sent."""
    before = hub.runtime()
    dependencies = app.dependencies()
    names = {d.get("api_name") for d in dependencies}
    assert set(ACTIONS) <= names
    for dependency in dependencies:
        completed, _ = app.call(dependency, extra={"oauth_token": hub.token})
        # Every event of the whole app runs (some fail on the blank inputs sent); none may reach the Hub.
        assert completed, dependency.get("api_name")
        if dependency.get("api_name") in ACTIONS:
            assert completed[0]["success"], (dependency.get("api_name"), completed)
            text = output_text(completed[0])
            assert "Refused" in text or "Nothing to confirm" in text, (dependency["api_name"], text)
    assert hub.changes() == []
    assert hub.runtime() == before


def test_change_events_are_hidden_from_the_api(app: AdminApp) -> None:
    visibility = {d.get("api_name"): d.get("api_visibility") for d in app.dependencies()}
    assert all(visibility[name] == "private" for name in ACTIONS), visibility
    # Callable by name (below), but not documented: documented events become MCP tools.
    assert visibility["admin_runtime"] == "undocumented"


def test_runtime_endpoint_through_gradio_client(app: AdminApp, hub: HubStandIn) -> None:
    from gradio_client import Client

    client = Client(app.url, verbose=False)
    text = client.predict(api_name="/admin_runtime")[0]
    assert "alice/self-check" in text and "RUNNING" in text
    with pytest.raises(Exception):  # noqa: B017  private endpoints are not offered to clients
        client.predict(api_name="/on_pause")
    assert hub.changes() == []


def test_signed_in_owner_double_click_sends_one_request(app: AdminApp, hub: HubStandIn) -> None:
    """Two pause clicks queued in the same session while the Hub is slow: one POST /pause."""
    cookie = app.sign_in()
    hub.fail("pause", delay_s=1.0)
    completed, _ = app.call(app.dependency("on_pause"), cookie=cookie, times=2)
    assert len(hub.changes()) == 1 and hub.changes()[0].endpoint == "pause"
    texts = [m["output"]["data"][0] for m in completed]  # the result line, before the activity table
    assert sum("Paused" in t for t in texts) == 1, texts
    assert sum("repeated" in t or "another change" in t for t in texts) == 1, texts
    assert hub.runtime()["stage"] == "PAUSED"
    hub.set_runtime(stage="RUNNING")


def test_token_appears_in_no_response_and_no_log_line(app: AdminApp, hub: HubStandIn) -> None:
    """Pages, config, API info, and every event's output while the Hub answers 401 echoing the token."""
    token = hub.token
    for endpoint in ("runtime", "hardware", "sleeptime", "pause", "restart", "hardware-list"):
        hub.fail(endpoint, 401, message=f"Invalid token {token} (Authorization: Bearer {token})")
    time.sleep(2.1)  # past the runtime cache
    seen: list[str] = []
    for path in ("/", "/config", "/gradio_api/info", "/gradio_api/openapi.json", "/login/huggingface"):
        response = httpx.get(f"{app.url}{path}", timeout=10, follow_redirects=False)
        seen.append(f"{path} {response.status_code} {dict(response.headers)} {response.text}")
    cookie = app.sign_in()
    outputs = []
    for dependency in app.dependencies():
        for who in (None, cookie):
            completed, raw = app.call(dependency, cookie=who)
            seen.append(raw)
            outputs.append(output_text(completed[0]))
    assert any("401" in text for text in outputs), "the owner's calls should have reached the failing Hub"
    assert any("[redacted]" in text for text in outputs)
    for text in seen:
        assert token not in text
    assert wait_for(lambda: "admin action by alice" in app.log())
    assert token not in app.log()
