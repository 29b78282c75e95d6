"""The hardware sweep in the real app, run as on Spaces, with the Hub stand-in as its Hub (the real HfApi).

Each restart a hardware switch causes is simulated as on Spaces: the app that asked is killed, and a new one
starts on the same STATE_DIR with ACCELERATOR naming the flavor the stand-in switched to. Three flavors:
t4-small works; a10g-small never reaches RUNNING (the stand-in shows BUILD_ERROR and no app starts on it), so
the next start, back on the original cpu-basic, finds the step past SWEEP_STEP_TIMEOUT, records it and goes
on; a100-large works and the sweep returns to cpu-basic. Then a second sweep is stopped in the middle. The
probes see a TensorFlow that segfaults on import, so the matrix has a failure to show.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from admin.sweep.plan_file import PLAN_FILE
from tests.admin_app import AdminApp, output_text, session_cookie, spaces_app
from tests.fixtures.diagnostics import SEGFAULTS
from tests.hub_standin import HubStandIn, wait_for

pytestmark = pytest.mark.slow

STEP_TIMEOUT_S = 20
OWNER = "alice"


@pytest.fixture(scope="module")
def hub() -> Iterator[HubStandIn]:
    with HubStandIn(user=OWNER, space_id="alice/self-check", settle_after_polls=0) as standin:
        yield standin


def start_app(hub: HubStandIn, state_dir: Path, log_dir: Path, accelerator: str) -> AdminApp:
    return spaces_app(
        hub,
        log_dir / f"{accelerator}-{time.monotonic_ns()}.log",
        STATE_DIR=str(state_dir),
        ACCELERATOR=accelerator,
        SWEEP_STEP_TIMEOUT=str(STEP_TIMEOUT_S),
        DIAGNOSTICS_AT_STARTUP="true",
        DIAGNOSTICS_TIMEOUT="90",
        PYTHONPATH=os.pathsep.join(filter(None, [str(SEGFAULTS), os.environ.get("PYTHONPATH")])),
    )


def killed(app: AdminApp) -> None:
    """As a hardware switch ends the Space's process: no shutdown of any kind."""
    app._process.process.kill()
    app._process.process.wait(30)
    app.close()


def plan(state_dir: Path) -> dict:
    path = state_dir / PLAN_FILE
    return json.loads(path.read_text()) if path.exists() else {}


def flavors_asked(hub: HubStandIn) -> list[str]:
    return [r.body["flavor"] for r in hub.changes() if r.endpoint == "hardware"]


def plan_and_confirm(app: AdminApp, flavors: list[str], session: str) -> tuple[str, str]:
    cookie = session_cookie(OWNER)
    [planned], _ = app.call(app.dependency("on_sweep_plan"), cookie=cookie, session=session, data=[flavors])
    [confirmed], _ = app.call(app.dependency("on_sweep_confirm"), cookie=cookie, session=session, data=[])
    return output_text(planned), output_text(confirmed)


def test_a_sweep_over_three_flavors_across_restarts(hub: HubStandIn, tmp_path: Path) -> None:
    state_dir = tmp_path / "bucket"
    state_dir.mkdir()
    first = start_app(hub, state_dir, tmp_path, "cpu-basic")
    try:
        # A signed-out visitor, and the owner's cookie sent from another site, change nothing.
        for cookie, origin in ((None, "own"), (session_cookie(OWNER), "https://evil.example")):
            for name, data in (("on_sweep_plan", [["t4-small"]]), ("on_sweep_confirm", []), ("on_sweep_stop", [])):
                [message], _ = first.call(first.dependency(name), cookie=cookie, origin=origin, data=data)
                assert "Refused: " in output_text(message), output_text(message)
        assert hub.changes() == [] and plan(state_dir) == {}

        planned, confirmed = plan_and_confirm(first, ["t4-small", "a10g-small", "a100-large"], "owner-tab")
        assert "Confirm: sweep 3 flavors, ~45 min, ~$0.97" in planned, planned
        assert "Sweep confirmed. Requested t4-small" in confirmed, confirmed
        assert flavors_asked(hub) == ["t4-small"]
        assert plan(state_dir)["confirmed_by"] == OWNER
    finally:
        killed(first)

    on_t4 = start_app(hub, state_dir, tmp_path, "t4-small")
    try:
        assert wait_for(lambda: len(flavors_asked(hub)) == 2, timeout_s=300, interval_s=1.0), on_t4.log()
    finally:
        killed(on_t4)
    assert flavors_asked(hub) == ["t4-small", "a10g-small"]
    t4 = plan(state_dir)["steps"][0]
    assert t4["status"] == "done" and t4["result"]["tensorflow"].startswith("FAIL"), t4
    assert t4["result"]["demo"].startswith("OK ("), t4

    # a10g-small never reaches RUNNING: no app starts on it. The next start, on the original flavor, comes
    # after the step's timeout.
    hub.set_runtime(stage="BUILD_ERROR")
    time.sleep(STEP_TIMEOUT_S + 1)
    back = start_app(hub, state_dir, tmp_path, "cpu-basic")
    try:
        assert wait_for(lambda: len(flavors_asked(hub)) == 3, timeout_s=120, interval_s=1.0), back.log()
    finally:
        killed(back)
    a10g = plan(state_dir)["steps"][1]
    assert a10g["status"] == "failed" and "Hub stage: BUILD_ERROR" in a10g["note"], a10g

    on_a100 = start_app(hub, state_dir, tmp_path, "a100-large")
    try:
        assert wait_for(lambda: len(flavors_asked(hub)) == 4, timeout_s=300, interval_s=1.0), on_a100.log()
        assert flavors_asked(hub) == ["t4-small", "a10g-small", "a100-large", "cpu-basic"]
        assert plan(state_dir)["finished_at"] and plan(state_dir)["steps"][2]["status"] == "done"

        [view], _ = on_a100.call(on_a100.dependency("on_sweep_view"), data=[])
        progress, matrix, markdown, files, _timer = view["output"]["data"]
        assert "3 of 3 flavors done" in progress or "finished" in progress, progress
        rows = matrix["data"] if isinstance(matrix, dict) else matrix
        assert [row[0] for row in rows] == ["t4-small", "a10g-small", "a100-large"]
        assert rows[1][1].startswith("FAILED: not back within")
        assert markdown.startswith("| Flavor | GPU | torch | JAX | TensorFlow | Demo | Time to start | Cost |")
        assert {Path(f["path"]).name for f in files} == {"hardware-sweep.md", "hardware-sweep.csv"}
        [loaded], _ = on_a100.call(on_a100.dependency("on_load"))
        activity = json.dumps(loaded["output"]["data"][-1])
        assert f"{OWNER} (hardware sweep confirmed " in activity
        assert "hardware sweep step 2/3: request a10g-small" in activity

        # A second sweep, stopped while its first flavor is on its way: back to cpu-basic at once.
        hub.clear_requests()
        _, confirmed = plan_and_confirm(on_a100, ["t4-small", "a10g-small"], "owner-tab-2")
        assert "Requested t4-small" in confirmed, confirmed
        [stopped], _ = on_a100.call(
            on_a100.dependency("on_sweep_stop"), cookie=session_cookie(OWNER), session="owner-tab-2", data=[]
        )
        assert "Sweep stopped. Requested cpu-basic" in output_text(stopped), output_text(stopped)
        assert flavors_asked(hub) == ["t4-small", "cpu-basic"]
        stopped_plan = plan(state_dir)
        assert stopped_plan["stopped_by"] == OWNER
        assert [s["status"] for s in stopped_plan["steps"]] == ["stopped", "stopped"]
        assert hub.token not in (state_dir / PLAN_FILE).read_text()
    finally:
        killed(on_a100)
