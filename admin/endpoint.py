"""The owner's Inference Endpoint (INFERENCE_ENDPOINT) through HfApi's Inference Endpoint methods, without Gradio.

The same rules as the Space's own changes (admin/service.py): every change authorises the caller (owner or
ADMIN_USERS, from the Space's own page), sends at most one request, and is recorded in the activity list;
what starts billing (resume, keeping replicas running) waits for a confirmation from the same user in the
same session. Reads are cached and failures remembered, so visitors' refreshes cannot spend the owner's
rate limit. Only allow-listed fields of the endpoint are kept: its JSON also carries the model's secrets.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from huggingface_hub import HfApi, InferenceEndpoint

from admin.access import Caller, authorize, origin_problem
from admin.activity import ActivityLog
from admin.pending import PendingChoices
from admin.remembered import FAILURE_BACKOFF_S, RememberedRead
from admin.space_client import (
    DEFAULT_TIMEOUT_S,
    SECRETS_PLACE,
    AdminError,
    ErrorKind,
    call_with_timeout,
)
from settings import Settings

T = TypeVar("T")

POLL_INTERVAL_S = 3.0
"""The least time between two reads of the endpoint, whoever asks; the tab's refresh period while it changes."""
MAX_REPLICAS = 100
"""The most replicas the form accepts; the Hub applies the account's own quota on top."""
CHANGING_STATES = ("pending", "initializing", "updating")
TOKEN_PERMISSION = (
    "a fine-grained token with “Inference Endpoints: write” for the endpoint's namespace "
    "(https://huggingface.co/settings/tokens), or a classic “write” token"
)


@dataclass(frozen=True)
class EndpointState:
    """What the Inference Endpoints API says about the endpoint: allow-listed fields only."""

    namespace: str
    """e.g. "alice"."""
    name: str
    """e.g. "gpu-self-check-tei"."""
    state: str
    """An InferenceEndpointStatus value, e.g. "running", "paused", "scaledToZero"; kept as text."""
    message: str
    """The API's status message, e.g. "Endpoint is ready"."""
    ready_replicas: int
    target_replicas: int
    min_replica: int
    max_replica: int
    scale_to_zero_minutes: int | None
    """Idle minutes before it scales to zero (only with min_replica 0); None when not set."""
    repository: str
    """The model it serves, e.g. "sentence-transformers/all-MiniLM-L6-v2"."""
    hardware: str
    """e.g. "aws us-east-1, gpu nvidia-l4 x1"."""

    @classmethod
    def from_endpoint(cls, endpoint: InferenceEndpoint) -> EndpointState:
        raw = endpoint.raw or {}
        status, compute, provider = raw.get("status") or {}, raw.get("compute") or {}, raw.get("provider") or {}
        scaling = compute.get("scaling") or {}
        return cls(
            namespace=endpoint.namespace,
            name=endpoint.name,
            state=str(getattr(endpoint.status, "value", endpoint.status)),
            message=str(status.get("message") or ""),
            ready_replicas=_int(status.get("readyReplica")),
            target_replicas=_int(status.get("targetReplica")),
            min_replica=_int(scaling.get("minReplica")),
            max_replica=_int(scaling.get("maxReplica")),
            scale_to_zero_minutes=scaling.get("scaleToZeroTimeout")
            if isinstance(scaling.get("scaleToZeroTimeout"), int)
            else None,
            repository=str(endpoint.repository),
            hardware=" ".join(
                str(part)
                for part in (
                    provider.get("vendor"),
                    f"{provider.get('region')},",
                    compute.get("accelerator"),
                    compute.get("instanceType"),
                    compute.get("instanceSize"),
                )
                if part
            ),
        )

    @property
    def is_changing(self) -> bool:
        return self.state in CHANGING_STATES


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def parse_endpoint_name(value: str) -> tuple[str | None, str]:
    """("namespace" or None, "name") from INFERENCE_ENDPOINT ("name" or "namespace/name")."""
    namespace, _, name = value.rpartition("/")
    return namespace or None, name


class EndpointClient:
    """HfApi's Inference Endpoint calls for one endpoint, each bounded by a timeout, failures as AdminError."""

    def __init__(
        self,
        name: str,
        token: str,
        *,
        namespace: str | None = None,
        endpoint: str | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ):
        self.name = name
        self._namespace = namespace
        self._token = token
        self._api = HfApi(endpoint=endpoint, token=token)
        self._timeout_s = timeout_s

    def __repr__(self) -> str:
        return f"EndpointClient(name={self.name!r}, namespace={self._namespace!r})"

    @property
    def label(self) -> str:
        return f"{self._namespace}/{self.name}" if self._namespace else self.name

    def get(self) -> EndpointState:
        return self._state("read the Inference Endpoint", self._api.get_inference_endpoint)

    def pause(self) -> EndpointState:
        return self._state("pause the Inference Endpoint", self._api.pause_inference_endpoint)

    def resume(self) -> EndpointState:
        return self._state("resume the Inference Endpoint", self._api.resume_inference_endpoint)

    def scale_to_zero(self) -> EndpointState:
        return self._state("scale the Inference Endpoint to zero", self._api.scale_to_zero_inference_endpoint)

    def set_replicas(self, min_replica: int, max_replica: int) -> EndpointState:
        return self._state(
            "set the Inference Endpoint's replicas",
            self._api.update_inference_endpoint,
            min_replica=min_replica,
            max_replica=max_replica,
        )

    def _state(self, what: str, method: Callable[..., InferenceEndpoint], **kwargs: Any) -> EndpointState:
        namespace = self._resolve_namespace()
        endpoint = self._call(what, lambda: method(self.name, namespace=namespace, **kwargs))
        return EndpointState.from_endpoint(endpoint)

    def _resolve_namespace(self) -> str:
        """The namespace given, or the token's user once (HfApi would ask whoami on every call)."""
        if self._namespace is None:
            me = self._call("ask the Hub who the token belongs to", self._api.whoami)
            if me.get("type") != "user":
                raise AdminError(
                    ErrorKind.NOT_CONFIGURED,
                    "HF_TOKEN belongs to an organisation or app: write INFERENCE_ENDPOINT as namespace/name.",
                )
            self._namespace = me["name"]
        return self._namespace

    def _call(self, what: str, call: Callable[[], T]) -> T:
        try:
            return call_with_timeout(
                what, call, self._timeout_s, "the Inference Endpoints API", self.label, self._token
            )
        except AdminError as error:
            raise self._explain(what, error) from None

    def _explain(self, what: str, error: AdminError) -> AdminError:
        """The Space-worded messages of space_client, reworded for an endpoint where the advice differs."""
        said = error.message.partition(" The Hub says: ")[2]
        hub_says = f" The API says: {said}" if said else ""
        advice = {
            ErrorKind.UNAUTHORIZED: f"HF_TOKEN was not accepted (401). Put {TOKEN_PERMISSION} in the HF_TOKEN "
            f"secret ({SECRETS_PLACE}).",
            ErrorKind.FORBIDDEN: f"HF_TOKEN may not manage {self.label} (403). It needs {TOKEN_PERMISSION}.",
            ErrorKind.NOT_FOUND: f"there is no Inference Endpoint {self.label} (404). Check INFERENCE_ENDPOINT: "
            "the endpoint's name, or namespace/name for one outside the token's own account.",
        }.get(error.kind)
        if advice is None:
            return error
        return AdminError(error.kind, f"Could not {what}: {advice}{hub_says}", error.status, error.retry_after_s)


@dataclass(frozen=True)
class EndpointOutcome:
    ok: bool
    message: str
    state: EndpointState | None = None


@dataclass(frozen=True)
class PendingEndpointChange:
    """A change that starts billing, waiting for the same user's confirmation in the same session."""

    action: str
    """"resume" or "replicas"."""
    min_replica: int | None
    max_replica: int | None
    prompt: str
    """What the confirm button says."""


class EndpointService:
    """One per app, for INFERENCE_ENDPOINT; shares the Space's ActivityLog so the owner reads one list."""

    def __init__(
        self,
        settings: Settings,
        activity: ActivityLog,
        *,
        client: EndpointClient | None = None,
        state_max_age_s: float = POLL_INTERVAL_S,
        failure_backoff_s: float = FAILURE_BACKOFF_S,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.settings = settings
        self.activity = activity
        no_token = f"No token: add a secret named HF_TOKEN in {SECRETS_PLACE}, holding {TOKEN_PERMISSION}."
        self.problems = [] if settings.hf_token else [no_token]
        namespace, name = parse_endpoint_name(settings.inference_endpoint or "")
        self._client = client or (
            EndpointClient(name, settings.hf_token, namespace=namespace) if settings.hf_token else None
        )
        self._busy = threading.Lock()
        self._state = RememberedRead(lambda: self._require_client().get(), state_max_age_s, failure_backoff_s, clock)
        self._pending: PendingChoices[PendingEndpointChange] = PendingChoices(clock=clock)

    @property
    def label(self) -> str:
        return self.settings.inference_endpoint or ""

    # Reading: anyone may look; the endpoint is asked at most once per state_max_age_s.

    def state(self) -> EndpointState:
        return self._state.get()

    # Changing.

    def pause(self, caller: Caller) -> EndpointOutcome:
        return self._change(
            caller,
            f"pause Inference Endpoint {self.label}",
            lambda client: client.pause(),
            lambda state: f"Paused {self.label} ({state.state}): not billed until resumed.",
        )

    def scale_to_zero(self, caller: Caller) -> EndpointOutcome:
        return self._change(
            caller,
            f"scale Inference Endpoint {self.label} to zero",
            lambda client: client.scale_to_zero(),
            lambda state: (
                f"Scaled {self.label} to zero ({state.state}): the next request wakes it, after a cold start."
            ),
        )

    def prepare_resume(self, caller: Caller) -> PendingEndpointChange | EndpointOutcome:
        refused = self._refusal(caller, f"resume Inference Endpoint {self.label}")
        if refused:
            return refused
        prompt = f"Confirm: resume {self.label} (billed per replica-hour while it runs)"
        return self._pending.hold(caller, PendingEndpointChange("resume", None, None, prompt))

    def prepare_replicas(
        self, caller: Caller, min_replica: object, max_replica: object
    ) -> PendingEndpointChange | EndpointOutcome:
        refused = self._refusal(caller, f"set replicas of Inference Endpoint {self.label}")
        if refused:
            return refused
        bounds = replica_bounds(min_replica, max_replica)
        if isinstance(bounds, str):
            return EndpointOutcome(False, bounds)
        low, high = bounds
        if low == 0:
            # Nothing runs unless requests come, and then at most `high`: no confirmation for a cap.
            return self._set_replicas(caller, low, high)
        prompt = (
            f"Confirm: keep at least {low} replica{'s' if low != 1 else ''} of {self.label} running, up to {high} "
            "(each billed per hour, even without requests)"
        )
        return self._pending.hold(caller, PendingEndpointChange("replicas", low, high, prompt))

    def confirm(self, caller: Caller) -> EndpointOutcome:
        refused = self._refusal(caller, f"confirm a change of Inference Endpoint {self.label}")
        if refused:
            return refused
        pending = self._pending.take(caller)
        if pending is None:
            return EndpointOutcome(False, "Nothing to confirm: choose the endpoint change first.")
        if pending.action == "resume":
            return self._change(
                caller,
                f"resume Inference Endpoint {self.label}",
                lambda client: client.resume(),
                lambda state: f"Resuming {self.label} ({state.state}); it answers once running.",
            )
        return self._set_replicas(caller, pending.min_replica, pending.max_replica)

    def cancel(self, caller: Caller) -> EndpointOutcome:
        if self._pending.take(caller) is None:
            return EndpointOutcome(False, "Nothing to cancel.")
        return EndpointOutcome(True, "Cancelled; nothing was sent.")

    def _set_replicas(self, caller: Caller, low: int, high: int) -> EndpointOutcome:
        return self._change(
            caller,
            f"set replicas of Inference Endpoint {self.label} to {low}-{high}",
            lambda client: client.set_replicas(low, high),
            lambda state: f"{self.label} now scales between {state.min_replica} and {state.max_replica} replicas "
            f"({state.state}).",
        )

    def _refusal(self, caller: Caller, what: str) -> EndpointOutcome | None:
        """Why `caller` may not do `what` (counted in the activity summary, like the Space's changes)."""
        cross_site = origin_problem(caller, self.settings)
        decision = authorize(caller.username, self.settings)
        if cross_site or not decision.allowed:
            kind = "cross-site" if cross_site else decision.role.value
            reason = cross_site or decision.reason
            self.activity.refuse(kind, what, reason)
            return EndpointOutcome(False, f"Refused: {reason[0].upper()}{reason[1:]}")
        if self.problems:
            return EndpointOutcome(False, " ".join(self.problems))
        return None

    def _change(
        self,
        caller: Caller,
        what: str,
        send: Callable[[EndpointClient], EndpointState],
        describe: Callable[[EndpointState], str],
    ) -> EndpointOutcome:
        refused = self._refusal(caller, what)
        if refused:
            return refused
        if not self._busy.acquire(blocking=False):
            busy = f"Ignored “{what}”: another endpoint change is being sent. Wait for its result."
            return EndpointOutcome(False, busy)
        try:
            try:
                state = send(self._require_client())
            except AdminError as error:
                self.activity.record(caller.username or "", what, error.message, ok=False)
                return EndpointOutcome(False, error.message)
            self._state.keep(state)
            message = describe(state)
            self.activity.record(caller.username or "", what, message, ok=True)
            return EndpointOutcome(True, message, state)
        finally:
            self._busy.release()

    def _require_client(self) -> EndpointClient:
        if self._client is None:
            raise AdminError(ErrorKind.NOT_CONFIGURED, " ".join(self.problems))
        return self._client


def replica_bounds(min_replica: object, max_replica: object) -> tuple[int, int] | str:
    """(min, max) as whole numbers within 0..MAX_REPLICAS with min <= max and max >= 1, or why not."""
    values = []
    for label, value in (("Min replicas", min_replica), ("Max replicas", max_replica)):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_REPLICAS:
            return f"{label} must be a whole number from 0 to {MAX_REPLICAS}; nothing was sent."
        values.append(value)
    low, high = values
    if high < 1:
        return "Max replicas must be at least 1; to stop billing, pause or scale to zero instead. Nothing was sent."
    if low > high:
        return f"Min replicas ({low}) cannot exceed max replicas ({high}); nothing was sent."
    return low, high
