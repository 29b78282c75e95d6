"""Log a short diagnostics summary at start-up, in a daemon thread, so the app serves at once."""

from __future__ import annotations

import logging
import threading

from diagnostics.cache import LatestReport
from diagnostics.render import summary_lines

log = logging.getLogger("diagnostics")


def _summarise(latest: LatestReport) -> None:
    try:
        report = latest.refresh()
    except Exception:  # noqa: BLE001 - a broken report must never take the app down
        log.exception("diagnostics could not run")
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
