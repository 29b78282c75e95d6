"""ZeroGPU support: on ZeroGPU hardware inference must run inside `spaces.GPU`, elsewhere unwrapped."""

from __future__ import annotations

from collections.abc import Callable

GPU_SECONDS_PER_CALL = 60


def gpu_decorator(zero_gpu: bool) -> Callable[[Callable], Callable]:
    """`spaces.GPU` on ZeroGPU, the identity elsewhere. Call before anything imports torch:
    `spaces` must patch CUDA first."""
    if not zero_gpu:
        return lambda fn: fn
    import spaces

    return spaces.GPU(duration=GPU_SECONDS_PER_CALL)
