"""Floods a signed-out visitor can send, replayed against the app started as a process, beside Demo traffic.

    .venv/bin/python benchmarks/flood.py [--callers 8] [--seconds 30] [--diagnostics 200] [--bad-rate 10]

Four phases of `--seconds` each, `--callers` Demo visitors calling /predict throughout:
  1. baseline: Demo traffic alone;
  2. one diagnostics call: what a single probe run costs the Demo, the floor for phase 3;
  3. diagnostics flood: `--diagnostics` calls to /diagnostics and /diagnostics_smoke (one in four) by
     plain HTTP, each with a fresh session, spread over the phase;
  4. bad Demo traffic: bad /predict requests (a lone surrogate, wrong types, wrong counts) at `--bad-rate`/s.
Prints good requests failed (target 0), the Demo's p95 during each flood against the baseline (target
at most 2x) and probe runs started in the diagnostics flood (target at most one per minimum interval).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp  # noqa: E402

from benchmarks.loadgen import LoadResult, call_api, run_load  # noqa: E402
from tests.apptools import AppProcess  # noqa: E402

RUN_STARTED = re.compile(r"diagnostics run (\d+) started")
BAD_REQUESTS = (
    ["x\ud800", "a\nb"],  # a lone surrogate: valid JSON, text no tokenizer takes
    ["A man is playing a guitar.", "y\udfff"],
    [{"a": 1}, ["b"]],
    ["only one value"],
    [],
)


async def diagnostics_flood(url: str, calls: int, seconds: float) -> Counter:
    """`calls` signed-out diagnostics calls spread evenly over `seconds`, all left open at once."""
    outcomes: Counter = Counter()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:

        async def one(index: int) -> None:
            await asyncio.sleep(index * seconds / calls)
            api = "diagnostics_smoke" if index % 4 == 3 else "diagnostics"
            try:
                outcome, detail = await call_api(session, url, api, [])
            except (TimeoutError, aiohttp.ClientError) as error:
                outcome, detail = "error", repr(error)
            if outcome == "complete":
                note = json.loads(detail)[0].get("run", {}).get("note")
                outcomes["complete, shared" if note else "complete, fresh"] += 1
            else:
                outcomes[outcome] += 1

        await asyncio.gather(*(one(i) for i in range(calls)))
    return outcomes


async def bad_traffic(url: str, rate: float, seconds: float) -> Counter:
    """Bad /predict requests at `rate` per second; their answers are counted, not judged."""
    outcomes: Counter = Counter()
    async with aiohttp.ClientSession() as session:

        async def one(index: int) -> None:
            try:
                outcome, _ = await call_api(session, url, "predict", BAD_REQUESTS[index % len(BAD_REQUESTS)])
            except (TimeoutError, aiohttp.ClientError) as error:
                outcome = f"client error {type(error).__name__}"
            outcomes[outcome] += 1

        tasks = []
        for index in range(int(rate * seconds)):
            tasks.append(asyncio.create_task(one(index)))
            await asyncio.sleep(1 / rate)
        await asyncio.gather(*tasks)
    return outcomes


async def with_demo_traffic(url: str, callers: int, seconds: float, flood) -> tuple[LoadResult, object]:
    load, flooded = await asyncio.gather(run_load(url, callers, seconds), flood)
    return load, flooded


def runs_started(log: str) -> int:
    return len(RUN_STARTED.findall(log))


def line(name: str, load: LoadResult, baseline_p95: float | None = None) -> str:
    ratio = f", p95 x{load.percentile(0.95) / baseline_p95:.2f} of baseline" if baseline_p95 else ""
    return (
        f"{name:<22} served {load.served:>5}  good failed {load.failures + load.queue_full:>3}"
        f"  p50 {load.percentile(0.5) * 1000:6.0f} ms  p95 {load.percentile(0.95) * 1000:6.0f} ms{ratio}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--callers", type=int, default=8, help="concurrent good Demo callers")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of each phase")
    parser.add_argument("--diagnostics", type=int, default=200, help="diagnostics calls in the flood")
    parser.add_argument("--bad-rate", type=float, default=10.0, help="bad /predict requests per second")
    parser.add_argument("--min-interval", type=float, default=10.0, help="DIAGNOSTICS_MIN_INTERVAL for the app")
    args = parser.parse_args()
    log_path = Path(tempfile.mkdtemp()) / "app.log"
    env = {
        "DIAGNOSTICS_AT_STARTUP": "false",
        "DIAGNOSTICS_MIN_INTERVAL": f"{args.min_interval:g}",
        "DIAGNOSTICS_SMOKE_MIN_INTERVAL": f"{args.min_interval * 5:g}",
    }
    with AppProcess(env, log_path) as app:
        asyncio.run(run_load(app.url, args.callers, 5))  # warm-up
        baseline = asyncio.run(run_load(app.url, args.callers, args.seconds))
        one_run, _ = asyncio.run(
            with_demo_traffic(app.url, args.callers, args.seconds, diagnostics_flood(app.url, 1, 0))
        )
        time.sleep(max(0.0, args.min_interval - args.seconds))  # so the flood may start a run of its own
        before = runs_started(app.log())
        started = time.monotonic()
        flood = diagnostics_flood(app.url, args.diagnostics, args.seconds)  # a coroutine: starts when awaited
        flooded, diagnostics = asyncio.run(with_demo_traffic(app.url, args.callers, args.seconds, flood))
        flood_s = time.monotonic() - started
        runs = runs_started(app.log()) - before
        bad_load, bad = asyncio.run(
            with_demo_traffic(app.url, args.callers, args.seconds, bad_traffic(app.url, args.bad_rate, args.seconds))
        )
        tracebacks = app.log().count("Traceback")
    allowed = 1 + math.floor(flood_s / args.min_interval)
    base_p95 = baseline.percentile(0.95)
    print(
        f"{args.callers} Demo callers, phases of {args.seconds:g} s,"
        f" DIAGNOSTICS_MIN_INTERVAL={args.min_interval:g} s"
    )
    print(line("baseline", baseline))
    print(line("one diagnostics run", one_run, base_p95))
    print(line("diagnostics flood", flooded, base_p95))
    print(line("bad Demo requests", bad_load, base_p95))
    print(f"diagnostics calls: {args.diagnostics} -> {dict(diagnostics)}")
    print(f"probe runs started during the flood: {runs} (allowed at most {allowed} in {flood_s:.0f} s)")
    print(f"bad /predict requests: {dict(bad)}")
    print(f"tracebacks in the app log: {tracebacks}")
    for sample in (flooded.failure_samples + bad_load.failure_samples)[:5]:
        print("  good request failure:", sample[:200])


if __name__ == "__main__":
    main()
