"""The change desk: the one way an owner action of any feature reaches the Hub.

A feature describes each action as a `Change`: the audit row's words, the one request, the sentence its answer
becomes, and whether it restarts the Space. It hands the desk a function that builds that step from the page's
input: `act` asks the Guard first (a refusal is counted and nothing is sent), then the feature's configuration
problems, then builds the step (bad input becomes a clear message; nothing is sent), and then

- a `Change` is sent at once;
- a `Pending` (a billed change) is kept for the same user in the same session, one per subject, until `confirm`
  sends it or `cancel` drops it (admin/pending.py);
- an `Outcome` (e.g. "nothing to change") is returned as it is.

Sending holds the desk's busy lock: a change asked for while another is in flight is refused, not queued, and
the same change finished less than `repeat_window_s` ago is refused as a repeated click. Every change sent is
written to the activity log with its result, and the caller gets a generic `Outcome`.

`send_planned` sends a change with no request behind it (a step of a plan the owner confirmed earlier, carried
across a restart): the plan's confirmation stands in for the Guard, and the lock and the audit row are the same.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, TypeVar

from admin.access import Caller
from admin.guard import Guard
from admin.hub import AdminError
from admin.pending import PendingChoices

State = TypeVar("State")


@dataclass(frozen=True)
class Outcome(Generic[State]):
    ok: bool
    message: str
    """What happened, for the page; never holds the token."""
    state: State | None = None
    """What the Hub answered after the change (e.g. a SpaceState); None when nothing was sent or it failed."""


@dataclass(frozen=True)
class Change(Generic[State]):
    """One request to the Hub, described before it is sent."""

    what: str
    """The audit row's action, e.g. "request hardware t4-small (sleep: 15 min)"; a repeat has the same words."""
    send: Callable[[], State]
    """Makes the one request; raises AdminError."""
    describe: Callable[[State], str]
    """The Hub's answer in a sentence, for the page and the audit row."""
    restarts: bool = False
    """The change restarts the Space (or starts replicas): the start-ups that follow are shown as its outcome."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Kept with the audit row besides its words, e.g. the verdict a fix was applied for (admin/fixes/)."""


@dataclass(frozen=True)
class Pending(Generic[State]):
    """A billed change chosen but not yet sent: kept for one user in one session."""

    subject: str
    """Which choice this is, e.g. "the hardware": each user and session has at most one per subject."""
    change: Change[State]
    prompt: str
    """What the confirm button says, e.g. "Confirm: switch to t4-small at $0.40/hour (sleep: 15 min)"."""
    estimate: str = ""
    """The cost and its assumption, shown beside the button."""


@dataclass(frozen=True)
class Planned:
    """The authority of a change sent later, with no browser request: who confirmed its plan, and when."""

    who: str
    """The signed-in user who confirmed the plan, e.g. "alice"; still checked against the owner and ADMIN_USERS."""
    confirmed_at: datetime
    plan: str
    """The plan in a few words, e.g. "hardware sweep"."""

    @property
    def audit_who(self) -> str:
        return f"{self.who} ({self.plan} confirmed {self.confirmed_at:%Y-%m-%d %H:%M} UTC)"


class ChangeDesk:
    """One per feature (its configuration problems differ); the features share the Guard, and so the activity log."""

    def __init__(
        self,
        guard: Guard,
        problems: list[str],
        *,
        repeat_window_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.guard = guard
        self.problems = problems
        """What is missing for the feature to reach the Hub; every change is refused with it while not empty."""
        self._repeat_window_s = repeat_window_s
        self._clock = clock
        self._busy = threading.Lock()
        self._lock = threading.Lock()
        self._last_change: tuple[str, float] | None = None
        self._pending: dict[str, PendingChoices[Pending]] = {}

    def refused(self, caller: Caller, what: str) -> Outcome | None:
        """Why `caller` may not do `what` now (refusals counted), or None when the desk may go on."""
        refusal = self.guard.refusal(caller, what)
        if refusal:
            return Outcome(False, refusal.message)
        if self.problems:
            return Outcome(False, " ".join(self.problems))
        return None

    def act(self, caller: Caller, what: str, step: Callable[[], Change | Pending | Outcome]) -> Outcome | Pending:
        """Check the caller for `what`, build the step from the page's input, and send, hold or answer it."""
        refused = self.refused(caller, what)
        if refused:
            return refused
        try:
            chosen = step()
        except ValueError as error:
            return Outcome(False, str(error))
        except AdminError as error:
            return Outcome(False, error.message)
        if isinstance(chosen, Pending):
            return self._choices(chosen.subject).hold(caller, chosen)
        if isinstance(chosen, Change):
            return self.send(caller, chosen)
        return chosen

    def confirm(self, caller: Caller, subject: str) -> Outcome:
        """Send the change this user chose in this session for `subject`, if it is still waiting."""
        refused = self.refused(caller, f"confirm a change of {subject}")
        if refused:
            return refused
        pending = self._choices(subject).take(caller)
        if pending is None:
            return Outcome(False, f"Nothing to confirm: choose {subject} first.")
        return self.send(caller, pending.change)

    def cancel(self, caller: Caller, subject: str) -> Outcome:
        """Drop this user's waiting choice for `subject` in this session; nobody else's can be touched."""
        if self._choices(subject).take(caller) is None:
            return Outcome(False, "Nothing to cancel.")
        return Outcome(True, "Cancelled; nothing was sent.")

    def send(self, caller: Caller, change: Change) -> Outcome:
        """The change's one request, checked again (no path skips the guard), sent alone, and recorded."""
        what = change.what
        refused = self.refused(caller, what)
        if refused:
            return refused
        return self._send(caller.username or "", change)

    def send_planned(self, planned: Planned, change: Change) -> Outcome:
        """A step of a confirmed plan, sent with no request to check: refused when whoever confirmed it may no
        longer act (removed from ADMIN_USERS since) or the feature is not configured."""
        if not self.guard.decide(planned.who).allowed:
            self.guard.activity.refuse("planned", change.what, f"{planned.who} may no longer change this Space")
            return Outcome(False, f"Refused: {planned.who}, who confirmed the {planned.plan}, may no longer act.")
        if self.problems:
            return Outcome(False, " ".join(self.problems))
        return self._send(planned.audit_who, change)

    def _send(self, who: str, change: Change) -> Outcome:
        what = change.what
        if not self._busy.acquire(blocking=False):
            return Outcome(False, f"Ignored “{what}”: another change is being sent to the Hub. Wait for its result.")
        try:
            last = self._last_change
            if last and last[0] == what and self._clock() - last[1] < self._repeat_window_s:
                return Outcome(False, f"Ignored a repeated “{what}”: the same change was just sent.")
            try:
                state = change.send()
            except AdminError as error:
                self.guard.activity.record(who, what, error.message, ok=False, tags=change.tags)
                return Outcome(False, error.message)
            self._last_change = (what, self._clock())
            message = change.describe(state)
            self.guard.activity.record(who, what, message, ok=True, restarts=change.restarts, tags=change.tags)
            return Outcome(True, message, state)
        finally:
            self._busy.release()

    def _choices(self, subject: str) -> PendingChoices[Pending]:
        with self._lock:
            if subject not in self._pending:
                self._pending[subject] = PendingChoices(clock=self._clock)
            return self._pending[subject]
