"""Many visitors at once: 64 concurrent callers for 60 s against /predict, a Diagnostics re-run halfway.

    .venv/bin/python benchmarks/load_test.py [--callers 64] [--seconds 60]

Prints requests served, failures (anything but a clean queue-full answer), p50/p95 latency and the
server's RSS at start and end. Targets: 0 failures, RSS growth under 5%.

RSS swings by tens of MB from one moment to the next with the batches in flight, so "start" and
"end" are the medians of one sample a second over the first and the last 10 s of the run. Before it,
a warm-up at full load: glibc's heap grows by a few hundred MB over the first few hundred batches of
varied shapes, then levels off (measured: the Predictor alone, 843 MB -> 1,230 MB over 900 batches,
flat after ~600), and that one-off growth is not what this test looks for.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp  # noqa: E402
import psutil  # noqa: E402

from benchmarks.loadgen import run_load  # noqa: E402
from tests.apptools import AppProcess  # noqa: E402


async def rerun_diagnostics(session: aiohttp.ClientSession, url: str) -> str:
    """Call /diagnostics the way the tab's Re-run button does, and wait for its report."""
    started = time.perf_counter()
    body = {"data": [], "session_hash": uuid.uuid4().hex}
    async with session.post(f"{url}/gradio_api/call/diagnostics", json=body) as response:
        if response.status != 200:
            return f"diagnostics: HTTP {response.status}"
        event_id = (await response.json())["event_id"]
    async with session.get(f"{url}/gradio_api/call/diagnostics/{event_id}") as stream:
        async for raw in stream.content:
            line = raw.decode().strip()
            if line.startswith("event:") and line.split(":", 1)[1].strip() in ("complete", "error"):
                outcome = line.split(":", 1)[1].strip()
                return f"diagnostics re-run: {outcome} after {time.perf_counter() - started:.1f} s"
    return "diagnostics: stream ended without a result"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--callers", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--warmup", type=float, default=120.0, help="seconds at full load before measuring")
    args = parser.parse_args()
    log = Path(tempfile.mkdtemp()) / "app.log"
    with AppProcess({"DIAGNOSTICS_AT_STARTUP": "false"}, log) as app:
        server = psutil.Process(app.process.pid)
        # Warm up at full load, so the start RSS already holds the working set of full batches.
        asyncio.run(run_load(app.url, args.callers, args.warmup))
        samples: list[int] = []
        stop = threading.Event()

        def sample_rss() -> None:
            while not stop.wait(1.0):
                samples.append(server.memory_info().rss)

        sampler = threading.Thread(target=sample_rss, daemon=True)
        sampler.start()
        diagnostics: list[str] = []

        async def during(session: aiohttp.ClientSession) -> None:
            diagnostics.append(await rerun_diagnostics(session, app.url))

        result = asyncio.run(run_load(app.url, args.callers, args.seconds, during=during))
        stop.set()
        sampler.join()
        rss_start, rss_end = statistics.median(samples[:10]), statistics.median(samples[-10:])
        traces = app.log().count("Traceback")
    growth = (rss_end - rss_start) / rss_start * 100
    print(f"{args.callers} callers for {args.seconds:.0f} s against /predict")
    print(f"served {result.served} ({result.served / args.seconds:.1f}/s), failures {result.failures}, "
          f"clean queue-full answers {result.queue_full}")
    print(f"latency p50 {result.percentile(0.5) * 1000:.0f} ms, p95 {result.percentile(0.95) * 1000:.0f} ms")
    print(f"server RSS {rss_start / 2**20:.0f} MB at start, {rss_end / 2**20:.0f} MB at end ({growth:+.1f}%)")
    print(*(diagnostics or ["diagnostics re-run: not reached"]), sep="\n")
    print(f"tracebacks in the server log: {traces}")
    if result.failure_samples:
        print("failure samples:", *result.failure_samples, sep="\n  ")


if __name__ == "__main__":
    main()
