"""Where the model runs: device and dtype chosen from what torch sees and what the owner asked for."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


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


FIT_FRACTION = 0.8
"""Share of a GPU's memory the weights may take; the rest is activations, the CUDA context and cuBLAS."""
GIB = 1024**3


@dataclass(frozen=True)
class Gpu:
    index: int
    name: str
    """e.g. "NVIDIA L4"."""
    total_bytes: int


@dataclass(frozen=True)
class Placement:
    mode: str
    """"one" (one device), "replicate" (a copy per GPU in `devices`) or "shard" (device_map="auto")."""
    devices: tuple[str, ...]
    """torch devices, e.g. ("cuda:0", "cuda:1"); for "shard", the GPUs the map may use."""
    reason: str


def _size(count: int) -> str:
    return f"{count / GIB:.1f} GiB" if count >= GIB else f"{count / 1024**2:.0f} MiB"


def plan_placement(model_bytes: int | None, gpus: Sequence[Gpu], fit_fraction: float = FIT_FRACTION) -> Placement:
    """Where the model goes: the first row of the table below that matches wins."""
    fits = [g for g in gpus if model_bytes is not None and model_bytes <= fit_fraction * g.total_bytes]
    size = _size(model_bytes) if model_bytes is not None else "of unknown size"
    everything = tuple(f"cuda:{g.index}" for g in gpus)
    total = sum(g.total_bytes for g in gpus)
    largest = max((g.total_bytes for g in gpus), default=0)
    rows = (
        (not gpus, "one", ("cpu",), "no GPU"),
        (model_bytes is None, "one", ("cuda:0",),
         "the model's size is unknown (no safetensors metadata), so one copy on the first GPU"),
        (len(gpus) == 1 and bool(fits), "one", ("cuda:0",), f"the model ({size}) fits the GPU"),
        (len(fits) > 1, "replicate", tuple(f"cuda:{g.index}" for g in fits),
         f"the model ({size}) fits one GPU: a copy on each of {len(fits)} GPUs, batches to the least busy"),
        (len(fits) == 1, "one", (f"cuda:{fits[0].index}" if fits else "cuda:0",),
         f"the model ({size}) fits only one of the GPUs"),
        (model_bytes is not None and model_bytes <= fit_fraction * total, "shard", everything,
         f"the model ({size}) is larger than {fit_fraction:.0%} of one GPU ({largest / GIB:.0f} GiB): "
         f"sharded over {len(gpus)} GPU(s) with device_map=\"auto\""),
        (True, "shard", everything,
         f"the model ({size}) is larger than {fit_fraction:.0%} of all GPUs together ({total / GIB:.0f} GiB): "
         "device_map=\"auto\" keeps what does not fit in CPU memory (slow)"),
    )
    return next(Placement(mode, devices, reason) for matches, mode, devices, reason in rows if matches)


def visible_gpus() -> list[Gpu]:
    """The CUDA GPUs torch sees (CUDA_VISIBLE_DEVICES applies), with their memory."""
    import torch

    if not torch.cuda.is_available():
        return []
    gpus = []
    for index in range(torch.cuda.device_count()):
        properties = torch.cuda.get_device_properties(index)
        gpus.append(Gpu(index, properties.name, properties.total_memory))
    return gpus


DTYPE_BYTES = {"float32": 4, "bfloat16": 2, "float16": 2}


def safetensors_parameters(path: Path) -> int:
    """Parameters stored in one .safetensors file, read from its header alone (the weights stay on disk)."""
    with path.open("rb") as file:
        header_length = int.from_bytes(file.read(8), "little")
        header = json.loads(file.read(header_length))
    return sum(math.prod(entry["shape"]) for name, entry in header.items() if name != "__metadata__")


def weights_bytes(location: str, dtype: str, token: str | None = None) -> int | None:
    """Memory the model's weights take in `dtype`; None when it cannot be told without loading them."""
    per_parameter = DTYPE_BYTES[dtype]
    folder = Path(location)
    if folder.is_dir():
        files = sorted(folder.glob("*.safetensors"))
        if files:
            return sum(safetensors_parameters(f) for f in files) * per_parameter
        # PyTorch pickles: assume float32 on disk, as most are.
        pickles = [f for pattern in ("*.bin", "*.pt", "*.pth") for f in folder.glob(pattern)]
        return sum(f.stat().st_size for f in pickles) * per_parameter // 4 if pickles else None
    from huggingface_hub import get_safetensors_metadata

    try:
        metadata = get_safetensors_metadata(location, token=token)
    except Exception:  # noqa: BLE001 - no safetensors, offline, gated: the caller keeps one copy on one GPU
        return None
    return sum(metadata.parameter_count.values()) * per_parameter
