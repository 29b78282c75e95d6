"""Hardware flavors, their prices, sleep-time choices and what a choice costs.

Pure data and arithmetic: no network, no Gradio. The Hub's own price list is preferred; the table
below only stands in when the Hub cannot be asked, and says how old it is.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from typing import Any, NamedTuple

FREE_FLAVOR = "cpu-basic"
CPU_BASIC_SLEEP_S = 48 * 3600
"""cpu-basic Spaces always sleep after 48 h without visitors; the Hub does not let this change."""
NEVER_SLEEP = -1
"""The Hub's sleep time for "never sleeps" (the default on paid hardware)."""
HOURS_PER_MONTH = 730
"""An average month (8760 h / 12): the upper bound of billed hours for a Space that never sleeps."""

FALLBACK_PRICES_DATE = "2026-07"


class SleepChoice(NamedTuple):
    label: str
    """What the owner picks, e.g. "15 min"."""
    seconds: int
    """What the Hub takes, e.g. 900; -1 for never."""


SLEEP_CHOICES = (
    SleepChoice("never", NEVER_SLEEP),
    SleepChoice("5 min", 5 * 60),
    SleepChoice("15 min", 15 * 60),
    SleepChoice("30 min", 30 * 60),
    SleepChoice("1 h", 3600),
    SleepChoice("10 h", 10 * 3600),
    SleepChoice("24 h", 24 * 3600),
    SleepChoice("48 h", 48 * 3600),
    SleepChoice("72 h", 72 * 3600),
    SleepChoice("1 week", 7 * 24 * 3600),
)


def sleep_choice(label_or_seconds: str | int) -> SleepChoice:
    """The choice with this label or number of seconds; ValueError for anything else."""
    for choice in SLEEP_CHOICES:
        if label_or_seconds in (choice.label, choice.seconds):
            return choice
    raise ValueError(f"{label_or_seconds!r} is not one of {', '.join(c.label for c in SLEEP_CHOICES)}.")


def describe_sleep_time(seconds: int | None, hardware: str | None) -> str:
    """The Space's sleep time in words, including the Hub's defaults when it reports none."""
    if hardware == FREE_FLAVOR:
        return "48 h (fixed on cpu-basic)"
    if seconds is None or seconds < 0:
        return "never"
    for choice in SLEEP_CHOICES:
        if choice.seconds == seconds:
            return choice.label
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    return f"{seconds // 60} min" if seconds % 60 == 0 else f"{seconds} s"


class CatalogueSource(str, Enum):
    HUB = "hub"
    FALLBACK = "fallback"


@dataclass(frozen=True)
class Flavor:
    name: str
    """The Hub's identifier, e.g. "t4-small"."""
    pretty_name: str
    """e.g. "Nvidia T4 - small"."""
    usd_per_hour: float | None
    """e.g. 0.40; 0.0 for free hardware; None when the Hub gave a price in a unit we do not know."""
    cpu: str = ""
    """e.g. "4 vCPU"."""
    ram: str = ""
    """e.g. "15 GB"."""
    accelerator: str = ""
    """e.g. "1x Nvidia T4 (16 GB)"; empty for CPU flavors."""

    @property
    def is_free(self) -> bool:
        return self.usd_per_hour == 0.0

    @property
    def label(self) -> str:
        """One line for a dropdown: name, price, machine."""
        parts = [self.name, price_per_hour(self)]
        machine = ", ".join(p for p in (self.accelerator, self.cpu, self.ram) if p)
        return " · ".join(parts + [machine] if machine else parts)


# Hub docs, 2026-07 (USD per hour). Only used when list_spaces_hardware() fails; CPU and memory
# sizes change more often than prices, so the table leaves them out rather than guess.
_FALLBACK = (
    ("cpu-basic", "CPU basic", 0.0, ""),
    ("cpu-upgrade", "CPU upgrade", 0.03, ""),
    ("t4-small", "Nvidia T4 - small", 0.40, "1x T4"),
    ("t4-medium", "Nvidia T4 - medium", 0.60, "1x T4"),
    ("l4x1", "1x Nvidia L4", 0.80, "1x L4"),
    ("l4x4", "4x Nvidia L4", 3.80, "4x L4"),
    ("l40sx1", "1x Nvidia L40S", 1.80, "1x L40S"),
    ("l40sx4", "4x Nvidia L40S", 8.30, "4x L40S"),
    ("l40sx8", "8x Nvidia L40S", 23.50, "8x L40S"),
    ("a10g-small", "Nvidia A10G - small", 1.00, "1x A10G"),
    ("a10g-large", "Nvidia A10G - large", 1.50, "1x A10G"),
    ("a10g-largex2", "2x Nvidia A10G - large", 3.00, "2x A10G"),
    ("a10g-largex4", "4x Nvidia A10G - large", 5.00, "4x A10G"),
    ("a100-large", "Nvidia A100 - large", 2.50, "1x A100"),
    ("a100x4", "4x Nvidia A100", 10.00, "4x A100"),
    ("a100x8", "8x Nvidia A100", 20.00, "8x A100"),
)
FALLBACK_FLAVORS = tuple(Flavor(name, pretty, price, accelerator=acc) for name, pretty, price, acc in _FALLBACK)


@dataclass(frozen=True)
class Catalogue:
    flavors: tuple[Flavor, ...]
    source: CatalogueSource
    note: str
    """Where the prices come from, in a sentence the owner reads next to them."""

    def get(self, name: str | None) -> Flavor | None:
        return next((f for f in self.flavors if f.name == name), None)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.flavors)


def _per_hour(unit_cost_usd: float, unit_label: str) -> float | None:
    per_unit = {"minute": 60.0, "hour": 1.0, "second": 3600.0}.get(unit_label.strip().lower())
    return None if per_unit is None else round(unit_cost_usd * per_unit, 6)


def _accelerator_text(accelerator: Any) -> str:
    if accelerator is None:
        return ""
    return f"{accelerator.quantity}x {accelerator.model} ({accelerator.vram})"


def catalogue_from_hub(hardware: Iterable[Any]) -> Catalogue:
    """A catalogue from `HfApi.list_spaces_hardware()` (`JobHardwareInfo` objects), prices per hour."""
    flavors = tuple(
        Flavor(
            name=item.name,
            pretty_name=item.pretty_name,
            usd_per_hour=_per_hour(item.unit_cost_usd, item.unit_label),
            cpu=item.cpu,
            ram=item.ram,
            accelerator=_accelerator_text(item.accelerator),
        )
        for item in hardware
    )
    if not flavors:
        return fallback_catalogue("the Hub returned an empty hardware list")
    return Catalogue(flavors, CatalogueSource.HUB, "Prices from the Hub's hardware list.")


def fallback_catalogue(reason: str) -> Catalogue:
    """The built-in table, with a note saying why it is used and how old its prices are."""
    note = (
        f"Could not load the Hub's hardware list ({reason}). Showing prices from a table dated "
        f"{FALLBACK_PRICES_DATE}; check https://huggingface.co/pricing#spaces for today's prices."
    )
    return Catalogue(FALLBACK_FLAVORS, CatalogueSource.FALLBACK, note)


def format_usd(amount: float) -> str:
    if amount == 0:
        return "$0"
    return f"${amount:,.2f}" if amount >= 0.1 else f"${amount:,.3f}"


def price_per_hour(flavor: Flavor) -> str:
    if flavor.usd_per_hour is None:
        return "price unknown"
    return "free" if flavor.is_free else f"{format_usd(flavor.usd_per_hour)}/hour"


@dataclass(frozen=True)
class CostEstimate:
    flavor: str
    usd_per_hour: float | None
    """None when the price is unknown."""
    monthly_upper_usd: float | None
    """Cost of a month awake all the time (730 h); the real cost is lower when the Space sleeps."""
    assumption: str
    """The estimate in a sentence, assumption included."""


def estimate_cost(flavor: Flavor, sleep_time_s: int | None) -> CostEstimate:
    """What `flavor` costs per hour and at most per month with this sleep time (-1 or None: never sleeps).

    Billing runs per minute while the Space starts or runs; sleeping and paused Spaces cost nothing.
    """
    if flavor.is_free:
        return CostEstimate(flavor.name, 0.0, 0.0, f"{flavor.name} is free: $0 whatever the traffic.")
    if flavor.usd_per_hour is None:
        return CostEstimate(
            flavor.name,
            None,
            None,
            f"The Hub gave no hourly price for {flavor.name}; see https://huggingface.co/pricing.",
        )
    hourly = flavor.usd_per_hour
    monthly = round(hourly * HOURS_PER_MONTH, 2)
    if sleep_time_s is None or sleep_time_s < 0:
        text = (
            f"{format_usd(hourly)}/hour. Never sleeps: billed all {HOURS_PER_MONTH} h of a month, "
            f"about {format_usd(monthly)}/month until you change hardware or pause it."
        )
    else:
        idle = describe_sleep_time(sleep_time_s, flavor.name)
        text = (
            f"{format_usd(hourly)}/hour while awake. At most {format_usd(monthly)}/month if visitors keep it awake "
            f"all {HOURS_PER_MONTH} h; billing stops after {idle} without visitors, so the real cost depends on "
            f"traffic (each wake-up bills the start-up plus at least {idle} of idle time)."
        )
    return CostEstimate(flavor.name, hourly, monthly, text)
