"""Replicas: the request made through huggingface_hub's own session, against the Hub stand-in, and the
service's checks (owner only, own page, paid hardware, confirmation when it costs more)."""

from __future__ import annotations

import pytest

from admin.desk import Outcome
from admin.desk import Pending as PendingReplicas
from admin.hub import AdminError, ErrorKind
from admin.space.client import SpaceClient
from admin.space.replicas import MAX_SPACE_REPLICAS as MAX_REPLICAS
from admin.space.replicas import ReplicaCount, parse_replicas
from tests.hub_standin import HubStandIn, allow_hub_requests_fixture, hub_standin_fixture  # noqa: F401 (fixtures)
from tests.test_admin_service import ADMIN, OWNER, STRANGER, caller, service_for

pytestmark = pytest.mark.usefixtures("allow_hub_requests")


def client_for(hub: HubStandIn) -> SpaceClient:
    return SpaceClient(hub.space_id, hub.token, endpoint=hub.url, timeout_s=5.0)


def test_the_request_reaches_the_hub_with_the_token_and_the_count(hub_standin: HubStandIn) -> None:
    hub_standin.set_runtime(current="a10g-small", requested="a10g-small")
    state = client_for(hub_standin).set_replicas(3)
    [sent] = hub_standin.changes()
    assert (sent.method, sent.path, sent.body, sent.token_ok) == (
        "POST",
        f"/api/spaces/{hub_standin.space_id}/replicas",
        {"replicas": 3},
        True,
    )
    assert ReplicaCount.from_runtime(state.raw).requested == 3


@pytest.mark.parametrize(
    ("status", "kind", "said"),
    [
        (401, ErrorKind.UNAUTHORIZED, "(401)"),
        (403, ErrorKind.FORBIDDEN, "(403)"),
        (429, ErrorKind.RATE_LIMITED, "Retry in 30 s"),
        (500, ErrorKind.SERVER_ERROR, "(500)"),
        (503, ErrorKind.SERVER_ERROR, "(503)"),
    ],
)
def test_hub_errors_become_the_same_messages_as_other_changes(hub_standin, status, kind, said) -> None:
    hub_standin.set_runtime(current="a10g-small", requested="a10g-small")
    hub_standin.fail("replicas", status, headers={"Retry-After": "30"} if status == 429 else None)
    with pytest.raises(AdminError) as raised:
        client_for(hub_standin).set_replicas(2)
    assert raised.value.kind is kind and said in raised.value.message
    assert hub_standin.runtime()["replicas"]["requested"] == 1


def test_free_hardware_is_refused_by_the_hub_with_its_reason(hub_standin: HubStandIn) -> None:
    """Straight to the client (the service would not send it): the Hub's 400 and its words reach the owner."""
    with pytest.raises(AdminError) as raised:
        client_for(hub_standin).set_replicas(2)
    assert raised.value.kind is ErrorKind.BAD_REQUEST
    assert "only available for upgraded hardware" in raised.value.message


def test_the_service_refuses_free_hardware_without_asking_the_hub(hub_standin: HubStandIn) -> None:
    outcome = service_for(hub_standin).prepare_replicas(caller(OWNER), 2)
    assert isinstance(outcome, Outcome) and not outcome.ok
    assert "need paid hardware" in outcome.message and "cpu-basic" in outcome.message
    assert hub_standin.changes() == []


@pytest.mark.parametrize("who", [None, STRANGER])
def test_everyone_but_the_owner_and_admins_is_refused(hub_standin: HubStandIn, who) -> None:
    hub_standin.set_runtime(current="a10g-small", requested="a10g-small")
    service = service_for(hub_standin)
    for outcome in (
        service.prepare_replicas(caller(who), 2),
        service.set_replicas(caller(who), 1),
        service.confirm_replicas(caller(who)),
    ):
        assert isinstance(outcome, Outcome) and outcome.message.startswith("Refused:")
    assert hub_standin.changes() == []
    assert service.activity.refused().total == 3


def test_the_owners_cookie_from_another_page_is_refused(hub_standin: HubStandIn) -> None:
    hub_standin.set_runtime(current="a10g-small", requested="a10g-small")
    outcome = service_for(hub_standin).set_replicas(caller(OWNER, origin="https://evil.example"), 1)
    assert outcome.message.startswith("Refused:") and "evil.example" in outcome.message
    assert hub_standin.changes() == []


def test_more_replicas_wait_for_a_confirmation_with_the_multiplied_price(hub_standin: HubStandIn) -> None:
    hub_standin.set_runtime(current="a10g-small", requested="a10g-small")
    service = service_for(hub_standin)
    pending = service.prepare_replicas(caller(ADMIN), 3)
    assert isinstance(pending, PendingReplicas)
    assert pending.prompt == "Confirm: run 3 replicas of a10g-small"
    assert "3 replicas × $1.00/hour = $3.00/hour" in pending.estimate
    assert hub_standin.changes() == []
    # Another session of the same user, or another user in this session, cannot confirm it.
    assert not service.confirm_replicas(caller(ADMIN, session="tab-2")).ok
    assert not service.confirm_replicas(caller(OWNER)).ok
    outcome = service.confirm_replicas(caller(ADMIN))
    assert outcome.ok, outcome.message
    assert [r.body for r in hub_standin.changes()] == [{"replicas": 3}]
    [entry] = service.activity.entries()
    assert (entry.who, entry.action, entry.ok, entry.restarts) == (ADMIN, "set replicas to 3", True, True)


def test_fewer_replicas_go_through_at_once(hub_standin: HubStandIn) -> None:
    hub_standin.set_runtime(
        current="a10g-small", requested="a10g-small", replicas_requested=3, replicas_current=3
    )
    outcome = service_for(hub_standin).prepare_replicas(caller(OWNER), 1)
    assert isinstance(outcome, Outcome) and outcome.ok, outcome
    assert [r.body for r in hub_standin.changes()] == [{"replicas": 1}]


@pytest.mark.parametrize("value", [0, -1, 2.5, MAX_REPLICAS + 1, "3; rm -rf /", None, True, float("nan")])
def test_bad_counts_are_refused_with_a_sentence_and_nothing_sent(hub_standin: HubStandIn, value) -> None:
    hub_standin.set_runtime(current="a10g-small", requested="a10g-small")
    with pytest.raises(ValueError, match="whole number of replicas"):
        parse_replicas(value)
    outcome = service_for(hub_standin).prepare_replicas(caller(OWNER), value)
    assert not outcome.ok and "whole number of replicas" in outcome.message
    assert hub_standin.changes() == []


def test_the_runtime_cost_multiplies_by_the_replicas_requested() -> None:
    from admin.space.catalogue import fallback_catalogue
    from admin.space.client import SpaceState
    from admin.space.render import runtime_markdown

    catalogue = fallback_catalogue("offline")
    raw = {"replicas": {"requested": 3, "current": 1}}
    state = SpaceState("alice/self-check", "RUNNING", "t4-small", "t4-small", -1, raw=raw)
    assert "3 replicas × $0.40/hour = $1.20/hour" in runtime_markdown(state, catalogue)
    one = SpaceState("alice/self-check", "RUNNING", "t4-small", "t4-small", -1, raw={"replicas": {"requested": 1}})
    assert "$0.40/hour" in runtime_markdown(one, catalogue) and "replicas ×" not in runtime_markdown(one, catalogue)
