"""The owner's Inference Endpoint (INFERENCE_ENDPOINT) as HfApi's Inference Endpoint methods see it.

Only allow-listed fields of the endpoint are kept: its JSON also carries the model's secrets.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from huggingface_hub import InferenceEndpoint

from admin.hub import SECRETS_PLACE, TOKEN_PERMISSION, AdminError, ErrorKind, HubClient

T = TypeVar("T")

CHANGING_STATES = ("pending", "initializing", "updating")


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


class EndpointClient(HubClient):
    """HfApi's Inference Endpoint calls for one endpoint, each bounded by a timeout, failures as AdminError."""

    def __init__(self, name: str, token: str, *, namespace: str | None = None, **kwargs: Any):
        super().__init__(f"{namespace}/{name}" if namespace else name, token, **kwargs)
        self.name = name
        self._namespace = namespace

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
        endpoint = self._endpoint_call(what, lambda: method(self.name, namespace=namespace, **kwargs))
        return EndpointState.from_endpoint(endpoint)

    def _resolve_namespace(self) -> str:
        """The namespace given, or the token's user once (HfApi would ask whoami on every call)."""
        if self._namespace is None:
            me = self._endpoint_call("ask the Hub who the token belongs to", self._api.whoami)
            if me.get("type") != "user":
                raise AdminError(
                    ErrorKind.NOT_CONFIGURED,
                    "HF_TOKEN belongs to an organisation or app: write INFERENCE_ENDPOINT as namespace/name.",
                )
            self._namespace = me["name"]
        return self._namespace

    def _endpoint_call(self, what: str, call: Callable[[], T]) -> T:
        try:
            return self._call(what, call, where="the Inference Endpoints API")
        except AdminError as error:
            raise self._explain(what, error) from None

    def _explain(self, what: str, error: AdminError) -> AdminError:
        """The Space-worded messages of admin/hub.py, reworded for an endpoint where the advice differs."""
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
