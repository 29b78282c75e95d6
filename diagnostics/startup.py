"""Start-up and shutdown of diagnostics: a short summary logged in a daemon thread, so the app serves at
once (and handed to `on_report`, which keeps it beside the change that restarted the Space); and when the
app stops, the end of any probe still running."""

from __future__ import annotations

import atexit
import logging
import os
import signal
import threading
from collections.abc import Callable

from diagnostics.cache import LatestReport
from diagnostics.render import summary_lines
from diagnostics.report import Report
from diagnostics.runner import LIVE_PROBES

log = logging.getLogger("diagnostics")

COMPONENT_NAMES = {"gpu": "GPU", "wheels": "wheels", "torch": "torch", "jax": "JAX", "tensorflow": "TF"}
REASON_CHARS = 120


def one_line(report: Report) -> str:
    """Every verdict in a line, reasons only where not OK: "GPU OK, wheels OK, torch OK, JAX OK, TF WARN (...)"."""
    parts = []
    for verdict in report.verdicts:
        name = COMPONENT_NAMES.get(verdict.component, verdict.component)
        part = f"{name} {verdict.status.value}"
        if verdict.status.value != "OK":
            reason = " ".join(verdict.reason.split())
            part += f" ({reason[: REASON_CHARS - 1] + '…' if len(reason) > REASON_CHARS else reason})"
        parts.append(part)
    return ", ".join(parts)


def _summarise(latest: LatestReport, on_report: Callable[[str], None] | None = None, smoke: bool = False) -> None:
    try:
        report = latest.refresh(smoke=smoke).report
    except Exception:  # noqa: BLE001 - a broken report must never take the app down
        log.exception("diagnostics could not run")
        report = None
    if on_report is not None:
        try:
            on_report(one_line(report) if report else "diagnostics could not run: see the log")
        except Exception:  # noqa: BLE001 - nor a failing record of it
            log.exception("the start-up diagnostics could not be recorded")
    if report is None:
        return
    first, *rows = summary_lines(report)
    log.log(logging.INFO if report.overall == "OK" else logging.WARNING, first)
    # One row per verdict, then one per layer (a layer nobody probed has no status: nothing to warn of).
    statuses = [v.status for v in report.verdicts] + [check.status for check in report.layers]
    for row, status in zip(rows, statuses, strict=True):
        log.log(logging.INFO if status in ("OK", None) else logging.WARNING, row)


def start_background_summary(
    latest: LatestReport, on_report: Callable[[str], None] | None = None, smoke: bool = False
) -> threading.Thread:
    """Start the report in a daemon thread and return it; the Diagnostics tab shows its result when done,
    and `on_report` gets it as `one_line` text. `smoke`: with the smoke test (a hardware sweep's visit).

    app.py calls this only when settings.diagnostics_at_startup is true.
    """
    thread = threading.Thread(target=_summarise, args=(latest, on_report, smoke), name="diagnostics-startup", daemon=True)
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
