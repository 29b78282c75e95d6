"""Demo throughput, measured side by side in one run on this machine.

(a) the limit: the Predictor called directly, no server, at its best batch size;
(b) the app serving 32 concurrent callers through Gradio's HTTP API;
(c) the same app with batching off (MAX_BATCH_SIZE=1), the naive peer.
Prints b/a (target >= 0.8) and b/c (target >= 2.5), one caller's p50/p95 latency against the raw call,
cold start (process start to first answered /predict) and the app's peak RSS.

    .venv/bin/python benchmarks/demo_throughput.py [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp  # noqa: E402

from benchmarks.loadgen import call_predict, request_shape, run_load  # noqa: E402
from tests.apptools import AppProcess  # noqa: E402

CALLERS = 32
BATCH_SIZES = (1, 8, 16, 32, 64)


def raw_limit(seconds: float) -> tuple[int, float, list[float]]:
    """Best requests/s of the Predictor alone, and single-request latencies."""
    from models.inference import Predictor
    from models.inputs import Limits
    from models.loader import load_model
    from settings import load_settings

    settings = load_settings({})
    predictor = Predictor(load_model(settings), Limits(settings.max_input_chars, settings.max_candidates), 0)
    rng = random.Random(1)
    best = (0, 0.0)
    for size in BATCH_SIZES:
        batches = [[predictor.prepare(request_shape(rng)) for _ in range(size)] for _ in range(8)]
        predictor.predict_batch(batches[0])  # warm-up
        done, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds / len(BATCH_SIZES):
            predictor.predict_batch(batches[done // size % len(batches)])
            done += size
        rate = done / (time.perf_counter() - started)
        print(f"  raw batch {size:3d}: {rate:7.1f} requests/s")
        best = max(best, (size, rate), key=lambda pair: pair[1])
    latencies = []
    for _ in range(50):
        request = predictor.prepare(request_shape(rng))
        started = time.perf_counter()
        predictor.predict_batch([request])
        latencies.append(time.perf_counter() - started)
    return best[0], best[1], latencies


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def first_answer(url: str) -> None:
    async with aiohttp.ClientSession() as session:
        outcome, detail = await call_predict(session, url, list(request_shape(random.Random(0))))
        assert outcome == "complete", detail


async def one_caller_latencies(url: str, count: int) -> list[float]:
    rng = random.Random(2)
    latencies = []
    async with aiohttp.ClientSession() as session:
        for _ in range(count):
            started = time.perf_counter()
            outcome, detail = await call_predict(session, url, list(request_shape(rng)))
            assert outcome == "complete", detail
            latencies.append(time.perf_counter() - started)
    return latencies


def served(env: dict[str, str], seconds: float, label: str, measure_single: bool = False):
    log = Path(tempfile.mkdtemp()) / f"{label}.log"
    started = time.perf_counter()
    env = {"DIAGNOSTICS_AT_STARTUP": "false", **env}
    with AppProcess(env, log) as app:
        asyncio.run(first_answer(app.url))
        cold_start = time.perf_counter() - started
        asyncio.run(run_load(app.url, CALLERS, 3))  # warm-up
        load = asyncio.run(run_load(app.url, CALLERS, seconds))
        single = asyncio.run(one_caller_latencies(app.url, 50)) if measure_single else []
        rss = peak_rss_mb(app.process.pid)
    rate = load.served / seconds
    print(f"  {label}: {rate:7.1f} requests/s, {load.failures} failures, {load.queue_full} queue-full, "
          f"p50 {load.percentile(0.5) * 1000:.0f} ms, p95 {load.percentile(0.95) * 1000:.0f} ms under load")
    if load.failure_samples:
        print("    failures:", load.failure_samples)
    return rate, cold_start, rss, single


def ms(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q * 100) - 1] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each measured load run")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    print(f"Demo throughput, {CALLERS} concurrent callers, request = 1 source + 4 candidates, {os.cpu_count()} CPUs")
    best_size, limit, raw_latencies = raw_limit(args.seconds)
    batched, cold_start, rss, single = served({}, args.seconds, "app, batching on (MAX_BATCH_SIZE=32)", True)
    naive, _, _, _ = served({"MAX_BATCH_SIZE": "1"}, args.seconds, "app, batching off (MAX_BATCH_SIZE=1)")
    print()
    print(f"(a) raw limit           {limit:7.1f} requests/s (batch {best_size})")
    print(f"(b) app, batching on    {batched:7.1f} requests/s")
    print(f"(c) app, batching off   {naive:7.1f} requests/s")
    print(f"b/a = {batched / limit:.2f}  (target >= 0.8)")
    print(f"b/c = {batched / naive:.2f}  (target >= 2.5)")
    print(f"one caller: app p50 {ms(single, .5):.0f} ms, p95 {ms(single, .95):.0f} ms; "
          f"raw call p50 {ms(raw_latencies, .5):.0f} ms, p95 {ms(raw_latencies, .95):.0f} ms")
    print(f"cold start (process start to first answered /predict): {cold_start:.1f} s")
    print(f"app peak RSS: {rss:.0f} MB")


if __name__ == "__main__":
    main()
