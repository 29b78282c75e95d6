"""Torch on ZeroGPU, checked where the GPU is: inside a `spaces.GPU` call of the serving process.

On ZeroGPU a real GPU exists only inside `spaces.GPU` calls (outside them torch's CUDA is emulated),
so the probe subprocesses never see one. This check runs there instead, and costs GPU quota: it is
started only on request, and the whole Space makes at most one call per `min_interval_s`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

CHECK_SECONDS = 10
"""GPU seconds the check asks for: a fresh worker's start-up plus a 256x256 matmul."""
MIN_INTERVAL_S = 300.0
"""A result is shared with every visitor for this long before the next call may run."""
RETRY_AFTER_FAILURE_S = 30.0
"""After a refused or failed call, the next attempt waits this long (each visitor's own quota)."""
MATMUL_SIZE = 256
MATMUL_TOLERANCE = 1e-2
"""Largest |GPU - CPU| accepted on the float32 matmul (TF32 kernels stay well within it)."""


@dataclass(frozen=True)
class TorchInGpuCall:
    """What torch reports inside one ZeroGPU call. Returned from the GPU worker, so plain data only."""

    torch_version: str
    """e.g. "2.10.0+cu128"."""
    cuda_build: str | None
    """CUDA version torch was built with (torch.version.cuda), e.g. "12.8"; None for a CPU build."""
    cuda_available: bool
    device_name: str | None = None
    """e.g. "NVIDIA RTX PRO 6000 Blackwell Server Edition"."""
    capability: str | None = None
    """Compute capability, e.g. "12.0"."""
    arch_compiled: bool | None = None
    """Whether torch was compiled for this GPU's architecture (sm_120 on Blackwell)."""
    matmul_max_error: float | None = None
    """Largest |GPU - CPU| difference on a seeded float32 matmul."""
    problem: str | None = None
    """What went wrong inside the call, e.g. "CUDA error: no kernel image is available"."""
    seconds: float = 0.0
    """Time spent inside the call."""

    @property
    def ok(self) -> bool:
        return (
            self.cuda_available
            and self.problem is None
            and self.matmul_max_error is not None
            and self.matmul_max_error <= MATMUL_TOLERANCE
        )


def torch_in_gpu_call() -> TorchInGpuCall:
    """Runs inside `spaces.GPU`: device, capability and a matmul checked against the CPU."""
    import torch

    start = time.perf_counter()
    facts = {"torch_version": torch.__version__, "cuda_build": torch.version.cuda}
    if not torch.cuda.is_available():
        return TorchInGpuCall(cuda_available=False, seconds=time.perf_counter() - start, **facts)
    major, minor = torch.cuda.get_device_capability(0)
    facts |= {
        "cuda_available": True,
        "device_name": torch.cuda.get_device_name(0),
        "capability": f"{major}.{minor}",
        "arch_compiled": f"sm_{major}{minor}" in torch.cuda.get_arch_list(),
    }
    try:
        generator = torch.Generator().manual_seed(0)
        a = torch.randn(MATMUL_SIZE, MATMUL_SIZE, generator=generator)
        b = torch.randn(MATMUL_SIZE, MATMUL_SIZE, generator=generator)
        on_gpu = (a.cuda() @ b.cuda()).cpu()
        facts["matmul_max_error"] = float((on_gpu - a @ b).abs().max())
    except Exception as error:  # noqa: BLE001 - reported, not raised: the check exists to say what broke
        facts["problem"] = f"{type(error).__name__}: {error}"
    return TorchInGpuCall(seconds=time.perf_counter() - start, **facts)


@dataclass(frozen=True)
class CheckResult:
    torch: TorchInGpuCall
    checked_at: str
    """UTC time of the call, ISO 8601."""


class CheckRefused(RuntimeError):
    """The check did not run now (another attempt just failed); the message says when to retry."""


class ZeroGpuTorchCheck:
    """Runs `run_in_gpu_call` (torch_in_gpu_call wrapped in spaces.GPU) at most once per interval.

    A success is shared with every caller for `min_interval_s`; callers arriving during a call wait
    for it. A failure (a quota error, say) is raised to the caller whose call it was, and is not
    shown to others: they may try again, with their own quota, `retry_after_failure_s` later.
    """

    def __init__(
        self,
        run_in_gpu_call: Callable[[], TorchInGpuCall],
        min_interval_s: float = MIN_INTERVAL_S,
        retry_after_failure_s: float = RETRY_AFTER_FAILURE_S,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._run = run_in_gpu_call
        self._min_interval_s = min_interval_s
        self._retry_after_failure_s = retry_after_failure_s
        self._clock = clock
        self._lock = threading.Lock()
        self._last: tuple[float, CheckResult] | None = None
        self._failed_at: float | None = None
        self.calls = 0
        """GPU calls made so far."""

    def get(self) -> CheckResult:
        """The shared recent result, else a new GPU call under the caller's own request."""
        with self._lock:
            now = self._clock()
            if self._last is not None and now - self._last[0] < self._min_interval_s:
                return self._last[1]
            if self._failed_at is not None and now - self._failed_at < self._retry_after_failure_s:
                wait = self._retry_after_failure_s - (now - self._failed_at)
                ago = now - self._failed_at
                raise CheckRefused(f"A ZeroGPU check failed {ago:.0f} s ago: try again in {wait:.0f} s.")
            self.calls += 1
            try:
                torch_facts = self._run()
            except Exception:
                self._failed_at = self._clock()
                raise
            result = CheckResult(torch_facts, datetime.now(UTC).isoformat(timespec="seconds"))
            self._last, self._failed_at = (self._clock(), result), None
            return result


def to_markdown(result: CheckResult) -> str:
    """What the Diagnostics tab shows for one check."""
    t = result.torch
    if not t.cuda_available:
        verdict = "**torch sees no CUDA GPU even inside a ZeroGPU call.** Is the Space's hardware ZeroGPU?"
    elif t.problem:
        verdict = f"**torch sees the GPU but cannot compute on it:** `{t.problem}`"
    elif not t.ok:
        verdict = (
            f"**The GPU's matmul differs from the CPU's by {t.matmul_max_error:.3g}** (more than {MATMUL_TOLERANCE})."
        )
    else:
        verdict = "**torch computes on the ZeroGPU GPU.**"
    rows = [
        ("Device", t.device_name or "none"),
        ("Compute capability", t.capability or "n/a"),
        ("torch", t.torch_version),
        ("torch built for CUDA", t.cuda_build or "no (CPU build)"),
    ]
    if t.arch_compiled is not None:
        needs = f"no: needs sm_{t.capability.replace('.', '')}"
        rows.append(("torch compiled for this GPU", "yes" if t.arch_compiled else needs))
    if t.matmul_max_error is not None:
        rows.append((f"{MATMUL_SIZE}x{MATMUL_SIZE} matmul, max |GPU - CPU|", f"{t.matmul_max_error:.3g}"))
    rows.append(("Time inside the GPU call", f"{t.seconds:.2f} s"))
    table = "\n".join(f"| {name} | {value} |" for name, value in rows)
    shared = f"Checked at {result.checked_at}; every visitor sees this result for {MIN_INTERVAL_S / 60:.0f} min."
    return f"{verdict}\n\n| | |\n|---|---|\n{table}\n\n{shared}"
