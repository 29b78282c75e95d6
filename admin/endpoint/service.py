"""The owner's Inference Endpoint (INFERENCE_ENDPOINT) without Gradio: read it, pause, scale to zero, resume,
set its replicas.

The same rules as the Space's own changes, through the same change desk (admin/desk.py): every change is
checked by the Guard (owner or ADMIN_USERS, from the Space's own page), sends at most one request, and is
recorded in the activity list; what starts billing (resume, keeping replicas running) waits for a confirmation
from the same user in the same session. Reads are cached and failures remembered, so visitors' refreshes
cannot spend the owner's rate limit.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from admin.access import Caller
from admin.activity import ActivityLog
from admin.desk import Change, ChangeDesk, Outcome, Pending
from admin.endpoint.client import EndpointClient, EndpointState, parse_endpoint_name
from admin.guard import Guard
from admin.hub import SECRETS_PLACE, TOKEN_PERMISSION, AdminError, ErrorKind
from admin.remembered import FAILURE_BACKOFF_S, POLL_INTERVAL_S, RememberedRead
from settings import Settings

MAX_ENDPOINT_REPLICAS = 100
"""The most replicas the endpoint form accepts as a bound; the Hub applies the account's own quota on top."""
ENDPOINT_CHANGE = "the endpoint change"
"""The subject of a waiting endpoint change (admin/desk.py Pending): resume, or replicas kept running."""


class EndpointService:
    """One per app, for INFERENCE_ENDPOINT; shares the Space's Guard, so the owner reads one activity list."""

    def __init__(
        self,
        settings: Settings,
        activity: ActivityLog,
        *,
        client: EndpointClient | None = None,
        guard: Guard | None = None,
        state_max_age_s: float = POLL_INTERVAL_S,
        failure_backoff_s: float = FAILURE_BACKOFF_S,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.settings = settings
        no_token = f"No token: add a secret named HF_TOKEN in {SECRETS_PLACE}, holding {TOKEN_PERMISSION}."
        self.problems = [] if settings.hf_token else [no_token]
        self.guard = guard or Guard(settings, activity)
        self.activity = self.guard.activity
        self.desk = ChangeDesk(self.guard, self.problems, clock=clock)
        namespace, name = parse_endpoint_name(settings.inference_endpoint or "")
        self._client = client or (
            EndpointClient(name, settings.hf_token, namespace=namespace) if settings.hf_token else None
        )
        self._state = RememberedRead(lambda: self._require_client().get(), state_max_age_s, failure_backoff_s, clock)

    @property
    def label(self) -> str:
        return self.settings.inference_endpoint or ""

    # Reading: anyone may look; the endpoint is asked at most once per state_max_age_s.

    def state(self) -> EndpointState:
        return self._state.get()

    # Changing.

    def pause(self, caller: Caller) -> Outcome:
        change = self._change(
            f"pause Inference Endpoint {self.label}",
            lambda client: client.pause(),
            lambda state: f"Paused {self.label} ({state.state}): not billed until resumed.",
        )
        return self.desk.send(caller, change)

    def scale_to_zero(self, caller: Caller) -> Outcome:
        change = self._change(
            f"scale Inference Endpoint {self.label} to zero",
            lambda client: client.scale_to_zero(),
            lambda state: (
                f"Scaled {self.label} to zero ({state.state}): the next request wakes it, after a cold start."
            ),
        )
        return self.desk.send(caller, change)

    def prepare_resume(self, caller: Caller) -> Pending | Outcome:
        resume = self._change(
            f"resume Inference Endpoint {self.label}",
            lambda client: client.resume(),
            lambda state: f"Resuming {self.label} ({state.state}); it answers once running.",
        )
        prompt = f"Confirm: resume {self.label} (billed per replica-hour while it runs)"
        return self.desk.act(caller, resume.what, lambda: Pending(ENDPOINT_CHANGE, resume, prompt))

    def prepare_replicas(self, caller: Caller, min_replica: object, max_replica: object) -> Pending | Outcome:
        def choose() -> Change | Pending | Outcome:
            bounds = replica_bounds(min_replica, max_replica)
            if isinstance(bounds, str):
                return Outcome(False, bounds)
            low, high = bounds
            change = self._change(
                f"set replicas of Inference Endpoint {self.label} to {low}-{high}",
                lambda client: client.set_replicas(low, high),
                lambda state: (
                    f"{self.label} now scales between {state.min_replica} and {state.max_replica} "
                    f"replicas ({state.state})."
                ),
            )
            if low == 0:
                return change  # nothing runs unless requests come, and then at most `high`: no confirmation for a cap
            prompt = (
                f"Confirm: keep at least {low} replica{'s' if low != 1 else ''} of {self.label} running, up to "
                f"{high} (each billed per hour, even without requests)"
            )
            return Pending(ENDPOINT_CHANGE, change, prompt)

        return self.desk.act(caller, f"set replicas of Inference Endpoint {self.label}", choose)

    def confirm(self, caller: Caller) -> Outcome:
        return self.desk.confirm(caller, ENDPOINT_CHANGE)

    def cancel(self, caller: Caller) -> Outcome:
        return self.desk.cancel(caller, ENDPOINT_CHANGE)

    def _change(
        self, what: str, call: Callable[[EndpointClient], EndpointState], describe: Callable[[EndpointState], str]
    ) -> Change[EndpointState]:
        """An endpoint change whose answer becomes the remembered state, so the next read shows it at once."""
        return Change(what, lambda: self._state.keep(call(self._require_client())), describe)

    def _require_client(self) -> EndpointClient:
        if self._client is None:
            raise AdminError(ErrorKind.NOT_CONFIGURED, " ".join(self.problems))
        return self._client


def replica_bounds(min_replica: object, max_replica: object) -> tuple[int, int] | str:
    """(min, max) as whole numbers within 0..MAX_ENDPOINT_REPLICAS with min <= max and max >= 1, or why not."""
    values = []
    for label, value in (("Min replicas", min_replica), ("Max replicas", max_replica)):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_ENDPOINT_REPLICAS:
            return f"{label} must be a whole number from 0 to {MAX_ENDPOINT_REPLICAS}; nothing was sent."
        values.append(value)
    low, high = values
    if high < 1:
        return "Max replicas must be at least 1; to stop billing, pause or scale to zero instead. Nothing was sent."
    if low > high:
        return f"Min replicas ({low}) cannot exceed max replicas ({high}); nothing was sent."
    return low, high
