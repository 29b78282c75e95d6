"""AdminService: authorise, validate, send one request, record. Against the Hub stand-in, no Gradio."""

from __future__ import annotations

import logging
import threading

import pytest

from admin.access import Caller
from admin.desk import Outcome
from admin.desk import Pending as PendingHardware
from admin.space.client import SpaceClient
from admin.space.service import SpaceService as AdminService
from settings import load_settings
from tests.hub_standin import HubStandIn, allow_hub_requests_fixture, hub_standin_fixture  # noqa: F401 (fixtures)

pytestmark = pytest.mark.usefixtures("allow_hub_requests")

OWNER, ADMIN, STRANGER = "space-owner", "helper", "mallory"
HOST = "127.0.0.1:7860"


def caller(username: str | None, *, session: str = "tab-1", origin: str | None = f"http://{HOST}") -> Caller:
    """A request from the app's own page (outside Spaces: same origin as the Host header) unless told otherwise."""
    return Caller(username, session=session, origin=origin, host=HOST)


def service_for(hub: HubStandIn, **kwargs) -> AdminService:
    settings = load_settings(
        {"ADMIN_SPACE_ID": hub.space_id, "SPACE_AUTHOR_NAME": OWNER, "ADMIN_USERS": ADMIN, "HF_TOKEN": hub.token}
    )
    client = SpaceClient(hub.space_id, hub.token, endpoint=hub.url, timeout_s=kwargs.pop("timeout_s", 5.0))
    return AdminService(settings, client=client, **kwargs)


@pytest.mark.parametrize("who", [None, STRANGER])
def test_everyone_else_is_refused_and_nothing_is_sent(hub_standin: HubStandIn, who: str | None) -> None:
    service = service_for(hub_standin)
    before = hub_standin.runtime()
    outcomes = [
        service.prepare_hardware(caller(who), "a100x8", "never"),
        service.request_hardware(caller(who), "a100x8", "never"),
        service.stop_billing(caller(who)),
        service.set_sleep_time(caller(who), "1 h"),
        service.pause(caller(who)),
        service.restart(caller(who), True),
    ]
    for outcome in outcomes:
        assert isinstance(outcome, Outcome) and not outcome.ok
        assert outcome.message.startswith("Refused:")
    assert hub_standin.changes() == []
    assert hub_standin.runtime() == before
    assert service.activity.entries() == []  # counted, not listed one by one
    summary = service.activity.refused()
    assert summary.total == len(outcomes)
    assert summary.by_kind == {("anonymous" if who is None else "visitor"): len(outcomes)}


def test_paid_flavor_needs_a_confirmation_showing_the_price(hub_standin: HubStandIn) -> None:
    service = service_for(hub_standin)
    pending = service.prepare_hardware(caller(OWNER), "t4-small", "15 min")
    assert isinstance(pending, PendingHardware)
    assert pending.prompt == "Confirm: switch to t4-small at $0.40/hour (sleep: 15 min)"
    assert "At most $292.00/month" in pending.estimate
    assert hub_standin.changes() == []

    outcome = service.confirm_hardware(caller(OWNER))
    assert outcome.ok, outcome.message
    assert outcome.state.requested_hardware == "t4-small"
    assert "Requested t4-small" in outcome.message and "restarts" in outcome.message
    assert [r.body for r in hub_standin.changes()] == [{"flavor": "t4-small", "sleepTimeSeconds": 900}]
    entry = service.activity.entries()[0]
    assert (entry.who, entry.action, entry.ok) == (OWNER, "request hardware t4-small (sleep: 15 min)", True)


def test_free_flavor_goes_through_without_confirmation_or_sleep_time(hub_standin: HubStandIn) -> None:
    hub_standin.set_runtime(current="t4-small", requested="t4-small")
    outcome = service_for(hub_standin).prepare_hardware(caller(ADMIN), "cpu-basic", "1 h")
    assert isinstance(outcome, Outcome) and outcome.ok
    assert [r.body for r in hub_standin.changes()] == [{"flavor": "cpu-basic"}]


def test_stop_billing_switches_to_cpu_basic(hub_standin: HubStandIn) -> None:
    hub_standin.settle_after_polls = 0
    hub_standin.set_runtime(current="a100x8", requested="a100x8")
    outcome = service_for(hub_standin).stop_billing(caller(OWNER))
    assert outcome.ok and "billing stops" in outcome.message
    assert hub_standin.runtime()["hardware"] == {"current": "cpu-basic", "requested": "cpu-basic"}


def test_sleep_time_on_cpu_basic_is_explained_not_sent(hub_standin: HubStandIn) -> None:
    outcome = service_for(hub_standin).set_sleep_time(caller(OWNER), "1 h")
    assert not outcome.ok and "fixed at 48 h" in outcome.message and "nothing was sent" in outcome.message
    assert hub_standin.changes() == []


def test_sleep_time_on_paid_hardware_is_sent(hub_standin: HubStandIn) -> None:
    hub_standin.set_runtime(current="t4-small", requested="t4-small")
    outcome = service_for(hub_standin).set_sleep_time(caller(OWNER), "10 h")
    assert outcome.ok and outcome.message == "Sleep time is now 10 h."
    assert hub_standin.changes()[0].body == {"seconds": 36000}


def test_pause_says_only_the_owner_can_restart(hub_standin: HubStandIn) -> None:
    outcome = service_for(hub_standin).pause(caller(OWNER))
    assert outcome.ok and outcome.state.is_paused
    assert "only the owner can restart" in outcome.message


def test_restart_with_factory_reboot(hub_standin: HubStandIn) -> None:
    outcome = service_for(hub_standin).restart(caller(OWNER), True)
    assert outcome.ok and "factory reboot" in outcome.message
    assert hub_standin.changes()[0].query == {"factory": ["true"]}


def test_unknown_flavor_and_sleep_time_are_refused_before_the_hub(hub_standin: HubStandIn) -> None:
    service = service_for(hub_standin)
    assert "not a Spaces hardware flavor" in service.request_hardware(caller(OWNER), "h100x64", "never").message
    assert "not one of" in service.request_hardware(caller(OWNER), "t4-small", "2 min").message
    assert "not one of" in service.set_sleep_time(caller(OWNER), "forever").message
    assert hub_standin.changes() == []


def test_double_click_sends_one_request(hub_standin: HubStandIn) -> None:
    """Two clicks at once: the second is refused while the first is in flight; a third right after, as a repeat."""
    service = service_for(hub_standin)
    hub_standin.fail("pause", delay_s=0.5)
    outcomes: list[Outcome] = []
    clicks = [threading.Thread(target=lambda: outcomes.append(service.pause(caller(OWNER)))) for _ in range(2)]
    for click in clicks:
        click.start()
    for click in clicks:
        click.join()
    late = service.pause(caller(OWNER))
    assert len(hub_standin.changes()) == 1
    assert sorted(o.ok for o in outcomes) == [False, True]
    assert "another change is being sent" in next(o for o in outcomes if not o.ok).message
    assert not late.ok and "repeated" in late.message


def test_a_different_change_right_after_is_sent(hub_standin: HubStandIn) -> None:
    service = service_for(hub_standin)
    assert service.restart(caller(OWNER), False).ok
    assert service.pause(caller(OWNER)).ok
    assert len(hub_standin.changes()) == 2


def test_failures_are_recorded_with_the_hub_error_scrubbed(hub_standin: HubStandIn, caplog) -> None:
    # INFO is what app.py logs at; at DEBUG, httpcore2 itself prints raw response headers.
    caplog.set_level(logging.INFO)
    service = service_for(hub_standin)
    hub_standin.fail("restart", 401, message=f"bad token {hub_standin.token}")
    outcome = service.restart(caller(OWNER), False)
    assert not outcome.ok and "401" in outcome.message
    entry = service.activity.entries()[0]
    assert not entry.ok and "401" in entry.result and hub_standin.token not in entry.result
    assert any("admin action by space-owner: restart the Space" in r.getMessage() for r in caplog.records)
    assert hub_standin.token not in caplog.text


def test_catalogue_comes_from_the_hub_or_the_dated_fallback(hub_standin: HubStandIn) -> None:
    assert service_for(hub_standin).catalogue().source == "hub"
    hub_standin.fail("hardware-list", 500)
    fallback = service_for(hub_standin).catalogue()
    assert fallback.source == "fallback" and "2026-07" in fallback.note and "500" in fallback.note


@pytest.mark.parametrize(("headers", "quiet_s"), [({}, 60.0), ({"Retry-After": "120"}, 120.0)])
def test_a_failed_hardware_list_is_asked_again_after_a_minute_or_retry_after_not_the_hours_cache(
    hub_standin: HubStandIn, headers: dict, quiet_s: float
) -> None:
    """The fallback prices stand in while the Hub fails, without a request per page load, and not for an hour."""
    clock = FakeClock()
    service = service_for(hub_standin, clock=clock)
    hub_standin.fail("hardware-list", 429 if headers else 500, headers=headers)
    assert {service.catalogue().source for _ in range(10)} == {"fallback"}
    clock.now += quiet_s - 1
    assert service.catalogue().source == "fallback" and hardware_requests(hub_standin) == 1
    hub_standin.clear_failures()
    clock.now += 1.5
    assert service.catalogue().source == "hub" and hardware_requests(hub_standin) == 2
    clock.now += 3000
    assert service.catalogue().source == "hub" and hardware_requests(hub_standin) == 2


def hardware_requests(hub: HubStandIn) -> int:
    return sum(r.endpoint == "hardware-list" for r in hub.requests)


def test_runtime_reads_are_cached_briefly_for_everyone(hub_standin: HubStandIn) -> None:
    """Every visitor's refresh spends the owner's rate limit: reads within the poll interval share one request."""
    service = service_for(hub_standin)
    for _ in range(5):
        service.runtime()
    assert sum(r.endpoint == "runtime" for r in hub_standin.requests) == 1


def test_unconfigured_service_explains_instead_of_failing() -> None:
    service = AdminService(load_settings({"SPACE_AUTHOR_NAME": OWNER}))
    assert len(service.problems) == 2
    outcome = service.pause(caller(OWNER))
    assert not outcome.ok and "HF_TOKEN" in outcome.message and "ADMIN_SPACE_ID" in outcome.message
    assert service.catalogue().source == "fallback"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def runtime_requests(hub: HubStandIn) -> int:
    return sum(r.endpoint == "runtime" for r in hub.requests)


@pytest.mark.parametrize(
    ("status", "headers", "quiet_s"),
    [(429, {"Retry-After": "30"}, 30.0), (500, {}, AdminService.__init__.__kwdefaults__["failure_backoff_s"])],
)
def test_runtime_failures_are_remembered_as_long_as_the_hub_asks(
    hub_standin: HubStandIn, status: int, headers: dict, quiet_s: float
) -> None:
    """While the Hub fails, 50 reads make one request until Retry-After (or the back-off) has passed."""
    from admin.hub import AdminError

    clock = FakeClock()
    service = service_for(hub_standin, clock=clock)
    hub_standin.fail("runtime", status, headers=headers)
    messages = []
    for _ in range(50):
        with pytest.raises(AdminError) as raised:
            service.runtime()
        messages.append(raised.value.message)
    assert runtime_requests(hub_standin) == 1
    assert str(status) in messages[0] and "Asking the Hub again in" in messages[-1]
    clock.now += quiet_s - 1
    with pytest.raises(AdminError):
        service.runtime()
    assert runtime_requests(hub_standin) == 1
    hub_standin.clear_failures()
    clock.now += 1.5
    assert service.runtime().stage == "RUNNING"
    assert runtime_requests(hub_standin) == 2


def test_concurrent_readers_share_one_hub_request(hub_standin: HubStandIn) -> None:
    """Twenty readers arriving while the Hub is slow wait for the one request in flight."""
    service = service_for(hub_standin)
    hub_standin.fail("runtime", delay_s=0.5)
    states = []
    readers = [threading.Thread(target=lambda: states.append(service.runtime())) for _ in range(20)]
    for reader in readers:
        reader.start()
    for reader in readers:
        reader.join()
    assert len(states) == 20 and runtime_requests(hub_standin) == 1


@pytest.mark.parametrize(
    ("origin", "referer"),
    [
        ("https://evil.example", None),
        (None, None),
        ("null", None),
        (None, "https://evil.example/page"),
        (f"http://{HOST}.evil.example", None),
        (f"http://user@{HOST}", None),
    ],
)
def test_owner_cookie_from_another_page_changes_nothing(hub_standin: HubStandIn, origin, referer) -> None:
    """The owner signed in, but the request does not come from the app's own page: refused, counted cross-site."""
    service = service_for(hub_standin)
    request = Caller(OWNER, session="tab-1", origin=origin, referer=referer, host=HOST)
    outcomes = [
        service.pause(request),
        service.restart(request, False),
        service.stop_billing(request),
        service.prepare_hardware(request, "t4-small", "1 h"),
        service.confirm_hardware(request),
    ]
    assert all(not o.ok and o.message.startswith("Refused:") for o in outcomes)
    assert hub_standin.changes() == []
    assert service.activity.refused().by_kind == {"cross-site": len(outcomes)}


def test_referer_stands_in_for_a_missing_origin(hub_standin: HubStandIn) -> None:
    service = service_for(hub_standin)
    assert service.pause(Caller(OWNER, origin=None, referer=f"http://{HOST}/?view=admin", host=HOST)).ok


def test_on_spaces_only_the_space_and_the_hub_may_send_changes(hub_standin: HubStandIn) -> None:
    settings = load_settings(
        {
            "SPACE_ID": hub_standin.space_id,
            "SPACE_AUTHOR_NAME": OWNER,
            "HF_TOKEN": hub_standin.token,
            "SPACE_HOST": "space-owner-gpu-self-check.hf.space",
        }
    )
    client = SpaceClient(hub_standin.space_id, hub_standin.token, endpoint=hub_standin.url)
    service = AdminService(settings, client=client, repeat_window_s=0)
    inside = "10.0.0.7:7860"  # the Host the app sees behind the Spaces proxy
    for origin in ("http://10.0.0.7:7860", "http://space-owner-gpu-self-check.hf.space", "https://hf.space"):
        assert not service.pause(Caller(OWNER, origin=origin, host=inside)).ok, origin
    assert hub_standin.changes() == []
    assert service.pause(Caller(OWNER, origin="https://space-owner-gpu-self-check.hf.space", host=inside)).ok
    assert service.restart(Caller(OWNER, origin="https://huggingface.co", host=inside), False).ok
    assert len(hub_standin.changes()) == 2


def test_pending_choice_belongs_to_the_user_and_session_that_made_it(hub_standin: HubStandIn) -> None:
    """Nobody else, even with the owner's session hash, can confirm, cancel or replace the owner's choice."""
    service = service_for(hub_standin)
    assert isinstance(service.prepare_hardware(caller(OWNER, session="s"), "a10g-small", "1 h"), PendingHardware)
    assert service.confirm_hardware(caller(None, session="s")).message.startswith("Refused")
    assert service.confirm_hardware(caller(STRANGER, session="s")).message.startswith("Refused")
    assert not service.cancel_hardware(caller(None, session="s")).ok
    assert not service.cancel_hardware(caller(ADMIN, session="s")).ok
    assert service.prepare_hardware(caller(None, session="s"), "cpu-basic", "1 h").message.startswith("Refused")
    assert "Nothing to confirm" in service.confirm_hardware(caller(OWNER, session="other-tab")).message
    assert hub_standin.changes() == []
    outcome = service.confirm_hardware(caller(OWNER, session="s"))
    assert outcome.ok and [r.body for r in hub_standin.changes()] == [
        {"flavor": "a10g-small", "sleepTimeSeconds": 3600}
    ]
    assert "Nothing to confirm" in service.confirm_hardware(caller(OWNER, session="s")).message


def test_a_pending_choice_expires(hub_standin: HubStandIn) -> None:
    from admin.pending import PENDING_TTL_S

    clock = FakeClock()
    service = service_for(hub_standin, clock=clock)
    service.prepare_hardware(caller(OWNER), "a10g-small", "1 h")
    clock.now += PENDING_TTL_S + 1
    assert "Nothing to confirm" in service.confirm_hardware(caller(OWNER)).message
    assert hub_standin.changes() == []


def test_refused_attempts_never_push_out_real_changes(hub_standin: HubStandIn) -> None:
    """500 refused calls are one summary row; the owner's two real changes stay listed."""
    service = service_for(hub_standin)
    assert service.restart(caller(OWNER), False).ok and service.pause(caller(OWNER)).ok
    for i in range(500):
        service.pause(caller(None if i % 2 else STRANGER, origin=None if i % 5 == 0 else f"http://{HOST}"))
    rows = service.activity.rows()
    assert len(rows) == 3
    assert "500 refused attempts" in rows[0][2] and "anonymous" in rows[0][1] and "cross-site" in rows[0][1]
    assert [row[2] for row in rows[1:]] == ["pause the Space", "restart the Space"]
    assert sum(service.activity.refused().by_kind.values()) == 500
