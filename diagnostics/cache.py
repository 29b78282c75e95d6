"""The latest report of this process, shared by every caller of the start-up summary and the tab.

Each run starts six probe processes, so callers never buy runs of their own (shared_read.py): at most one
run is under way, a fresh one starts at most every `min_interval_s` (a smoke test at most every
`smoke_min_interval_s`), and at most `max_waiting` callers wait for the run under way. Everyone else
is answered at once with the latest report and a note saying why it is not newer.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from diagnostics.report import ProgressCallback, Report, collect_report
from shared_read import ANY, Shared, SharedRead, Why

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


SMOKE = "smoke"
"""The kind of a run that includes the smoke test; a plain run is of kind ANY."""


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
        self._limit_names = {ANY: "Diagnostics run", SMOKE: "Smoke tests run"}
        self._intervals = {ANY: limits.min_interval_s, SMOKE: limits.smoke_min_interval_s}
        self._runs: SharedRead[Report] = SharedRead(
            self._run,
            min_interval_s=self._intervals,
            max_waiting=limits.max_waiting,
            # A smoke run answers a plain request too; a plain run cannot answer a smoke request.
            serves=lambda under_way, wanted: wanted is ANY or under_way == wanted,
            clock=clock,
        )

    @property
    def runs_started(self) -> int:
        return self._runs.reads_started

    def peek(self) -> Report | None:
        latest = self._runs.latest()
        return latest.value if latest else None

    def peek_answer(self) -> Answer | None:
        latest = self._runs.latest()
        return Answer(latest.value, latest.number) if latest else None

    def kept(self, run_id: int) -> Answer | None:
        """The report of run `run_id` if it is still kept (the latest, and the latest smoke test)."""
        for made in (self._runs.latest(), self._runs.latest(SMOKE)):
            if made is not None and made.number == run_id:
                return Answer(made.value, made.number)
        return None

    def kept_run_ids(self) -> set[int]:
        return {made.number for made in (self._runs.latest(), self._runs.latest(SMOKE)) if made is not None}

    def get(self, on_probe: ProgressCallback | None = None) -> Answer:
        """The latest report as it is (a page load), else the first one (joining or starting its run)."""
        return self._answer(self._runs.get(fresh=False, smoke=False, on_probe=on_probe), smoke=False)

    def refresh(self, *, smoke: bool = False, on_probe: ProgressCallback | None = None) -> Answer:
        """A report made after this call where the limits allow; else the latest, with the reason."""
        shared = self._runs.get(kind=SMOKE if smoke else ANY, smoke=smoke, on_probe=on_probe)
        return self._answer(shared, smoke)

    def _run(self, *, smoke: bool, on_probe: ProgressCallback | None) -> Report:
        log.info("diagnostics run %d started%s", self.runs_started, " with the smoke test" if smoke else "")
        return self._collect(self.timeout_s, smoke=smoke, on_probe=on_probe)

    def _answer(self, shared: Shared[Report], smoke: bool) -> Answer:
        made = shared.made
        if shared.why in (Why.READ, Why.KEPT) and made is not None:
            return Answer(made.value, made.number)
        if shared.why is Why.TOO_SOON:
            kind, interval = self._limit_names[shared.limit], self._intervals[shared.limit]
            note = f"{kind} at most once every {interval:g} s; the next can start in {shared.wait_s:.0f} s."
        elif shared.why is Why.UNDER_WAY:
            note = "A run without the smoke test is under way; try again when it ends."
        elif shared.why is Why.FULL:
            note = f"Diagnostics are busy: {shared.waiting} callers already wait for the run under way."
        else:
            note = "The run under way failed."
        return self._older(smoke, note)

    def _older(self, smoke: bool, note: str) -> Answer:
        """The latest report suited to the request (a smoke test's for a smoke request, if any) and `note`."""
        made = (self._runs.latest(SMOKE) if smoke else None) or self._runs.latest()
        if made is None:
            return Answer(None, 0, note)
        age = self._clock() - made.started
        suffix = "" if not smoke or made.kind == SMOKE else " It has no smoke test."
        return Answer(made.value, made.number, f"{note} Showing the report of {age:.0f} s ago.{suffix}")
