"""The CUDA stack requirements.txt pins, and what each wheel supports: one table the verdicts read.

Verdicts decide from this table, not from the version that happens to be installed: whether pinning
the stack's wheel would fix a GPU, which other build would, and how old a driver may be. A test
checks every pin here against requirements.txt and, where installed, against the wheels' metadata.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Build:
    """One installable build of a framework."""

    label: str
    """e.g. "torch 2.10.0 from PyPI (CUDA 12.8)"."""
    requirement: str
    """The requirements.txt line, e.g. "torch==2.10.0"."""
    how: str
    """How to get this build into a Space, e.g. "`torch==2.10.0` in requirements.txt"."""
    cuda: tuple[int, int]
    """CUDA it was built with, e.g. (12, 8)."""
    archs: tuple[str, ...]
    """Compiled-for GPU architectures; compute_XY means PTX that the driver JIT-compiles for newer GPUs."""
    cudnn: str | None = None
    """cuDNN it needs, e.g. "9.10.2" (pinned exactly) or ">=9.8,<10"."""

    @property
    def version(self) -> str:
        """The pinned version, e.g. "2.10.0" for "torch==2.10.0"."""
        return self.requirement.split("==", 1)[1]

    @property
    def cuda_text(self) -> str:
        return f"{self.cuda[0]}.{self.cuda[1]}"

    @property
    def arch_text(self) -> str:
        """e.g. "sm_70–sm_120"."""
        return f"{self.archs[0]}–{self.archs[-1]}" if len(self.archs) > 1 else self.archs[0]


@dataclass(frozen=True)
class FrameworkStack:
    name: str
    """Probe and component name, e.g. "torch"."""
    title: str
    """e.g. "PyTorch"."""
    pinned: Build
    """What requirements.txt installs."""
    others: tuple[Build, ...] = ()
    """Other official builds a verdict may point to (older CUDA, older GPUs), newest first."""

    @property
    def requirement(self) -> str:
        return self.pinned.requirement


MIN_DRIVER = {11: "450.80.02", 12: "525.60.13", 13: "580.65.06"}
"""Oldest Linux driver for each CUDA major (minor-version compatibility), from NVIDIA's CUDA release notes."""
FULL_DRIVER = {(12, 5): "555.42.02", (12, 6): "560.28.03", (12, 8): "570.26", (13, 0): "580.65.06"}
"""Driver a CUDA release ships with; older drivers of the same major run it without PTX JIT of newer code."""

NVML_REQUIREMENT = "nvidia-ml-py==13.615.71"

STACK: dict[str, FrameworkStack] = {
    "torch": FrameworkStack(
        "torch",
        "PyTorch",
        Build(
            "torch 2.10.0 from PyPI (CUDA 12.8)",
            "torch==2.10.0",
            "`torch==2.10.0` in requirements.txt",
            (12, 8),
            ("sm_70", "sm_75", "sm_80", "sm_86", "sm_90", "sm_100", "sm_120"),
            "9.10.2",
        ),
        (
            Build(
                "torch 2.10.0 from PyTorch's CUDA 12.6 index",
                "torch==2.10.0",
                "`--extra-index-url https://download.pytorch.org/whl/cu126` above `torch==2.10.0` in requirements.txt",
                (12, 6),
                ("sm_50", "sm_60", "sm_70", "sm_75", "sm_80", "sm_86", "sm_90"),
                "9.10.2",
            ),
            Build(
                "torch 2.7.1 from PyTorch's CUDA 11.8 index",
                "torch==2.7.1",
                "`--extra-index-url https://download.pytorch.org/whl/cu118` and `torch==2.7.1` in requirements.txt",
                (11, 8),
                ("sm_50", "sm_60", "sm_70", "sm_75", "sm_80", "sm_86", "sm_90"),
                "9.1.0",
            ),
        ),
    ),
    "jax": FrameworkStack(
        "jax",
        "JAX",
        # XLA compiles every kernel for the GPU it finds, with the ptxas of nvidia-cuda-nvcc-cu12;
        # JAX documents SM 5.2 as the oldest it supports.
        Build(
            "jax 0.10.2 with the CUDA 12 plugin",
            "jax[cuda12]==0.10.2",
            "`jax[cuda12]==0.10.2` in requirements.txt",
            (12, 8),
            ("sm_52", "sm_60", "sm_70", "sm_80", "sm_90", "sm_100", "sm_120"),
            ">=9.8,<10",
        ),
    ),
    "tensorflow": FrameworkStack(
        "tensorflow",
        "TensorFlow",
        Build(
            "tensorflow 2.20.0 with its CUDA 12 libraries",
            "tensorflow[and-cuda]==2.20.0",
            "`tensorflow[and-cuda]==2.20.0` in requirements.txt",
            (12, 5),
            ("sm_60", "sm_70", "sm_80", "sm_89", "compute_90"),
            ">=9.3",
        ),
    ),
}

_ARCH = re.compile(r"(sm|compute)_(\d+)(\d)([af]?)")


def parse_arch(arch: str) -> tuple[str, tuple[int, int], str] | None:
    """ "sm_86" -> ("sm", (8, 6), ""), "compute_90" -> ("compute", (9, 0), ""), "sm_90a" -> ("sm", (9, 0), "a")."""
    match = _ARCH.fullmatch(arch)
    if not match:
        return None
    return match.group(1), (int(match.group(2)), int(match.group(3))), match.group(4)


def runs_natively(archs: tuple[str, ...] | list[str], cc: tuple[int, int]) -> bool:
    """Whether a cubin in `archs` runs on compute capability `cc`: same major, equal or lower minor;
    "a"/"f"-suffixed code runs only on its own GPU."""
    for arch in archs:
        parsed = parse_arch(arch)
        if parsed and parsed[0] == "sm":
            _, (major, minor), suffix = parsed
            if (major, minor) == cc or (not suffix and major == cc[0] and minor <= cc[1]):
                return True
    return False


def runs_by_ptx(archs: tuple[str, ...] | list[str], cc: tuple[int, int]) -> bool:
    """Whether PTX in `archs` (compute_XY at or below `cc`) lets the driver JIT-compile for `cc`."""
    return any((p := parse_arch(a)) and p[0] == "compute" and not p[2] and p[1] <= cc for a in archs)


def arch_supports(archs: tuple[str, ...] | list[str], cc: tuple[int, int]) -> bool:
    """Whether code built for `archs` runs on a GPU of compute capability `cc`, natively or through PTX JIT."""
    return runs_natively(archs, cc) or runs_by_ptx(archs, cc)


def oldest_arch(archs: tuple[str, ...] | list[str]) -> tuple[int, int] | None:
    parsed = [p[1] for a in archs if (p := parse_arch(a))]
    return min(parsed) if parsed else None


def build_for(name: str, cc: tuple[int, int]) -> Build | None:
    """The newest listed build of framework `name` that runs on `cc` natively, pinned build first."""
    stack = STACK[name]
    return next((b for b in (stack.pinned, *stack.others) if runs_natively(b.archs, cc)), None)


def build_for_driver(name: str, driver_cuda: tuple[int, int]) -> Build | None:
    """The newest listed build of `name` whose CUDA major the driver runs (minor-version compatibility)."""
    stack = STACK[name]
    return next((b for b in (stack.pinned, *stack.others) if b.cuda[0] <= driver_cuda[0]), None)


def requirement_lines() -> list[str]:
    """Every requirements.txt line this table describes."""
    return [s.requirement for s in STACK.values()] + [NVML_REQUIREMENT]
