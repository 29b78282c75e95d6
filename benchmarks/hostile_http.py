"""What hostile HTTP bodies cost a good caller: the app started as a process, loopback only, bounded phases.

    .venv/bin/python benchmarks/hostile_http.py [--seconds 12] [--stalled 120] [--stalled-seconds 25] [--script app.py]

One good caller posts a short text to /inference, one request after another, through every phase:
  1. idle: alone;
  2. costly JSON: 2 clients post, again and again, 2.67 MB of empty lists to /inference (under its 413 limit);
  3. big Gradio body: 2 clients post 20 MB to /gradio_api/call/predict, again and again;
  4. stalled bodies: `--stalled` clients (one address, as the proxy's X-Forwarded-For gives it) each declare
     2.6 MB, send 2.5 MB and go silent, for `--stalled-seconds` (longer than BODY_TIMEOUT's 20 s default);
  5. idle again, to see that the server recovered.
Prints the good caller's median and p95 per phase against the first idle phase, the server's RSS at each
phase's end, and how the server had answered the stalled connections by the end of phase 4.
`--script` runs another copy of the app (e.g. the code before a change, from `git archive`) to compare.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp

from tests.apptools import REPO, AppProcess

EMPTY_LISTS = b'{"inputs": [' + b"[]," * 890_000 + b"[]]}"
BIG_GRADIO_BODY = b'{"data": ["' + b"x" * 20_000_000 + b'", "y"]}'
STALLED_DECLARED, STALLED_SENT = 2_600_000, 2_500_000
HOSTILE_ADDRESS = "203.0.113.7"
JSON = {"Content-Type": "application/json"}


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def good_caller(url: str, seconds: float) -> list[float]:
    latencies = []
    async with aiohttp.ClientSession() as session:
        deadline = time.monotonic() + seconds
        index = 0
        while time.monotonic() < deadline:
            index += 1
            started = time.perf_counter()
            async with session.post(f"{url}/inference", json={"inputs": f"sentence number {index}"}) as response:
                await response.read()
                if response.status == 200:
                    latencies.append(time.perf_counter() - started)
    return latencies


async def repeat_posts(url: str, path: str, body: bytes, clients: int) -> None:
    """`clients` loops posting `body` until cancelled; what they are answered does not matter here."""
    headers = {**JSON, "X-Forwarded-For": HOSTILE_ADDRESS}

    async def one() -> None:
        async with aiohttp.ClientSession() as session:
            while True:
                try:
                    async with session.post(url + path, data=body, headers=headers) as response:
                        await response.read()
                except aiohttp.ClientError:
                    await asyncio.sleep(0.05)

    await asyncio.gather(*(one() for _ in range(clients)))


class Stalled:
    """Connections that declared a body, sent most of it and went silent."""

    def __init__(self, port: int, count: int):
        self.port, self.count = port, count
        self.connections: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def open(self) -> None:
        head = (
            f"POST /inference HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"X-Forwarded-For: {HOSTILE_ADDRESS}\r\nContent-Length: {STALLED_DECLARED}\r\n\r\n"
        ).encode()

        async def one() -> None:
            reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
            self.connections.append((reader, writer))
            writer.write(head + b" " * STALLED_SENT)
            try:
                await writer.drain()
            except ConnectionError:
                pass

        await asyncio.gather(*(one() for _ in range(self.count)))

    async def answers(self) -> Counter:
        """How the server left each connection: "HTTP 408", "closed" without an answer, or "still open"."""
        outcomes: Counter = Counter()
        for reader, _ in self.connections:
            try:
                received = await asyncio.wait_for(reader.read(), 0.05)  # answered and closed: read() reaches EOF
                outcomes[f"HTTP {received[9:12].decode()}" if received.startswith(b"HTTP/1.1 ") else "closed"] += 1
            except ConnectionError:  # closed with the rest of what was sent unread: a reset
                outcomes["closed"] += 1
            except TimeoutError:
                outcomes["still open"] += 1
        return outcomes

    def close(self) -> None:
        for _, writer in self.connections:
            writer.close()


async def phase(url: str, seconds: float, load: Callable[[], Awaitable[None]] | None) -> list[float]:
    task = asyncio.create_task(load()) if load else None
    await asyncio.sleep(0.5 if load else 0)  # the load is under way before measuring
    try:
        return await good_caller(url, seconds)
    finally:
        if task:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


async def run(app: AppProcess, seconds: float, stalled_count: int, stalled_seconds: float) -> None:
    pid = app.process.pid
    rows = []

    async def measured(name: str, load: Callable[[], Awaitable[None]] | None, length: float = seconds) -> list[float]:
        latencies = await phase(app.url, length, load)
        rows.append((name, latencies, rss_mb(pid)))
        await asyncio.sleep(2)
        return latencies

    await measured("idle", None)
    await measured("costly JSON, 2 clients", lambda: repeat_posts(app.url, "/inference", EMPTY_LISTS, 2))
    await measured(
        "20 MB to /call/predict, 2 clients",
        lambda: repeat_posts(app.url, "/gradio_api/call/predict", BIG_GRADIO_BODY, 2),
    )
    stalled = Stalled(app.port, stalled_count)
    await stalled.open()
    await measured(f"{stalled_count} stalled bodies", None, stalled_seconds)
    outcomes = await stalled.answers()
    stalled.close()
    await measured("idle again", None)

    idle_median = statistics.median(rows[0][1])
    print(f"{'phase':36} {'calls':>6} {'median':>9} {'p95':>9} {'vs idle':>8} {'RSS MB':>8}")
    for name, latencies, rss in rows:
        if not latencies:
            print(f"{name:36} {0:>6} {'-':>9} {'-':>9} {'-':>8} {rss:8.0f}")
            continue
        median = statistics.median(latencies)
        p95 = sorted(latencies)[int(0.95 * (len(latencies) - 1))]
        print(
            f"{name:36} {len(latencies):>6} {median * 1000:7.1f}ms {p95 * 1000:7.1f}ms "
            f"{median / idle_median:7.2f}x {rss:8.0f}"
        )
    print(f"the {stalled_count} stalled connections at the end of their phase: {dict(sorted(outcomes.items()))}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=12.0)
    parser.add_argument("--stalled", type=int, default=120)
    parser.add_argument("--stalled-seconds", type=float, default=25.0)
    parser.add_argument("--script", type=Path, default=REPO / "app.py")
    args = parser.parse_args()
    env = {"DIAGNOSTICS_AT_STARTUP": "false"}
    with tempfile.TemporaryDirectory() as folder, AppProcess(env, Path(folder) / "app.log", script=args.script) as app:
        asyncio.run(run(app, args.seconds, args.stalled, args.stalled_seconds))
        log = app.log()
        print(f"tracebacks in the app's log: {log.count('Traceback')}")


if __name__ == "__main__":
    main()
