"""torch: the CUDA it was built with, the cuDNN it loads, the GPUs it sees and the archs it was compiled for."""

from __future__ import annotations

import os

from diagnostics.probes import matmul
from diagnostics.probes.common import captured_messages, error_text, import_framework

_ALLOCATOR_ENV = (
    "PYTORCH_CUDA_ALLOC_CONF",
    "PYTORCH_ALLOC_CONF",
    "PYTORCH_NO_CUDA_MEMORY_CACHING",
    "CUDA_LAUNCH_BLOCKING",
)


def _arch_list(torch) -> list[str]:
    # get_arch_list() answers [] whenever CUDA is unavailable, exactly when the list explains why.
    if torch.cuda.is_available():
        return list(torch.cuda.get_arch_list())
    flags = getattr(torch._C, "_cuda_getArchFlags", lambda: None)()
    return flags.split() if flags else []


def _device(torch, index: int) -> dict:
    props = torch.cuda.get_device_properties(index)
    try:
        free, total = torch.cuda.mem_get_info(index)
    except RuntimeError:
        free, total = None, props.total_memory
    return {
        "index": index,
        "name": props.name,
        "capability": [props.major, props.minor],
        "memory_total_bytes": total,
        "memory_free_bytes": free,
        "multi_processor_count": props.multi_processor_count,
    }


def _smoke(torch, on_gpu: bool) -> dict:
    device = "cuda:0" if on_gpu else "cpu"
    try:
        a, b, expected = matmul.reference()
        result = (torch.from_numpy(a).to(device) @ torch.from_numpy(b).to(device)).cpu().numpy()
        n = matmul.TIMING_N["gpu" if on_gpu else "cpu"]
        x, y = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
        wait = (lambda _: torch.cuda.synchronize()) if on_gpu else (lambda _: None)
        seconds = matmul.seconds_per_run(lambda: x @ y, wait)
        name = torch.cuda.get_device_name(0) if on_gpu else None
        return matmul.outcome(
            device=device,
            device_name=name,
            on_gpu=on_gpu,
            error=matmul.relative_error(result, expected),
            n=n,
            seconds=seconds,
        )
    except Exception as error:  # noqa: BLE001 - the failure is the finding
        return matmul.failed(device, error_text(error))


def probe(smoke: bool) -> dict:
    with captured_messages(("torch",)) as messages:
        torch, facts = import_framework("torch")
        if torch is None:
            return facts
        cudnn = None
        try:
            cudnn = torch.backends.cudnn.version()
        except Exception as error:  # noqa: BLE001
            messages.append(f"cudnn.version(): {error_text(error)}")
        available = torch.cuda.is_available()
        facts |= {
            "cuda_built": torch.version.cuda,
            "hip_built": getattr(torch.version, "hip", None),
            "cudnn_version": cudnn,
            "cuda_available": available,
            "device_count": torch.cuda.device_count() if available else 0,
            "arch_list": _arch_list(torch),
            "devices": [_device(torch, i) for i in range(torch.cuda.device_count())] if available else [],
            "allocator_env": {name: os.environ[name] for name in _ALLOCATOR_ENV if name in os.environ},
            "smoke": _smoke(torch, available) if smoke else None,
        }
    facts["messages"] = messages
    return facts
