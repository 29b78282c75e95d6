"""The live metrics and run-log reader against the Hub stand-in's SSE streams, with the real huggingface_hub."""

from __future__ import annotations

import time

import pytest

from admin.access import Caller
from admin.activity import ActivityLog
from admin.guard import Guard
from admin.live.reader import LiveReader, parse_metric
from admin.live.service import LiveMonitor
from settings import load_settings
from tests.hub_standin import HubStandIn, allow_hub_requests_fixture, wait_for  # noqa: F401

OWN_PAGE = "https://alice-self-check.hf.space"


@pytest.fixture
def hub(allow_hub_requests):
    with HubStandIn(user="alice", hardware="t4-small", replicas=("aaa11", "bbb22"), metrics_interval_s=0.1) as hub:
        yield hub


def reader(hub: HubStandIn, **kwargs) -> LiveReader:
    options = dict(endpoint=hub.url, idle_stop_s=5.0, log_poll_s=0.5, failure_backoff_s=1.0, stream_timeout_s=2.0)
    return LiveReader(hub.space_id, hub.token, **{**options, **kwargs})


def settings_for(hub: HubStandIn):
    return load_settings(
        {
            "SPACE_ID": hub.space_id,
            "SPACE_AUTHOR_NAME": "alice",
            "SPACE_HOST": "alice-self-check.hf.space",
            "HF_TOKEN": hub.token,
        }
    )


def hub_reads(hub: HubStandIn) -> list[str]:
    return [r.endpoint for r in hub.requests if r.endpoint in ("metrics", "logs")]


def test_samples_carry_every_replica_and_their_gpus(hub: HubStandIn) -> None:
    """Two replicas on t4-small: samples for both, with CPU, memory and GPU figures from the stream."""
    live = reader(hub)
    try:
        live.look()
        assert wait_for(lambda: {s.replica for s in live.look().samples} == {"aaa11", "bbb22"}, timeout_s=20)
        sample = live.look().samples[-1]
        assert sample.cpu_pct is not None and sample.memory_total_bytes == 16 * 2**30
        assert sample.gpu_memory_total_bytes == 16 * 2**30 and 0 <= sample.gpu_utilization_pct <= 100
        [metrics] = [r for r in hub.requests if r.endpoint == "metrics"][:1]
        assert metrics.token_ok
    finally:
        live.close()


def test_cpu_hardware_has_no_gpu_line(hub: HubStandIn) -> None:
    hub.set_runtime(current="cpu-basic", requested="cpu-basic")
    live = reader(hub)
    try:
        assert wait_for(lambda: len(live.look().samples) >= 2, timeout_s=20)
        assert all(s.gpu_utilization_pct is None and s.gpu_memory_used_bytes is None for s in live.look().samples)
    finally:
        live.close()


def test_run_log_tail_is_scrubbed_of_the_token_and_secrets(hub: HubStandIn, monkeypatch) -> None:
    """A Space printing its token, an sk- key and a database URL: the tail shows none of them."""
    monkeypatch.setenv("DB_PASSWORD", "pw-" + "9" * 12)
    hub.add_log("Running on local URL:  http://0.0.0.0:7860", f"oops HF_TOKEN={hub.token}")
    hub.add_log("key sk-proj-" + "Qw8" * 14, "connecting to postgres://app:" + "pw-" + "9" * 12 + "@db/app")
    live = reader(hub)
    try:
        assert wait_for(lambda: len(live.look().log_lines) == 4, timeout_s=30)
        text = "\n".join(live.look().log_lines)
        assert "Running on local URL" in text
        for secret in (hub.token, "Qw8" * 14, "pw-" + "9" * 12):
            assert secret not in text
        assert text.count("[redacted]") >= 3
    finally:
        live.close()


def test_reader_stops_when_nobody_looks_and_restarts_on_the_next_look(hub: HubStandIn) -> None:
    live = reader(hub, idle_stop_s=1.0)
    try:
        live.look()
        assert wait_for(lambda: hub.open_streams("metrics") == 1, timeout_s=10)
        assert wait_for(lambda: live.running() == [] and hub.open_streams("metrics") == 0, timeout_s=15)
        live.look()
        assert live.running() == ["logs", "metrics"]
        assert wait_for(lambda: hub.open_streams("metrics") == 1, timeout_s=10)
    finally:
        live.close()


def test_many_looks_share_one_stream(hub: HubStandIn) -> None:
    """Fifty looks (many owners' tabs refreshing) open one metrics stream, not fifty."""
    live = reader(hub)
    try:
        for _ in range(50):
            live.look()
        assert wait_for(lambda: hub.open_streams("metrics") == 1, timeout_s=10)
        time.sleep(0.5)
        assert sum(r.endpoint == "metrics" for r in hub.requests) == 1
    finally:
        live.close()


@pytest.mark.parametrize(
    ("status", "says"),
    [(401, "(401)"), (403, "(403)"), (404, "(404)"), (500, "internal error (500)"), (429, "Retry in 30 s")],
)
def test_hub_failures_become_clear_messages_and_are_not_retried_at_once(hub: HubStandIn, status, says) -> None:
    hub.fail("metrics", status, headers={"Retry-After": "30"} if status == 429 else None)
    hub.fail("logs", status, headers={"Retry-After": "30"} if status == 429 else None)
    live = reader(hub, failure_backoff_s=30.0)
    try:
        assert wait_for(lambda: live.look().metrics_problem and live.look().log_problem, timeout_s=30)
        view = live.look()
        assert says in view.metrics_problem and says in view.log_problem
        assert hub.token not in view.metrics_problem + view.log_problem
        time.sleep(1.5)
        for _ in range(20):
            live.look()
        assert hub_reads(hub).count("metrics") == 1 and hub_reads(hub).count("logs") == 1
    finally:
        live.close()


def test_owner_check_comes_before_any_hub_request(hub: HubStandIn) -> None:
    """Anonymous, a visitor, and the owner's cookie from another site: refused, and the Hub is never asked."""
    monitor = LiveMonitor(settings_for(hub), reader_factory=lambda: reader(hub))
    refused = [
        Caller(None, origin=OWN_PAGE),
        Caller("mallory", origin=OWN_PAGE),
        Caller("alice", origin="https://evil.example"),
        Caller("alice"),
    ]
    for caller in refused:
        answer = monitor.watch(caller)
        assert not answer.allowed and answer.view is None
    time.sleep(0.5)
    assert hub_reads(hub) == [] and monitor.running() == []
    answer = monitor.watch(Caller("alice", origin=OWN_PAGE))
    try:
        assert answer.allowed and answer.view is not None
        assert wait_for(lambda: "metrics" in hub_reads(hub), timeout_s=10)
    finally:
        monitor.close()


def test_refused_looks_are_counted_like_refused_changes_where_they_come_from_first(hub: HubStandIn) -> None:
    """The same guard as every change: Origin checked before the user, each refused look counted in the activity
    summary by kind; a page load's lock line is shown without counting."""
    activity = ActivityLog()
    monitor = LiveMonitor(
        settings_for(hub), guard=Guard(settings_for(hub), activity), reader_factory=lambda: reader(hub)
    )
    assert monitor.check(Caller(None, origin=OWN_PAGE)) and activity.refused() is None
    assert not monitor.watch(Caller(None, origin=OWN_PAGE)).allowed
    foreign = monitor.watch(Caller("mallory", origin="https://evil.example"))
    assert not foreign.allowed and "evil.example" in foreign.message
    summary = activity.refused()
    assert summary.by_kind == {"anonymous": 1, "cross-site": 1}
    assert summary.last_action == "watch the Space's metrics and run log"
    assert hub_reads(hub) == [] and monitor.running() == []


def test_events_without_a_replica_or_with_odd_values_are_read_safely() -> None:
    assert parse_metric({"cpu_usage_pct": 5}, 0.0) is None
    event = {"replica": "x", "cpu_usage_pct": "lots", "gpus": {"a": "odd", "b": {"utilization": 50}}}
    sample = parse_metric(event, 1.0)
    assert sample.cpu_pct is None and sample.gpu_utilization_pct == 50.0 and sample.gpu_memory_used_bytes is None


def test_a_space_sending_no_metrics_is_not_asked_again_every_second(hub: HubStandIn) -> None:
    """A paused or sleeping Space's stream stays silent: dropped after the timeout, reopened after the backoff."""
    hub.replicas = ()
    live = reader(hub, stream_timeout_s=1.0, failure_backoff_s=30.0)
    try:
        for _ in range(8):
            live.look()
            time.sleep(0.5)
        assert live.look().samples == ()
        assert hub_reads(hub).count("metrics") == 1
    finally:
        live.close()
