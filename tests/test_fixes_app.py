"""The Diagnostics tab's Apply in the real app run as on Spaces (the Hub stand-in as its Hub): never an API
endpoint or an MCP tool; a signed-out visitor and the owner's cookie from another site change nothing; the
owner's own page does. On this CPU machine the start-up report says "no GPU on cpu-basic", whose fix is
requesting t4-small."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import httpx
import pytest

from tests.admin_app import AdminApp, session_cookie, spaces_app
from tests.hub_standin import HubStandIn
from tests.test_mcp import with_session

pytestmark = pytest.mark.slow

FIX_ENDPOINTS = ("variables-add", "variables-delete", "file", "preupload", "commit", "hardware", "restart")


@pytest.fixture(scope="module")
def hub() -> Iterator[HubStandIn]:
    with HubStandIn(user="alice", space_id="alice/self-check", settle_after_polls=0) as standin:
        yield standin


@pytest.fixture(scope="module")
def app(hub: HubStandIn, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AdminApp]:
    log = tmp_path_factory.mktemp("fixes-app") / "app.log"
    server = spaces_app(hub, log, DIAGNOSTICS_AT_STARTUP="true", CPU_CORES="2", MCP_SERVER="true")
    yield server
    server.close()


@pytest.fixture(scope="module")
def report(app: AdminApp) -> dict:
    """The start-up report, as the page gets it when it loads."""
    [loaded], _ = app.call(app.dependency("latest"))
    return loaded["output"]["data"][0]


def said(message: dict) -> str:
    """Every value a handler answered, as text (emoji unescaped)."""
    return json.dumps(message.get("output", {}), ensure_ascii=False)


def fix_requests(hub: HubStandIn) -> list:
    return [r for r in hub.requests if r.endpoint in FIX_ENDPOINTS]


def owner_session(app: AdminApp, report: dict, session: str) -> None:
    """The owner's page in `session`: the report shown, the Apply section filled (as the page does)."""
    [shown], _ = app.call(
        app.dependency("on_fix_report"), cookie=session_cookie("alice"), session=session, data=[report]
    )
    assert "request hardware t4-small" in said(shown), said(shown)


def test_the_start_up_report_carries_the_hardware_fix(report: dict) -> None:
    gpu = next(v for v in report["verdicts"] if v["component"] == "gpu")
    assert gpu["rule"] == "gpu-no-gpu" and gpu["action"]["kind"] == "hardware" and gpu["action"]["flavor"] == "t4-small"


def test_no_fix_is_an_api_endpoint_or_an_mcp_tool(app: AdminApp) -> None:
    named = httpx.get(f"{app.url}/gradio_api/info", headers=app.headers).json()["named_endpoints"]
    assert "/diagnostics" in named
    assert not [name for name in named if "fix" in name or "apply" in name]

    async def listed(session):
        return [tool.name for tool in (await session.list_tools()).tools]

    tools = asyncio.run(with_session(app.url, listed))
    # On Spaces Gradio prefixes each tool with the Space's name, e.g. "self_check_diagnostics".
    assert any(name.endswith("_diagnostics") for name in tools)
    assert not [name for name in tools if "fix" in name or "apply" in name]


def test_a_visitor_never_sees_the_apply_section(app: AdminApp, report: dict) -> None:
    [shown], _ = app.call(app.dependency("on_fix_report"), data=[report])
    assert "t4-small" not in said(shown) and '"visible": false' in said(shown)


@pytest.mark.parametrize(
    "cookie, origin",
    [(None, "own"), ("alice", "https://evil.example"), ("alice", None)],
    ids=["signed-out", "owner-cookie-from-another-site", "owner-cookie-without-origin"],
)
def test_refused_callers_change_nothing(app: AdminApp, hub: HubStandIn, report: dict, cookie, origin) -> None:
    """Even in a session where the owner's page filled the choices, the stand-in hears no request."""
    hub.clear_requests()
    owner_session(app, report, "shared-1")
    sent = {"cookie": session_cookie(cookie) if cookie else None, "origin": origin, "session": "shared-1"}
    [applied], _ = app.call(app.dependency("on_apply_fix"), data=["gpu", False, report], **sent)
    [confirmed], _ = app.call(app.dependency("on_confirm_fix"), **sent)
    for message in (applied, confirmed):
        assert "⚠️ Refused" in said(message), said(message)
    assert fix_requests(hub) == []


def test_the_owner_on_the_spaces_own_page_applies_it_after_confirming_the_price(
    app: AdminApp, hub: HubStandIn, report: dict
) -> None:
    hub.clear_requests()
    owner_session(app, report, "owner-1")
    cookie = session_cookie("alice")
    [applied], _ = app.call(
        app.dependency("on_apply_fix"), data=["gpu", False, report], cookie=cookie, session="owner-1"
    )
    assert "Confirm: switch to t4-small at $0.40/hour (sleep: 1 h)" in said(applied)
    assert fix_requests(hub) == []
    [confirmed], _ = app.call(app.dependency("on_confirm_fix"), cookie=cookie, session="owner-1")
    assert "✅ Requested t4-small" in said(confirmed), said(confirmed)
    assert [(r.endpoint, r.body) for r in hub.changes()] == [
        ("hardware", {"flavor": "t4-small", "sleepTimeSeconds": 3600})
    ]
    assert "gpu: request hardware t4-small" in said(confirmed)  # the before/after table lists it
