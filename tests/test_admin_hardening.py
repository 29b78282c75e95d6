"""The Admin tab against a hostile visitor, with the app run as it runs on Spaces (SYSTEM=spaces, OAuth on).

The owner's session cookie is minted the way Gradio signs it (starlette's SessionMiddleware, keyed
with a hash of OAUTH_CLIENT_SECRET), so the tests hold a valid owner session without a real sign-in,
and requests reach the app as a Space's do: Host <subdomain>.hf.space, Origin set by the page.
The Hub is the stand-in, which records every request the app makes with the owner's token.

Tests run in file order on one app; the Hub-failure tests come last because failures are remembered.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.admin_app import SPACE_HOST, AdminApp, output_text, session_cookie, spaces_app
from tests.hub_standin import HubStandIn, wait_for

pytestmark = pytest.mark.slow

OPENAI_KEY = "sk-proj-" + "Qw8" * 14
DB_PASSWORD = "pg-pw-" + uuid.uuid4().hex[:10]
SECRET_ENV = {
    "HF_SECRETS": "swordfish-" + uuid.uuid4().hex[:10],
    "HF_HUB_PASS": "hub-pass-" + uuid.uuid4().hex[:10],
    "SPACE_DB_URL": f"postgres://app:{DB_PASSWORD}@db.internal:5432/app",
    "OPENAI_API_KEY": OPENAI_KEY,
}


@pytest.fixture(scope="module")
def hub() -> Iterator[HubStandIn]:
    with HubStandIn(user="alice", space_id="alice/self-check", settle_after_polls=0) as standin:
        yield standin


@pytest.fixture(scope="module")
def app(hub: HubStandIn, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AdminApp]:
    server = spaces_app(hub, tmp_path_factory.mktemp("admin-spaces") / "app.log", **SECRET_ENV)
    yield server
    server.close()


@pytest.fixture(autouse=True)
def fresh_hub(hub: HubStandIn) -> Iterator[None]:
    hub.clear_failures()
    hub.clear_requests()
    yield
    hub.set_runtime(stage="RUNNING", current="cpu-basic", requested="cpu-basic")


def result_line(message: dict) -> str:
    return message["output"]["data"][0]


def test_minted_cookie_signs_in_the_owner(app: AdminApp) -> None:
    """The premise of the tests below: the cookie is a valid owner session in this app."""
    [loaded], _ = app.call(app.dependency("on_load"), cookie=session_cookie("alice"))
    assert "alice, the owner of this Space" in output_text(loaded)
    [anonymous], _ = app.call(app.dependency("on_load"))
    assert "Sign in" in output_text(anonymous)


@pytest.mark.parametrize("origin", ["https://evil.example", None, "null", f"https://{SPACE_HOST}.evil.example"])
def test_owner_cookie_sent_by_another_page_pauses_nothing(app: AdminApp, hub: HubStandIn, origin) -> None:
    """A page elsewhere (or a request saying no page) carrying the owner's cookie: refused, the Hub sees no pause."""
    cookie = session_cookie("alice")
    preflight = httpx.options(
        f"{app.url}/gradio_api/queue/join",
        headers={"Host": SPACE_HOST, "Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    # Why the check must sit in the handler: Gradio lets any site's script send the cookie along.
    assert preflight.headers.get("access-control-allow-credentials") == "true"
    [paused], _ = app.call(app.dependency("on_pause"), cookie=cookie, origin=origin)
    [restarted], _ = app.call(app.dependency("on_restart"), cookie=cookie, origin=origin)
    for message in (paused, restarted):
        assert result_line(message).startswith("⚠️ Refused"), result_line(message)
    assert hub.changes() == []
    assert hub.runtime()["stage"] == "RUNNING"


def test_owner_on_the_spaces_own_page_pauses(app: AdminApp, hub: HubStandIn) -> None:
    """The same cookie from https://<subdomain>.hf.space is carried out: the refusals above were about origin."""
    [paused], _ = app.call(app.dependency("on_pause"), cookie=session_cookie("alice"))
    assert result_line(paused).startswith("✅ Paused"), result_line(paused)
    assert [r.endpoint for r in hub.changes()] == ["pause"]


def test_anonymous_call_with_the_owners_session_keeps_the_owners_choice(app: AdminApp, hub: HubStandIn) -> None:
    """The owner picks paid hardware; an anonymous caller reusing the session hash cannot clear or replace it."""
    session = uuid.uuid4().hex[:12]
    cookie = session_cookie("alice")
    choose = app.dependency("on_choose")
    rest = app.inputs_for(choose)[2:]  # last runtime and seen changes: session state
    app.call(app.dependency("on_load"), cookie=cookie, session=session)  # fills the dropdown, as the page does
    [chosen], _ = app.call(choose, cookie=cookie, session=session, data=["a10g-small", "1 h", *rest])
    assert "Confirm: switch to a10g-small" in output_text(chosen)
    [intruder], _ = app.call(choose, session=session, data=["cpu-basic", "1 h", *rest])
    assert "⚠️ Refused" in intruder["output"]["data"][2]
    app.call(app.dependency("on_cancel"), session=session)
    assert hub.changes() == []
    [confirmed], _ = app.call(app.dependency("on_confirm"), cookie=cookie, session=session)
    result = confirmed["output"]["data"][1]  # after the confirm row
    assert result.startswith("✅ Requested a10g-small"), result
    assert [r.body for r in hub.changes()] == [{"flavor": "a10g-small", "sleepTimeSeconds": 3600}]


def test_refused_attempts_are_summarised_and_never_push_out_real_changes(app: AdminApp, hub: HubStandIn) -> None:
    """200 refused calls (more than the list holds) after the owner's real change: it stays listed."""
    cookie = session_cookie("alice")
    [restarted], _ = app.call(app.dependency("on_restart"), cookie=cookie)
    assert result_line(restarted).startswith("✅"), result_line(restarted)
    completed, _ = app.call(app.dependency("on_pause"), times=200)
    assert len(completed) == 200
    activity = completed[-1]["output"]["data"][-1]
    rows = activity["data"] if isinstance(activity, dict) else activity
    summary, *changes = rows
    assert "refused attempts" in summary[2] and "anonymous" in summary[1]
    assert int(summary[2].split()[0]) >= 200
    assert "restart the Space" in [row[2] for row in changes]
    assert all("refused" not in row[3] for row in changes)
    log = app.log()
    assert log.count("refused attempt") < 10, "refused attempts must not flood the log"


def test_secrets_never_reach_admin_messages_or_the_log(app: AdminApp, hub: HubStandIn) -> None:
    """A Hub error echoing an sk- key and a database URL: masked on the page and in the log."""
    said = f"upstream rejected key {OPENAI_KEY} for postgres://app:{DB_PASSWORD}@db.internal/app"
    hub.fail("restart", 500, message=said)
    # A factory reboot: a plain restart right after the previous test's would be ignored as a repeated click.
    restart = app.dependency("on_restart")
    factory_reboot = [True, *app.inputs_for(restart)[1:]]
    [restarted], raw = app.call(restart, cookie=session_cookie("alice"), data=factory_reboot)
    text = output_text(restarted)
    assert "500" in text and "[redacted]" in text
    assert wait_for(lambda: "factory reboot the Space" in app.log() and "FAILED" in app.log())
    for secret in (OPENAI_KEY, DB_PASSWORD, hub.token, *SECRET_ENV.values()):
        assert secret not in raw and secret not in app.log()


def runtime_requests(hub: HubStandIn) -> int:
    return sum(r.endpoint == "runtime" for r in hub.requests)


def flood_runtime(app: AdminApp, calls: int) -> tuple[list[dict], float]:
    """`calls` signed-out /admin_runtime calls (no Origin: a script), queued at once; (completions, seconds)."""
    started = time.monotonic()
    completed, _ = app.call(app.dependency("admin_runtime"), times=calls, origin=None)
    assert len(completed) == calls
    return completed, time.monotonic() - started


def test_signed_out_callers_cannot_drive_the_owners_token_while_the_hub_errs(app: AdminApp, hub: HubStandIn) -> None:
    """100 signed-out /admin_runtime calls while the Hub answers 500: at most one Hub request per poll interval."""
    from admin.remembered import POLL_INTERVAL_S

    time.sleep(POLL_INTERVAL_S + 0.2)  # past the runtime the app remembered from earlier tests
    hub.fail("runtime", 500)
    completed, elapsed = flood_runtime(app, 100)
    assert all("(500)" in result_line(message) for message in completed)
    assert runtime_requests(hub) <= 1 + int(elapsed // POLL_INTERVAL_S), (runtime_requests(hub), elapsed)


def test_a_rate_limited_hub_is_not_asked_again_before_retry_after(app: AdminApp, hub: HubStandIn) -> None:
    """429 with Retry-After: 60: one Hub request, then none however many callers come."""
    from admin.remembered import FAILURE_BACKOFF_S

    time.sleep(FAILURE_BACKOFF_S + 0.5)  # past the failure the previous test left remembered
    hub.fail("runtime", 429, headers={"Retry-After": "60"})
    completed, _ = flood_runtime(app, 100)
    assert all("(429)" in result_line(message) for message in completed)
    assert "Retry in 60 s" in result_line(completed[0])
    assert runtime_requests(hub) == 1
