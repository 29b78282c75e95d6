"""The Space's own administration without Gradio: runtime, hardware, sleep time, pause, restart and replicas.

Every method that changes the Space builds its `Change` (admin/desk.py) and hands it to the change desk,
which checks the Caller (signed-in username, session, the page it came from) first, so no path to the Hub
skips the check; billed choices wait there for the same user's confirmation in the same session.

Reads spend the owner's token too, and anyone may read: the runtime is asked of the Hub at most once per
POLL_INTERVAL_S whoever asks and however many at once, and a failure is kept as long as the Hub asked
(Retry-After) or FAILURE_BACKOFF_S, so a failing Hub is not asked again by every visitor.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from huggingface_hub import SpaceHardware

from admin.access import Caller, Decision
from admin.activity import ActivityLog, activity_log
from admin.desk import Change, ChangeDesk, Outcome, Pending
from admin.guard import Guard
from admin.hub import AdminError, ErrorKind, configuration_problems
from admin.remembered import FAILURE_BACKOFF_S, POLL_INTERVAL_S, RememberedRead
from admin.space.catalogue import (
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
from admin.space.client import SpaceClient, SpaceState
from admin.space.replicas import ReplicaCount, parse_replicas, replicas_cost, with_replicas
from settings import Settings

_HUB_FLAVORS = frozenset(h.value for h in SpaceHardware)
_FALLBACK_RETRY_S = 60.0
RESTART_NOTE = "This app runs inside the Space, so this page loses its connection until the Space is back."
HARDWARE = "the hardware"
"""The subject of a waiting hardware choice (admin/desk.py Pending)."""
REPLICAS = "the number of replicas"


class SpaceService:
    """One per app. Shared by every session, so its caches and its change desk are too."""

    def __init__(
        self,
        settings: Settings,
        *,
        client: SpaceClient | None = None,
        activity: ActivityLog | None = None,
        guard: Guard | None = None,
        runtime_max_age_s: float = POLL_INTERVAL_S,
        failure_backoff_s: float = FAILURE_BACKOFF_S,
        catalogue_max_age_s: float = 3600.0,
        repeat_window_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        """`guard`: the app's one Guard (its activity log is this service's); else one over `activity`."""
        self.settings = settings
        self.problems = configuration_problems(settings)
        self.guard = guard or Guard(settings, activity or activity_log(settings))
        self.activity = self.guard.activity
        self.desk = ChangeDesk(self.guard, self.problems, repeat_window_s=repeat_window_s, clock=clock)
        self._client = client if client is not None or self.problems else SpaceClient.from_settings(settings)
        self._runtime = RememberedRead(
            lambda: self._require_client().runtime(),
            runtime_max_age_s,
            failure_backoff_s,
            clock,
            say_when_asked_again=True,
        )
        # A failure is kept shorter than the Hub's list: the dated fallback stands in for it meanwhile.
        self._catalogue = RememberedRead(
            lambda: catalogue_from_hub(self._require_client().list_hardware()),
            catalogue_max_age_s,
            _FALLBACK_RETRY_S,
            clock,
        )

    def decide(self, username: str | None) -> Decision:
        return self.guard.decide(username)

    # Reading: anyone may look. Cached, because every visitor's refresh spends the owner's rate limit.

    def runtime(self) -> SpaceState:
        """The Space's runtime, asked of the Hub at most once per `runtime_max_age_s`; raises AdminError.

        A failure is remembered too (see FAILURE_BACKOFF_S) and raised again, saying when the Hub is asked next.
        """
        return self._runtime.get()

    def catalogue(self) -> Catalogue:
        """The Hub's flavors and prices; the dated fallback table, saying why, when the Hub cannot be asked."""
        if self.problems:
            return fallback_catalogue("the Admin tab is not configured")
        try:
            return self._catalogue.get()
        except AdminError as error:
            return fallback_catalogue(error.message)

    def replicas_now(self) -> ReplicaCount:
        """The replica count of the last runtime read (one read at most, cached as any); unknown on failure."""
        if self.problems:
            return ReplicaCount(None, None)
        try:
            return ReplicaCount.from_runtime(self.runtime().raw)
        except AdminError:
            return ReplicaCount(None, None)

    def _is_known_flavor(self, flavor: str) -> bool:
        """Checked before sending, so it must not reach the Hub: the enum plus what is cached."""
        cached = self._catalogue.peek()
        return flavor in _HUB_FLAVORS or (cached is not None and cached.get(flavor) is not None)

    # Changing: each action is a Change the desk checks, sends once and records.

    def prepare_hardware(self, caller: Caller, flavor: str, sleep_label: str) -> Pending | Outcome:
        """First step of a hardware change: free flavors go straight through, paid ones wait for
        `confirm_hardware` from the same user in the same session."""

        return self.desk.act(caller, f"choose hardware {flavor}", lambda: self.hardware_step(flavor, sleep_label))

    def hardware_step(self, flavor: str, sleep_label: str) -> Change[SpaceState] | Pending[SpaceState]:
        """The change to `flavor`; held as a Pending with its price when the flavor is billed. ValueError (nothing
        sent) for a flavor or sleep time the Hub does not know."""
        known = self.catalogue().get(flavor)
        change = self.hardware_change(flavor, sleep_label)
        if known is not None and known.is_free:
            return change
        sleep = sleep_choice(sleep_label)
        price = price_per_hour(known) if known else "price unknown"
        estimate = estimate_cost(known, sleep.seconds).assumption if known else "No price known for this flavor."
        estimate += with_replicas(self.catalogue(), flavor, self.replicas_now())
        return Pending(HARDWARE, change, f"Confirm: switch to {flavor} at {price} (sleep: {sleep.label})", estimate)

    def confirm_hardware(self, caller: Caller) -> Outcome:
        return self.desk.confirm(caller, HARDWARE)

    def cancel_hardware(self, caller: Caller) -> Outcome:
        return self.desk.cancel(caller, HARDWARE)

    def request_hardware(self, caller: Caller, flavor: str, sleep_label: str | None) -> Outcome:
        return self.desk.act(caller, f"request hardware {flavor}", lambda: self.hardware_change(flavor, sleep_label))

    def hardware_change(self, flavor: str, sleep_label: str | None) -> Change[SpaceState]:
        """ValueError for a flavor or sleep time the Hub does not know: nothing is sent."""
        if not self._is_known_flavor(flavor):
            raise ValueError(f"{flavor!r} is not a Spaces hardware flavor.")
        sleep = None if flavor == FREE_FLAVOR or sleep_label is None else sleep_choice(sleep_label)
        # cpu-basic takes no sleep time: the Hub fixes it at 48 h and huggingface_hub warns if one is sent.
        seconds = sleep.seconds if sleep else None
        return self._change(
            f"request hardware {flavor}" + (f" (sleep: {sleep.label})" if sleep else ""),
            lambda client: client.request_hardware(flavor, sleep_time=seconds),
            lambda state: f"Requested {state.requested_hardware}. The Space restarts on it. {RESTART_NOTE}",
            restarts=True,
        )

    def hardware_request(self, flavor: str) -> SpaceState:
        """A hardware request's one Hub call, its answer remembered: for a Change another feature sends
        through this desk (the hardware sweep)."""
        return self._runtime.keep(self._require_client().request_hardware(flavor))

    def stop_billing(self, caller: Caller) -> Outcome:
        """Back to free cpu-basic, in one click."""
        change = self._change(
            f"stop billing (switch to {FREE_FLAVOR})",
            lambda client: client.request_hardware(FREE_FLAVOR),
            lambda state: (
                f"Requested {state.requested_hardware}: billing stops once the switch is done. {RESTART_NOTE}"
            ),
            restarts=True,
        )
        return self.desk.send(caller, change)

    def set_sleep_time(self, caller: Caller, sleep_label: str) -> Outcome:
        def choose() -> Change | Outcome:
            sleep = sleep_choice(sleep_label)
            if self.runtime().billed_hardware == FREE_FLAVOR:
                return Outcome(
                    False,
                    f"On {FREE_FLAVOR} the sleep time is fixed at {CPU_BASIC_SLEEP_S // 3600} h by the Hub and cannot "
                    "be changed; nothing was sent. Choose paid hardware first to set your own sleep time.",
                )
            return self._change(
                f"set sleep time to {sleep.label}",
                lambda client: client.set_sleep_time(sleep.seconds),
                lambda state: f"Sleep time is now {describe_sleep_time(state.sleep_time, state.billed_hardware)}.",
            )

        return self.desk.act(caller, f"set sleep time to {sleep_label}", choose)

    def pause(self, caller: Caller) -> Outcome:
        change = self._change(
            "pause the Space",
            lambda client: client.pause(),
            lambda state: (
                f"Paused (stage {state.stage}); paused time is not billed. This app stops too, and only the owner "
                "can restart a paused Space: from the Space's page (Settings → Restart) or with restart_space()."
            ),
        )
        return self.desk.send(caller, change)

    def restart(self, caller: Caller, factory_reboot: bool) -> Outcome:
        return self.desk.send(caller, self.restart_change(factory_reboot))

    def restart_change(self, factory_reboot: bool) -> Change[SpaceState]:
        kind = "factory reboot" if factory_reboot else "restart"
        return self._change(
            f"{kind} the Space",
            lambda client: client.restart(factory_reboot=factory_reboot),
            lambda state: f"Sent a {kind} (stage {state.stage}). {RESTART_NOTE}",
            restarts=True,
        )

    # Replicas: paid hardware only, each one billed. More waits for a confirmation; fewer goes through.

    def prepare_replicas(self, caller: Caller, value: object) -> Pending | Outcome:
        """First step of a replica change: fewer (or as many) are sent at once; more wait for
        `confirm_replicas` from the same user in the same session, since each one is billed."""

        def choose() -> Change | Pending:
            count, state = parse_replicas(value), self._paid_runtime()
            change = self._replicas_change(count, state)
            if count <= ReplicaCount.from_runtime(state.raw).billed:
                return change
            flavor = state.billed_hardware
            cost = replicas_cost(self.catalogue(), flavor, count)
            return Pending(REPLICAS, change, f"Confirm: run {count} replicas of {flavor}", f"{cost}.")

        return self.desk.act(caller, f"set replicas to {value}", choose)

    def confirm_replicas(self, caller: Caller) -> Outcome:
        return self.desk.confirm(caller, REPLICAS)

    def cancel_replicas(self, caller: Caller) -> Outcome:
        return self.desk.cancel(caller, REPLICAS)

    def set_replicas(self, caller: Caller, value: object) -> Outcome:
        return self.desk.act(
            caller,
            f"set replicas to {value}",
            lambda: self._replicas_change(parse_replicas(value), self._paid_runtime()),
        )

    def _replicas_change(self, count: int, state: SpaceState) -> Change[SpaceState]:
        before = ReplicaCount.from_runtime(state.raw).billed

        def describe(after: SpaceState) -> str:
            cost = replicas_cost(self.catalogue(), after.billed_hardware, count)
            starting = " New replicas start beside this one; this app keeps serving." if count > before else ""
            return f"Asked for {count} replica{'s' if count != 1 else ''}: {cost}.{starting}"

        return self._change(
            f"set replicas to {count}",
            lambda client: client.set_replicas(count),
            describe,
            restarts=count > before,  # new replicas start: their start-up diagnostics are this change's outcome
        )

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

    def _change(
        self,
        what: str,
        call: Callable[[SpaceClient], SpaceState],
        describe: Callable[[SpaceState], str],
        *,
        restarts: bool = False,
    ) -> Change[SpaceState]:
        """A Space change whose answer becomes the remembered runtime, so the next read shows it at once."""
        return Change(what, lambda: self._runtime.keep(call(self._require_client())), describe, restarts)

    def _require_client(self) -> SpaceClient:
        if self._client is None:
            raise AdminError(ErrorKind.NOT_CONFIGURED, " ".join(self.problems))
        return self._client
