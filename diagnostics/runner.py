"""Run probes as subprocesses, in parallel, each under a timeout; a probe that hangs or dies becomes a finding."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from diagnostics.facts import ProbeOutcome, ProbeRun, notable_stderr_lines
from diagnostics.registry import BY_NAME, FRAMEWORKS, PROBE_NAMES
from redaction import redact_data, redact_text, secret_values

ROOT = Path(__file__).resolve().parent.parent
"""Folder holding the diagnostics package, put on the probes' PYTHONPATH."""
STDERR_TAIL_LINES = 40


def probe_environment(pythonpath: Iterable[str | os.PathLike] = (), base: Mapping[str, str] | None = None) -> dict:
    """The probes' environment: `pythonpath` first (stand-in modules in tests), then this package.

    The app's own variables pass unchanged (the host probe reports them); framework probes set their
    memory variables themselves (diagnostics.probe.PROBE_ENV)."""
    env = dict(os.environ if base is None else base)
    paths = [str(p) for p in pythonpath] + [str(ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])
    return env | {"PYTHONPATH": os.pathsep.join(paths)}


class ProbeProcesses:
    """Probe processes under way, so the app can end them when it stops: each leads a session of its
    own (start_new_session), so nothing else would, and they would outlive the app under PID 1."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._live: set[subprocess.Popen] = set()
        self._stopping = False

    def add(self, process: subprocess.Popen) -> None:
        with self._lock:
            self._live.add(process)
            stopping = self._stopping
        if stopping:
            _kill_group(process)

    def discard(self, process: subprocess.Popen) -> None:
        with self._lock:
            self._live.discard(process)

    def stop_all(self) -> int:
        """Kill every live probe's process group, and any probe started from now on; returns how many."""
        with self._lock:
            self._stopping = True
            live = list(self._live)
        for process in live:
            _kill_group(process)
        return len(live)


def _kill_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass  # already ended


# Module-wide on purpose: whichever LatestReport started a probe, the app's shutdown must reach it.
LIVE_PROBES = ProbeProcesses()


def _tail(text: str) -> str:
    return "\n".join(text.rstrip().splitlines()[-STDERR_TAIL_LINES:])


def _payload(stdout: str) -> dict | None:
    lines = stdout.strip().splitlines()
    try:
        payload = json.loads(lines[-1]) if lines else None
    except json.JSONDecodeError:
        return None
    return payload if isinstance(payload, dict) else None


def run_probe(
    name: str,
    timeout_s: float,
    *,
    smoke: bool = False,
    env: Mapping[str, str] | None = None,
    python: str = sys.executable,
) -> ProbeRun:
    """Run `python -m diagnostics.probe NAME` once; never raises for what the probe does."""
    env = dict(env if env is not None else probe_environment())
    command = [python, "-m", "diagnostics.probe", name] + (["--smoke"] if smoke and name in FRAMEWORKS else [])
    started = time.perf_counter()
    # A session of its own, so a timeout kills the probe and anything it started.
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
        start_new_session=True,
    )
    LIVE_PROBES.add(process)
    try:
        stdout, stderr = process.communicate(timeout=timeout_s)
        timed_out = False
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        timed_out = True
    finally:
        LIVE_PROBES.discard(process)
    seconds = round(time.perf_counter() - started, 3)
    secrets = secret_values(env)
    stderr = redact_text(stderr, secrets)
    code = process.returncode
    payload = None if timed_out or code != 0 else _payload(stdout)
    if timed_out:
        outcome, error, code = ProbeOutcome.TIMEOUT, f"timed out after {timeout_s:g} s", None
    elif code < 0:
        outcome, error = ProbeOutcome.CRASHED, f"killed by {signal.Signals(-code).name}"
    elif code > 0:
        last = stderr.strip().splitlines()[-1:] or [""]
        outcome, error = ProbeOutcome.CRASHED, f"exited with status {code}: {last[0]}".rstrip(": ")
    elif payload is None:
        outcome, error = ProbeOutcome.BAD_OUTPUT, "printed no JSON object"
    else:
        outcome, error = ProbeOutcome.OK, None
    if payload is not None:
        payload = redact_data(payload, secrets)
        if name in FRAMEWORKS:
            payload["log_lines"] = notable_stderr_lines(stderr)
    return ProbeRun(name, outcome, seconds, code, error, _tail(stderr), payload)


def iter_probes(
    timeout_s: float,
    *,
    names: Iterable[str] = PROBE_NAMES,
    smoke: bool = False,
    pythonpath: Iterable[str | os.PathLike] = (),
) -> Iterator[ProbeRun]:
    """Each probe's run as soon as it finishes; all run at once (they wait on imports and I/O, not each other)."""
    # The least niced (slowest) probe starts first, so the others fill the time it takes.
    names = sorted(names, key=lambda name: BY_NAME[name].niceness)
    env = probe_environment(pythonpath)
    with ThreadPoolExecutor(max_workers=len(names), thread_name_prefix="probe") as pool:
        futures = [pool.submit(run_probe, name, timeout_s, smoke=smoke, env=env) for name in names]
        for future in as_completed(futures):
            yield future.result()
