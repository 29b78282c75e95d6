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

from diagnostics.cache import LatestReport, RunLimits
from diagnostics.render import summary_lines
from diagnostics.report import Report
from diagnostics.runner import LIVE_PROBES
from settings import Settings

log = logging.getLogger("diagnostics")

OnReport = Callable[[str, dict[str, str]], None]
"""Gets the start-up report as `one_line` text and `verdict_marks` ("" and {} when diagnostics do not run)."""

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


def verdict_marks(report: Report | None) -> dict[str, str]:
    """Each component's status and rule, e.g. {"jax": "WARN no-gpu"}: what a fix applied before a restart
    is compared with (admin/fixes/)."""
    return {v.component: f"{v.status.value} {v.rule}" for v in report.verdicts} if report else {}


def _summarise(latest: LatestReport, on_report: OnReport | None = None, smoke: bool = False) -> None:
    try:
        report = latest.refresh(smoke=smoke).report
    except Exception:  # noqa: BLE001 - a broken report must never take the app down
        log.exception("diagnostics could not run")
        report = None
    if on_report is not None:
        try:
            on_report(one_line(report) if report else "diagnostics could not run: see the log", verdict_marks(report))
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
    latest: LatestReport, on_report: OnReport | None = None, smoke: bool = False
) -> threading.Thread:
    """Start the report in a daemon thread and return it; the Diagnostics tab shows its result when done,
    and `on_report` gets it as `one_line` text and `verdict_marks`. `smoke`: with the smoke test (a hardware
    sweep's visit)."""
    thread = threading.Thread(
        target=_summarise, args=(latest, on_report, smoke), name="diagnostics-startup", daemon=True
    )
    thread.start()
    return thread


def start_diagnostics(settings: Settings, on_report: OnReport, smoke: bool = False) -> LatestReport:
    """The app's one shared report: probes stopped with the app, the start-up run in the background when
    DIAGNOSTICS_AT_STARTUP is on (`smoke`: with the smoke test), and `on_report` told of it either way (it
    keeps it beside the change that restarted the Space)."""
    stop_probes_on_exit()
    reports = LatestReport(
        settings.diagnostics_timeout_s,
        RunLimits(
            settings.diagnostics_min_interval_s,
            settings.diagnostics_smoke_min_interval_s,
            settings.diagnostics_max_waiting,
        ),
    )
    if settings.diagnostics_at_startup:
        start_background_summary(reports, on_report, smoke)
    else:
        on_report("", {})
    return reports


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
