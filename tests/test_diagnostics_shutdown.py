"""Stopping the app while diagnostics run ends the probes too, instead of leaving them to PID 1."""

from __future__ import annotations

import signal
import time

import psutil
import pytest

from tests.apptools import AppProcess
from tests.fixtures.diagnostics import HANGS

pytestmark = pytest.mark.slow


def probes_of(pid: int) -> list[psutil.Process]:
    return [p for p in psutil.Process(pid).children(recursive=True) if "diagnostics.probe" in " ".join(p.cmdline())]


def alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_no_probe_outlives_the_app_stopped_mid_run(tmp_path, signum):
    # The jax probe's import hangs, so the start-up run is still under way when the app is stopped.
    env = {"PYTHONPATH": str(HANGS), "DIAGNOSTICS_TIMEOUT": "600", "DIAGNOSTICS_AT_STARTUP": "true"}
    with AppProcess(env, tmp_path / "app.log") as app:
        deadline = time.monotonic() + 60
        while not any("jax" in p.cmdline() for p in probes_of(app.process.pid)) and time.monotonic() < deadline:
            time.sleep(0.2)
        probes = probes_of(app.process.pid)
        assert any("jax" in p.cmdline() for p in probes), app.log()
        app.process.send_signal(signum)
        app.process.wait(timeout=30)
    gone, still = psutil.wait_procs(probes, timeout=10)
    assert not [p for p in still if alive(p)], [p.cmdline() for p in still]
