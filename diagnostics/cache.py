"""The latest report of this process, shared by every caller of the start-up summary and the tab.

Each run starts six probe processes, so callers never buy runs of their own: at most one run is under
way, a fresh one starts at most every `min_interval_s` (a smoke test at most every
`smoke_min_interval_s`), and at most `max_waiting` callers wait for the run under way. Everyone else
is answered at once with the latest report and a note saying why it is not newer.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from diagnostics.report import ProgressCallback, Report, collect_report

log = logging.getLogger("diagnostics")


@dataclass(frozen=True)
class RunLimits:
    min_interval_s: float = 60.0
    """Least time between the starts of two runs, e.g. 60.0."""
    smoke_min_interval_s: float = 600.0
    """Least time between the starts of two smoke-test runs (stricter: they load every framework on the GPU)."""
    max_waiting: int = 8
    """Most callers waiting for the run under way; beyond that they get the latest report at once."""


@dataclass(frozen=True)
class Answer:
    """What one caller gets: a report (shared with others) and why it is the one it is."""

    report: Report | None
    """None only when no run has finished yet and this caller could not wait for one."""
    run_id: int
    """Which run made the report, counting from 1 since the app started; 0 for none."""
    note: str = ""
    """Empty for a report begun after the caller asked (or joined while under way); else the reason,
    e.g. "Diagnostics run at most once every 60 s: this report is 12 s old, the next can start in 48 s."."""


@dataclass(frozen=True)
class _Made:
    run_id: int
    report: Report
    started: float
    smoke: bool


class LatestReport:
    """app.py makes one and hands it to the start-up summary and to the tab."""

    def __init__(
        self,
        timeout_s: float,
        limits: RunLimits = RunLimits(),
        *,
        collect: Callable[..., Report] = collect_report,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.timeout_s = timeout_s
        self.limits = limits
        self._collect = collect
        self._clock = clock
        self._changed = threading.Condition()
        self._latest: _Made | None = None
        self._latest_smoke: _Made | None = None
        self._runs_started = 0
        self._running: bool | None = None
        """None when idle, else whether the run under way includes the smoke test."""
        self._waiting = 0
        self._last_start = float("-inf")
        self._last_smoke_start = float("-inf")

    @property
    def runs_started(self) -> int:
        return self._runs_started

    def peek(self) -> Report | None:
        latest = self._latest
        return latest.report if latest else None

    def peek_answer(self) -> Answer | None:
        latest = self._latest
        return Answer(latest.report, latest.run_id) if latest else None

    def kept(self, run_id: int) -> Answer | None:
        """The report of run `run_id` if it is still kept (the latest, and the latest smoke test)."""
        for made in (self._latest, self._latest_smoke):
            if made is not None and made.run_id == run_id:
                return Answer(made.report, made.run_id)
        return None

    def kept_run_ids(self) -> set[int]:
        return {made.run_id for made in (self._latest, self._latest_smoke) if made is not None}

    def get(self, on_probe: ProgressCallback | None = None) -> Answer:
        """The latest report as it is (a page load), else the first one (joining or starting its run)."""
        latest = self._latest
        if latest is not None:
            return Answer(latest.report, latest.run_id)
        return self.refresh(on_probe=on_probe)

    def refresh(self, *, smoke: bool = False, on_probe: ProgressCallback | None = None) -> Answer:
        """A report made after this call where the limits allow; else the latest, with the reason."""
        with self._changed:
            if self._running is not None:
                if smoke and not self._running:
                    return self._older(smoke, "A run without the smoke test is under way; try again when it ends.")
                return self._join(smoke)
            wait_s, kind, interval = self._time_to_next(smoke)
            if wait_s > 0:
                note = f"{kind} at most once every {interval:g} s; the next can start in {wait_s:.0f} s."
                return self._older(smoke, note)
            self._runs_started += 1
            run_id, started = self._runs_started, self._clock()
            self._running, self._last_start = smoke, started
            if smoke:
                self._last_smoke_start = started
        log.info("diagnostics run %d started%s", run_id, " with the smoke test" if smoke else "")
        report = None
        try:
            report = self._collect(self.timeout_s, smoke=smoke, on_probe=on_probe)
        finally:
            with self._changed:
                if report is not None:
                    self._latest = _Made(run_id, report, started, smoke)
                    if smoke:
                        self._latest_smoke = self._latest
                self._running = None
                self._changed.notify_all()
        return Answer(report, run_id)

    def _join(self, smoke: bool) -> Answer:
        """Wait for the run under way (it serves this request), if the wait list has room."""
        if self._waiting >= self.limits.max_waiting:
            note = f"Diagnostics are busy: {self._waiting} callers already wait for the run under way."
            return self._older(smoke, note)
        awaited = self._runs_started
        self._waiting += 1
        try:
            while self._running is not None and self._runs_started == awaited:
                self._changed.wait()
        finally:
            self._waiting -= 1
        made = self._latest
        if made is not None and made.run_id == awaited:
            return Answer(made.report, made.run_id)
        return self._older(smoke, "The run under way failed.")

    def _time_to_next(self, smoke: bool) -> tuple[float, str, float]:
        """Seconds until a run may start, and the limit that decides it (its name and interval)."""
        now = self._clock()
        limits = [("Diagnostics run", self._last_start, self.limits.min_interval_s)]
        if smoke:
            limits.append(("Smoke tests run", self._last_smoke_start, self.limits.smoke_min_interval_s))
        return max((last + interval - now, kind, interval) for kind, last, interval in limits)

    def _older(self, smoke: bool, note: str) -> Answer:
        """The latest report suited to the request (a smoke test's for a smoke request, if any) and `note`."""
        made = (self._latest_smoke if smoke else None) or self._latest
        if made is None:
            return Answer(None, 0, note)
        age = self._clock() - made.started
        suffix = "" if not smoke or made.smoke else " It has no smoke test."
        return Answer(made.report, made.run_id, f"{note} Showing the report of {age:.0f} s ago.{suffix}")
