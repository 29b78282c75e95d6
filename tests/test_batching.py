from __future__ import annotations

import asyncio
import threading
import time

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


def _run_all_at_once(run, items, max_batch_size):
    """Submit every item while the worker is held on a first item, so they form full batches."""
    release = threading.Event()

    def held(batch):
        if batch == ["hold"]:
            release.wait(5)
            return ["held"]
        return run(batch)

    async def scenario():
        batcher = Batcher(held, max_batch_size=max_batch_size)
        first = asyncio.create_task(batcher.submit("hold"))
        await asyncio.sleep(0.05)
        rest = [asyncio.create_task(batcher.submit(item)) for item in items]
        await asyncio.sleep(0.05)
        release.set()
        await first
        # Bounded: a caller left waiting must fail the test, not hang it.
        return await asyncio.wait_for(asyncio.gather(*rest, return_exceptions=True), timeout=10)

    return asyncio.run(scenario())


def test_one_bad_item_fails_alone_and_its_batch_mates_are_served():
    runs: list[list[str]] = []

    def run(batch):
        runs.append(list(batch))
        if "bad" in batch:
            raise TypeError("TextEncodeInput must be Union[...]")
        return [item.upper() for item in batch]

    items = [f"good{i}" for i in range(7)]
    items.insert(5, "bad")
    results = _run_all_at_once(run, items, max_batch_size=8)

    assert [r for r in results if not isinstance(r, Exception)] == [f"GOOD{i}" for i in range(7)]
    failed = results[5]
    assert isinstance(failed, TypeError) and "TextEncodeInput" in str(failed)
    # The whole batch, then halves down to the culprit: log2(8) levels, not one run per item.
    assert runs[0] == items and ["bad"] in runs and len(runs) == 1 + 2 * 3


def test_several_bad_items_each_fail_alone():
    def run(batch):
        if any(item.startswith("bad") for item in batch):
            raise ValueError("cannot")
        return list(batch)

    items = ["bad0", "a", "b", "bad1", "c", "d", "e", "bad2"]
    results = _run_all_at_once(run, items, max_batch_size=8)
    for item, result in zip(items, results):
        assert isinstance(result, ValueError) if item.startswith("bad") else result == item


def test_the_default_models_tokenizer_refusing_one_request_fails_only_that_request():
    """The failure of issue 9, with the real model: a lone surrogate that got past cleaning."""
    import dataclasses

    from models.inference import Predictor
    from models.inputs import Limits
    from models.loader import load_model
    from settings import load_settings

    predictor = Predictor(load_model(load_settings({})), Limits(10_000, 32), max_new_tokens=8)
    good = [predictor.prepare([f"sentence number {i}", f"number {i}\nsomething else"]) for i in range(7)]
    unclean = dataclasses.replace(good[0], values=("x\ud800", ("a", "b")))
    results = _run_all_at_once(predictor.predict_batch, [*good[:3], unclean, *good[3:]], max_batch_size=8)

    assert isinstance(results[3], TypeError)
    served = [r for r in results if not isinstance(r, Exception)]
    assert [next(iter(outcome.value)) for outcome in served] == [f"number {i}" for i in range(7)]


def test_a_failure_of_every_item_reaches_every_caller():
    def run(batch):
        raise RuntimeError("CUDA error: device-side assert triggered")

    results = _run_all_at_once(run, ["a", "b", "c"], max_batch_size=4)
    assert all(isinstance(r, RuntimeError) for r in results)


def test_a_batch_that_answers_short_does_not_leave_callers_waiting():
    def run(batch):
        return [item.upper() for item in batch][:1]  # loses all but the first answer

    results = _run_all_at_once(run, ["a", "b", "c"], max_batch_size=4)
    assert results == ["A", "B", "C"]


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


class Held:
    """A run_batch that records each batch and blocks on an event until the test releases it."""

    def __init__(self, fail_on: str | None = None):
        self.release = threading.Event()
        self.started: list[list[str]] = []
        self.running = 0
        self.peak = 0
        self.fail_on = fail_on
        self._lock = threading.Lock()

    def __call__(self, batch):
        with self._lock:
            self.started.append(list(batch))
            self.running += 1
            self.peak = max(self.peak, self.running)
        try:
            self.release.wait(5)
            if self.fail_on in batch:
                raise RuntimeError("CUDA out of memory")
            return [item.upper() for item in batch]
        finally:
            with self._lock:
                self.running -= 1

    async def until_started(self, count: int, seconds: float = 5.0) -> None:
        for _ in range(int(seconds / 0.01)):
            if len(self.started) >= count:
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"{count} batches never started: {self.started}")


def test_with_two_in_flight_a_second_batch_starts_while_the_first_runs():
    held = Held()

    async def scenario():
        batcher = Batcher(held, max_batch_size=4, max_in_flight=2)
        first = asyncio.create_task(batcher.submit("a"))
        await held.until_started(1)
        second = asyncio.create_task(batcher.submit("b"))
        await held.until_started(2)
        running_together = held.running
        held.release.set()
        return running_together, await asyncio.gather(first, second)

    running_together, results = asyncio.run(scenario())
    assert running_together == 2 and results == ["A", "B"]
    assert held.started == [["a"], ["b"]]


def test_with_one_in_flight_a_batch_waits_for_the_running_one():
    held = Held()

    async def scenario():
        batcher = Batcher(held, max_batch_size=4, max_in_flight=1)
        first = asyncio.create_task(batcher.submit("a"))
        await held.until_started(1)
        rest = [asyncio.create_task(batcher.submit(item)) for item in ("b", "c")]
        await asyncio.sleep(0.2)
        started_while_held = len(held.started)
        held.release.set()
        return started_while_held, await asyncio.gather(first, *rest)

    started_while_held, results = asyncio.run(scenario())
    assert started_while_held == 1 and held.peak == 1
    assert results == ["A", "B", "C"] and held.started == [["a"], ["b", "c"]]


def test_requests_arriving_while_every_slot_is_busy_form_the_next_batch():
    held = Held()

    async def scenario():
        batcher = Batcher(held, max_batch_size=4, max_in_flight=2)
        busy = [asyncio.create_task(batcher.submit(item)) for item in ("a", "b")]
        await held.until_started(1)
        busy.append(asyncio.create_task(batcher.submit("b2")))
        await held.until_started(2)
        later = [asyncio.create_task(batcher.submit(item)) for item in ("c", "d", "e")]
        await asyncio.sleep(0.2)
        started_while_busy = len(held.started)
        held.release.set()
        return started_while_busy, await asyncio.gather(*busy, *later)

    started_while_busy, results = asyncio.run(scenario())
    assert started_while_busy == 2 and held.peak == 2
    assert results == ["A", "B", "B2", "C", "D", "E"]
    assert held.started == [["a", "b"], ["b2"], ["c", "d", "e"]]


def test_a_batch_failing_in_flight_leaves_the_other_batch_in_flight_alone():
    held = Held(fail_on="bad")

    async def scenario():
        batcher = Batcher(held, max_batch_size=4, max_in_flight=2)
        failing = [asyncio.create_task(batcher.submit(item)) for item in ("bad", "ok")]
        await held.until_started(1)
        other = asyncio.create_task(batcher.submit("good"))
        await held.until_started(2)
        running_together = held.running
        held.release.set()
        results = await asyncio.wait_for(asyncio.gather(*failing, other, return_exceptions=True), timeout=10)
        return running_together, results

    running_together, (failed, batch_mate, served) = asyncio.run(scenario())
    assert running_together == 2
    assert isinstance(failed, RuntimeError) and batch_mate == "OK" and served == "GOOD"
    # Only the failing batch is split and retried; the other one ran once.
    assert held.started == [["bad", "ok"], ["good"], ["bad"], ["ok"]]


def test_max_in_flight_below_one_is_refused():
    with pytest.raises(ValueError, match="max_in_flight"):
        Batcher(lambda items: items, max_batch_size=4, max_in_flight=0)


# --- one caller with many items (an embeddings request of up to MAX_EMBEDDING_INPUTS texts, in pieces) ----------


def _many_beside_one(many: int, max_batch_size: int) -> tuple[list[list[str]], list[str], str]:
    """One caller's `many` items through submit_all, and another caller's one item arriving just after."""
    batches: list[list[str]] = []

    def run(items):
        batches.append(list(items))
        time.sleep(0.01)  # a forward pass: the other caller arrives while the first batch runs
        return [item.upper() for item in items]

    async def scenario():
        batcher = Batcher(run, max_batch_size=max_batch_size)
        big = asyncio.create_task(batcher.submit_all([f"big{i}" for i in range(many)]))
        await asyncio.sleep(0.001)
        small = asyncio.create_task(batcher.submit("small"))
        return await asyncio.wait_for(big, 10), await asyncio.wait_for(small, 10)

    big, small = asyncio.run(scenario())
    return batches, big, small


def test_many_items_of_one_caller_come_back_in_order():
    _, big, small = _many_beside_one(50, max_batch_size=4)
    assert big == [f"BIG{i}" for i in range(50)] and small == "SMALL"


def test_many_items_of_one_caller_take_turns_with_another_caller():
    batches, _, _ = _many_beside_one(50, max_batch_size=32)
    # Submitted all at once, the 50 would fill the first two batches of 32 and the other caller would wait
    # for both; in turns, one of them waits at a time, and the other caller joins the next batch.
    served_in = next(n for n, batch in enumerate(batches) if "small" in batch)
    assert served_in <= 1, batches[: served_in + 1]
    assert max(sum(item.startswith("big") for item in batch) for batch in batches) == 1


def test_a_failing_item_fails_the_call_and_withdraws_the_items_not_yet_served():
    served: list[str] = []

    def run(items):
        served.extend(items)
        if "bad" in items:
            raise ValueError("bad item")
        return list(items)

    async def scenario():
        batcher = Batcher(run, max_batch_size=4)
        with pytest.raises(ValueError, match="bad item"):
            await batcher.submit_all(["a", "bad", *[f"later{i}" for i in range(20)]])
        await asyncio.sleep(0.05)

    asyncio.run(scenario())
    # Only the few that joined the queue while "bad" was being found out ran; the rest never did.
    assert len({item for item in served if item.startswith("later")}) <= 3
