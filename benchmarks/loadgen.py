"""A light load generator for the app's /predict (Gradio's plain HTTP API) and its lean /inference route:
asyncio + aiohttp.

One process, no thread per caller, so the client takes little of the CPU the server needs.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from dataclasses import dataclass, field

import aiohttp

SUBJECTS = ["A man", "A woman", "The child", "My neighbour", "The engineer", "A dog", "The band", "Our team"]
VERBS = ["is playing", "is fixing", "watches", "paints", "is cooking", "reads about", "talks about", "builds"]
OBJECTS = ["a guitar", "the old car", "a football match", "a landscape", "pasta", "the stock market",
           "a new GPU", "a wooden table", "the weather", "a space rocket"]
PLACES = ["in the park", "at home", "on stage", "in the kitchen", "at work", "by the sea", "downtown", ""]


def sentence(rng: random.Random) -> str:
    words = [rng.choice(SUBJECTS), rng.choice(VERBS), rng.choice(OBJECTS), rng.choice(PLACES)]
    return " ".join(filter(None, words)) + "."


def request_shape(rng: random.Random, candidates: int = 4) -> tuple[str, str]:
    """The Demo's default request: one source sentence and four candidates, varied so nothing repeats much."""
    return sentence(rng), "\n".join(sentence(rng) for _ in range(candidates))


@dataclass
class LoadResult:
    served: int = 0
    queue_full: int = 0
    failures: int = 0
    latencies: list[float] = field(default_factory=list)
    failure_samples: list[str] = field(default_factory=list)

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def call_api(
    session: aiohttp.ClientSession, url: str, api_name: str, data: list, session_hash: str | None = None
) -> tuple[str, str]:
    """One call of a named endpoint by plain HTTP: ("complete" | "queue_full" | "error", detail).

    Like a browser tab or a gradio_client.Client, a caller keeps one `session_hash` across its calls;
    without one (a fresh one per call), Gradio builds a new session (a copy of every component's config)."""
    body = {"data": data, "session_hash": session_hash or uuid.uuid4().hex}
    async with session.post(f"{url}/gradio_api/call/{api_name}", json=body) as response:
        if response.status == 503:
            return "queue_full", await response.text()
        if response.status != 200:
            return "error", f"HTTP {response.status}: {(await response.text())[:200]}"
        event_id = (await response.json())["event_id"]
    async with session.get(f"{url}/gradio_api/call/{api_name}/{event_id}") as stream:
        event = ""
        async for raw in stream.content:
            line = raw.decode().strip()
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and event in ("complete", "error"):
                detail = line.split(":", 1)[1].strip()
                if event == "error" and "queue is full" in detail.lower():
                    return "queue_full", detail
                return event, detail
    return "error", "stream ended without a result"


async def call_predict(
    session: aiohttp.ClientSession, url: str, data: list, session_hash: str | None = None
) -> tuple[str, str]:
    """One /predict call: ("complete" | "queue_full" | "error", detail)."""
    return await call_api(session, url, "predict", data, session_hash)


async def call_inference(
    session: aiohttp.ClientSession, url: str, data: list, session_hash: str | None = None
) -> tuple[str, str]:
    """The same request through the lean route, in the Inference API's sentence-similarity format."""
    source, candidates = data
    body = {"inputs": {"source_sentence": source, "sentences": candidates.split("\n")}}
    async with session.post(f"{url}/inference", json=body) as response:
        if response.status == 503:
            return "queue_full", await response.text()
        if response.status != 200:
            return "error", f"HTTP {response.status}: {(await response.text())[:200]}"
        return "complete", await response.text()


ROUTES = {"predict": call_predict, "inference": call_inference}


async def run_load(
    url: str, callers: int, seconds: float, seed: int = 0, during=None, route: str = "predict"
) -> LoadResult:
    """`callers` concurrent callers, each sending its next request as soon as the last one is answered,
    through `route` ("predict": Gradio's API; "inference": the lean JSON route).

    `during`, if given, is an async callable started halfway through (e.g. a diagnostics re-run)."""
    result = LoadResult()
    call = ROUTES[route]
    deadline = time.perf_counter() + seconds
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=300)

    async def caller(index: int) -> None:
        rng = random.Random(seed * 1000 + index)
        session_hash = uuid.uuid4().hex
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            try:
                outcome, detail = await call(session, url, list(request_shape(rng)), session_hash)
            except (TimeoutError, aiohttp.ClientError) as error:
                outcome, detail = "error", repr(error)
            if outcome == "complete":
                json.loads(detail)
                result.served += 1
                result.latencies.append(time.perf_counter() - started)
            elif outcome == "queue_full":
                result.queue_full += 1
                await asyncio.sleep(0.1)
            else:
                result.failures += 1
                if len(result.failure_samples) < 5:
                    result.failure_samples.append(detail)

    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        tasks = [asyncio.create_task(caller(i)) for i in range(callers)]
        if during is not None:
            await asyncio.sleep(seconds / 2)
            await during(session)
        await asyncio.gather(*tasks)
    return result
