"""Where the model runs: device and dtype chosen from what torch sees and what the owner asked for."""

from __future__ import annotations

from dataclasses import dataclass


class DeviceError(RuntimeError):
    """The requested device cannot be used; the message names the variable to change."""


@dataclass(frozen=True)
class DevicePlan:
    device: str
    """torch device string, e.g. "cuda:0" or "cpu"."""
    dtype: str
    """torch dtype name, e.g. "bfloat16", "float16" or "float32"."""
    device_name: str
    """What a visitor reads, e.g. "NVIDIA A10G" or "CPU (2 cores)"."""
    reason: str
    """Why this device and dtype, e.g. "DEVICE=auto and torch sees CUDA"."""

    @property
    def is_cuda(self) -> bool:
        return self.device.startswith("cuda")


def plan_device(
    requested: str,
    half_precision: bool,
    cuda_available: bool,
    bf16_supported: bool,
    gpu_name: str | None,
    cpu_count: int,
) -> DevicePlan:
    """Pure choice of device and dtype; `detect_device` feeds it what torch reports."""
    if requested == "cuda" and not cuda_available:
        raise DeviceError(
            "DEVICE=cuda but torch sees no CUDA GPU. Upgrade the Space's hardware to a GPU, "
            "or set DEVICE=auto to fall back to the CPU (the Diagnostics tab says why CUDA is missing)."
        )
    if requested == "cpu" or not cuda_available:
        why = "DEVICE=cpu" if requested == "cpu" else "torch sees no CUDA GPU"
        return DevicePlan("cpu", "float32", f"CPU ({cpu_count} cores)", f"{why}; float32 on the CPU")
    name = gpu_name or "CUDA GPU"
    if not half_precision:
        return DevicePlan("cuda:0", "float32", name, "HALF_PRECISION=false keeps float32")
    if bf16_supported:
        return DevicePlan("cuda:0", "bfloat16", name, "the GPU supports bfloat16")
    return DevicePlan("cuda:0", "float16", name, "the GPU lacks bfloat16, so float16")


def detect_device(requested: str, half_precision: bool) -> DevicePlan:
    """Ask torch what it sees, then `plan_device`."""
    import os

    import torch

    cuda = torch.cuda.is_available()
    return plan_device(
        requested=requested,
        half_precision=half_precision,
        cuda_available=cuda,
        bf16_supported=cuda and torch.cuda.is_bf16_supported(),
        gpu_name=torch.cuda.get_device_name(0) if cuda else None,
        cpu_count=os.cpu_count() or 1,
    )
