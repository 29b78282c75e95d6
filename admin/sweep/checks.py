"""What a sweep step runs on the flavor it visits: the diagnostics with the smoke test, and one Demo request
(the task's first example, through the same predictor and, on ZeroGPU, the same GPU wrap as visitors').
Both become one matrix row (StepResult). No Gradio here; app.py hands in its LatestReport and predictor."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from admin.sweep.plan import StepResult
from diagnostics.cache import LatestReport
from diagnostics.report import Report
from redaction import redact_text

log = logging.getLogger("admin.sweep")

CELL_CHARS = 100
DEMO_GPU_SECONDS = 60
"""ZeroGPU time asked for the Demo request (model on the GPU, one example)."""

DemoRequest = Callable[[], str]
"""Runs one Demo request; returns its matrix cell, e.g. "OK (0.4 s)" or "FAIL: CUDA out of memory"."""


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= CELL_CHARS else text[: CELL_CHARS - 1] + "…"


def verdict_cells(report: Report | None) -> dict[str, str]:
    """gpu, torch, jax, tensorflow: "OK", or the status with its reason."""
    cells = dict.fromkeys(("gpu", "torch", "jax", "tensorflow"), "not checked")
    for verdict in report.verdicts if report else ():
        if verdict.component in cells:
            status = str(verdict.status)
            cells[verdict.component] = status if status == "OK" else _short(f"{status}: {verdict.reason}")
    return cells


def demo_request(predictor, problem: str | None, gpu=None) -> DemoRequest:
    """The Demo request a step makes; `problem` is why there is no predictor (the model failed to load)."""
    if predictor is None:
        return lambda: _short(f"FAIL: the model did not load: {problem or 'unknown reason'}")

    def run() -> object:
        spec = predictor.model.spec
        prepared = predictor.prepare(list(spec.examples[0]))
        if spec.streaming:
            return list(predictor.stream(prepared))[-1]
        return predictor.predict_batch([prepared])[0]

    call = gpu(run, lambda: DEMO_GPU_SECONDS) if gpu is not None else run

    def request() -> str:
        started = time.monotonic()
        try:
            answer = call()
        except Exception as error:
            log.warning("sweep: the Demo request failed", exc_info=True)
            return _short(f"FAIL: {type(error).__name__}: {error}")
        message = getattr(answer, "message", None)  # models.predictor.Failed
        if message is not None:
            return _short(f"FAIL: {message}")
        return f"OK ({time.monotonic() - started:.1f} s)"

    return request


@dataclass(frozen=True)
class StepChecks:
    diagnostics: LatestReport
    demo: DemoRequest
    secrets: tuple[str | None, ...] = ()

    def run(self, started_after_s: float | None) -> StepResult:
        answer = self.diagnostics.refresh(smoke=True)
        if answer.report is None or not answer.report.smoke:
            # The start-up run without the smoke test was under way: wait for the interval, then ours.
            log.info("sweep: %s", answer.note)
            time.sleep(max(1.0, self.diagnostics.limits.min_interval_s))
            answer = self.diagnostics.refresh(smoke=True)
        cells = {k: redact_text(v, list(self.secrets)) for k, v in verdict_cells(answer.report).items()}
        demo = redact_text(self.demo(), list(self.secrets))
        return StepResult(**cells, demo=demo, started_after_s=started_after_s)
