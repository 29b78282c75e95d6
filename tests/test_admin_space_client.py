"""SpaceClient against the Hub stand-in: typed runtime, and every failure mode as a clear AdminError."""

from __future__ import annotations

import socket
import time

import pytest

from admin.hub import AdminError, ErrorKind, configuration_problems
from admin.space.client import SpaceClient, SpaceState
from settings import load_settings
from tests.hub_standin import HubStandIn, allow_hub_requests_fixture, hub_standin_fixture  # noqa: F401 (fixtures)

pytestmark = pytest.mark.usefixtures("allow_hub_requests")


def client_for(hub: HubStandIn, timeout_s: float = 5.0) -> SpaceClient:
    return SpaceClient(hub.space_id, hub.token, endpoint=hub.url, timeout_s=timeout_s)


def test_runtime_is_a_typed_state(hub_standin: HubStandIn) -> None:
    hub_standin.set_runtime(stage="RUNNING", current="t4-small", requested="t4-small", sleep_time=3600)
    state = client_for(hub_standin).runtime()
    assert state == SpaceState("space-owner/gpu-self-check", "RUNNING", "t4-small", "t4-small", 3600)
    assert state.raw["replicas"] == {"requested": 1, "current": 1}
    assert not state.is_changing
    assert hub_standin.requests[-1].token_ok


def test_hardware_request_moves_through_a_transient_stage(hub_standin: HubStandIn) -> None:
    client = client_for(hub_standin)
    hub_standin.settle_after_polls = 2
    after = client.request_hardware("t4-small", sleep_time=3600)
    assert (after.stage, after.hardware, after.requested_hardware) == ("APP_STARTING", "cpu-basic", "t4-small")
    assert after.is_changing
    assert hub_standin.changes()[-1].body == {"flavor": "t4-small", "sleepTimeSeconds": 3600}
    stages = [client.runtime().stage for _ in range(3)]
    assert stages == ["APP_STARTING", "APP_STARTING", "RUNNING"]
    assert client.runtime().hardware == "t4-small"


def test_restart_pause_and_sleep_send_what_huggingface_hub_sends(hub_standin: HubStandIn) -> None:
    client = client_for(hub_standin)
    hub_standin.set_runtime(current="t4-small", requested="t4-small")
    assert client.set_sleep_time(900).sleep_time == 900
    assert client.restart(factory_reboot=True).stage == "BUILDING"
    assert client.pause().is_paused
    sent = [(r.path.rsplit("/", 1)[-1], r.query, r.body) for r in hub_standin.changes()]
    assert sent == [("sleeptime", {}, {"seconds": 900}), ("restart", {"factory": ["true"]}, None), ("pause", {}, None)]


def echoing(hub: HubStandIn) -> str:
    return f"token {hub.token} is not allowed; Authorization: Bearer {hub.token}"


@pytest.mark.parametrize(
    ("status", "headers", "kind", "phrases"),
    [
        (
            401,
            {},
            ErrorKind.UNAUTHORIZED,
            ["401", "HF_TOKEN", "Write access to contents/settings", "Variables and secrets"],
        ),
        (403, {}, ErrorKind.FORBIDDEN, ["403", "lacks write access", "write", "HF_TOKEN"]),
        (404, {}, ErrorKind.NOT_FOUND, ["404", "SPACE_ID", "ADMIN_SPACE_ID", "space-owner/gpu-self-check"]),
        (
            429,
            {"ratelimit": '"api";r=0;t=55', "ratelimit-policy": '"fixed window";"api";q=500;w=300'},
            ErrorKind.RATE_LIMITED,
            ["429", "Retry in 55 s"],
        ),
        (429, {"Retry-After": "30"}, ErrorKind.RATE_LIMITED, ["Retry in 30 s"]),
        (429, {}, ErrorKind.RATE_LIMITED, ["Wait a minute"]),
        (500, {}, ErrorKind.SERVER_ERROR, ["500", "internal error", "try again"]),
        (503, {}, ErrorKind.SERVER_ERROR, ["503"]),
        (400, {}, ErrorKind.BAD_REQUEST, ["400"]),
    ],
)
def test_hub_errors_become_clear_messages_and_change_nothing(
    hub_standin: HubStandIn, status: int, headers: dict, kind: ErrorKind, phrases: list[str]
) -> None:
    client = client_for(hub_standin)
    before = hub_standin.runtime()
    hub_standin.fail("hardware", status, message=echoing(hub_standin), headers=headers)
    with pytest.raises(AdminError) as caught:
        client.request_hardware("a100x8", sleep_time=-1)
    error = caught.value
    assert error.kind == kind and error.status == status
    for phrase in phrases:
        assert phrase.lower() in error.message.lower(), (phrase, error.message)
    assert hub_standin.token not in error.message and hub_standin.token not in str(error)
    assert hub_standin.runtime() == before
    assert len(hub_standin.changes()) == 1


def test_slow_hub_times_out_with_a_warning_that_it_may_still_land(hub_standin: HubStandIn) -> None:
    hub_standin.fail("pause", delay_s=3)
    started = time.monotonic()
    with pytest.raises(AdminError) as caught:
        client_for(hub_standin, timeout_s=0.5).pause()
    assert time.monotonic() - started < 2
    assert caught.value.kind == ErrorKind.TIMEOUT
    assert "did not answer within 0.5 s" in caught.value.message
    assert "may still take effect" in caught.value.message


def test_refused_connection_says_so() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = SpaceClient("alice/demo", "hf_" + "x" * 34, endpoint=f"http://127.0.0.1:{port}", timeout_s=5)
    with pytest.raises(AdminError) as caught:
        client.runtime()
    assert caught.value.kind == ErrorKind.UNREACHABLE
    assert f"127.0.0.1:{port}" in caught.value.message and "HF_ENDPOINT" in caught.value.message


def test_offline_mode_is_named(hub_standin: HubStandIn, monkeypatch: pytest.MonkeyPatch) -> None:
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(AdminError) as caught:
        client_for(hub_standin).runtime()
    assert caught.value.kind == ErrorKind.OFFLINE and "HF_HUB_OFFLINE" in caught.value.message
    assert hub_standin.requests == []


def test_wrong_token_is_refused_by_the_standin_and_reported(hub_standin: HubStandIn) -> None:
    client = SpaceClient(hub_standin.space_id, "hf_" + "w" * 34, endpoint=hub_standin.url)
    with pytest.raises(AdminError) as caught:
        client.runtime()
    assert caught.value.kind == ErrorKind.UNAUTHORIZED
    assert hub_standin.requests[-1].has_auth and not hub_standin.requests[-1].token_ok


def test_missing_configuration_says_what_to_set_and_where() -> None:
    problems = configuration_problems(load_settings({}))
    text = " ".join(problems)
    assert "ADMIN_SPACE_ID" in text and "SPACE_ID" in text
    assert "HF_TOKEN" in text and "Variables and secrets" in text and "Write access" in text
    with pytest.raises(AdminError) as caught:
        SpaceClient.from_settings(load_settings({"ADMIN_SPACE_ID": "a/b"}))
    assert caught.value.kind == ErrorKind.NOT_CONFIGURED and "HF_TOKEN" in caught.value.message
    assert configuration_problems(load_settings({"ADMIN_SPACE_ID": "a/b", "HF_TOKEN": "hf_x"})) == []


def test_client_repr_hides_the_token() -> None:
    client = SpaceClient("alice/demo", "hf_" + "s" * 34, endpoint="http://127.0.0.1:1")
    assert "hf_" not in repr(client)
