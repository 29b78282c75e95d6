"""The Diagnostics check of the Demo's remote backend (INFERENCE_URL): what is asked, what may be shown, and
one shared check for every caller.

Logic only; diagnostics/backend_tab.py shows it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from models.backend_calls import BackendError
from models.backend_info import MAX_TEXTS_PER_CALL, BackendInfo
from models.remote import RemotePredictor
from shared_read import SharedRead


@dataclass(frozen=True)
class BackendStatus:
    """One check of the backend, for the Diagnostics tab: an allow-list of what may be shown to anyone."""

    answered: bool
    """The backend served the task's first example."""
    message: str
    """What went wrong, for people (empty when it answered)."""
    latency_ms: float | None
    """Time of that call, including the network; None when it failed."""
    info: BackendInfo
    info_answer: str
    """How GET /info went, e.g. "200 in 12 ms", "404 in 3 ms" (this template has none), "unreachable"."""
    task: str
    task_source: str
    model: str
    checked_at: float
    """time.time() of the check."""

    def to_markdown(self) -> str:
        verdict = (
            f"✅ **The model's server answers**: {self.latency_ms:.0f} ms for the first example"
            if self.answered
            else f"❌ **The model's server does not answer**: {self.message}"
        )
        rows = [
            ("Model", self.model),
            ("Engine", self.info.engine or "not reported"),
            ("Task", f"{self.task} (from {self.task_source})"),
            ("GET /info", self.info_answer),
            ("Texts per call", str(self.info.max_client_batch_size or f"{MAX_TEXTS_PER_CALL} (assumed)")),
            ("Checked", time.strftime("%H:%M:%S UTC", time.gmtime(self.checked_at))),
        ]
        table = "\n".join(f"| {name} | {value} |" for name, value in rows)
        return f"{verdict}\n\n| | |\n|---|---|\n{table}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "answered": self.answered,
            "message": self.message,
            "latency_ms": self.latency_ms,
            "model": self.model,
            "engine": self.info.engine,
            "task": self.task,
            "task_source": self.task_source,
            "info": self.info_answer,
            "max_client_batch_size": self.info.max_client_batch_size,
            "checked_at": self.checked_at,
        }


def check_backend(predictor: RemotePredictor) -> BackendStatus:
    """Ask /info and serve the task's first example once, without waiting for a backend that is starting
    (its 503 is the answer: the Demo's next request will wait for it)."""
    model = predictor.model
    try:
        info, info_answer = predictor.fetch_info()
    except BackendError:
        info, info_answer = BackendInfo(), "unreachable"
    started = time.perf_counter()
    try:
        predictor.probe()
        answered, message, latency = True, "", (time.perf_counter() - started) * 1000
    except BackendError as error:
        answered, message, latency = False, error.message, None
    return BackendStatus(
        answered,
        message,
        latency,
        info if info.model_id or info.engine else model.info,
        info_answer,
        model.spec.name,
        model.task_source,
        info.model_id or model.source.name,
        time.time(),
    )


class BackendCheck:
    """Checks shared by every caller (shared_read.py): at most one under way, and a fresh one at most every
    `min_interval_s`. Visitors cannot turn the Diagnostics tab into a flood on the backend.

    The check runs outside the lock: while one is under way, every caller who has a result to be shown gets
    the latest at once (a backend that hangs held 45 page loads for 37 s when the check ran inside it). Only
    callers before the first result ever wait, for that check."""

    def __init__(self, predictor: RemotePredictor, min_interval_s: float = 10.0):
        self.predictor = predictor
        self.min_interval_s = min_interval_s
        self._checks: SharedRead[BackendStatus] = SharedRead(
            lambda: check_backend(self.predictor), min_interval_s=min_interval_s, serve_latest_while_reading=True
        )

    def get(self, fresh: bool = False) -> BackendStatus:
        """The latest check; a new one first when there is none yet, or when `fresh` and the interval has
        passed since the last one started."""
        answer = self._checks.get(fresh=fresh)
        if answer.made is None:  # only after a check crashed: check_backend words every failure of the backend
            raise RuntimeError(f"The backend check failed; the next can start in {answer.wait_s:.0f} s.")
        return answer.made.value
