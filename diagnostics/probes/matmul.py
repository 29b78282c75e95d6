"""The smoke test every framework runs alike: a matmul checked against numpy, then timed."""

from __future__ import annotations

import time
from collections.abc import Callable

CHECK_N = 256
"""Size of the matmul compared with numpy (float64 reference)."""
TIMING_N = {"gpu": 8192, "cpu": 1024}
"""Size of the timed matmul: big enough to keep a GPU busy, small enough for a 2-vCPU Space."""
TOLERANCE = 1e-2
"""Relative (Frobenius) error allowed; TF32, which TensorFlow and JAX use on Ampere+, stays near 1e-3."""
MIN_SECONDS = 0.3


def reference():
    """Inputs (float32) and their product computed by numpy in float64."""
    import numpy as np

    rng = np.random.default_rng(0)
    a = rng.standard_normal((CHECK_N, CHECK_N), dtype=np.float32)
    b = rng.standard_normal((CHECK_N, CHECK_N), dtype=np.float32)
    return a, b, a.astype(np.float64) @ b.astype(np.float64)


def relative_error(result, expected) -> float:
    import numpy as np

    return float(np.linalg.norm(np.asarray(result, dtype=np.float64) - expected) / np.linalg.norm(expected))


def seconds_per_run(run: Callable[[], object], wait: Callable[[object], object]) -> float:
    """Mean wall time of `run()` once compiled and warm; `wait` blocks until its result is computed."""
    wait(run())
    runs, started = 0, time.perf_counter()
    while True:
        wait(run())
        runs += 1
        elapsed = time.perf_counter() - started
        if elapsed >= MIN_SECONDS and runs >= 3:
            return elapsed / runs


def outcome(*, device: str, device_name: str | None, on_gpu: bool, error: float, n: int, seconds: float) -> dict:
    return {
        "device": device,
        "device_name": device_name,
        "on_cpu": not on_gpu,
        "dtype": "float32",
        "check_n": CHECK_N,
        "relative_error": error,
        "passed": error <= TOLERANCE,
        "n": n,
        "seconds": seconds,
        "tflops": 2 * n**3 / seconds / 1e12,
        "error": None,
    }


def failed(device: str, message: str) -> dict:
    return {"device": device, "on_cpu": device.startswith("cpu"), "passed": False, "error": message}
