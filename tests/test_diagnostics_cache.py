"""The latest report: shared, one run at a time, and callers who waited together share one run."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import diagnostics.cache as cache
from diagnostics.cache import LatestReport


def counting_runs(monkeypatch, seconds: float = 0.0) -> list[bool]:
    runs: list[bool] = []

    def collect(timeout_s, smoke=False, on_probe=None):
        runs.append(smoke)
        time.sleep(seconds)
        return f"report {len(runs)}"

    monkeypatch.setattr(cache, "collect_report", collect)
    return runs


def test_a_page_load_reuses_the_report_a_rerun_replaces_it(monkeypatch):
    runs = counting_runs(monkeypatch)
    latest = LatestReport(timeout_s=5)
    assert latest.get() == latest.get() == "report 1"
    assert latest.refresh() == "report 2"
    assert latest.refresh() == "report 3"
    assert latest.get() == "report 3" and runs == [False, False, False]


def test_callers_waiting_behind_a_run_share_the_next_one(monkeypatch):
    runs = counting_runs(monkeypatch, seconds=0.3)
    latest = LatestReport(timeout_s=5)
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(latest.refresh)  # holds the lock while the others ask
        time.sleep(0.1)
        barrier = threading.Barrier(6)

        def rerun(_):
            barrier.wait()
            return latest.refresh()

        with ThreadPoolExecutor(6) as burst:
            reports = list(burst.map(rerun, range(6)))
    assert first.result() == "report 1"
    assert set(reports) == {"report 2"} and len(runs) == 2


def test_a_smoke_test_is_not_answered_by_a_report_without_one(monkeypatch):
    runs = counting_runs(monkeypatch, seconds=0.2)
    latest = LatestReport(timeout_s=5)
    with ThreadPoolExecutor(2) as pool:
        plain = pool.submit(latest.refresh)
        time.sleep(0.05)
        smoke = pool.submit(latest.refresh, smoke=True)
        assert (plain.result(), smoke.result()) == ("report 1", "report 2")
    assert runs == [False, True]
