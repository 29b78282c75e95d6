"""The latest report: shared by every caller, at most one run per interval, a bounded wait list."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from diagnostics.cache import LatestReport, RunLimits


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Runs:
    """A stand-in for collect_report that records each run and can be held open until released."""

    def __init__(self, hold: bool = False, fail: bool = False) -> None:
        self.smoke: list[bool] = []
        self.started = threading.Event()
        self.release = threading.Event()
        if not hold:
            self.release.set()
        self.fail = fail

    def __call__(self, timeout_s, smoke=False, on_probe=None):
        self.smoke.append(smoke)
        self.started.set()
        self.release.wait(10)
        if self.fail:
            raise RuntimeError("runner exploded")
        return f"report {len(self.smoke)}" + (" with smoke" if smoke else "")


def latest_report(runs: Runs, clock: Clock, **limits) -> LatestReport:
    return LatestReport(timeout_s=5, limits=RunLimits(**limits), collect=runs, clock=clock)


def test_a_page_load_reuses_the_report_and_a_rerun_within_the_interval_gets_it_with_the_reason():
    runs, clock = Runs(), Clock()
    latest = latest_report(runs, clock, min_interval_s=60)
    first = latest.get()
    assert (first.report, first.run_id, first.note) == ("report 1", 1, "")
    assert latest.get() == first
    clock.now += 20
    again = latest.refresh()
    assert (again.report, again.run_id) == ("report 1", 1) and len(runs.smoke) == 1
    assert "at most once every 60 s" in again.note and "next can start in 40 s" in again.note
    assert "report of 20 s ago" in again.note
    clock.now += 40
    assert latest.refresh() == type(first)("report 2", 2, "")
    assert latest.runs_started == 2


def test_callers_arriving_during_a_run_share_it():
    runs, clock = Runs(hold=True), Clock()
    latest = latest_report(runs, clock, max_waiting=8)
    with ThreadPoolExecutor(7) as pool:
        first = pool.submit(latest.refresh)
        runs.started.wait(5)
        others = [pool.submit(latest.refresh) for _ in range(6)]
        time.sleep(0.2)
        assert not any(o.done() for o in others)  # waiting for the run under way, not starting their own
        runs.release.set()
        answers = [first.result(5)] + [o.result(5) for o in others]
    assert {(a.report, a.run_id, a.note) for a in answers} == {("report 1", 1, "")}
    assert runs.smoke == [False]


def test_beyond_the_wait_list_callers_are_answered_at_once():
    runs, clock = Runs(), Clock()
    latest = latest_report(runs, clock, min_interval_s=0, max_waiting=2)
    latest.refresh()
    runs.release.clear()
    with ThreadPoolExecutor(8) as pool:
        running = pool.submit(latest.refresh)
        runs.started.wait(5)
        waiting = [pool.submit(latest.refresh) for _ in range(2)]
        time.sleep(0.2)
        turned_away = [latest.refresh() for _ in range(5)]  # returns while the run is held open
        runs.release.set()
        assert {w.result(5).run_id for w in waiting} == {2} and running.result(5).run_id == 2
    assert all(a.run_id == 1 and a.report == "report 1" for a in turned_away)
    assert all("busy: 2 callers already wait" in a.note for a in turned_away)
    assert len(runs.smoke) == 2


def test_without_any_report_a_turned_away_caller_gets_the_reason_and_no_report():
    runs, clock = Runs(hold=True), Clock()
    latest = latest_report(runs, clock, max_waiting=0)
    with ThreadPoolExecutor(1) as pool:
        pool.submit(latest.refresh)
        runs.started.wait(5)
        answer = latest.get()
        runs.release.set()
    assert answer.report is None and answer.run_id == 0 and "busy" in answer.note


def test_smoke_tests_have_a_stricter_interval():
    runs, clock = Runs(), Clock()
    latest = latest_report(runs, clock, min_interval_s=10, smoke_min_interval_s=300)
    assert latest.refresh(smoke=True).report == "report 1 with smoke"
    clock.now += 5
    assert latest.refresh().run_id == 1  # the smoke report serves a plain request too
    clock.now += 60
    again = latest.refresh(smoke=True)
    assert again.report == "report 1 with smoke" and "Smoke tests run at most once every 300 s" in again.note
    assert latest.refresh().report == "report 2"  # plain runs keep their own, shorter interval
    clock.now += 30
    smoke_again = latest.refresh(smoke=True)
    assert smoke_again.report == latest.kept(1).report == "report 1 with smoke"
    assert latest.kept_run_ids() == {1, 2} and runs.smoke == [True, False]


def test_a_smoke_request_during_a_plain_run_does_not_queue_a_second_run():
    runs, clock = Runs(hold=True), Clock()
    latest = latest_report(runs, clock, min_interval_s=0, smoke_min_interval_s=0)
    with ThreadPoolExecutor(1) as pool:
        plain = pool.submit(latest.refresh)
        runs.started.wait(5)
        smoke = latest.refresh(smoke=True)
        runs.release.set()
        plain.result(5)
    assert smoke.report is None and "under way" in smoke.note and runs.smoke == [False]


def test_a_failed_run_releases_its_waiters_and_still_counts_against_the_interval():
    runs, clock = Runs(hold=True, fail=True), Clock()
    latest = latest_report(runs, clock, min_interval_s=60)
    with ThreadPoolExecutor(2) as pool:
        failing = pool.submit(latest.refresh)
        runs.started.wait(5)
        waiter = pool.submit(latest.refresh)
        time.sleep(0.1)
        runs.release.set()
        with pytest.raises(RuntimeError):
            failing.result(5)
        answer = waiter.result(5)
    assert answer.report is None and "failed" in answer.note
    assert latest.refresh().report is None and len(runs.smoke) == 1
