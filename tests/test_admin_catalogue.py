"""Flavors, prices, sleep choices and cost estimates: pure arithmetic, no network."""

from __future__ import annotations

import pytest
from huggingface_hub import SpaceHardware
from huggingface_hub._jobs_api import JobHardwareInfo

from admin.space.catalogue import (
    FALLBACK_FLAVORS,
    FALLBACK_PRICES_DATE,
    HOURS_PER_MONTH,
    SLEEP_CHOICES,
    CatalogueSource,
    Flavor,
    catalogue_from_hub,
    describe_sleep_time,
    estimate_cost,
    fallback_catalogue,
    sleep_choice,
)
from tests.hub_standin import hardware_json


def test_sleep_choices_are_the_hubs_and_in_order() -> None:
    """The ten choices the issue lists, never = -1, in growing order."""
    assert [c.label for c in SLEEP_CHOICES] == [
        "never",
        "5 min",
        "15 min",
        "30 min",
        "1 h",
        "10 h",
        "24 h",
        "48 h",
        "72 h",
        "1 week",
    ]
    assert sleep_choice("never").seconds == -1
    assert sleep_choice("1 week").seconds == 604_800
    assert sleep_choice(900).label == "15 min"
    seconds = [c.seconds for c in SLEEP_CHOICES[1:]]
    assert seconds == sorted(seconds)
    with pytest.raises(ValueError, match="not one of"):
        sleep_choice("2 min")


def test_sleep_time_in_words_follows_the_hubs_defaults() -> None:
    assert describe_sleep_time(None, "cpu-basic") == "48 h (fixed on cpu-basic)"
    assert describe_sleep_time(3600, "cpu-basic") == "48 h (fixed on cpu-basic)"
    assert describe_sleep_time(None, "t4-small") == "never"
    assert describe_sleep_time(-1, "t4-small") == "never"
    assert describe_sleep_time(1800, "t4-small") == "30 min"
    assert describe_sleep_time(7200, "t4-small") == "2 h"
    assert describe_sleep_time(90, "t4-small") == "90 s"


def test_never_sleeping_paid_flavor_is_billed_730_hours() -> None:
    t4 = Flavor("t4-small", "T4 small", 0.40)
    estimate = estimate_cost(t4, -1)
    assert estimate.usd_per_hour == 0.40
    assert estimate.monthly_upper_usd == pytest.approx(0.40 * HOURS_PER_MONTH)
    assert "Never sleeps" in estimate.assumption and "730 h" in estimate.assumption
    assert "$292.00/month" in estimate.assumption
    assert estimate_cost(t4, None) == estimate


def test_sleeping_flavor_gives_the_upper_bound_and_says_it_depends_on_traffic() -> None:
    a100x8 = Flavor("a100x8", "8x A100", 20.0)
    estimate = estimate_cost(a100x8, 15 * 60)
    assert estimate.monthly_upper_usd == 14_600.0
    assert "At most $14,600.00/month" in estimate.assumption
    assert "billing stops after 15 min without visitors" in estimate.assumption
    assert "depends on traffic" in estimate.assumption


def test_free_and_unpriced_flavors() -> None:
    free = estimate_cost(Flavor("cpu-basic", "CPU basic", 0.0), -1)
    assert (free.usd_per_hour, free.monthly_upper_usd) == (0.0, 0.0)
    assert "free" in free.assumption
    unknown = estimate_cost(Flavor("new-gpu", "New", None), -1)
    assert unknown.usd_per_hour is None and unknown.monthly_upper_usd is None


def test_hub_price_list_is_read_per_minute_and_shown_per_hour() -> None:
    catalogue = catalogue_from_hub([JobHardwareInfo(**row) for row in hardware_json()])
    assert catalogue.source == CatalogueSource.HUB == "hub"
    assert catalogue.get("t4-small").usd_per_hour == pytest.approx(0.40)
    assert catalogue.get("cpu-basic").is_free
    assert "1x T4 (16 GB)" in catalogue.get("t4-small").label
    assert catalogue.get("h100") is None


def test_hour_priced_and_unknown_units() -> None:
    rows = [
        dict(hardware_json()[2], unitCostUSD=0.5, unitLabel="hour"),
        dict(hardware_json()[3], unitLabel="fortnight"),
    ]
    catalogue = catalogue_from_hub([JobHardwareInfo(**row) for row in rows])
    assert catalogue.get("t4-small").usd_per_hour == 0.5
    assert catalogue.get("t4-medium").usd_per_hour is None


def test_fallback_table_is_dated_and_says_why() -> None:
    catalogue = fallback_catalogue("the Hub answered 500")
    assert catalogue.source == "fallback"
    assert FALLBACK_PRICES_DATE == "2026-07"
    assert "2026-07" in catalogue.note and "the Hub answered 500" in catalogue.note
    assert catalogue.get("a100x8").usd_per_hour == 20.0
    assert catalogue.get("cpu-upgrade").usd_per_hour == 0.03
    assert catalogue_from_hub([]).source == "fallback"


def test_fallback_flavors_are_all_known_to_huggingface_hub() -> None:
    """A name the client's enum does not know would be a typo in the table."""
    known = {h.value for h in SpaceHardware}
    assert {f.name for f in FALLBACK_FLAVORS} <= known
