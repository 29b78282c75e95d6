"""Reading evidence: searching a framework's own words, quoting them, whether a framework is failing."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from diagnostics.facts import (
    FrameworkInfo,
    log_message,
)
from diagnostics.registry import FRAMEWORKS
from diagnostics.verdicts.machine import Machine, Subject, cuda_text
from diagnostics.verdicts.model import QUOTE_CHARS, Found

HARMLESS = re.compile(
    r"TF-TRT Warning|Unable to register (?:cuDNN|cuFFT|cuBLAS) factory|NUMA node|computation placer already registered"
    r"|older than the ptxas CUDA version|disabling parallel compilation|oneDNN custom operations are on"
)
"""Lines healthy machines print (TensorRT absent, plugin re-registration, NUMA, JAX's ptxas notice): never evidence."""
BROKEN_INSTALL = re.compile(
    r"cannot open shared object file|undefined symbol|No such file or directory|ImportError: .*\.so"
)
"""What says an installation itself is broken (a file or symbol missing), the one case where reinstalling helps."""


# --- Evidence helpers ---------------------------------------------------------------------------------------


def search_texts(subject: Subject, pattern: str, flags: int = 0) -> tuple[str, re.Match] | None:
    """The first of the framework's texts matching `pattern`, as (the line it is on, the match)."""
    regex = re.compile(pattern, flags)
    for text in subject.texts:
        match = regex.search(text)
        if match:
            start = text.rfind("\n", 0, match.start()) + 1
            end = text.find("\n", match.end())
            return text[start : end if end >= 0 else None].strip(), match
    return None


def quote_line(line: str) -> str:
    text = " ".join(log_message(line).split())
    return text if len(text) <= QUOTE_CHARS else text[: QUOTE_CHARS - 1] + "…"


def quoted_hit(subject: Subject, pattern: str, flags: int = 0, **values: Any) -> Found | None:
    hit = search_texts(subject, pattern, flags)
    if not hit:
        return None
    line, match = hit
    return Found((line,), {"quote": quote_line(line), "match": match, **values})


def is_healthy(subject: Subject) -> bool:
    """A framework that uses the GPU fine: environment rules then have nothing to explain for it."""
    return subject.component in FRAMEWORKS and not framework_failing(subject)


def framework_failing(subject: Subject) -> bool:
    """Installed, a GPU is there, and it does not use it (or its smoke test failed)."""
    info = subject.info
    if not isinstance(info, FrameworkInfo) or not info.installed:
        return False
    smoke_failed = bool(info.smoke and not info.smoke.passed)
    return bool(info.import_error) or smoke_failed or not subject.view.sees_gpu(info)


def nvml_line(machine: Machine) -> str:
    nvml = machine.nvml
    names = ", ".join(sorted({g.name for g in machine.gpus})) or "no GPU"
    return f"NVML: driver {nvml.driver_version}, CUDA ≤ {cuda_text(nvml.driver_cuda)}, {names}" if nvml else ""


_PRESCRIBED_PIN = re.compile(r"\b(?:pin|use|add|install)\s+`([A-Za-z0-9_.-]+)(?:\[([^\]]*)\])?==([^`\s]+)`")


def installed_versions(machine: Machine) -> dict[str, str]:
    """Distribution -> installed version without a CUDA local label ("2.10.0+cu128" -> "2.10.0"), from the
    wheels probe and the frameworks' own facts; a "+cpu" build keeps its label, it is another build."""
    found = dict(machine.wheels.frameworks) if machine.wheels else {}
    for name, info in machine.frameworks.items():
        if info is not None and not info.installed:
            found.pop(name, None)  # its import says it is absent, whatever metadata a broken install left
        elif info is not None and info.version:
            found[name] = info.version
            if name == "jax" and getattr(info, "jaxlib_version", None):
                found["jaxlib"] = info.jaxlib_version
            for plugin in getattr(info, "cuda_plugins", ()):
                found[plugin["name"]] = plugin.get("version") or ""
    return {k: re.sub(r"\+cu\d+$", "", v) for k, v in found.items() if v}


def prescribes_installed(fix: str, machine: Machine) -> bool:
    """Whether `fix` tells the owner to pin exactly what is installed already (a no-op)."""
    installed = installed_versions(machine)
    for name, extras, version in _PRESCRIBED_PIN.findall(fix):
        parts = [name]
        if name == "jax" and extras:
            parts += ["jaxlib", *(f"jax-{e.strip()}-plugin" for e in extras.split(",") if e.strip().startswith("cuda"))]
        if name == "tensorflow" and "and-cuda" in extras and not pip_libraries_for("tensorflow", machine):
            continue  # wheel metadata cannot tell whether the extra's libraries are there; the library probe can
        if all(installed.get(part) == version for part in parts):
            return True
    return False


def pip_libraries_for(framework: str, machine: Machine) -> list[str]:
    """CUDA libraries the framework needs that a pip nvidia-* wheel provides here, e.g. ["libcudnn.so.9"]."""
    libraries = machine.driver.libraries if machine.driver and machine.driver.libraries else []
    return [
        lib.name for lib in libraries if framework in lib.needed_by and any(c.source == "pip" for c in lib.candidates)
    ]


_CUDA_LIBRARIES = {
    # name as frameworks write it -> (pip wheel without its CUDA line, directory under site-packages)
    "cudnn": ("nvidia-cudnn", "nvidia/cudnn/lib"),
    "cublas": ("nvidia-cublas", "nvidia/cublas/lib"),
    "cusparse": ("nvidia-cusparse", "nvidia/cusparse/lib"),
    "cusolver": ("nvidia-cusolver", "nvidia/cusolver/lib"),
    "cufft": ("nvidia-cufft", "nvidia/cufft/lib"),
    "curand": ("nvidia-curand", "nvidia/curand/lib"),
    "nvrtc": ("nvidia-cuda-nvrtc", "nvidia/cuda_nvrtc/lib"),
    "cudart": ("nvidia-cuda-runtime", "nvidia/cuda_runtime/lib"),
    "nvjitlink": ("nvidia-nvjitlink", "nvidia/nvjitlink/lib"),
    "nccl": ("nvidia-nccl", "nvidia/nccl/lib"),
    "cupti": ("nvidia-cuda-cupti", "nvidia/cuda_cupti/lib"),
}
_LIBRARY_NAMED = re.compile(r"\b(?:lib)?(" + "|".join(_CUDA_LIBRARIES) + r")", re.IGNORECASE)


@dataclass(frozen=True)
class CudaLibrary:
    """A CUDA library a framework's message names, and the pip wheel that ships it."""

    name: str
    """As the message writes it, e.g. "cuSPARSE" or "libnvrtc"."""
    wheel: str
    """e.g. "nvidia-cusparse-cu12": the installed wheel's name, else the one for the framework's CUDA line."""
    directory: str
    """Where that wheel puts it under site-packages, e.g. "nvidia/cusparse/lib"."""


def named_library(line: str, machine: Machine, cuda_major: int) -> CudaLibrary | None:
    """The CUDA library `line` names (cuSPARSE, libnvrtc.so…), with its wheel; None when it names none."""
    match = _LIBRARY_NAMED.search(line)
    if not match:
        return None
    stem, directory = _CUDA_LIBRARIES[match.group(1).lower()]
    installed = [w.name for w in (machine.wheels.nvidia if machine.wheels else []) if w.name.startswith(stem + "-cu")]
    return CudaLibrary(match.group(0), installed[0] if installed else f"{stem}-cu{cuda_major}", directory)
