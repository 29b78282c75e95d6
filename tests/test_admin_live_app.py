"""Live metrics, run log and the Inference Endpoint section of the Admin tab, with the app run as on Spaces.

The app is the real app.py (SYSTEM=spaces, OAuth on, Host <subdomain>.hf.space), its Hub the stand-in, the
owner's session cookie minted as Gradio signs it (tests/test_admin_hardening.py). Tests run in file order on
one app: visitors first, while the app has never read the live streams, then the owner, failures last.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.admin_app import AdminApp, session_cookie, spaces_app
from tests.hub_standin import HubStandIn, wait_for

pytestmark = pytest.mark.slow

ENDPOINTS_API_SHIM = Path(__file__).resolve().parent / "fixtures" / "endpoints_api"
DB_PASSWORD = "pg-pw-live-4711"


@pytest.fixture(scope="module")
def hub() -> Iterator[HubStandIn]:
    with HubStandIn(
        user="alice",
        space_id="alice/self-check",
        hardware="t4-small",
        settle_after_polls=0,
        inference_endpoint="self-check-tei",
        replicas=("aaa11", "bbb22"),
        metrics_interval_s=0.5,
    ) as standin:
        yield standin


@pytest.fixture(scope="module")
def app(hub: HubStandIn, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AdminApp]:
    server = spaces_app(
        hub,
        tmp_path_factory.mktemp("admin-live") / "app.log",
        INFERENCE_ENDPOINT="self-check-tei",
        SPACE_DB_URL=f"postgres://app:{DB_PASSWORD}@db.internal:5432/app",
        # huggingface_hub's Inference Endpoints base URL is a constant: the shim points it at the stand-in.
        PYTHONPATH=str(ENDPOINTS_API_SHIM),
        STANDIN_INFERENCE_ENDPOINTS_API=hub.endpoints_api,
    )
    yield server
    server.close()


def live_reads(hub: HubStandIn) -> list[str]:
    return [r.endpoint for r in hub.requests if r.endpoint in ("metrics", "logs")]


def ie_changes(hub: HubStandIn) -> list[str]:
    return [r.endpoint for r in hub.changes() if r.endpoint.startswith("ie-")]


def look(app: AdminApp, **kwargs) -> list:
    [message], _ = app.call(app.dependency("on_look"), data=[True], **kwargs)
    return message["output"]["data"]


def output_text(message: dict) -> str:
    """The texts a completed event sent to its components, joined (emoji kept as they are)."""
    return "\n".join(item for item in message["output"]["data"] if isinstance(item, str))


def plotted_replicas(update: dict) -> set[str]:
    """The replicas a LinePlot update holds (Gradio sends the DataFrame as columns and rows)."""
    plot = update["value"]
    column = plot["columns"].index("replica")
    return {row[column] for row in plot["data"]}


def test_visitors_see_a_reason_and_cause_no_hub_reads(app: AdminApp, hub: HubStandIn) -> None:
    """Anonymous, another user, and the owner's cookie from another site: refused, the Hub never asked."""
    hub.add_log(f"started with token {hub.token} and postgres://app:{DB_PASSWORD}@db.internal/app")
    for kwargs in ({}, {"cookie": session_cookie("mallory")}, {"cookie": session_cookie("alice"), "origin": None}):
        status, *plots, logs, timer = look(app, **kwargs)
        assert status.startswith("🔒"), status
        assert [plotted_replicas(plot) for plot in plots] == [set()] * 4
        assert logs == "" and timer.get("active") is False
    assert "Sign in" in look(app)[0] and "mallory" in look(app, cookie=session_cookie("mallory"))[0]
    [loaded], _ = app.call(app.dependency("on_page_load"))
    assert output_text(loaded).startswith("🔒")
    assert live_reads(hub) == []


def test_owner_sees_every_replica_plotted_and_the_scrubbed_log(app: AdminApp, hub: HubStandIn) -> None:
    cookie = session_cookie("alice")

    def complete() -> bool:
        status, cpu, memory, gpu, gpu_memory, logs, timer = look(app, cookie=cookie)
        complete.last = (status, cpu, gpu, logs, timer)
        return plotted_replicas(cpu) == {"aaa11", "bbb22"} and "started with token" in logs

    assert wait_for(complete, timeout_s=60, interval_s=1.0), complete.last
    status, cpu, gpu, logs, timer = complete.last
    assert "2 replicas (aaa11, bbb22)" in status and timer.get("active") is True
    assert plotted_replicas(gpu) == {"aaa11", "bbb22"}
    assert hub.token not in logs and DB_PASSWORD not in logs and "[redacted]" in logs
    assert hub.token not in json.dumps(complete.last) and hub.token not in app.log()
    assert live_reads(hub).count("metrics") == 1, "one stream serves every look"


def test_endpoint_state_is_shown_to_anyone_without_secrets(app: AdminApp, hub: HubStandIn) -> None:
    [loaded], raw = app.call(app.dependency("endpoint_load"))
    text = output_text(loaded)
    assert "alice/self-check-tei" in text and "running" in text and "Replicas: 1 ready" in text
    assert "Zq9" not in raw
    buttons = loaded["output"]["data"][:4]
    assert all(button.get("interactive") is False for button in buttons)


@pytest.mark.parametrize("who", ["anonymous", "visitor", "cross-site owner"])
def test_nobody_but_the_owner_changes_the_endpoint(app: AdminApp, hub: HubStandIn, who: str) -> None:
    kwargs = {
        "anonymous": {},
        "visitor": {"cookie": session_cookie("mallory")},
        "cross-site owner": {"cookie": session_cookie("alice"), "origin": "https://evil.example"},
    }[who]
    for name, data in (("endpoint_pause", []), ("endpoint_scale_to_zero", []), ("endpoint_replicas", [2, 3])):
        [message], _ = app.call(app.dependency(name), data=data, **kwargs)
        assert "⚠️ Refused" in output_text(message), output_text(message)
    assert ie_changes(hub) == []


def test_owner_pauses_resumes_with_confirmation_and_sets_replicas(app: AdminApp, hub: HubStandIn) -> None:
    cookie, session = session_cookie("alice"), "owner-session-1"
    [paused], _ = app.call(app.dependency("endpoint_pause"), cookie=cookie, session=session)
    assert "✅ Paused self-check-tei" in output_text(paused), output_text(paused)
    [asked], _ = app.call(app.dependency("endpoint_resume"), cookie=cookie, session=session)
    assert "Confirm: resume" in output_text(asked) and ie_changes(hub) == ["ie-pause"]
    [resumed], _ = app.call(app.dependency("endpoint_confirm"), cookie=cookie, session=session)
    assert "✅ Resuming" in output_text(resumed), output_text(resumed)
    [asked], _ = app.call(app.dependency("endpoint_replicas"), cookie=cookie, session=session, data=[2, 3])
    assert "at least 2 replicas" in output_text(asked)
    [confirmed], _ = app.call(app.dependency("endpoint_confirm"), cookie=cookie, session=session)
    assert "between 2 and 3 replicas" in output_text(confirmed)
    assert ie_changes(hub) == ["ie-pause", "ie-resume", "ie-update"]
    activity = confirmed["output"]["data"][-1]
    rows = activity["data"] if isinstance(activity, dict) else activity
    actions = [row[2] for row in rows]
    assert "pause Inference Endpoint self-check-tei" in actions
    assert "set replicas of Inference Endpoint self-check-tei to 2-3" in actions


def test_endpoint_failures_read_clearly(app: AdminApp, hub: HubStandIn) -> None:
    hub.fail("ie-scale-to-zero", 403)
    [message], raw = app.call(app.dependency("endpoint_scale_to_zero"), cookie=session_cookie("alice"))
    assert "⚠️ Could not scale the Inference Endpoint to zero" in output_text(message)
    assert "Inference Endpoints: write" in output_text(message) and hub.token not in raw


def test_a_failing_metrics_stream_says_why(app: AdminApp, hub: HubStandIn) -> None:
    """The Hub refuses the token: after the open stream ends, the owner reads a 401 explained."""
    hub.fail("metrics", 401)
    hub.replicas = ()  # the open stream goes silent and is dropped, then reopened: refused now
    cookie = session_cookie("alice")
    assert wait_for(lambda: "⚠️ Metrics" in look(app, cookie=cookie)[0], timeout_s=60, interval_s=1.0)
    status = look(app, cookie=cookie)[0]
    assert "(401)" in status and "HF_TOKEN" in status and hub.token not in status
