"""Every GPU of a multi-GPU Space: batches go to the least busy copy of the model.

models/device.py `plan_placement` decides whether the model is copied to each GPU or sharded;
`LeastBusy` picks the copy with the fewest batches running (pure, thread-safe); `PredictorPool` serves the
Predictor contract (models/predictor.py) by sending each call to the least busy copy.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from models.inference import Predictor, where_it_runs
from models.inputs import Limits, Prepared
from models.loader import load_models
from models.predictor import Embeddings, Outcome
from settings import Settings


class LeastBusy:
    """Chooses among `count` replicas the one with the fewest batches running; ties go to the one that has
    served fewest, so even one batch at a time spreads over every GPU."""

    def __init__(self, count: int):
        self._running = [0] * count
        self._served = [0] * count
        self._lock = threading.Lock()

    @contextmanager
    def take(self) -> Iterator[int]:
        with self._lock:
            index = min(range(len(self._running)), key=lambda i: (self._running[i], self._served[i]))
            self._running[index] += 1
        try:
            yield index
        finally:
            with self._lock:
                self._running[index] -= 1
                self._served[index] += 1

    def served(self) -> list[int]:
        """Batches each replica has finished."""
        with self._lock:
            return list(self._served)

    def running(self) -> list[int]:
        with self._lock:
            return list(self._running)


class PredictorPool:
    """A Predictor over copies of one model (one per GPU): each call runs on the least busy copy.

    Several batches run at once only when the caller submits several at once (threads): the Batcher
    needs as many batches in flight as there are copies for every GPU to work at the same time."""

    runs_here = True
    starts_cold = False
    waiting = None

    def __init__(self, replicas: Sequence[Predictor]):
        if not replicas:
            raise ValueError("a pool needs at least one Predictor")
        self.replicas = list(replicas)
        self.chooser = LeastBusy(len(self.replicas))

    @property
    def copies(self) -> int:
        return len(self.replicas)

    def where_it_runs(self) -> str:
        devices = ", ".join(f"`{replica.model.plan.device}`" for replica in self.replicas)
        return where_it_runs(self.model, f"a copy on each of {len(self.replicas)} GPUs: {devices}")

    @property
    def model(self):
        return self.replicas[0].model

    @property
    def limits(self):
        return self.replicas[0].limits

    @property
    def max_new_tokens(self) -> int:
        return self.replicas[0].max_new_tokens

    @property
    def mask_token(self) -> str | None:
        return self.replicas[0].mask_token

    def prepare(self, raw: Sequence[object]) -> Prepared:
        return self.replicas[0].prepare(raw)

    def predict_batch(self, prepared: Sequence[Prepared]) -> list[Outcome]:
        with self.chooser.take() as index:
            return self.replicas[index].predict_batch(prepared)

    def embed(self, texts: Sequence[str]) -> Embeddings:
        with self.chooser.take() as index:
            return self.replicas[index].embed(texts)

    def stream(self, prepared: Prepared) -> Iterator[Outcome]:
        with self.chooser.take() as index:
            yield from self.replicas[index].stream(prepared)


def serving_predictor(settings: Settings, limits: Limits) -> Predictor | PredictorPool:
    """What the app serves: one Predictor, or a pool with one per copy when the model is on several GPUs."""
    replicas = [Predictor(model, limits, settings.max_new_tokens) for model in load_models(settings)]
    return replicas[0] if len(replicas) == 1 else PredictorPool(replicas)
