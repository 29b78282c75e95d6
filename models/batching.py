"""Dynamic batching: requests of concurrent visitors that arrive while the model is busy run together.

Gradio's own `batch=True` fails a whole batch when one request in it is bad, and its input
validator breaks on batched events (Gradio 6.31 hands it one list instead of one value per
input). Batching here, behind a per-request Gradio handler, keeps bad input the caller's own
problem: each request is validated alone and only good ones are batched, and a batch that raises
anyway is split until the request that makes it raise fails alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class Batcher(Generic[Item, Result]):
    """Runs `run_batch` on up to `max_batch_size` waiting items at a time, in worker threads so the
    event loop keeps accepting requests meanwhile.

    Up to `max_in_flight` batches run at once (one per copy of the model, models/dispatch.py), each
    started as soon as a slot is free; with 1, one batch after another.

    When a batch raises, its halves run again, down to single items: every item that succeeds
    alone is served, and only an item that fails alone gets the exception. One culprit in a batch
    of n costs about 2·log2(n) extra runs; a failure of every item (a broken model) costs 2n − 1.
    Other batches in flight meanwhile are not touched.
    """

    def __init__(
        self,
        run_batch: Callable[[Sequence[Item]], Sequence[Result]],
        max_batch_size: int,
        max_in_flight: int = 1,
    ):
        if max_in_flight < 1:
            raise ValueError(f"max_in_flight must be at least 1, not {max_in_flight}")
        self._run_batch = run_batch
        self.max_batch_size = max_batch_size
        self.max_in_flight = max_in_flight
        self._waiting: list[tuple[Item, asyncio.Future[Result]]] = []
        self._drains: set[asyncio.Task] = set()

    async def submit(self, item: Item) -> Result:
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        # A task is done the moment its coroutine returns, so a drain counted here still checks the
        # waiting list again; a done-callback would run later and could leave an item with no drain.
        self._drains = {drain for drain in self._drains if not drain.done()}
        if len(self._drains) < self.max_in_flight:
            self._drains.add(asyncio.create_task(self._drain()))
        return await future

    async def submit_all(self, items: Sequence[Item]) -> list[Result]:
        """The results of `items`, in order, with at most `max_in_flight` of them waiting or running at a time.

        Each next item joins the back of the queue as an earlier one is served, so the many items of one
        caller take turns with other callers' items instead of filling the queue ahead of them: a caller
        arriving meanwhile waits for one item of this caller at most, not for all of them. On a failure
        the items not yet served are withdrawn and the failure is raised."""
        turns = asyncio.Semaphore(self.max_in_flight)

        async def in_turn(item: Item) -> Result:
            async with turns:
                return await self.submit(item)

        tasks = [asyncio.ensure_future(in_turn(item)) for item in items]
        try:
            return list(await asyncio.gather(*tasks))
        finally:
            for task in tasks:
                task.cancel()

    async def _drain(self) -> None:
        """One slot of `max_in_flight`: serves waiting batches one after another until none is left.

        Started by a request that finds a slot free, so a copy of the model left idle gets the next
        batch at once instead of waiting for a busy one to finish."""
        while self._waiting:
            batch, self._waiting = self._waiting[: self.max_batch_size], self._waiting[self.max_batch_size :]
            await self._serve(batch)

    async def _serve(self, batch: list[tuple[Item, asyncio.Future[Result]]]) -> None:
        # A caller that gave up (closed tab, cancelled call) costs no compute, also between retries.
        batch = [(item, future) for item, future in batch if not future.done()]
        if not batch:
            return
        try:
            results = await asyncio.to_thread(self._run_checked, [item for item, _ in batch])
        except Exception as error:  # noqa: BLE001 - split and retried, so only the culprit fails
            if len(batch) == 1:
                future = batch[0][1]
                if not future.done():
                    future.set_exception(error)
                return
            middle = len(batch) // 2
            await self._serve(batch[:middle])
            await self._serve(batch[middle:])
            return
        for (_, future), result in zip(batch, results):
            if not future.done():
                future.set_result(result)

    def _run_checked(self, items: list[Item]) -> Sequence[Result]:
        results = self._run_batch(items)
        # A short answer would leave some callers waiting forever: treat it as the batch failing.
        if len(results) != len(items):
            raise RuntimeError(f"run_batch returned {len(results)} results for {len(items)} items")
        return results
