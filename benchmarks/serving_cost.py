"""What serving costs when the model costs no CPU (as on a GPU): CPU-microseconds per request and requests/s.

The app runs under benchmarks/simulated_model_app.py: each forward pass sleeps a fixed time (GIL
released, no CPU). Then the server's own CPU time (user + system, from psutil) over a load window,
divided by the requests it answered, is the serving layer's cost per request: tokenising, batching,
HTTP, Gradio's queue. The Gradio /predict path and the lean /inference route are measured in turns
(A, B, A, B) in the same server process under the same load generator, so the ratio holds on a noisy CPU.

    .venv/bin/python benchmarks/serving_cost.py [--seconds 8] [--rounds 2] [--model-ms 5] [--callers 32]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp  # noqa: E402
import psutil  # noqa: E402

from benchmarks.loadgen import run_load, sentence  # noqa: E402
from tests.apptools import AppProcess  # noqa: E402

LAUNCHER = Path(__file__).resolve().parent / "simulated_model_app.py"


async def run_inference_load(url: str, callers: int, seconds: float) -> int:
    """`callers` concurrent InferenceClient-style sentence_similarity calls to /inference; answers counted."""
    served = 0
    deadline = time.perf_counter() + seconds

    async def caller(session: aiohttp.ClientSession, index: int) -> None:
        nonlocal served
        rng = random.Random(index)
        while time.perf_counter() < deadline:
            body = {"inputs": {"source_sentence": sentence(rng), "sentences": [sentence(rng) for _ in range(4)]}}
            async with session.post(f"{url}/inference", json=body) as response:
                await response.read()
                if response.status == 200:
                    served += 1
                elif response.status == 503:
                    await asyncio.sleep(0.1)
                else:
                    raise RuntimeError(f"/inference answered {response.status}: {await response.text()}")

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        await asyncio.gather(*(caller(session, i) for i in range(callers)))
    return served


async def run_predict_load(url: str, callers: int, seconds: float) -> int:
    result = await run_load(url, callers, seconds)
    if result.failures:
        raise RuntimeError(f"/predict failures: {result.failure_samples}")
    return result.served


def measured(server: psutil.Process, load: Callable[[], Awaitable[int]]) -> tuple[int, float, float]:
    """Requests served, server CPU seconds and this process's (the load generator's) CPU seconds."""
    me = psutil.Process()
    server_before, me_before = server.cpu_times(), me.cpu_times()
    served = asyncio.run(load())
    server_after, me_after = server.cpu_times(), me.cpu_times()
    server_cpu = (server_after.user - server_before.user) + (server_after.system - server_before.system)
    client_cpu = (me_after.user - me_before.user) + (me_after.system - me_before.system)
    return served, server_cpu, client_cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="length of each load window")
    parser.add_argument("--rounds", type=int, default=2, help="turns of /predict then /inference")
    parser.add_argument("--model-ms", type=float, default=5.0, help="the stand-in's time per forward pass")
    parser.add_argument("--callers", type=int, default=32)
    args = parser.parse_args()
    env = {"SIMULATED_MODEL_MS": str(args.model_ms), "DIAGNOSTICS_AT_STARTUP": "false", "MCP_SERVER": "false"}
    paths = {"Gradio /predict": run_predict_load, "lean /inference": run_inference_load}
    totals = {name: [0, 0.0, 0.0] for name in paths}
    log = Path(tempfile.mkdtemp()) / "simulated-app.log"
    print(f"Serving cost with a model stand-in of {args.model_ms:g} ms per batch and no CPU; {args.callers} callers, "
          f"{psutil.cpu_count()} CPUs, {args.rounds} x {args.seconds:g} s per path, interleaved")
    with AppProcess(env, log, script=LAUNCHER) as app:
        server = psutil.Process(app.process.pid)
        for load in paths.values():  # warm-up: sessions, first batches, the allocator's plateau
            asyncio.run(load(app.url, args.callers, 2.0))
        for _ in range(args.rounds):
            for name, load in paths.items():
                run = lambda load=load: load(app.url, args.callers, args.seconds)  # noqa: E731 - bound per path
                served, server_cpu, client_cpu = measured(server, run)
                totals[name][0] += served
                totals[name][1] += server_cpu
                totals[name][2] += client_cpu
    print(f"  {'path':18s} {'requests/s':>11s} {'server CPU us/request':>22s} {'load-generator CPU us/request':>30s}")
    cost = {}
    for name, (served, server_cpu, client_cpu) in totals.items():
        cost[name] = server_cpu / max(served, 1) * 1e6
        print(f"  {name:18s} {served / (args.seconds * args.rounds):11.1f} {cost[name]:22.0f} "
              f"{client_cpu / max(served, 1) * 1e6:30.0f}")
    lean, gradio = cost["lean /inference"], cost["Gradio /predict"]
    print(f"lean / Gradio serving cost = {lean / gradio:.2f} (target <= 0.20)")
    for flavor, cpus in (("t4-small (4 vCPU)", 4), ("l4x1 (8 vCPU)", 8)):
        print(f"  projection for {flavor}: CPU-bound ceiling ~{cpus / gradio * 1e6:,.0f} requests/s on /predict, "
              f"~{cpus / lean * 1e6:,.0f} on /inference (if the GPU keeps up)")


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    main()
