"""Space replicas: the count the Hub runs, how to ask for another, and what it costs.

huggingface_hub 2.4 has no method for `POST /api/spaces/{id}/replicas` (Hub docs, spaces-gpus.md
"Replicas"), so the request is made the way its own Space methods make theirs: its shared HTTP session
(`get_session`), its headers (`build_hf_headers`: token, user agent) and its error handling
(`hf_raise_for_status`, which raises the same HfHubHTTPError family SpaceClient maps to messages).
Replicas run only on paid hardware, and each one is billed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from huggingface_hub import HfApi, SpaceRuntime
from huggingface_hub.utils import build_hf_headers, get_session, hf_raise_for_status

from admin.space.catalogue import Catalogue, format_usd

MIN_REPLICAS = 1
MAX_SPACE_REPLICAS = 10
"""Most copies of the Space the tab asks for: a typo of 100 must not bill 100 GPUs. The Hub may allow fewer."""


@dataclass(frozen=True)
class ReplicaCount:
    """The replica part of the Space's runtime JSON: `"replicas": {"requested": 2, "current": 1}`."""

    requested: int | None
    """How many the owner asked for, e.g. 2; None when the Hub did not say."""
    current: int | None
    """How many run now, e.g. 1 while the second starts; None when the Hub did not say."""

    @classmethod
    def from_runtime(cls, raw: Mapping | None) -> ReplicaCount:
        replicas = (raw or {}).get("replicas")
        if not isinstance(replicas, Mapping):
            return cls(None, None)
        return cls(_count(replicas.get("requested")), _count(replicas.get("current")))

    @property
    def billed(self) -> int:
        """How many replicas billing follows: the requested count once asked for, else 1."""
        return self.requested or self.current or 1


def _count(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def parse_replicas(value: object) -> int:
    """A replica count from the page (a gr.Number gives a float); ValueError with a sentence otherwise."""
    asked = f"Give a whole number of replicas from {MIN_REPLICAS} to {MAX_SPACE_REPLICAS}"
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"{asked}.")  # noqa: TRY004  one error type for every bad count the page can send
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"{asked}.") from None
    if not number.is_integer() or not MIN_REPLICAS <= number <= MAX_SPACE_REPLICAS:
        raise ValueError(f"{asked}; nothing was sent.")
    return int(number)


def request_replicas(api: HfApi, repo_id: str, replicas: int) -> SpaceRuntime:
    """Ask the Hub to run `replicas` copies of the Space; the runtime after the request.

    Raises what huggingface_hub raises (HfHubHTTPError and subclasses, httpx errors): the caller maps them.
    """
    response = get_session().post(
        f"{api.endpoint}/api/spaces/{repo_id}/replicas",
        headers=build_hf_headers(
            token=api.token,
            library_name=api.library_name,
            library_version=api.library_version,
            user_agent=api.user_agent,
            headers=api.headers,
        ),
        json={"replicas": replicas},
    )
    hf_raise_for_status(response)
    try:
        answer = response.json()
    except ValueError:
        answer = None
    # The docs do not say what the endpoint answers: a runtime like the other Space calls, or less.
    if isinstance(answer, dict) and "stage" in answer:
        return SpaceRuntime(answer)
    return api.get_space_runtime(repo_id)


def replicas_cost(catalogue: Catalogue, flavor: str | None, replicas: int) -> str:
    """e.g. "3 replicas × $1.00/hour = $3.00/hour while running"."""
    known = catalogue.get(flavor)
    if known is None or known.usd_per_hour is None:
        return f"{replicas} replica{'s' if replicas != 1 else ''} of {flavor or 'this hardware'} (price unknown)"
    if known.is_free:
        return f"{flavor} is free, and runs one replica only"
    total = known.usd_per_hour * replicas
    plural = "s" if replicas != 1 else ""
    return (
        f"{replicas} replica{plural} × {format_usd(known.usd_per_hour)}/hour = {format_usd(total)}/hour while running "
        "(each replica is billed)"
    )


def replicas_markdown(count: ReplicaCount, catalogue: Catalogue, flavor: str | None) -> str:
    """The Admin tab's replica line for the runtime the Hub last gave."""
    known = catalogue.get(flavor)
    if known is not None and known.is_free:
        return f"**Replicas** 1 · replicas need paid hardware; this Space runs on {flavor}."
    running = "unknown" if count.current is None else str(count.current)
    asked = "" if count.requested in (None, count.current) else f" (**{count.requested}** requested)"
    return f"**Replicas** {running} running{asked} · {replicas_cost(catalogue, flavor, count.billed)}"


def with_replicas(catalogue: Catalogue, flavor: str | None, count: ReplicaCount) -> str:
    """What a hardware estimate adds while several replicas are requested: the price times the count."""
    known = catalogue.get(flavor)
    if count.billed <= 1 or known is None or known.is_free:
        return ""
    return f" With the {count.billed} replicas requested now: {replicas_cost(catalogue, flavor, count.billed)}."
