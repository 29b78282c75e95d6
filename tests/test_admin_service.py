"""AdminService: authorise, validate, send one request, record. Against the Hub stand-in, no Gradio."""

from __future__ import annotations

import logging
import threading

import pytest

from admin.service import AdminService, Outcome, PendingHardware
from admin.space_client import SpaceClient
from settings import load_settings
from tests.hub_standin import HubStandIn, allow_hub_requests_fixture, hub_standin_fixture  # noqa: F401 (fixtures)

pytestmark = pytest.mark.usefixtures("allow_hub_requests")

OWNER, ADMIN, STRANGER = "space-owner", "helper", "mallory"


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
        service.prepare_hardware(who, "a100x8", "never"),
        service.request_hardware(who, "a100x8", "never"),
        service.stop_billing(who),
        service.set_sleep_time(who, "1 h"),
        service.pause(who),
        service.restart(who, True),
    ]
    for outcome in outcomes:
        assert isinstance(outcome, Outcome) and not outcome.ok
        assert outcome.message.startswith("Refused:")
    assert hub_standin.changes() == []
    assert hub_standin.runtime() == before
    entries = service.activity.entries()
    assert len(entries) == len(outcomes)
    assert all(e.who == (who or "anonymous") and not e.ok and e.result.startswith("refused") for e in entries)


def test_paid_flavor_needs_a_confirmation_showing_the_price(hub_standin: HubStandIn) -> None:
    service = service_for(hub_standin)
    pending = service.prepare_hardware(OWNER, "t4-small", "15 min")
    assert isinstance(pending, PendingHardware)
    assert pending.prompt == "Confirm: switch to t4-small at $0.40/hour (sleep: 15 min)"
    assert "At most $292.00/month" in pending.estimate
    assert hub_standin.changes() == []

    outcome = service.request_hardware(OWNER, pending.flavor, pending.sleep_label)
    assert outcome.ok, outcome.message
    assert outcome.state.requested_hardware == "t4-small"
    assert "Requested t4-small" in outcome.message and "restarts" in outcome.message
    assert [r.body for r in hub_standin.changes()] == [{"flavor": "t4-small", "sleepTimeSeconds": 900}]
    entry = service.activity.entries()[0]
    assert (entry.who, entry.action, entry.ok) == (OWNER, "request hardware t4-small (sleep: 15 min)", True)


def test_free_flavor_goes_through_without_confirmation_or_sleep_time(hub_standin: HubStandIn) -> None:
    hub_standin.set_runtime(current="t4-small", requested="t4-small")
    outcome = service_for(hub_standin).prepare_hardware(ADMIN, "cpu-basic", "1 h")
    assert isinstance(outcome, Outcome) and outcome.ok
    assert [r.body for r in hub_standin.changes()] == [{"flavor": "cpu-basic"}]


def test_stop_billing_switches_to_cpu_basic(hub_standin: HubStandIn) -> None:
    hub_standin.settle_after_polls = 0
    hub_standin.set_runtime(current="a100x8", requested="a100x8")
    outcome = service_for(hub_standin).stop_billing(OWNER)
    assert outcome.ok and "billing stops" in outcome.message
    assert hub_standin.runtime()["hardware"] == {"current": "cpu-basic", "requested": "cpu-basic"}


def test_sleep_time_on_cpu_basic_is_explained_not_sent(hub_standin: HubStandIn) -> None:
    outcome = service_for(hub_standin).set_sleep_time(OWNER, "1 h")
    assert not outcome.ok and "fixed at 48 h" in outcome.message and "nothing was sent" in outcome.message
    assert hub_standin.changes() == []


def test_sleep_time_on_paid_hardware_is_sent(hub_standin: HubStandIn) -> None:
    hub_standin.set_runtime(current="t4-small", requested="t4-small")
    outcome = service_for(hub_standin).set_sleep_time(OWNER, "10 h")
    assert outcome.ok and outcome.message == "Sleep time is now 10 h."
    assert hub_standin.changes()[0].body == {"seconds": 36000}


def test_pause_says_only_the_owner_can_restart(hub_standin: HubStandIn) -> None:
    outcome = service_for(hub_standin).pause(OWNER)
    assert outcome.ok and outcome.state.is_paused
    assert "only the owner can restart" in outcome.message


def test_restart_with_factory_reboot(hub_standin: HubStandIn) -> None:
    outcome = service_for(hub_standin).restart(OWNER, True)
    assert outcome.ok and "factory reboot" in outcome.message
    assert hub_standin.changes()[0].query == {"factory": ["true"]}


def test_unknown_flavor_and_sleep_time_are_refused_before_the_hub(hub_standin: HubStandIn) -> None:
    service = service_for(hub_standin)
    assert "not a Spaces hardware flavor" in service.request_hardware(OWNER, "h100x64", "never").message
    assert "not one of" in service.request_hardware(OWNER, "t4-small", "2 min").message
    assert "not one of" in service.set_sleep_time(OWNER, "forever").message
    assert hub_standin.changes() == []


def test_double_click_sends_one_request(hub_standin: HubStandIn) -> None:
    """Two clicks at once: the second is refused while the first is in flight; a third right after, as a repeat."""
    service = service_for(hub_standin)
    hub_standin.fail("pause", delay_s=0.5)
    outcomes: list[Outcome] = []
    clicks = [threading.Thread(target=lambda: outcomes.append(service.pause(OWNER))) for _ in range(2)]
    for click in clicks:
        click.start()
    for click in clicks:
        click.join()
    late = service.pause(OWNER)
    assert len(hub_standin.changes()) == 1
    assert sorted(o.ok for o in outcomes) == [False, True]
    assert "another change is being sent" in next(o for o in outcomes if not o.ok).message
    assert not late.ok and "repeated" in late.message


def test_a_different_change_right_after_is_sent(hub_standin: HubStandIn) -> None:
    service = service_for(hub_standin)
    assert service.restart(OWNER, False).ok
    assert service.pause(OWNER).ok
    assert len(hub_standin.changes()) == 2


def test_failures_are_recorded_with_the_hub_error_scrubbed(hub_standin: HubStandIn, caplog) -> None:
    # INFO is what app.py logs at; at DEBUG, httpcore2 itself prints raw response headers.
    caplog.set_level(logging.INFO)
    service = service_for(hub_standin)
    hub_standin.fail("restart", 401, message=f"bad token {hub_standin.token}")
    outcome = service.restart(OWNER, False)
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


def test_runtime_reads_are_cached_briefly_for_everyone(hub_standin: HubStandIn) -> None:
    """Every visitor's refresh spends the owner's rate limit: reads within 2 s share one request."""
    service = service_for(hub_standin)
    for _ in range(5):
        service.runtime()
    assert sum(r.endpoint == "runtime" for r in hub_standin.requests) == 1


def test_unconfigured_service_explains_instead_of_failing() -> None:
    service = AdminService(load_settings({"SPACE_AUTHOR_NAME": OWNER}))
    assert len(service.problems) == 2
    outcome = service.pause(OWNER)
    assert not outcome.ok and "HF_TOKEN" in outcome.message and "ADMIN_SPACE_ID" in outcome.message
    assert service.catalogue().source == "fallback"
