from __future__ import annotations

import asyncio
import threading

import pytest

from models.batching import Batcher


def test_requests_arriving_while_busy_run_together_in_order():
    batches: list[list[int]] = []
    release = threading.Event()

    def run(items):
        batches.append(list(items))
        if len(batches) == 1:
            release.wait(5)  # hold the first batch so the rest queue up behind it
        return [item * 10 for item in items]

    async def scenario():
        batcher = Batcher(run, max_batch_size=3)
        first = asyncio.create_task(batcher.submit(0))
        await asyncio.sleep(0.05)
        rest = [asyncio.create_task(batcher.submit(i)) for i in range(1, 6)]
        await asyncio.sleep(0.05)
        release.set()
        return await first, await asyncio.gather(*rest)

    first, rest = asyncio.run(scenario())
    assert (first, rest) == (0, [10, 20, 30, 40, 50])
    assert batches == [[0], [1, 2, 3], [4, 5]]


def test_a_failing_batch_fails_only_its_callers():
    def run(items):
        if "bad" in items:
            raise RuntimeError("CUDA out of memory")
        return [item.upper() for item in items]

    async def scenario():
        batcher = Batcher(run, max_batch_size=1)
        results = await asyncio.gather(batcher.submit("bad"), batcher.submit("good"), return_exceptions=True)
        return results

    failed, served = asyncio.run(scenario())
    assert isinstance(failed, RuntimeError) and served == "GOOD"


def test_a_caller_that_gave_up_costs_no_compute():
    seen: list[str] = []
    release = threading.Event()

    def run(items):
        seen.extend(items)
        if items == ["first"]:
            release.wait(5)
        return list(items)

    async def scenario():
        batcher = Batcher(run, max_batch_size=4)
        first = asyncio.create_task(batcher.submit("first"))
        await asyncio.sleep(0.05)
        abandoned = asyncio.create_task(batcher.submit("abandoned"))
        kept = asyncio.create_task(batcher.submit("kept"))
        await asyncio.sleep(0.05)
        abandoned.cancel()
        release.set()
        with pytest.raises(asyncio.CancelledError):
            await abandoned
        return await first, await kept

    assert asyncio.run(scenario()) == ("first", "kept")
    assert seen == ["first", "kept"]
