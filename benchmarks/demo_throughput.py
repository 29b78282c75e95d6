"""Demo throughput, measured side by side in one run on this machine, with one load generator.

(a) the limit: the Predictor called directly, no server, at its best batch size;
(b) this app serving 32 concurrent callers through Gradio's HTTP API (/predict);
(c) the same app process through its lean JSON route (/inference);
(d) the naive peer, benchmarks/peers/naive.py: `gr.Interface(fn)`, sentence-transformers, one call a request;
(e) the well-written peer, benchmarks/peers/batched.py: the same with `batch=True, max_batch_size=32`.
Prints ours/naive (b/d), ours/batch-peer (b/e), lean/raw (c/a) and lean/Gradio (c/b), one caller's
p50/p95 latency against the raw call, cold start (process start to first answered /predict) and peak RSS.

    .venv/bin/python benchmarks/demo_throughput.py [--seconds 20]     # the figures in README
    .venv/bin/python benchmarks/demo_throughput.py --seconds 2 --warmup 1 --single 5   # a quick check
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
from tests.apptools import REPO, AppProcess  # noqa: E402

CALLERS = 32
BATCH_SIZES = (1, 8, 16, 32, 64)
PEERS = REPO / "benchmarks" / "peers"


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
    if count < 2:
        return []
    rng = random.Random(2)
    latencies = []
    async with aiohttp.ClientSession() as session:
        for _ in range(count):
            started = time.perf_counter()
            outcome, detail = await call_predict(session, url, list(request_shape(rng)))
            assert outcome == "complete", detail
            latencies.append(time.perf_counter() - started)
    return latencies


@dataclasses.dataclass
class Served:
    rates: dict[str, float]
    """Requests/s per route measured."""
    cold_start_s: float
    peak_rss_mb: float
    single: list[float]
    """One caller's latencies through /predict, seconds."""


def served(script: Path, routes: tuple[str, ...], args: argparse.Namespace, label: str, single: int = 0) -> Served:
    """Start `script`, then load each route in turn with the same callers and request shapes."""
    log = Path(tempfile.mkdtemp()) / f"{script.stem}.log"
    started = time.perf_counter()
    with AppProcess({"DIAGNOSTICS_AT_STARTUP": "false"}, log, script=script) as app:
        asyncio.run(first_answer(app.url))
        cold_start = time.perf_counter() - started
        rates = {}
        for route in routes:
            asyncio.run(run_load(app.url, CALLERS, args.warmup, route=route))
            load = asyncio.run(run_load(app.url, CALLERS, args.seconds, route=route))
            rates[route] = load.served / args.seconds
            print(f"  {label} /{route}: {rates[route]:7.1f} requests/s, {load.failures} failures, "
                  f"{load.queue_full} queue-full, p50 {load.percentile(0.5) * 1000:.0f} ms, "
                  f"p95 {load.percentile(0.95) * 1000:.0f} ms under load")
            if load.failure_samples:
                print("    failures:", load.failure_samples)
        latencies = asyncio.run(one_caller_latencies(app.url, single))
        rss = peak_rss_mb(app.process.pid)
    return Served(rates, cold_start, rss, latencies)


def ms(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q * 100) - 1] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each measured load run")
    parser.add_argument("--warmup", type=float, default=3.0, help="load before each measured run, seconds")
    parser.add_argument("--single", type=int, default=50, help="one caller's requests timed alone (0: skip)")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    print(f"Demo throughput, {CALLERS} concurrent callers, request = 1 source + 4 candidates, {os.cpu_count()} CPUs")
    best_size, limit, raw_latencies = raw_limit(args.seconds)
    ours = served(REPO / "app.py", ("predict", "inference"), args, "this app", single=args.single)
    naive = served(PEERS / "naive.py", ("predict",), args, "naive peer").rates["predict"]
    batch_peer = served(PEERS / "batched.py", ("predict",), args, "batch=True peer").rates["predict"]
    gradio, lean = ours.rates["predict"], ours.rates["inference"]
    print()
    print(f"(a) raw limit                      {limit:7.1f} requests/s (batch {best_size})")
    print(f"(b) this app, Gradio /predict      {gradio:7.1f} requests/s")
    print(f"(c) this app, lean /inference      {lean:7.1f} requests/s")
    print(f"(d) naive peer                     {naive:7.1f} requests/s")
    print(f"(e) batch=True peer                {batch_peer:7.1f} requests/s")
    print(f"ours/naive       b/d = {gradio / naive:.2f}  (target >= 2.5)")
    print(f"ours/batch-peer  b/e = {gradio / batch_peer:.2f}  (target >= 1.3)")
    print(f"lean/raw         c/a = {lean / limit:.2f}  (target >= 0.9)")
    print(f"lean/Gradio      c/b = {lean / gradio:.2f}  (target >= 1.5)")
    if ours.single:
        print(f"one caller: app p50 {ms(ours.single, .5):.0f} ms, p95 {ms(ours.single, .95):.0f} ms; "
              f"raw call p50 {ms(raw_latencies, .5):.0f} ms, p95 {ms(raw_latencies, .95):.0f} ms")
    print(f"cold start (process start to first answered /predict): {ours.cold_start_s:.1f} s")
    print(f"app peak RSS: {ours.peak_rss_mb:.0f} MB")


if __name__ == "__main__":
    main()
