"""ZeroGPU: a GPU exists only inside `spaces.GPU` calls, and each call is billed to one visitor.

`spaces` 0.51.3 (`spaces/zero/wrappers.py`) reads Gradio's request contextvar
(`gradio.context.LocalContext.request`) in the thread that calls the decorated function and sends
that request's `X-IP-Token` when it asks for a GPU, so the call runs on that visitor's quota; with
no request it falls back to IP-based quota. A call therefore has to run in the visitor's own
handler: a shared batch worker would bill every batch to whoever started the worker, and one
visitor's "ZeroGPU quota exceeded" would fail everyone in the batch.

The duration asked for is checked against the visitor's remaining quota before the call runs
(`requested vs. left`) and shorter requests get better queue priority, so each call asks for what
its own input needs instead of the package's default 60 s.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TypeVar

from models.inputs import Prepared
from models.registry import TaskSpec, get_task

Fn = TypeVar("Fn", bound=Callable)
GpuWrap = Callable[[Fn, Callable[..., int]], Fn]
"""`wrap(fn, seconds)`: fn running in a ZeroGPU call that asks for `seconds(*args)` seconds."""

# What one Demo call asks for. Generous on purpose: the package only warns when a call overruns
# ("might be aborted"), but a visitor pays only for the time actually used, not the time asked for.
BASE_SECONDS = 5.0
"""A fresh GPU worker forks and moves the weights onto the GPU before the first forward pass."""
CHARACTERS_PER_SECOND = 10_000.0
"""Characters of input the model reads per second, far below what a ZeroGPU slice encodes."""
NEW_TOKENS_PER_SECOND = 10.0
"""Generated tokens per second, one forward pass each."""
MAX_SECONDS = 120
"""Asking for more fails at once for visitors with little quota left, whatever the input."""


def _characters_read(spec: TaskSpec, prepared: Prepared) -> int:
    if spec.reads_text_per_label:
        text, labels = prepared.values
        return len(text) * len(labels) + sum(map(len, labels))
    return sum(len(v) if isinstance(v, str) else sum(map(len, v)) for v in prepared.values)


def gpu_seconds(task: str, batch: Sequence[Prepared], max_new_tokens: int) -> int:
    """Seconds of GPU to ask for to serve `batch`: sized to what the model reads and writes."""
    spec = get_task(task)
    seconds = BASE_SECONDS + sum(_characters_read(spec, p) for p in batch) / CHARACTERS_PER_SECOND
    if spec.streaming:  # generates: one forward pass per new token
        seconds += max_new_tokens / NEW_TOKENS_PER_SECOND
    return min(MAX_SECONDS, math.ceil(seconds))


def zero_gpu_wrap(zero_gpu: bool) -> GpuWrap | None:
    """`spaces.GPU` with a duration per call on ZeroGPU; None elsewhere, where `spaces` is never imported.

    Call before anything imports torch: `import spaces` patches torch's CUDA first.
    """
    if not zero_gpu:
        return None
    import spaces

    def wrap(fn: Fn, seconds: Callable[..., int]) -> Fn:
        return spaces.GPU(fn, duration=seconds)

    return wrap
