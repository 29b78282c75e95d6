"""The hardware sweep without Gradio: its decisions, its file, and the service against the Hub stand-in (real
HfApi). Each "restart" is a new SweepService on the same STATE_DIR with ACCELERATOR set to the flavor the Hub
switched to, as a new process of the Space would be; test_admin_sweep_app.py does the same with the real app."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from admin.access import Caller
from admin.desk import Outcome, Pending
from admin.space.catalogue import fallback_catalogue
from admin.space.client import SpaceClient
from admin.space.service import SpaceService
from admin.sweep.plan import (
    MoveKind,
    StepResult,
    StepStatus,
    SweepPlan,
    SweepStep,
    estimate,
    matrix_markdown,
    next_move,
)
from admin.sweep.plan_file import PLAN_FILE, PlanFile, PlanFileError
from admin.sweep.service import SweepService
from settings import load_settings
from tests.hub_standin import HubStandIn, allow_hub_requests_fixture, wait_for  # noqa: F401 (fixture)

OWNER, HOST = "alice", "127.0.0.1:7860"
T0 = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)


def caller(username: str | None, origin: str = f"http://{HOST}") -> Caller:
    return Caller(username, session="tab-1", origin=origin, host=HOST)


def plan_of(*steps: SweepStep, timeout_s: float = 600) -> SweepPlan:
    return SweepPlan(", ".join(s.flavor for s in steps), "cpu-basic", OWNER, T0, steps, timeout_s)


# Decisions.

REQUESTED = SweepStep("t4-small", 0.4, StepStatus.REQUESTED, requested_at=T0)


@pytest.mark.parametrize(
    ("step", "here", "minutes", "kind"),
    [
        (SweepStep("t4-small", 0.4), "cpu-basic", 0, MoveKind.REQUEST),
        (SweepStep("t4-small", 0.4), "t4-small", 0, MoveKind.RUN_HERE),
        (REQUESTED, "t4-small", 1, MoveKind.RUN_HERE),
        (REQUESTED, "t4-small", 30, MoveKind.RUN_HERE),  # late, but it came: run it
        (REQUESTED, "cpu-basic", 1, MoveKind.WAIT),
        (REQUESTED, "cpu-basic", 11, MoveKind.OVERDUE),
        (SweepStep("t4-small", 0.4, StepStatus.RUNNING, T0, checked_at=T0), "t4-small", 5, MoveKind.WAIT),
        (SweepStep("t4-small", 0.4, StepStatus.RUNNING, T0, checked_at=T0), "t4-small", 11, MoveKind.OVERDUE),
        (SweepStep("t4-small", 0.4, StepStatus.DONE, T0), "t4-small", 0, MoveKind.RETURN),
    ],
)
def test_next_move_for_each_case(step: SweepStep, here: str, minutes: int, kind: MoveKind) -> None:
    assert next_move(plan_of(step), here, T0 + timedelta(minutes=minutes)).kind is kind


def test_a_finished_plan_or_none_asks_for_nothing() -> None:
    finished = plan_of(SweepStep("t4-small", 0.4, StepStatus.DONE, T0))
    assert next_move(None, "t4-small", T0).kind is MoveKind.NOTHING
    assert next_move(SweepPlan(**{**finished.__dict__, "finished_at": T0}), "t4-small", T0).kind is MoveKind.NOTHING


def test_the_estimate_states_its_assumption_and_the_worst_case() -> None:
    cost = estimate(["t4-small", "a10g-small", "a100-large"], fallback_catalogue("test"), 1800)
    assert cost.minutes == 45
    assert cost.usd == pytest.approx((0.40 + 1.00 + 2.50) * 15 / 60)
    assert cost.worst_usd == pytest.approx((0.40 + 1.00 + 2.50) * 30 / 60)
    assert "15 min billed per flavor" in cost.text and "$0.97 in all" in cost.text and "At most $1.95" in cost.text


def test_the_markdown_table_has_a_row_per_flavor() -> None:
    done = SweepStep(
        "t4-small",
        0.4,
        StepStatus.DONE,
        T0,
        finished_at=T0 + timedelta(minutes=12),
        result=StepResult("OK", "OK", "WARN: no | pipes", "FAIL: segfault", "OK (0.3 s)", 420.0),
    )
    failed = SweepStep("a10g-small", 1.0, StepStatus.FAILED, T0, finished_at=T0 + timedelta(minutes=30), note="x")
    table = matrix_markdown(plan_of(done, failed)).splitlines()
    assert table[0] == "| Flavor | GPU | torch | JAX | TensorFlow | Demo | Time to start | Cost |"
    assert table[2] == "| t4-small | OK | OK | WARN: no \\| pipes | FAIL: segfault | OK (0.3 s) | 7.0 min | $0.080 |"
    assert table[3].startswith("| a10g-small | FAILED: x |") and table[3].endswith("| – | $0.50 |")


# The file.


def test_the_plan_file_is_replaced_whole_keeping_its_mode(tmp_path: Path) -> None:
    plans = PlanFile(tmp_path)
    plan = plan_of(SweepStep("t4-small", 0.4))
    plans.update(lambda _: plan)
    os.chmod(tmp_path / PLAN_FILE, 0o600)
    plans.update(lambda p: p.with_step(0, status=StepStatus.REQUESTED, requested_at=T0))
    assert (tmp_path / PLAN_FILE).stat().st_mode & 0o777 == 0o600
    assert plans.read().steps[0].status is StepStatus.REQUESTED
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".tmp"] == []


def test_a_link_or_a_foreign_file_is_refused_not_followed(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.json"
    target.write_text(json.dumps(plan_of(SweepStep("t4-small", 0.4)).to_json()))
    (tmp_path / PLAN_FILE).symlink_to(target)
    with pytest.raises(PlanFileError):
        PlanFile(tmp_path).read()
    with pytest.raises(PlanFileError):
        PlanFile(tmp_path).update(lambda _: plan_of(SweepStep("a100x8", 20.0)))
    assert "a100x8" not in target.read_text()
    (tmp_path / PLAN_FILE).unlink()
    (tmp_path / PLAN_FILE).write_text("{not json")
    with pytest.raises(PlanFileError):
        PlanFile(tmp_path).read()


def test_a_fifo_plan_or_a_linked_lock_is_refused_without_blocking_or_following(tmp_path: Path) -> None:
    """The plan file is opened like the activity log: a FIFO would block a plain open for reading forever."""
    os.mkfifo(tmp_path / PLAN_FILE)
    with pytest.raises(PlanFileError, match="not a regular file"):
        PlanFile(tmp_path).read()
    (tmp_path / PLAN_FILE).unlink()
    target = tmp_path / "elsewhere"
    (tmp_path / f"{PLAN_FILE}.lock").unlink()
    (tmp_path / f"{PLAN_FILE}.lock").symlink_to(target)
    with pytest.raises(PlanFileError, match="not a regular file"):
        PlanFile(tmp_path).update(lambda _: plan_of(SweepStep("t4-small", 0.4)))
    assert not target.exists() and not (tmp_path / PLAN_FILE).exists()


# The service, with the real HfApi against the stand-in.


class RecordedChecks:
    """What a step would run (the real ones are diagnostics and a Demo request: test_admin_sweep_app.py)."""

    def __init__(self) -> None:
        self.ran: list[float | None] = []

    def run(self, started_after_s: float | None) -> StepResult:
        self.ran.append(started_after_s)
        return StepResult("OK", "OK", "OK", "FAIL: segfault", "OK (0.1 s)", started_after_s)


def sweep_for(hub: HubStandIn, state_dir: Path | None, accelerator: str, checks=None, **env: str) -> SweepService:
    settings = load_settings(
        {
            "ADMIN_SPACE_ID": hub.space_id,
            "SPACE_AUTHOR_NAME": OWNER,
            "HF_TOKEN": hub.token,
            "ACCELERATOR": accelerator,
            **({"STATE_DIR": str(state_dir)} if state_dir else {}),
            **env,
        }
    )
    client = SpaceClient(hub.space_id, hub.token, endpoint=hub.url, timeout_s=5.0)
    space = SpaceService(settings, client=client, runtime_max_age_s=0.0)
    sweep = SweepService(space, checks or RecordedChecks(), step_timeout_s=60, poll_s=0.05)
    OPEN_SWEEPS.append(sweep)
    return sweep


OPEN_SWEEPS: list[SweepService] = []


@pytest.fixture(autouse=True)
def close_sweeps():
    """A confirmed sweep's loop runs in a thread: end it with its test."""
    yield
    while OPEN_SWEEPS:
        OPEN_SWEEPS.pop().close()


@pytest.fixture()
def hub(allow_hub_requests) -> HubStandIn:
    with HubStandIn(user=OWNER, space_id="alice/self-check", settle_after_polls=0) as standin:
        yield standin


def test_without_state_dir_the_sweep_is_refused_with_the_reason(hub: HubStandIn) -> None:
    outcome = sweep_for(hub, None, "cpu-basic").prepare(caller(OWNER), ["t4-small"])
    assert isinstance(outcome, Outcome) and not outcome.ok
    assert "needs STATE_DIR" in outcome.message and "restarts the Space" in outcome.message
    assert hub.changes() == []


@pytest.mark.parametrize(("who", "origin"), [(None, f"http://{HOST}"), (OWNER, "https://evil.example")])
def test_a_visitor_or_the_owner_from_another_site_changes_nothing(hub, tmp_path, who, origin) -> None:
    sweep = sweep_for(hub, tmp_path, "cpu-basic")
    assert sweep.prepare(caller(who, origin), ["t4-small"]).message.startswith("Refused:")
    assert sweep.confirm(caller(who, origin)).message.startswith("Refused:")
    assert sweep.stop(caller(who, origin)).message.startswith("Refused:")
    assert hub.changes() == [] and not (tmp_path / PLAN_FILE).exists()


def test_a_sweep_across_restarts_records_each_flavor_and_returns(hub: HubStandIn, tmp_path: Path) -> None:
    first = sweep_for(hub, tmp_path, "cpu-basic")
    pending = first.prepare(caller(OWNER), ["t4-small", "a10g-small", "a100-large"])
    assert isinstance(pending, Pending) and hub.changes() == []
    assert pending.prompt == "Confirm: sweep 3 flavors, ~45 min, ~$0.97"
    assert first.confirm(caller(OWNER)).ok
    assert [r.body["flavor"] for r in hub.changes()] == ["t4-small"]

    on_t4 = sweep_for(hub, tmp_path, "t4-small")
    while on_t4.step() and len(hub.changes()) < 2:
        pass
    assert [r.body["flavor"] for r in hub.changes()] == ["t4-small", "a10g-small"]
    # a10g-small never comes back; the next start (on cpu-basic, which names no ACCELERATOR: the Hub says
    # which flavor it is) finds the step past its timeout, records it failed, and goes on.
    hub.set_runtime(stage="BUILD_ERROR", current="cpu-basic")
    later = sweep_for(hub, tmp_path, "")
    later._now = lambda: datetime.now(UTC) + timedelta(seconds=61)
    while later.step() and len(hub.changes()) < 3:
        pass
    assert [r.body["flavor"] for r in hub.changes()][-1] == "a100-large"

    on_a100 = sweep_for(hub, tmp_path, "a100-large")
    while on_a100.step():
        pass
    assert [r.body["flavor"] for r in hub.changes()] == ["t4-small", "a10g-small", "a100-large", "cpu-basic"]
    plan = PlanFile(tmp_path).read()
    assert plan.finished and [s.status for s in plan.steps] == [StepStatus.DONE, StepStatus.FAILED, StepStatus.DONE]
    assert "Hub stage: BUILD_ERROR" in plan.steps[1].note
    whos = {e.who for e in on_a100.space.activity.entries()}
    assert any(w.startswith(f"{OWNER} (hardware sweep confirmed ") for w in whos), whos


def test_the_owner_stops_and_the_space_goes_back(hub: HubStandIn, tmp_path: Path) -> None:
    sweep = sweep_for(hub, tmp_path, "cpu-basic")
    sweep.prepare(caller(OWNER), ["t4-small", "a10g-small"])
    assert sweep.confirm(caller(OWNER)).ok
    outcome = sweep.stop(caller(OWNER))
    assert outcome.ok and "Sweep stopped" in outcome.message, outcome.message
    assert [r.body["flavor"] for r in hub.changes()] == ["t4-small", "cpu-basic"]
    plan = PlanFile(tmp_path).read()
    assert plan.finished and plan.stopped_by == OWNER
    assert {s.status for s in plan.steps} == {StepStatus.STOPPED}


def test_a_plan_confirmed_by_someone_no_longer_allowed_sends_nothing(hub: HubStandIn, tmp_path: Path) -> None:
    sweep = sweep_for(hub, tmp_path, "cpu-basic", ADMIN_USERS="bob")
    sweep.prepare(caller("bob"), ["t4-small", "a10g-small"])
    assert sweep.confirm(caller("bob")).ok
    hub.clear_requests()
    on_t4 = sweep_for(hub, tmp_path, "t4-small")  # ADMIN_USERS no longer names bob
    on_t4.step()  # the checks
    on_t4.step()  # the request for a10g-small: refused
    assert hub.changes() == []
    assert PlanFile(tmp_path).read().steps[1].note.startswith("Refused: bob")


def test_zero_gpu_is_accepted_without_a_listed_price() -> None:
    """The Hub's price list may leave ZeroGPU out; it has no hourly price, so it adds nothing to the estimate."""
    cost = estimate(["zero-a10g", "t4-small"], fallback_catalogue("test"), 1800)
    assert cost.usd == pytest.approx(0.10)


def test_a_failed_return_is_tried_again_not_left_billed(hub: HubStandIn, tmp_path: Path) -> None:
    """The last flavor done, the Hub fails the request back to cpu-basic once: the plan stays open, the next
    try sends it."""
    first = sweep_for(hub, tmp_path, "cpu-basic")
    first.prepare(caller(OWNER), ["t4-small"])
    assert first.confirm(caller(OWNER)).ok
    first.close()
    on_t4 = sweep_for(hub, tmp_path, "t4-small")
    hub.fail("hardware", 500, times=1)
    on_t4.step()  # the checks
    on_t4.step()  # back to cpu-basic: the Hub fails
    assert not PlanFile(tmp_path).read().finished
    assert not on_t4.step()  # tried again: sent, and nothing left to do
    assert PlanFile(tmp_path).read().finished
    assert [r.body["flavor"] for r in hub.changes()] == ["t4-small", "cpu-basic", "cpu-basic"]


def test_a_link_in_place_of_the_plan_is_refused_with_a_message(hub: HubStandIn, tmp_path: Path) -> None:
    (tmp_path / PLAN_FILE).symlink_to(tmp_path / "elsewhere.json")
    sweep = sweep_for(hub, tmp_path, "cpu-basic")
    assert isinstance(sweep.prepare(caller(OWNER), ["t4-small"]), Pending)
    outcome = sweep.confirm(caller(OWNER))
    assert not outcome.ok and "is not a regular file" in outcome.message, outcome.message
    assert hub.changes() == [] and not (tmp_path / "elsewhere.json").exists()


class BrokenChecks:
    def run(self, started_after_s: float | None) -> StepResult:
        raise RuntimeError("CUDA error: an illegal memory access was encountered")


def test_checks_that_crash_are_a_finding_and_the_sweep_goes_on(hub: HubStandIn, tmp_path: Path) -> None:
    first = sweep_for(hub, tmp_path, "cpu-basic")
    first.prepare(caller(OWNER), ["t4-small", "a10g-small"])
    assert first.confirm(caller(OWNER)).ok
    first.close()
    on_t4 = sweep_for(hub, tmp_path, "t4-small", BrokenChecks())
    on_t4.step()
    on_t4.step()
    step = PlanFile(tmp_path).read().steps[0]
    assert (step.status, step.note) == (StepStatus.FAILED, "the checks failed: RuntimeError")
    assert [r.body["flavor"] for r in hub.changes()] == ["t4-small", "a10g-small"]
