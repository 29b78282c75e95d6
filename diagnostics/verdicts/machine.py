"""The facts model: how to read each framework (VIEWS), the machine every verdict shares, one component's subject."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from diagnostics.facts import (
    DriverInfo,
    FrameworkInfo,
    HostInfo,
    JaxInfo,
    NvmlGpu,
    NvmlInfo,
    ProbeRun,
    TensorFlowInfo,
    TorchInfo,
    WheelsInfo,
)
from diagnostics.registry import TITLES
from diagnostics.stack import (
    STACK,
)

# --- What the verdicts read -------------------------------------------------------------------------------


def sm_name(cc: tuple[int, int]) -> str:
    return f"sm_{cc[0]}{cc[1]}"


def cuda_text(version: tuple[int, int] | None) -> str:
    return f"{version[0]}.{version[1]}" if version else "?"


def version_tuple(text: str | None) -> tuple[int, int] | None:
    """ "12.5.1" -> (12, 5)."""
    match = re.match(r"(\d+)\.(\d+)", text or "")
    return (int(match.group(1)), int(match.group(2))) if match else None


def cudnn_text(version: int) -> str:
    """91002 -> "9.10.2" (cuDNN 9 encodes major*10000), 8902 -> "8.9.2"."""
    major, rest = divmod(version, 10000) if version >= 10000 else divmod(version, 1000)
    return f"{major}.{rest // 100}.{rest % 100}"


def cudnn_words(text: str) -> str:
    """A cuDNN version as the frameworks print it -> "major.minor.patch": "8600" / "(8, 3, 2)" / "9.10.1"."""
    text = text.strip("()., ")
    if "," in text:
        return ".".join(part.strip() for part in text.split(","))
    if text.isdigit():
        return cudnn_text(int(text))
    return text


@dataclass(frozen=True)
class View:
    """How to read one framework's facts: the per-framework part of every shared rule."""

    sees_gpu: Callable[[Any], bool]
    built_cuda: Callable[[Any], tuple[int, int] | None]
    """CUDA of the installed build, e.g. (12, 8); None when unknown or a CPU build."""
    archs: Callable[[Any], list[str]]
    """Architectures of the installed build, from the build itself; [] when it does not say."""
    is_cuda_build: Callable[[Any], bool | None]
    """False for a CPU-only build, None when the facts cannot tell."""
    devices: Callable[[Any], list[str]]
    """What it sees, e.g. ["NVIDIA A10G (sm_86)"]."""
    details: Callable[[Any], str]
    """The rest of an OK reason after the devices, e.g. ", CUDA 12.8, cuDNN 9.10.2" or " via jax-cuda12-plugin"."""


def _torch_built(info: TorchInfo) -> tuple[int, int] | None:
    return version_tuple(info.cuda_built)


def _jax_plugins(info: JaxInfo) -> list[str]:
    return [p["name"] for p in info.cuda_plugins if p["name"].endswith("-plugin")]


def _jax_built(info: JaxInfo) -> tuple[int, int] | None:
    """The CUDA the installed plugin was built for. Only the pinned release's minor is known; for any other
    release only its major is (the plugin's name), so no rule compares against a minor it cannot know."""
    plugins = [p for p in info.cuda_plugins if p["name"].endswith("-plugin")]
    majors = [int(m) for p in plugins for m in re.findall(r"cuda(\d+)", p["name"])]
    if majors:
        pinned = STACK["jax"].pinned
        same_release = all(p.get("version") == pinned.version for p in plugins)
        return pinned.cuda if max(majors) == pinned.cuda[0] and same_release else (max(majors), 0)
    match = re.search(r"\+cuda(\d+)", info.jaxlib_version or "")
    return (int(match.group(1)), 0) if match else None


def _jax_cuda_build(info: JaxInfo) -> bool | None:
    """A CUDA plugin, a "+cuda" jaxlib, or a message showing CUDA code at work (conda-forge builds CUDA in)."""
    if _jax_plugins(info) or "+cuda" in (info.jaxlib_version or "") or info.on_gpu:
        return True
    if any("CUDA-enabled jaxlib is not installed" in m for m in info.messages):
        return False
    return bool(any(re.search(r"CUDA backend failed|cuda_dnn|cuInit|CuDNN|cuDNN", m) for m in texts_of(info)))


def _tf_archs(info: TensorFlowInfo) -> list[str]:
    return list(info.build_info.get("cuda_compute_capabilities") or [])


VIEWS: dict[str, View] = {
    "torch": View(
        sees_gpu=lambda i: i.cuda_available,
        built_cuda=_torch_built,
        archs=lambda i: list(i.arch_list),
        is_cuda_build=lambda i: bool(i.cuda_built) and not i.hip_built,
        devices=lambda i: sorted({f"{d.name} ({sm_name(tuple(d.capability))})" for d in i.devices}),
        details=lambda i: (
            f", CUDA {i.cuda_built}" + (f", cuDNN {cudnn_text(i.cudnn_version)}" if i.cudnn_version else "")
        ),
    ),
    "jax": View(
        sees_gpu=lambda i: i.on_gpu,
        built_cuda=_jax_built,
        archs=lambda i: [],
        is_cuda_build=_jax_cuda_build,
        devices=lambda i: sorted(
            {f"{d.device_kind} ({d.compute_capability})" for d in i.devices if d.platform in {"gpu", "cuda"}}
        ),
        details=lambda i: " via " + (", ".join(_jax_plugins(i)) or f"jaxlib {i.jaxlib_version}"),
    ),
    "tensorflow": View(
        sees_gpu=lambda i: bool(i.gpus),
        built_cuda=lambda i: version_tuple(i.build_info.get("cuda_version")),
        archs=_tf_archs,
        is_cuda_build=lambda i: bool(i.build_info.get("is_cuda_build")) if i.build_info else None,
        devices=lambda i: sorted({g.device_name or g.name for g in i.gpus}),
        details=lambda i: f", built for CUDA {i.build_info.get('cuda_version')}",
    ),
}


def texts_of(info: FrameworkInfo | None) -> list[str]:
    """Everything the framework said, verbatim: warnings, C++ log lines, import and backend errors."""
    if info is None:
        return []
    texts = [*info.messages, *info.log_lines]
    if info.import_error:
        texts.append(info.import_error)
    backend_error = getattr(info, "backend_error", None)
    if backend_error:
        texts.append(backend_error)
    if info.smoke and info.smoke.error:
        texts.append(info.smoke.error)
    return texts


def _hardware(host: HostInfo | None) -> tuple[str, bool, bool]:
    if host is None:
        return "this machine", False, False
    space = host.space
    if space.accelerator:
        return space.accelerator, space.on_spaces, space.zero_gpu
    if space.on_spaces:
        # Spaces set ACCELERATOR=none on both CPU flavors; their core count tells them apart.
        return {"2": "cpu-basic", "8": "cpu-upgrade"}.get(space.cpu_cores or "", "CPU hardware"), True, space.zero_gpu
    return "this machine", False, space.zero_gpu


@dataclass(frozen=True)
class Machine:
    """Everything the probes found, shared by every component's verdict."""

    host: HostInfo | None
    nvml: NvmlInfo | None
    wheels: WheelsInfo | None
    frameworks: Mapping[str, FrameworkInfo | None]
    runs: Mapping[str, ProbeRun]
    driver: DriverInfo | None = None
    """The layers below the frameworks; None (or None fields) where not known."""

    @property
    def hardware(self) -> str:
        return _hardware(self.host)[0]

    @property
    def on_spaces(self) -> bool:
        return _hardware(self.host)[1]

    @property
    def zero_gpu(self) -> bool:
        return _hardware(self.host)[2]

    @property
    def env(self) -> dict[str, str]:
        return dict(self.host.environment) if self.host else {}

    @property
    def gpus(self) -> list[NvmlGpu]:
        """The GPUs NVML can read."""
        return [g for g in self.nvml.gpus if not g.handle_error] if self.nvml else []

    @property
    def lost_gpus(self) -> list[NvmlGpu]:
        """GPUs NVML counts but cannot read, e.g. one fallen off the bus ("Unknown Error")."""
        return [g for g in self.nvml.gpus if g.handle_error] if self.nvml else []

    @property
    def context(self) -> str:
        """ "space", "container", "wsl" or "machine": whose action a fix names."""
        if self.on_spaces:
            return "space"
        ctx = self.driver.context if self.driver else None
        if ctx:
            return ctx.kind
        # Reports without the driver probe: the kernel string and the container runtime's variables still tell.
        if "microsoft" in ((self.host.kernel or "") if self.host else "").lower():
            return "wsl"
        return "container" if "NVIDIA_VISIBLE_DEVICES" in self.env else "machine"

    @property
    def nvidia_driver_capabilities(self) -> str | None:
        ctx = self.driver.context if self.driver else None
        return ctx.nvidia_driver_capabilities if ctx else self.env.get("NVIDIA_DRIVER_CAPABILITIES")

    @property
    def driver_cuda(self) -> tuple[int, int] | None:
        return self.nvml.driver_cuda if self.nvml else None

    @property
    def cuda_visible_devices(self) -> str | None:
        if self.nvml and self.nvml.cuda_visible_devices is not None:
            return self.nvml.cuda_visible_devices
        return self.env.get("CUDA_VISIBLE_DEVICES")

    @property
    def sees_gpu(self) -> bool:
        return any(info is not None and VIEWS[name].sees_gpu(info) for name, info in self.frameworks.items())

    @property
    def gpu_present(self) -> bool:
        """A driver reports GPUs, /dev/nvidia* exists, or some framework sees a GPU."""
        nodes = self.driver.device_nodes if self.driver else None
        return bool(self.gpus) or bool(self.nvml and self.nvml.dev_nvidia) or bool(nodes) or self.sees_gpu

    @property
    def mixed_wheels(self) -> bool:
        return bool(self.wheels and {"cu12", "cu13"} <= set(self.wheels.cuda_lines))

    @property
    def host_fix(self) -> str:
        if self.on_spaces:
            return (
                "nothing in requirements.txt fixes this: restart the Space (Settings → Factory rebuild), "
                "and if it persists request other hardware (Admin tab)"
            )
        return "fix the host, not the Python packages: reboot it or move to another machine"


@dataclass(frozen=True)
class Subject:
    """What one component's rules look at."""

    component: str
    run: ProbeRun | None
    info: Any
    machine: Machine
    texts: tuple[str, ...]
    """The framework's own words (for the GPU row: every framework's)."""

    @property
    def view(self) -> View | None:
        return VIEWS.get(self.component)

    @property
    def stack(self):
        return STACK.get(self.component)

    @property
    def title(self) -> str:
        return self.stack.title if self.stack else TITLES[self.component]

    @property
    def label(self) -> str:
        """e.g. "torch 2.10.0+cu128"."""
        version = getattr(self.info, "version", None)
        return f"{self.component} {version}" if version else self.title

    @property
    def ccs(self) -> list[tuple[int, int]]:
        """Compute capabilities of the GPUs: from the framework's own devices, else from NVML."""
        info = self.info
        found: list[tuple[int, int]] = []
        if isinstance(info, TorchInfo):
            found = [tuple(d.capability) for d in info.devices if d.capability]
        elif isinstance(info, TensorFlowInfo):
            found = [tuple(g.compute_capability) for g in info.gpus if g.compute_capability]
        return found or [g.cc for g in self.machine.gpus if g.cc]
