"""The latest report of this process, shared by the start-up summary and the tab; one run at a time."""

from __future__ import annotations

import threading
import time

from diagnostics.report import ProgressCallback, Report, collect_report


class LatestReport:
    """Keeps the newest report; a page load reuses it instead of starting six processes per visitor.

    app.py makes one and hands it to the start-up summary and to the tab."""

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self._lock = threading.Lock()
        self._report: Report | None = None
        self._started_at = float("-inf")
        self._smoke = False

    def peek(self) -> Report | None:
        return self._report

    def get(self, on_probe: ProgressCallback | None = None) -> Report:
        """The newest report, running one first if there is none (waiting for a run already under way)."""
        with self._lock:
            if self._report is None:
                self._run(smoke=False, on_probe=on_probe)
            return self._report

    def refresh(self, *, smoke: bool = False, on_probe: ProgressCallback | None = None) -> Report:
        """A report begun after this call: callers who asked while another run waited its turn share the
        next one, so a burst of clicks (or API calls) costs one run, not one each."""
        asked = time.monotonic()
        with self._lock:
            fresh = self._report is not None and self._started_at >= asked
            if not fresh or (smoke and not self._smoke):
                self._run(smoke=smoke, on_probe=on_probe)
            return self._report

    def _run(self, *, smoke: bool, on_probe: ProgressCallback | None) -> None:
        started = time.monotonic()
        self._report = collect_report(self.timeout_s, smoke=smoke, on_probe=on_probe)
        self._started_at, self._smoke = started, smoke
