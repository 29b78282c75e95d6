"""The latest report of this process, shared by the start-up summary and the tab; one run at a time."""

from __future__ import annotations

import threading
import time

from diagnostics.report import ProgressCallback, Report, collect_report

# A report younger than this answers a re-run: a burst of clicks (or API calls) costs one run, not one
# run each, on a small Space whose model needs the CPU.
MIN_RERUN_INTERVAL_S = 10.0


class LatestReport:
    """Keeps the newest report; a page load reuses it instead of starting six processes per visitor.

    app.py makes one and hands it to the start-up summary and to the tab."""

    def __init__(self, timeout_s: float, min_rerun_interval_s: float = MIN_RERUN_INTERVAL_S) -> None:
        self.timeout_s = timeout_s
        self.min_rerun_interval_s = min_rerun_interval_s
        self._lock = threading.Lock()
        self._report: Report | None = None
        self._finished_at = float("-inf")
        self._smoke = False

    def peek(self) -> Report | None:
        return self._report

    def get(self, on_probe: ProgressCallback | None = None) -> Report:
        """The newest report, running one first if there is none (waiting for a run already under way)."""
        with self._lock:
            if self._report is None:
                self._store(collect_report(self.timeout_s, on_probe=on_probe), smoke=False)
            return self._report

    def refresh(self, *, smoke: bool = False, on_probe: ProgressCallback | None = None) -> Report:
        """A new report, unless one as thorough finished moments ago; concurrent callers queue."""
        with self._lock:
            recent = time.monotonic() - self._finished_at < self.min_rerun_interval_s
            if self._report is None or not recent or (smoke and not self._smoke):
                self._store(collect_report(self.timeout_s, smoke=smoke, on_probe=on_probe), smoke=smoke)
            return self._report

    def _store(self, report: Report, *, smoke: bool) -> None:
        self._report, self._smoke, self._finished_at = report, smoke, time.monotonic()
