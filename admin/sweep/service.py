"""The hardware sweep without Gradio: the owner's plan, stop and view, and the loop that carries the plan on in
every process of the Space.

The owner's actions go through the Space's change desk (admin/desk.py) like any hardware change: Guard first,
a confirmation because it is billed, one change at a time, an audit row. The later steps are sent by the app
itself after a restart, with no request to check: `ChangeDesk.send_planned` sends them on the authority of the
confirmed plan (who confirmed it, when), under the same lock and with the same audit rows.

How a flavor that never starts is found: the process that asks for the next flavor may keep serving while that
flavor builds (the Hub's RUNNING_BUILDING), and it checks the plan every `poll_s`; every start of the app checks
it too. Whichever first sees the step past its timeout records the flavor as failed, with the stage the Hub
shows, and asks for the next one. When no process of the Space runs at all (a failed build with nothing left
running), nothing inside it can act: the next start, on whatever flavor the owner puts it back on, carries on.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from admin.access import Caller
from admin.desk import Change, Outcome, Pending, Planned
from admin.hub import AdminError, ErrorKind
from admin.space.client import SpaceState
from admin.space.service import RESTART_NOTE, SpaceService
from admin.sweep.checks import StepChecks
from admin.sweep.plan import (
    OPEN,
    ZERO_GPU_FLAVOR,
    MoveKind,
    StepStatus,
    SweepPlan,
    estimate,
    format_usd,
    new_plan,
    next_move,
)
from admin.sweep.plan_file import PlanFile, PlanFileError
from settings import Settings

log = logging.getLogger("admin.sweep")

SWEEP = "the hardware sweep"
"""The subject of a waiting sweep confirmation (admin/desk.py Pending)."""
PLANNED = "hardware sweep"
POLL_S = 30.0
BUSY_RETRY_S = 5.0


def plan_file_for(settings: Settings) -> tuple[PlanFile | None, str]:
    """The plan's file under STATE_DIR, or None with the reason the sweep is refused."""
    why = (
        "The hardware sweep needs STATE_DIR: every flavor restarts the Space, and only a mounted Storage Bucket "
        "carries the plan across the restarts. Attach a bucket as a volume (Space settings → Volumes) and set "
        "STATE_DIR to its mount path, e.g. /data."
    )
    if not settings.state_dir:
        return None, why
    if not Path(settings.state_dir).is_dir():
        return None, f"STATE_DIR={settings.state_dir} is not a directory (is the bucket mounted?). {why}"
    return PlanFile(Path(settings.state_dir)), ""


def checks_due_here(settings: Settings) -> bool:
    """Whether this start is a sweep step's visit (so the start-up diagnostics include the smoke test).
    From ACCELERATOR alone: no Hub call before the app serves; CPU flavors name no accelerator and say no."""
    plan_file, _ = plan_file_for(settings)
    here = ZERO_GPU_FLAVOR if settings.zero_gpu else settings.accelerator
    if plan_file is None or here is None:
        return False
    try:
        plan = plan_file.read()
    except OSError:
        return False
    return next_move(plan, here, datetime.now(UTC)).kind is MoveKind.RUN_HERE


class SweepService:
    """One per app: the owner's actions, the page's view, and the loop (`carry_on`) that takes the steps."""

    def __init__(
        self,
        space: SpaceService,
        checks: StepChecks | None,
        *,
        step_timeout_s: float,
        poll_s: float = POLL_S,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ):
        """`checks`: what a step runs here; None where nothing can run them (tests of the owner's actions)."""
        self.space = space
        self.settings = space.settings
        self.desk = space.desk
        self.plan_file, self.refusal = plan_file_for(self.settings)
        self.checks = checks
        self.step_timeout_s = step_timeout_s
        self._poll_s = poll_s
        self._now = now
        self._here: str | None = None
        self._wake = threading.Event()
        self._closed = threading.Event()
        self._thread: threading.Thread | None = None
        self._thread_lock = threading.Lock()

    # Reading.

    def plan(self) -> SweepPlan | None:
        if self.plan_file is None:
            return None
        try:
            return self.plan_file.read()
        except PlanFileError as error:
            log.error("sweep: %s", error)
            return None

    def estimate_text(self, flavors: list[str] | None) -> str:
        if not flavors:
            return "Choose the flavors to visit."
        return estimate(list(flavors), self.space.catalogue(), self.step_timeout_s).text

    def here(self) -> str | None:
        """The flavor this process runs on: ACCELERATOR, ZeroGPU, or (CPU flavors name none) the Hub's word."""
        if self._here is None:
            here = ZERO_GPU_FLAVOR if self.settings.zero_gpu else self.settings.accelerator
            if here is None:
                try:
                    here = self.space.runtime().hardware
                except AdminError as error:
                    log.warning("sweep: cannot tell which flavor this is: %s", error.message)
                    return None
            self._here = here
        return self._here

    # The owner's actions.

    def prepare(self, caller: Caller, flavors: list[str] | None) -> Pending | Outcome:
        """First step: the plan and its estimate, held for the same user's confirmation in the same session."""
        chosen = list(flavors or [])

        def choose() -> Pending:
            if self.plan_file is None:
                raise ValueError(self.refusal)
            running = self.plan()
            if running is not None and not running.finished:
                raise ValueError("A sweep is under way: stop it first, or wait for it to finish.")
            catalogue = self.space.catalogue()
            new_plan(chosen, "", caller.username or "", self._now(), catalogue, self.step_timeout_s)  # checks only
            cost = estimate(chosen, catalogue, self.step_timeout_s)
            change = Change(
                f"start a hardware sweep of {', '.join(chosen)}",
                lambda: self._start(chosen, caller.username or ""),
                lambda state: f"Sweep confirmed. {self._describe_start(state)}",
                restarts=True,
            )
            money = format_usd(cost.usd) if cost.usd is not None else "price unknown"
            prompt = (
                f"Confirm: sweep {len(chosen)} flavor{'s' if len(chosen) != 1 else ''}, ~{cost.minutes} min, ~{money}"
            )
            return Pending(SWEEP, change, prompt, cost.text)

        return self.desk.act(caller, "plan a hardware sweep", choose)

    def confirm(self, caller: Caller) -> Outcome:
        outcome = self.desk.confirm(caller, SWEEP)
        if outcome.ok:
            self.carry_on()
        return outcome

    def cancel(self, caller: Caller) -> Outcome:
        return self.desk.cancel(caller, SWEEP)

    def stop(self, caller: Caller) -> Outcome:
        """Stop at once: the steps not run are marked stopped, and the Space goes back to its original flavor."""

        def choose() -> Change | Outcome:
            plan = self.plan()
            if plan is None or plan.finished:
                return Outcome(False, "No sweep is under way.")
            return Change(
                f"stop the hardware sweep (back to {plan.original})",
                lambda: self._stop(caller.username or ""),
                lambda state: f"Sweep stopped. {self._describe_return(state)}",
                restarts=True,
            )

        outcome = self.desk.act(caller, "stop the hardware sweep", choose)
        self._wake.set()
        return outcome

    def _start(self, flavors: list[str], who: str) -> SpaceState | None:
        """The confirmed change: write the plan, then ask for the first flavor (unless the Space is on it)."""
        state = self.space.runtime()
        original = state.billed_hardware or "cpu-basic"
        plan = new_plan(flavors, original, who, self._now(), self.space.catalogue(), self.step_timeout_s)

        def write(before: SweepPlan | None) -> SweepPlan:
            if before is not None and not before.finished:
                raise AdminError(ErrorKind.BAD_REQUEST, "Another sweep started meanwhile; nothing was sent.")
            return plan

        self._owner_update(write)
        if flavors[0] == self.here():
            return None  # the loop runs the first step here, without a restart
        return self._request(0)

    def _describe_start(self, state: SpaceState | None) -> str:
        if state is None:
            return "The first flavor is the one this Space runs on: its checks run now."
        return f"Requested {state.requested_hardware}. The Space restarts on it. {RESTART_NOTE}"

    def _stop(self, who: str) -> SpaceState | None:
        now = self._now()
        original: list[str] = []

        def stop(plan: SweepPlan | None) -> SweepPlan | None:
            if plan is None or plan.finished:
                raise AdminError(ErrorKind.BAD_REQUEST, "No sweep is under way.")
            steps = tuple(
                replace(s, status=StepStatus.STOPPED, finished_at=now, note=f"stopped by {who}")
                if s.status in OPEN
                else s
                for s in plan.steps
            )
            original.append(plan.original)
            return replace(plan, steps=steps, stopped_by=who, finished_at=now)

        self._owner_update(stop)
        return self._return_to(original[0])

    def _owner_update(self, change: Callable[[SweepPlan | None], SweepPlan | None]) -> None:
        try:
            self.plan_file.update(change)
        except PlanFileError as error:
            raise AdminError(ErrorKind.UNEXPECTED, f"{error} Remove it, then try again; nothing was sent.") from error

    def _return_to(self, original: str) -> SpaceState | None:
        """Ask for the original flavor; None when the Space runs on it already."""
        state = self.space.runtime()
        if state.billed_hardware == original:
            return None
        return self.space.hardware_request(original)

    def _describe_return(self, state: SpaceState | None) -> str:
        if state is None:
            return "The Space is on its original flavor already."
        return f"Requested {state.requested_hardware}, the flavor it started on. {RESTART_NOTE}"

    def _request(self, index: int) -> SpaceState:
        """Mark step `index` requested and ask the Hub for its flavor; raises AdminError."""
        now = self._now()
        plan = self.plan_file.update(
            lambda p: p.with_step(index, status=StepStatus.REQUESTED, requested_at=now) if p else None
        )
        return self.space.hardware_request(plan.steps[index].flavor)

    # The loop: every process of the Space carries the plan on.

    def carry_on(self) -> None:
        """Start the loop in a daemon thread, unless it runs already or nothing can run here."""
        if self.plan_file is None or self.space.problems:
            return
        with self._thread_lock:
            self._wake.set()
            if self._thread is not None and self._thread.is_alive():
                return
            self._thread = threading.Thread(target=self._loop, name="hardware-sweep", daemon=True)
            self._thread.start()

    def close(self, timeout_s: float = 10.0) -> None:
        """End the loop after its current move and wait for it (the app's process ends it by exiting)."""
        self._closed.set()
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout_s)

    def _loop(self) -> None:
        try:
            while not self._closed.is_set() and self.step():
                pass
        except Exception:
            log.exception("sweep: the loop stopped")

    def step(self) -> bool:
        """Take one move; False when there is nothing left to do in this process."""
        self._wake.clear()
        try:
            plan = self.plan_file.read()
        except PlanFileError as error:
            log.error("sweep: %s; not carrying on", error)
            return False
        if plan is None or plan.finished:
            return False  # decided before `here`, which may ask the Hub
        here = self.here()
        if here is None:
            self._wake.wait(self._poll_s)
            return True
        move = next_move(plan, here, self._now())
        if move.kind is MoveKind.NOTHING:
            return False
        if move.kind is MoveKind.WAIT:
            self._wake.wait(min(move.wait_s, self._poll_s) + 0.5)
            return True
        act = {
            MoveKind.RUN_HERE: self._run_here,
            MoveKind.REQUEST: self._send_request,
            MoveKind.OVERDUE: self._overdue,
            MoveKind.RETURN: self._send_return,
        }[move.kind]
        return act(plan, move.index)

    def _claimed(self, plan: SweepPlan, index: int, **changes) -> SweepPlan | None:
        """Apply `changes` to step `index` if no other process moved the plan since `plan` was read."""
        claimed: list[SweepPlan] = []

        def claim(now_plan: SweepPlan | None) -> SweepPlan | None:
            if now_plan != plan:
                return None
            claimed.append(now_plan.with_step(index, **changes))
            return claimed[0]

        self.plan_file.update(claim)
        return claimed[0] if claimed else None

    def _run_here(self, plan: SweepPlan, index: int) -> bool:
        now = self._now()
        step = plan.steps[index]
        requested = step.requested_at or now
        if self._claimed(plan, index, status=StepStatus.RUNNING, requested_at=requested, checked_at=now) is None:
            return True
        log.info("sweep: running the checks on %s", step.flavor)
        if self.checks is None:
            result, status, note = step.result, StepStatus.FAILED, "no checks can run in this process"
        else:
            try:
                result = self.checks.run((now - requested).total_seconds())
                status, note = StepStatus.DONE, ""
            except Exception as error:
                log.exception("sweep: the checks failed on %s", step.flavor)
                result, status, note = step.result, StepStatus.FAILED, f"the checks failed: {type(error).__name__}"
        finished = self._now()

        def record(p: SweepPlan | None) -> SweepPlan | None:
            if p is None or p.steps[index].checked_at != now:
                return None
            # Recorded even when the owner stopped meanwhile: the checks ran, their row is worth keeping.
            return p.with_step(index, status=status, result=result, note=note, finished_at=finished)

        self.plan_file.update(record)
        return True

    def _send_request(self, plan: SweepPlan, index: int) -> bool:
        flavor = plan.steps[index].flavor
        change = Change(
            f"hardware sweep step {index + 1}/{len(plan.steps)}: request {flavor}",
            lambda: self._request(index),
            lambda state: f"Requested {state.requested_hardware}. The Space restarts on it.",
            restarts=True,
        )
        outcome = self.desk.send_planned(self._planned(plan), change)
        if outcome.ok:
            return True
        if outcome.message.startswith("Ignored"):  # another change in flight: the desk's lock, try again soon
            self._wake.wait(BUSY_RETRY_S)
            return True
        now = self._now()
        self.plan_file.update(
            lambda p: (
                p.with_step(index, status=StepStatus.FAILED, finished_at=now, note=outcome.message)
                if p and p.steps[index].status in OPEN
                else None
            )
        )
        return True

    def _overdue(self, plan: SweepPlan, index: int) -> bool:
        step = plan.steps[index]
        try:
            stage = self.space.runtime().stage
        except AdminError as error:
            stage = f"unknown: {error.message}"
        minutes = plan.step_timeout_s / 60
        waited = "its checks did not finish" if step.status is StepStatus.RUNNING else "not back"
        note = f"{waited} within {minutes:g} min (Hub stage: {stage})"
        log.warning("sweep: %s %s", step.flavor, note)
        self._claimed(plan, index, status=StepStatus.FAILED, finished_at=self._now(), note=note)
        return True

    def _send_return(self, plan: SweepPlan, index: int) -> bool:
        """Claim the return (finished), ask for the original flavor; on failure un-claim it and try again later:
        a sweep must not leave the Space billed on its last flavor."""
        finished = self._now()
        claimed: list[SweepPlan] = []

        def finish(p: SweepPlan | None) -> SweepPlan | None:
            if p != plan:
                return None
            claimed.append(replace(p, finished_at=finished))
            return claimed[0]

        self.plan_file.update(finish)
        if not claimed:
            return True
        change = Change(
            f"hardware sweep done: back to {plan.original}",
            lambda: self._return_to(plan.original),
            self._describe_return,
            restarts=True,
        )
        outcome = self.desk.send_planned(self._planned(plan), change)
        if outcome.ok or outcome.message.startswith("Refused"):
            # Refused: whoever confirmed may no longer act, so the app may not either; the owner sees the row.
            return False
        self.plan_file.update(lambda p: replace(p, finished_at=None) if p and p.finished_at == finished else None)
        self._wake.wait(self._poll_s)
        return True

    @staticmethod
    def _planned(plan: SweepPlan) -> Planned:
        return Planned(plan.confirmed_by, plan.confirmed_at, PLANNED)
