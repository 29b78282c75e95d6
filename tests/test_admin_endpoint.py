"""INFERENCE_ENDPOINT management through the real HfApi, against the Hub stand-in's Inference Endpoints API."""

from __future__ import annotations

import pytest
from huggingface_hub import constants

from admin.access import Caller
from admin.activity import ActivityLog
from admin.desk import Outcome as EndpointOutcome
from admin.desk import Pending as PendingEndpointChange
from admin.endpoint.client import EndpointClient
from admin.endpoint.service import EndpointService, replica_bounds
from settings import load_settings
from tests.hub_standin import HubStandIn, allow_hub_requests_fixture  # noqa: F401

OWN_PAGE = "https://alice-self-check.hf.space"
OWNER = Caller("alice", session="s1", origin=OWN_PAGE)


@pytest.fixture
def hub(allow_hub_requests, monkeypatch):
    with HubStandIn(user="alice", inference_endpoint="self-check-tei", settle_after_polls=0) as hub:
        monkeypatch.setattr(constants, "INFERENCE_ENDPOINTS_ENDPOINT", hub.endpoints_api)
        yield hub


def service_for(hub: HubStandIn, name: str = "self-check-tei", max_age_s: float = 0.0) -> EndpointService:
    settings = load_settings(
        {
            "SPACE_ID": hub.space_id,
            "SPACE_AUTHOR_NAME": "alice",
            "SPACE_HOST": "alice-self-check.hf.space",
            "HF_TOKEN": hub.token,
            "INFERENCE_ENDPOINT": name,
        }
    )
    namespace, _, bare = name.rpartition("/")
    client = EndpointClient(bare, hub.token, namespace=namespace or None, endpoint=hub.url)
    return EndpointService(settings, ActivityLog(known_secrets=(hub.token,)), client=client, state_max_age_s=max_age_s)


def ie_changes(hub: HubStandIn) -> list[tuple[str, object]]:
    return [(r.endpoint, r.body) for r in hub.changes() if r.endpoint.startswith("ie-")]


def test_state_shows_allow_listed_fields_and_never_the_models_secrets(hub: HubStandIn) -> None:
    state = service_for(hub).state()
    assert (state.namespace, state.name, state.state) == ("alice", "self-check-tei", "running")
    assert (state.min_replica, state.max_replica, state.ready_replicas) == (1, 1, 1)
    assert "nvidia-l4" in state.hardware and state.repository.endswith("all-MiniLM-L6-v2")
    assert "Zq9" not in repr(state)
    # The namespace came from whoami once, then every call named it.
    service = service_for(hub)
    for _ in range(3):
        service.state()
    assert sum(r.endpoint == "whoami" for r in hub.requests) == 2


def test_owner_pauses_and_scales_to_zero_without_confirmation(hub: HubStandIn) -> None:
    service = service_for(hub)
    paused = service.pause(OWNER)
    assert paused.ok and paused.state.state == "paused", paused
    zero = service.scale_to_zero(OWNER)
    assert zero.ok and zero.state.state == "scaledToZero"
    assert [name for name, _ in ie_changes(hub)] == ["ie-pause", "ie-scale-to-zero"]
    actions = [row[2] for row in service.activity.rows()]
    assert actions == ["scale Inference Endpoint self-check-tei to zero", "pause Inference Endpoint self-check-tei"]


def test_resume_waits_for_the_same_users_confirmation_in_the_same_session(hub: HubStandIn) -> None:
    hub.set_inference_endpoint(state="paused", ready=0)
    service = service_for(hub)
    pending = service.prepare_resume(OWNER)
    assert isinstance(pending, PendingEndpointChange) and "billed" in pending.prompt
    assert ie_changes(hub) == []
    other_session = service.confirm(Caller("alice", session="s2", origin=OWN_PAGE))
    intruder = service.confirm(Caller(None, session="s1", origin=OWN_PAGE))
    assert not other_session.ok and not intruder.ok and ie_changes(hub) == []
    resumed = service.confirm(OWNER)
    assert resumed.ok and resumed.state.state == "running", resumed
    assert [name for name, _ in ie_changes(hub)] == ["ie-resume"]


def test_resuming_a_running_endpoint_is_fine(hub: HubStandIn) -> None:
    """The API answers 400 "already running"; HfApi reads the endpoint instead, and so does the tab."""
    service = service_for(hub)
    service.prepare_resume(OWNER)
    outcome = service.confirm(OWNER)
    assert outcome.ok and outcome.state.state == "running"


def test_replicas_above_zero_need_confirmation_and_send_both_bounds(hub: HubStandIn) -> None:
    service = service_for(hub)
    pending = service.prepare_replicas(OWNER, 2, 3)
    assert isinstance(pending, PendingEndpointChange) and "at least 2 replicas" in pending.prompt
    assert ie_changes(hub) == []
    outcome = service.confirm(OWNER)
    assert outcome.ok and (outcome.state.min_replica, outcome.state.max_replica) == (2, 3)
    assert ie_changes(hub) == [("ie-update", {"compute": {"scaling": {"maxReplica": 3, "minReplica": 2}}})]


def test_replicas_from_zero_go_straight_through(hub: HubStandIn) -> None:
    outcome = service_for(hub).prepare_replicas(OWNER, 0, 2.0)
    assert isinstance(outcome, EndpointOutcome) and outcome.ok, outcome
    assert ie_changes(hub) == [("ie-update", {"compute": {"scaling": {"maxReplica": 2, "minReplica": 0}}})]


@pytest.mark.parametrize(
    ("low", "high", "says"),
    [(3, 1, "cannot exceed"), (0, 0, "at least 1"), (-1, 2, "whole number"), (1.5, 2, "whole number"),
     (None, 2, "whole number"), (1, 101, "whole number"), (True, 2, "whole number")],
)  # fmt: skip
def test_bad_replica_counts_are_refused_before_the_hub(hub: HubStandIn, low, high, says) -> None:
    assert says in replica_bounds(low, high)
    outcome = service_for(hub).prepare_replicas(OWNER, low, high)
    assert not outcome.ok and says in outcome.message and ie_changes(hub) == []


@pytest.mark.parametrize(
    "caller",
    [Caller(None, origin=OWN_PAGE), Caller("mallory", origin=OWN_PAGE), Caller("alice", origin="https://evil.example")],
)
def test_nobody_but_the_owner_on_the_spaces_page_changes_the_endpoint(hub: HubStandIn, caller) -> None:
    service = service_for(hub)
    for outcome in (
        service.pause(caller),
        service.scale_to_zero(caller),
        service.prepare_resume(caller),
        service.prepare_replicas(caller, 0, 1),
        service.confirm(caller),
    ):
        assert not outcome.ok and outcome.message.startswith("Refused")
    assert ie_changes(hub) == []
    assert service.activity.refused().total == 5 and service.activity.entries() == []


@pytest.mark.parametrize(
    ("status", "says"),
    [
        (401, "HF_TOKEN was not accepted (401)"),
        (403, "Inference Endpoints: write"),
        (404, "no Inference Endpoint"),
        (500, "internal error (500)"),
        (429, "Retry in 30 s"),
    ],
)
def test_api_failures_are_clear_and_recorded(hub: HubStandIn, status, says) -> None:
    hub.fail("ie-pause", status, headers={"Retry-After": "30"} if status == 429 else None)
    service = service_for(hub)
    outcome = service.pause(OWNER)
    assert not outcome.ok and says in outcome.message, outcome.message
    assert hub.token not in outcome.message
    [row] = service.activity.rows()
    assert row[2] == "pause Inference Endpoint self-check-tei" and says in row[3]


def test_an_unknown_endpoint_says_which_setting_to_fix(hub: HubStandIn) -> None:
    with pytest.raises(Exception) as raised:
        service_for(hub, "alice/no-such-endpoint").state()
    assert "no Inference Endpoint alice/no-such-endpoint (404)" in str(raised.value)
    assert "INFERENCE_ENDPOINT" in str(raised.value)


def test_a_failing_read_is_remembered(hub: HubStandIn) -> None:
    """Visitors' page loads while the API fails: one request per backoff, not one per visitor."""
    hub.fail("ie-get", 500)
    service = service_for(hub, max_age_s=3.0)
    for _ in range(20):
        with pytest.raises(Exception, match="500"):
            service.state()
    assert sum(r.endpoint == "ie-get" for r in hub.requests) == 1
