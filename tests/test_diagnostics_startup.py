"""The start-up summary runs in a daemon thread and logs one line per component."""

from __future__ import annotations

import logging

from diagnostics.cache import LatestReport
from diagnostics.startup import start_background_summary
from tests.fixtures.diagnostics import RAISES, SEGFAULTS


def test_summary_is_logged_in_the_background_and_kept_for_the_tab(monkeypatch, caplog):
    monkeypatch.setenv("PYTHONPATH", f"{RAISES}:{SEGFAULTS}")
    with caplog.at_level(logging.INFO, logger="diagnostics"):
        latest = LatestReport(timeout_s=60)
        thread = start_background_summary(latest)
        assert thread.daemon
        thread.join(120)
    started, *messages = [r.getMessage() for r in caplog.records if r.name == "diagnostics"]
    assert started == "diagnostics run 1 started"
    assert messages[0].startswith("diagnostics FAIL in ")
    assert [m.split()[0] for m in messages[1:6]] == ["gpu", "wheels", "torch", "jax", "tensorflow"]
    # then the layers, bottom up, one line each (the thread must not die before it has logged them all)
    assert [m.split()[0] for m in messages[6:]] == ["layer"] * len(latest.peek().layers)
    assert "import failed" in messages[3] and "killed by SIGSEGV" in messages[5]
    assert latest.peek() is not None and latest.peek().overall == "FAIL"


def test_a_crashing_report_is_logged_not_raised(monkeypatch, caplog):
    def explode(*args, **kwargs):
        raise RuntimeError("runner exploded")

    latest = LatestReport(timeout_s=60)
    monkeypatch.setattr(latest, "refresh", explode)
    with caplog.at_level(logging.INFO, logger="diagnostics"):
        start_background_summary(latest).join(10)
    assert "diagnostics could not run" in caplog.text
