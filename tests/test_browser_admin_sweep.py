"""The hardware sweep's section in a real browser, signed in as the owner, the Hub stand-in as the Hub.

STATE_DIR holds a finished sweep (as its file would be after three restarts: test_admin_sweep_app.py makes
one for real): the owner sees its matrix, the Markdown for the README and the downloads; then plans a new
sweep, sees its estimate, confirms (the stand-in receives the first flavor) and stops it (back to cpu-basic).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

pytest.importorskip("playwright")
from playwright.sync_api import expect

from admin.sweep.plan import StepResult, StepStatus, SweepPlan, SweepStep
from admin.sweep.plan_file import PlanFile
from tests.admin_app import local_env
from tests.apptools import AppProcess
from tests.browser import open_admin, screenshot
from tests.hub_standin import HubStandIn, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.slow]

T0 = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)


def finished_sweep() -> SweepPlan:
    def step(flavor, price, minutes, status, result=None, note=""):
        end = T0 + timedelta(minutes=minutes)
        return SweepStep(flavor, price, status, T0, finished_at=end, result=result or StepResult(), note=note)

    works = StepResult("OK", "OK", "OK", "WARN: TF_FORCE_GPU_ALLOW_GROWTH unset", "OK (0.2 s)", 380.0)
    return SweepPlan(
        "t4-small, a10g-small, a100-large",
        "cpu-basic",
        "alice",
        T0,
        (
            step("t4-small", 0.40, 11, StepStatus.DONE, works),
            step("a10g-small", 1.00, 30, StepStatus.FAILED, note="not back within 30 min (Hub stage: BUILD_ERROR)"),
            step("a100-large", 2.50, 12, StepStatus.DONE, works),
        ),
        1800,
        finished_at=T0 + timedelta(minutes=53),
    )


@pytest.fixture(scope="module")
def hub():
    with HubStandIn(user="alice", space_id="alice/gpu-self-check", hardware="cpu-basic", settle_after_polls=0) as hub:
        yield hub


@pytest.fixture(scope="module")
def app(hub, tmp_path_factory) -> AppProcess:
    state_dir = tmp_path_factory.mktemp("bucket")
    PlanFile(state_dir).update(lambda _: finished_sweep())
    env = {**local_env(hub), "STATE_DIR": str(state_dir), "ACCELERATOR": "cpu-basic"}
    with AppProcess(env, tmp_path_factory.mktemp("app") / "app.log") as app:
        yield app


def test_the_owner_sees_the_matrix_plans_confirms_and_stops(context, app, hub):
    """The matrix of the last sweep, then a new sweep planned with its estimate, confirmed and stopped."""
    page = context.new_page()
    page.goto(f"{app.url}/login/huggingface")
    open_admin(page, app.url, "Space administration")
    expect(page.get_by_role("heading", name="Hardware sweep")).to_be_visible()
    matrix = page.locator("#sweep-matrix")
    expect(matrix).to_contain_text("a10g-small", timeout=30_000)
    expect(matrix).to_contain_text("FAILED: not back within 30 min (Hub stage: BUILD_ERROR)")
    expect(matrix).to_contain_text("$0.073")  # 11 min of t4-small at $0.40/h
    markdown = page.locator("#sweep-markdown")
    expect(markdown).to_contain_text("| Flavor | GPU | torch | JAX | TensorFlow | Demo | Time to start | Cost |")
    expect(markdown).to_contain_text("| a100-large | OK | OK | OK | WARN: TF_FORCE_GPU_ALLOW_GROWTH unset |")
    download = page.locator("#sweep-download")
    expect(download.get_by_role("cell", name="hardware-sweep.md")).to_be_visible()
    expect(download.get_by_role("cell", name="hardware-sweep.csv")).to_be_visible()
    screenshot(page, "admin-sweep-matrix")

    plan = page.get_by_role("button", name="Plan the sweep…")
    expect(plan).to_be_enabled(timeout=30_000)
    flavors = page.get_by_label("Flavors to visit")
    for name in ("t4-small", "a10g-small"):
        flavors.click()
        page.get_by_role("option", name=name).first.click()
    expect(page.get_by_text("About 30 min and $0.35 in all")).to_be_visible(timeout=30_000)
    plan.click()
    confirm = page.get_by_role("button", name="Confirm: sweep 2 flavors, ~30 min, ~$0.35")
    expect(confirm).to_be_visible(timeout=30_000)
    assert hub.changes() == []
    confirm.click()
    assert wait_for(lambda: [r.body for r in hub.changes()] == [{"flavor": "t4-small"}], timeout_s=30)
    progress = page.locator("#sweep-progress")
    expect(progress).to_contain_text("now on step 1: t4-small (requested)", timeout=30_000)

    page.get_by_role("button", name="Stop the sweep").click()
    assert wait_for(lambda: [r.body for r in hub.changes()][-1:] == [{"flavor": "cpu-basic"}], timeout_s=30)
    expect(page.get_by_text("✅ Sweep stopped. Requested cpu-basic")).to_be_visible(timeout=30_000)
    expect(progress).to_contain_text("stopped by alice")
    screenshot(page, "admin-sweep-stopped")
