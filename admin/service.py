"""The Admin tab's actions without Gradio: authorise, validate, call the Hub once, record.

Every method that changes the Space takes the Caller (signed-in username, session, the page it came from)
and checks it first, so no path to the Hub skips the check.

Reads spend the owner's token too, and anyone may read: the runtime is asked of the Hub at most once per
POLL_INTERVAL_S whoever asks and however many at once, and a failure is kept as long as the Hub asked
(Retry-After) or FAILURE_BACKOFF_S, so a failing Hub is not asked again by every visitor.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from huggingface_hub import SpaceHardware

from admin.access import Caller, Decision, authorize, origin_problem
from admin.activity import ActivityLog, activity_log
from admin.catalogue import (
    CPU_BASIC_SLEEP_S,
    FREE_FLAVOR,
    Catalogue,
    catalogue_from_hub,
    describe_sleep_time,
    estimate_cost,
    fallback_catalogue,
    price_per_hour,
    sleep_choice,
)
from admin.pending import PendingChoices
from admin.remembered import FAILURE_BACKOFF_S, RememberedRead
from admin.replicas import ReplicaCount, parse_replicas, replicas_cost, with_replicas
from admin.space_client import AdminError, ErrorKind, SpaceClient, SpaceState, configuration_problems
from settings import Settings

_HUB_FLAVORS = frozenset(h.value for h in SpaceHardware)
_FALLBACK_RETRY_S = 60.0
POLL_INTERVAL_S = 3.0
"""The tab's refresh period while the Space changes, and the shortest time between two runtime reads."""
RESTART_NOTE = "This app runs inside the Space, so this page loses its connection until the Space is back."


@dataclass(frozen=True)
class Outcome:
    ok: bool
    message: str
    """What happened, for the page; never holds the token."""
    state: SpaceState | None = None
    """The runtime the Hub returned after the action; None when nothing was sent or it failed."""


@dataclass(frozen=True)
class PendingHardware:
    """A paid flavor chosen but not yet confirmed: kept by the service for one user in one session."""

    flavor: str
    sleep_label: str
    prompt: str
    """What the confirm button says, price included."""
    estimate: str
    """The cost estimate and its assumption."""


@dataclass(frozen=True)
class PendingReplicas:
    """More replicas chosen but not yet confirmed (each one is billed): kept for one user in one session."""

    replicas: int
    prompt: str
    """What the confirm button says, e.g. "Confirm: run 3 replicas of a10g-small ($3.00/hour)"."""
    estimate: str


class AdminService:
    """One per app. Shared by every session, so its caches and its in-flight lock are too.

    A change asked for while another is being sent is refused, not queued; an identical change
    finished less than `repeat_window_s` ago is refused as a repeated click.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        client: SpaceClient | None = None,
        activity: ActivityLog | None = None,
        runtime_max_age_s: float = POLL_INTERVAL_S,
        failure_backoff_s: float = FAILURE_BACKOFF_S,
        catalogue_max_age_s: float = 3600.0,
        repeat_window_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.settings = settings
        self.problems = configuration_problems(settings)
        self.activity = activity or activity_log(settings)
        self._client = client if client is not None or self.problems else SpaceClient.from_settings(settings)
        self._catalogue_max_age_s = catalogue_max_age_s
        self._repeat_window_s = repeat_window_s
        self._clock = clock
        self._busy = threading.Lock()
        self._cache_lock = threading.Lock()
        # Held while the Hub is asked, so concurrent readers wait for that one answer instead of asking too.
        self._catalogue_fetch = threading.Lock()
        self._runtime = RememberedRead(
            lambda: self._require_client().runtime(),
            runtime_max_age_s,
            failure_backoff_s,
            clock,
            say_when_asked_again=True,
        )
        self._catalogue: tuple[float, Catalogue] | None = None
        self._last_change: tuple[str, float] | None = None
        self._pending_hardware: PendingChoices[PendingHardware] = PendingChoices(clock=clock)
        self._pending_replicas: PendingChoices[PendingReplicas] = PendingChoices(clock=clock)

    def decide(self, username: str | None) -> Decision:
        return authorize(username, self.settings)

    # Reading: anyone may look. Cached, because every visitor's refresh spends the owner's rate limit.

    def runtime(self) -> SpaceState:
        """The Space's runtime, asked of the Hub at most once per `runtime_max_age_s`; raises AdminError.

        A failure is remembered too (see FAILURE_BACKOFF_S) and raised again, saying when the Hub is asked next.
        """
        return self._runtime.get()

    def catalogue(self) -> Catalogue:
        """The Hub's flavors and prices; the dated fallback table, saying why, when the Hub cannot be asked."""
        with self._catalogue_fetch:
            with self._cache_lock:
                cached = self._catalogue
            if cached and self._clock() - cached[0] <= self._catalogue_max_age_s:
                return cached[1]
            if self.problems:
                return fallback_catalogue("the Admin tab is not configured")
            try:
                catalogue = catalogue_from_hub(self._require_client().list_hardware())
                counted_from = self._clock()
            except AdminError as error:
                catalogue = fallback_catalogue(error.message)
                # Ask the Hub again in a minute (or when it says) rather than on every page load while it fails.
                retry = max(_FALLBACK_RETRY_S, error.retry_after_s or 0.0)
                counted_from = self._clock() - self._catalogue_max_age_s + retry
            with self._cache_lock:
                self._catalogue = (counted_from, catalogue)
            return catalogue

    def _is_known_flavor(self, flavor: str) -> bool:
        """Checked before authorising, so it must not reach the Hub: the enum plus what is cached."""
        with self._cache_lock:
            cached = self._catalogue
        return flavor in _HUB_FLAVORS or (cached is not None and cached[1].get(flavor) is not None)

    # Changing: each method authorises first, then validates, then sends at most one request.

    def prepare_hardware(self, caller: Caller, flavor: str, sleep_label: str) -> PendingHardware | Outcome:
        """First step of a hardware change: free flavors go straight through, paid ones wait for
        `confirm_hardware` from the same user in the same session."""
        refused = self._refusal(caller, f"choose hardware {flavor}")
        if refused:
            return refused
        known = self.catalogue().get(flavor)
        if known is None and not self._is_known_flavor(flavor):
            return Outcome(False, f"{flavor!r} is not a Spaces hardware flavor.")
        if known is not None and known.is_free:
            return self.request_hardware(caller, flavor, sleep_label)
        try:
            sleep = sleep_choice(sleep_label)
        except ValueError as error:
            return Outcome(False, str(error))
        price = price_per_hour(known) if known else "price unknown"
        estimate = estimate_cost(known, sleep.seconds).assumption if known else "No price known for this flavor."
        estimate += with_replicas(self.catalogue(), flavor, self.replicas_now())
        prompt = f"Confirm: switch to {flavor} at {price} (sleep: {sleep.label})"
        return self._pending_hardware.hold(caller, PendingHardware(flavor, sleep.label, prompt, estimate))

    def confirm_hardware(self, caller: Caller) -> Outcome:
        """Second step: send what this user chose in this session, if it is still waiting."""
        refused = self._refusal(caller, "confirm a hardware change")
        if refused:
            return refused
        pending = self._pending_hardware.take(caller)
        if pending is None:
            return Outcome(False, "Nothing to confirm: choose the hardware first.")
        return self.request_hardware(caller, pending.flavor, pending.sleep_label)

    def cancel_hardware(self, caller: Caller) -> Outcome:
        """Drop this user's waiting choice in this session; nobody else's can be touched."""
        if self._pending_hardware.take(caller) is not None:
            return Outcome(True, "Hardware change cancelled; nothing was sent.")
        return Outcome(False, "Nothing to cancel.")

    def request_hardware(self, caller: Caller, flavor: str, sleep_label: str | None) -> Outcome:
        refused = self._refusal(caller, f"request hardware {flavor}")
        if refused:
            return refused
        try:
            sleep = None if flavor == FREE_FLAVOR or sleep_label is None else sleep_choice(sleep_label)
        except ValueError as error:
            return Outcome(False, str(error))
        if not self._is_known_flavor(flavor):
            return Outcome(False, f"{flavor!r} is not a Spaces hardware flavor.")
        what = f"request hardware {flavor}" + (f" (sleep: {sleep.label})" if sleep else "")
        # cpu-basic takes no sleep time: the Hub fixes it at 48 h and huggingface_hub warns if one is sent.
        seconds = sleep.seconds if sleep else None
        return self._change(
            caller,
            what,
            lambda client: client.request_hardware(flavor, sleep_time=seconds),
            lambda state: f"Requested {state.requested_hardware}. The Space restarts on it. {RESTART_NOTE}",
            restarts=True,
        )

    def stop_billing(self, caller: Caller) -> Outcome:
        """Back to free cpu-basic, in one click."""
        return self._change(
            caller,
            f"stop billing (switch to {FREE_FLAVOR})",
            lambda client: client.request_hardware(FREE_FLAVOR),
            lambda state: (
                f"Requested {state.requested_hardware}: billing stops once the switch is done. {RESTART_NOTE}"
            ),
            restarts=True,
        )

    def set_sleep_time(self, caller: Caller, sleep_label: str) -> Outcome:
        refused = self._refusal(caller, f"set sleep time to {sleep_label}")
        if refused:
            return refused
        try:
            sleep = sleep_choice(sleep_label)
        except ValueError as error:
            return Outcome(False, str(error))
        try:
            hardware = self.runtime().billed_hardware
        except AdminError as error:
            return Outcome(False, error.message)
        if hardware == FREE_FLAVOR:
            return Outcome(
                False,
                f"On {FREE_FLAVOR} the sleep time is fixed at {CPU_BASIC_SLEEP_S // 3600} h by the Hub and cannot be "
                "changed; nothing was sent. Choose paid hardware first to set your own sleep time.",
            )

        return self._change(
            caller,
            f"set sleep time to {sleep.label}",
            lambda client: client.set_sleep_time(sleep.seconds),
            lambda state: f"Sleep time is now {describe_sleep_time(state.sleep_time, state.billed_hardware)}.",
        )

    def pause(self, caller: Caller) -> Outcome:
        return self._change(
            caller,
            "pause the Space",
            lambda client: client.pause(),
            lambda state: (
                f"Paused (stage {state.stage}); paused time is not billed. This app stops too, and only the owner "
                "can restart a paused Space: from the Space's page (Settings → Restart) or with restart_space()."
            ),
        )

    def restart(self, caller: Caller, factory_reboot: bool) -> Outcome:
        kind = "factory reboot" if factory_reboot else "restart"

        return self._change(
            caller,
            f"{kind} the Space",
            lambda client: client.restart(factory_reboot=factory_reboot),
            lambda state: f"Sent a {kind} (stage {state.stage}). {RESTART_NOTE}",
            restarts=True,
        )

    # Replicas: paid hardware only, each one billed. More waits for a confirmation; fewer goes through.

    def _replica_request(self, caller: Caller, value: object) -> tuple[int, SpaceState] | Outcome:
        """The count asked for and the paid runtime it applies to, or why nothing may be sent."""
        refused = self._refusal(caller, f"set replicas to {value}")
        if refused:
            return refused
        try:
            return parse_replicas(value), self._paid_runtime()
        except ValueError as error:
            return Outcome(False, str(error))
        except AdminError as error:
            return Outcome(False, error.message)

    def prepare_replicas(self, caller: Caller, value: object) -> PendingReplicas | Outcome:
        """First step of a replica change: fewer (or as many) are sent at once; more wait for
        `confirm_replicas` from the same user in the same session, since each one is billed."""
        checked = self._replica_request(caller, value)
        if isinstance(checked, Outcome):
            return checked
        count, state = checked
        if count <= ReplicaCount.from_runtime(state.raw).billed:
            return self.set_replicas(caller, count)
        flavor = state.billed_hardware
        cost = replicas_cost(self.catalogue(), flavor, count)
        return self._pending_replicas.hold(
            caller, PendingReplicas(count, f"Confirm: run {count} replicas of {flavor}", f"{cost}.")
        )

    def confirm_replicas(self, caller: Caller) -> Outcome:
        """Second step: send the count this user chose in this session, if it is still waiting."""
        refused = self._refusal(caller, "confirm a replica change")
        if refused:
            return refused
        pending = self._pending_replicas.take(caller)
        if pending is None:
            return Outcome(False, "Nothing to confirm: choose the number of replicas first.")
        return self.set_replicas(caller, pending.replicas)

    def cancel_replicas(self, caller: Caller) -> Outcome:
        """Drop this user's waiting replica choice in this session; nobody else's can be touched."""
        if self._pending_replicas.take(caller) is not None:
            return Outcome(True, "Replica change cancelled; nothing was sent.")
        return Outcome(False, "Nothing to cancel.")

    def set_replicas(self, caller: Caller, value: object) -> Outcome:
        checked = self._replica_request(caller, value)
        if isinstance(checked, Outcome):
            return checked
        count, state = checked
        before = ReplicaCount.from_runtime(state.raw).billed

        def describe(after: SpaceState) -> str:
            cost = replicas_cost(self.catalogue(), after.billed_hardware, count)
            starting = " New replicas start beside this one; this app keeps serving." if count > before else ""
            return f"Asked for {count} replica{'s' if count != 1 else ''}: {cost}.{starting}"

        return self._change(
            caller,
            f"set replicas to {count}",
            lambda client: client.set_replicas(count),
            describe,
            restarts=count > before,  # new replicas start: their start-up diagnostics are this change's outcome
        )

    def replicas_now(self) -> ReplicaCount:
        """The replica count of the last runtime read (one read at most, cached as any); unknown on failure."""
        if self.problems:
            return ReplicaCount(None, None)
        try:
            return ReplicaCount.from_runtime(self.runtime().raw)
        except AdminError:
            return ReplicaCount(None, None)

    def _paid_runtime(self) -> SpaceState:
        """The runtime, if the Space is on paid hardware; raises ValueError (nothing sent) when it is free."""
        state = self.runtime()
        flavor = state.billed_hardware
        known = self.catalogue().get(flavor)
        if flavor == FREE_FLAVOR or (known is not None and known.is_free):
            raise ValueError(
                f"Replicas need paid hardware: this Space runs on {flavor}, which runs one replica. "
                "Nothing was sent; switch to paid hardware first."
            )
        return state

    def _refusal(self, caller: Caller, what: str) -> Outcome | None:
        """Why `caller` may not do `what`, counted in the activity summary; None when it may."""
        cross_site = origin_problem(caller, self.settings)
        decision = self.decide(caller.username)
        if cross_site or not decision.allowed:
            kind = "cross-site" if cross_site else decision.role.value
            reason = cross_site or decision.reason
            self.activity.refuse(kind, what, reason)
            return Outcome(False, f"Refused: {reason[0].upper()}{reason[1:]}")
        if self.problems:
            return Outcome(False, " ".join(self.problems))
        return None

    def _change(  # authorises again, so no caller can skip the check
        self,
        caller: Caller,
        what: str,
        send: Callable[[SpaceClient], SpaceState],
        describe: Callable[[SpaceState], str],
        *,
        restarts: bool = False,
    ) -> Outcome:
        refused = self._refusal(caller, what)
        if refused:
            return refused
        username = caller.username or ""
        if not self._busy.acquire(blocking=False):
            return Outcome(False, f"Ignored “{what}”: another change is being sent to the Hub. Wait for its result.")
        try:
            last = self._last_change
            if last and last[0] == what and self._clock() - last[1] < self._repeat_window_s:
                return Outcome(False, f"Ignored a repeated “{what}”: the same change was just sent.")
            try:
                state = send(self._require_client())
            except AdminError as error:
                self.activity.record(username, what, error.message, ok=False)
                return Outcome(False, error.message)
            self._last_change = (what, self._clock())
            message = describe(self._runtime.keep(state))
            self.activity.record(username, what, message, ok=True, restarts=restarts)
            return Outcome(True, message, state)
        finally:
            self._busy.release()

    def _require_client(self) -> SpaceClient:
        if self._client is None:
            raise AdminError(ErrorKind.NOT_CONFIGURED, " ".join(self.problems))
        return self._client
