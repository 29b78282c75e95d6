"""Start-up and shutdown of diagnostics: a short summary logged in a daemon thread, so the app serves at
once; and when the app stops, the end of any probe still running."""

from __future__ import annotations

import atexit
import logging
import os
import signal
import threading

from diagnostics.cache import LatestReport
from diagnostics.render import summary_lines
from diagnostics.runner import LIVE_PROBES

log = logging.getLogger("diagnostics")


def _summarise(latest: LatestReport) -> None:
    try:
        report = latest.refresh().report
    except Exception:  # noqa: BLE001 - a broken report must never take the app down
        log.exception("diagnostics could not run")
        return
    if report is None:
        return
    first, *rows = summary_lines(report)
    log.log(logging.INFO if report.overall == "OK" else logging.WARNING, first)
    for row, verdict in zip(rows, report.verdicts, strict=True):
        log.log(logging.INFO if verdict.status == "OK" else logging.WARNING, row)


def start_background_summary(latest: LatestReport) -> threading.Thread:
    """Start the report in a daemon thread and return it; the Diagnostics tab shows its result when done.

    app.py calls this only when settings.diagnostics_at_startup is true.
    """
    thread = threading.Thread(target=_summarise, args=(latest,), name="diagnostics-startup", daemon=True)
    thread.start()
    return thread


def _stop_probes() -> None:
    stopped = LIVE_PROBES.stop_all()
    if stopped:
        log.info("stopped %d diagnostics probe(s) still running", stopped)


def stop_probes_on_exit(signals: tuple[signal.Signals, ...] = (signal.SIGTERM, signal.SIGINT)) -> None:
    """End running probes when the app stops: at exit, and on `signals` before their usual effect.

    SIGTERM (how Spaces and most supervisors stop an app) would otherwise end this process at once,
    leaving the probes, each in a session of its own, to PID 1. Call from the main thread."""
    atexit.register(_stop_probes)
    for signum in signals:
        previous = signal.getsignal(signum)

        def handler(signum: int, frame, previous=previous) -> None:
            _stop_probes()
            if callable(previous):
                previous(signum, frame)
            elif previous != signal.SIG_IGN:
                # The default action (end the process, with the exit status a supervisor expects).
                signal.signal(signum, signal.SIG_DFL)
                os.kill(os.getpid(), signum)

        signal.signal(signum, handler)
