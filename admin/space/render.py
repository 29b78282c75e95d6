"""The Space section's texts, as Markdown built from the typed results: no Gradio, no network."""

from __future__ import annotations

from datetime import UTC, datetime

from admin.access import Decision
from admin.space.catalogue import FREE_FLAVOR, Catalogue, describe_sleep_time, estimate_cost, price_per_hour
from admin.space.client import SpaceState
from admin.space.replicas import ReplicaCount, replicas_cost, with_replicas

MAX_TRANSITIONS = 20


def runtime_markdown(state: SpaceState, catalogue: Catalogue) -> str:
    hardware = state.hardware or "none yet"
    if state.requested_hardware and state.requested_hardware != state.hardware:
        hardware += f" → **{state.requested_hardware}** requested"
    billed = catalogue.get(state.billed_hardware)
    cost = price_per_hour(billed) if billed else "price unknown"
    replicas = ReplicaCount.from_runtime(state.raw).billed
    if billed and not billed.is_free and replicas > 1:
        cost = replicas_cost(catalogue, state.billed_hardware, replicas)
    lines = [
        f"**Space** `{state.repo_id}` · **stage** `{state.stage}`"
        + (" (changing, refreshing…)" if state.is_changing else ""),
        f"**Hardware** {hardware} · **cost** {cost}" + (" (not billed while paused)" if state.is_paused else ""),
        f"**Sleep time** {describe_sleep_time(state.sleep_time, state.billed_hardware)}",
    ]
    return "\n\n".join(lines)


def transition(old: SpaceState | None, new: SpaceState, when: datetime | None = None) -> str | None:
    """One line when the stage or hardware moved between two reads, else None."""
    if old is None:
        return None
    changes = []
    if old.stage != new.stage:
        changes.append(f"stage {old.stage} → {new.stage}")
    if (old.hardware, old.requested_hardware) != (new.hardware, new.requested_hardware):
        changes.append(f"hardware {old.hardware} → {new.hardware} (requested {new.requested_hardware})")
    if old.sleep_time != new.sleep_time:
        before = describe_sleep_time(old.sleep_time, old.billed_hardware)
        changes.append(f"sleep time {before} → {describe_sleep_time(new.sleep_time, new.billed_hardware)}")
    if not changes:
        return None
    stamp = (when or datetime.now(UTC)).strftime("%H:%M:%S UTC")
    return f"{stamp}: " + "; ".join(changes)


def transitions_markdown(lines: list[str]) -> str:
    if not lines:
        return ""
    return "**Seen changes**\n\n" + "\n".join(f"- {line}" for line in lines[-MAX_TRANSITIONS:])


def access_markdown(decision: Decision, problems: list[str]) -> str:
    text = decision.reason if decision.allowed else f"{decision.reason} The panel below is read-only."
    if problems:
        text += "\n\n**Setup needed**\n\n" + "\n".join(f"- {p}" for p in problems)
    return text


def cost_markdown(
    catalogue: Catalogue, flavor: str | None, sleep_seconds: int, replicas: ReplicaCount | None = None
) -> str:
    """The chosen flavor's cost estimate; multiplied out too when `replicas` (the count now) are several."""
    chosen = catalogue.get(flavor)
    if chosen is None:
        return f"No price known for {flavor}." if flavor else ""
    estimate = estimate_cost(chosen, None if chosen.name == FREE_FLAVOR else sleep_seconds)
    text = f"**{chosen.name}**: {estimate.assumption}"
    if not chosen.is_free:
        text += " Billed per minute while starting or running; sleeping and paused Spaces cost nothing."
    return f"{text}\n\n_{catalogue.note}_" + (with_replicas(catalogue, flavor, replicas) if replicas else "")
