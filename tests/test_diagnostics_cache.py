"""The latest report: shared, one run at a time, and a burst of re-runs costs one run."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import diagnostics.cache as cache
from diagnostics.cache import LatestReport


def counting_runs(monkeypatch) -> list[bool]:
    runs: list[bool] = []

    def collect(timeout_s, smoke=False, on_probe=None):
        runs.append(smoke)
        return f"report {len(runs)}"

    monkeypatch.setattr(cache, "collect_report", collect)
    return runs


def test_a_page_load_reuses_the_report_a_rerun_replaces_it(monkeypatch):
    runs = counting_runs(monkeypatch)
    latest = LatestReport(timeout_s=5, min_rerun_interval_s=0)
    assert latest.get() == latest.get() == "report 1"
    assert latest.refresh() == "report 2"
    assert latest.get() == "report 2" and runs == [False, False]


def test_a_burst_of_reruns_costs_one_run(monkeypatch):
    runs = counting_runs(monkeypatch)
    latest = LatestReport(timeout_s=5, min_rerun_interval_s=60)
    with ThreadPoolExecutor(8) as pool:
        reports = list(pool.map(lambda _: latest.refresh(), range(8)))
    assert set(reports) == {"report 1"} and runs == [False]


def test_a_smoke_test_is_not_answered_by_a_report_without_one(monkeypatch):
    runs = counting_runs(monkeypatch)
    latest = LatestReport(timeout_s=5, min_rerun_interval_s=60)
    latest.refresh()
    latest.refresh(smoke=True)
    latest.refresh(smoke=True)
    latest.refresh()
    assert runs == [False, True]
