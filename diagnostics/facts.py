"""What each probe found, as typed dataclasses built from the probe's JSON (`diagnostics.registry.parse_probe`).

Each class keeps what it does not model in `extra`, so a newer probe never breaks an older reader,
and `asdict(fact)` round-trips through `from_json`.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeVar

T = TypeVar("T")


class ProbeOutcome(StrEnum):
    """How the probe process ended; compares equal to plain strings ("ok" == ProbeOutcome.OK)."""

    OK = "ok"
    TIMEOUT = "timeout"
    CRASHED = "crashed"
    """Killed by a signal (segfault) or exited non-zero."""
    BAD_OUTPUT = "bad_output"
    """Exited 0 without one JSON object on stdout."""


def _build(cls: type[T], data: Mapping[str, Any], **converted: Any) -> T:
    """`cls` from `data`: fields it names, `converted` overriding those that need parsing, the rest into `extra`."""
    names = {f.name for f in dataclasses.fields(cls)} - {"extra"}
    known = {k: v for k, v in data.items() if k in names}
    extra = {**data.get("extra", {}), **{k: v for k, v in data.items() if k not in names and k != "extra"}}
    return cls(**{**known, **converted}, extra=extra)


@dataclass
class ProbeRun:
    """One `python -m diagnostics.probe NAME` process, as the runner saw it."""

    name: str
    """Probe name, e.g. "torch"."""
    outcome: ProbeOutcome
    """e.g. ProbeOutcome.OK, "timeout", "crashed"."""
    seconds: float
    """Wall time of the process, e.g. 6.8."""
    returncode: int | None = None
    """Exit status; negative for a signal, e.g. -11 (SIGSEGV); None when killed on timeout."""
    error: str | None = None
    """Why there is no result, e.g. "timed out after 5 s" or "killed by SIGSEGV"."""
    stderr_tail: str = ""
    """Last lines of the probe's stderr (redacted), e.g. TensorFlow's "failed call to cuInit" line."""
    payload: dict | None = None
    """The JSON object the probe printed, None when it printed none."""
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.outcome = ProbeOutcome(self.outcome)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ProbeRun:
        return _build(cls, data)


@dataclass
class SpaceInfo:
    on_spaces: bool = False
    """SYSTEM=spaces, e.g. True."""
    space_id: str | None = None
    """SPACE_ID, e.g. "alice/gpu-self-check"."""
    author: str | None = None
    """SPACE_AUTHOR_NAME, e.g. "alice"."""
    accelerator: str | None = None
    """ACCELERATOR (the hardware flavor), e.g. "a10g-small"; None on CPU hardware ("none")."""
    zero_gpu: bool = False
    """SPACES_ZERO_GPU, e.g. False."""
    cpu_cores: str | None = None
    """CPU_CORES as the Space sets it, e.g. "2"."""
    memory: str | None = None
    """MEMORY as the Space sets it, e.g. "16Gi"."""
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SpaceInfo:
        return _build(cls, data)


@dataclass
class HostInfo:
    os: str | None = None
    """e.g. "Linux-5.10.0-x86_64-with-glibc2.36"."""
    kernel: str | None = None
    """e.g. "5.10.0-32-cloud-amd64"."""
    glibc: str | None = None
    """e.g. "glibc 2.36"."""
    python: str | None = None
    """e.g. "3.11.7"."""
    python_executable: str | None = None
    """e.g. "/usr/local/bin/python"."""
    cpu_count: int | None = None
    """CPUs of the machine, e.g. 16."""
    cpu_affinity: int | None = None
    """CPUs this process may run on, e.g. 2."""
    ram_total_bytes: int | None = None
    """e.g. 16_000_000_000."""
    ram_available_bytes: int | None = None
    """e.g. 12_000_000_000."""
    cgroup_memory_limit_bytes: int | None = None
    """Container memory limit, e.g. 17_179_869_184; None when unlimited or unreadable."""
    cgroup_cpu_limit: float | None = None
    """Container CPU quota in CPUs, e.g. 2.0; None when unlimited or unreadable."""
    space: SpaceInfo = field(default_factory=SpaceInfo)
    """The Space's own variables."""
    environment: dict[str, str] = field(default_factory=dict)
    """GPU-related variables, secrets redacted, e.g. {"CUDA_VISIBLE_DEVICES": "0", "HF_TOKEN": "[redacted]"}."""
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> HostInfo:
        return _build(cls, data, space=SpaceInfo.from_json(data.get("space") or {}))


@dataclass
class NvmlGpu:
    index: int
    """e.g. 0."""
    name: str | None = None
    """e.g. "NVIDIA A10G"; None when NVML could not read the GPU (see handle_error)."""
    handle_error: str | None = None
    """Why NVML could not read this GPU at all, e.g. "Unknown Error" (fallen off the bus); None when readable."""
    compute_capability: list[int] | None = None
    """e.g. [8, 6]."""
    memory_total_bytes: int | None = None
    """e.g. 24_146_608_128."""
    memory_used_bytes: int | None = None
    """e.g. 1_048_576."""
    memory_free_bytes: int | None = None
    """e.g. 24_145_559_552."""
    utilization_pct: int | None = None
    """GPU busy share over the last sample period, e.g. 0."""
    memory_utilization_pct: int | None = None
    """Memory controller busy share, e.g. 0."""
    temperature_c: int | None = None
    """e.g. 31."""
    power_w: float | None = None
    """e.g. 24.5."""
    power_limit_w: float | None = None
    """e.g. 300.0."""
    mig_mode: str | None = None
    """"enabled", "disabled", or None where the GPU has no MIG."""
    uuid: str | None = None
    """e.g. "GPU-5d5ba0d6-d33d-2b2c-524d-9e3d8d2b8a77"."""
    mig_devices: list[dict] = field(default_factory=list)
    """MIG instances, e.g.
    [{"uuid": "MIG-c6d4f1ef-42e4-5de3-91c7-45d71c87eb3f", "memory_total_bytes": 5_100_000_000}]."""
    processes: list[dict] = field(default_factory=list)
    """Processes holding its memory, e.g. [{"pid": 4242, "name": "python", "used_memory_bytes": 20_000_000_000}]."""
    errors: dict[str, str] = field(default_factory=dict)
    """Queries that failed, e.g. {"utilization": "NVMLError_NotSupported: Not Supported"} on a MIG GPU."""
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> NvmlGpu:
        return _build(cls, data)

    @property
    def cc(self) -> tuple[int, int] | None:
        """e.g. (8, 6)."""
        return (self.compute_capability[0], self.compute_capability[1]) if self.compute_capability else None


@dataclass
class NvmlInfo:
    dev_nvidia: list[str] = field(default_factory=list)
    """Device nodes present, e.g. ["/dev/nvidia0", "/dev/nvidiactl", "/dev/nvidia-uvm"]."""
    cuda_visible_devices: str | None = None
    """CUDA_VISIBLE_DEVICES, e.g. "0"; None when unset."""
    nvml_installed: bool = True
    """Whether nvidia-ml-py (`import pynvml`) is installed, e.g. True."""
    driver_loaded: bool = False
    """Whether nvmlInit succeeded, e.g. True."""
    error: str | None = None
    """e.g. "NVMLError_LibraryNotFound: NVML Shared Library Not Found" on a CPU machine."""
    driver_version: str | None = None
    """e.g. "570.124.06"."""
    cuda_driver_version: int | None = None
    """Highest CUDA the driver supports, NVML-encoded, e.g. 12080 (12.8)."""
    device_count: int | None = None
    """What nvmlDeviceGetCount says, e.g. 8; gpus holds an entry per index, readable or not."""
    gpus: list[NvmlGpu] = field(default_factory=list)
    """Every GPU NVML counts; one it cannot read has handle_error set and its other fields None."""
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> NvmlInfo:
        return _build(cls, data, gpus=[NvmlGpu.from_json(g) for g in data.get("gpus") or ()])

    @property
    def driver_cuda(self) -> tuple[int, int] | None:
        """e.g. (12, 8)."""
        v = self.cuda_driver_version
        return (v // 1000, v % 1000 // 10) if v else None


@dataclass
class SmokeResult:
    device: str
    """Where the matmul ran, e.g. "cuda:0", "/GPU:0", "cpu"."""
    on_cpu: bool
    """True when no GPU was available and the test ran on the CPU instead."""
    passed: bool
    """Result within tolerance of numpy's, e.g. True."""
    device_name: str | None = None
    """e.g. "NVIDIA H200"."""
    dtype: str | None = None
    """e.g. "float32"."""
    check_n: int | None = None
    """Size of the matmul compared with numpy, e.g. 256."""
    relative_error: float | None = None
    """Frobenius relative error against numpy float64, e.g. 3e-7 (fp32) or 5e-4 (TF32)."""
    n: int | None = None
    """Size of the timed matmul, e.g. 8192."""
    seconds: float | None = None
    """Mean time of one timed matmul, e.g. 0.02."""
    tflops: float | None = None
    """Measured rate, e.g. 48.3."""
    error: str | None = None
    """Why the test could not run, e.g. "RuntimeError: CUDA error: no kernel image is available"."""
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SmokeResult:
        return _build(cls, data)


def _smoke(data: Mapping[str, Any]) -> SmokeResult | None:
    return SmokeResult.from_json(data["smoke"]) if data.get("smoke") else None


@dataclass
class FrameworkInfo:
    """What every framework probe reports alike."""

    installed: bool = False
    """Whether the distribution is importable at all (ModuleNotFoundError -> False)."""
    version: str | None = None
    """e.g. "2.10.0+cu128"."""
    import_error: str | None = None
    """Traceback when the import raised, e.g. "...OSError: libcudnn.so.9: cannot open shared object file"."""
    import_s: float | None = None
    """Seconds the import took, e.g. 4.2."""
    messages: list[str] = field(default_factory=list)
    """The framework's own warnings and log records, verbatim."""
    log_lines: list[str] = field(default_factory=list)
    """Its C++ warning/error lines from stderr, e.g. "... failed call to cuInit: ...", verbatim."""
    smoke: SmokeResult | None = None
    """The matmul smoke test, when asked for."""


@dataclass
class TorchDevice:
    index: int
    """e.g. 0."""
    name: str
    """e.g. "NVIDIA A10G"."""
    capability: list[int]
    """e.g. [8, 6]."""
    memory_total_bytes: int | None = None
    """e.g. 23_664_263_168."""
    memory_free_bytes: int | None = None
    """e.g. 23_400_000_000."""
    multi_processor_count: int | None = None
    """e.g. 80."""
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TorchDevice:
        return _build(cls, data)


@dataclass
class TorchInfo(FrameworkInfo):
    cuda_built: str | None = None
    """CUDA the wheel was built with, e.g. "12.8"; None for a CPU build."""
    hip_built: str | None = None
    """ROCm version of a ROCm build, e.g. "6.4"; None otherwise."""
    cudnn_version: int | None = None
    """cuDNN actually loaded, e.g. 91002 (9.10.2)."""
    cuda_available: bool = False
    """torch.cuda.is_available(), e.g. True."""
    device_count: int = 0
    """e.g. 1."""
    arch_list: list[str] = field(default_factory=list)
    """Archs the wheel was compiled for, e.g. ["sm_70", "sm_75", "sm_80", "sm_86", "sm_90", "sm_100", "sm_120"]."""
    devices: list[TorchDevice] = field(default_factory=list)
    allocator_env: dict[str, str] = field(default_factory=dict)
    """Allocator variables set, e.g. {"PYTORCH_CUDA_ALLOC_CONF": "expandable_segments:True"}."""
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TorchInfo:
        return _build(
            cls, data, devices=[TorchDevice.from_json(d) for d in data.get("devices") or ()], smoke=_smoke(data)
        )


@dataclass
class JaxDevice:
    id: int
    """e.g. 0."""
    platform: str
    """e.g. "gpu" or "cpu"."""
    device_kind: str
    """e.g. "NVIDIA H200" or "cpu"."""
    compute_capability: str | None = None
    """e.g. "9.0"; None on the CPU."""
    memory_stats: dict | None = None
    """device.memory_stats(), e.g. {"bytes_in_use": 0, "bytes_limit": 112_000_000_000, ...}; None on the CPU."""
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> JaxDevice:
        return _build(cls, data)


@dataclass
class JaxInfo(FrameworkInfo):
    jaxlib_version: str | None = None
    """e.g. "0.10.2"."""
    default_backend: str | None = None
    """e.g. "gpu" or "cpu"."""
    devices: list[JaxDevice] = field(default_factory=list)
    cuda_plugins: list[dict] = field(default_factory=list)
    """CUDA plugin distributions installed, e.g. [{"name": "jax-cuda12-plugin", "version": "0.10.2"}]."""
    backend_error: str | None = None
    """Exception from jax.devices(), e.g. with JAX_PLATFORMS=cuda and no usable GPU."""
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> JaxInfo:
        return _build(
            cls, data, devices=[JaxDevice.from_json(d) for d in data.get("devices") or ()], smoke=_smoke(data)
        )

    @property
    def on_gpu(self) -> bool:
        return self.default_backend in {"gpu", "cuda"}


@dataclass
class TfGpu:
    name: str
    """e.g. "/physical_device:GPU:0"."""
    device_name: str | None = None
    """e.g. "NVIDIA A10G"."""
    compute_capability: list[int] | None = None
    """e.g. [8, 6]."""
    memory_current_bytes: int | None = None
    """e.g. 0."""
    memory_peak_bytes: int | None = None
    """e.g. 0."""
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TfGpu:
        return _build(cls, data)


@dataclass
class TensorFlowInfo(FrameworkInfo):
    build_info: dict = field(default_factory=dict)
    """tf.sysconfig.get_build_info() subset, e.g. {"is_cuda_build": True, "cuda_version": "12.5.1",
    "cudnn_version": "9", "cuda_compute_capabilities": ["sm_60", "sm_70", "sm_80", "sm_89", "compute_90"]}."""
    gpus: list[TfGpu] = field(default_factory=list)
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TensorFlowInfo:
        return _build(cls, data, gpus=[TfGpu.from_json(g) for g in data.get("gpus") or ()], smoke=_smoke(data))


@dataclass
class NvidiaWheel:
    name: str
    """e.g. "nvidia-cudnn-cu12"."""
    version: str
    """e.g. "9.10.2.21"."""
    cuda_line: str | None = None
    """"cu12", "cu13", or None for wheels outside the toolkit (nvidia-ml-py)."""
    required_by: list[str] = field(default_factory=list)
    """Installed distributions that depend on it, e.g. ["jax-cuda12-plugin", "tensorflow", "torch"]."""
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> NvidiaWheel:
        return _build(cls, data)


@dataclass
class FileConflict:
    path: str
    """e.g. "nvidia/cudnn/lib/libcudnn.so.9"."""
    distributions: list[str]
    """e.g. ["nvidia-cudnn-cu12", "nvidia-cudnn-cu13"]: the last installed won."""
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FileConflict:
        return _build(cls, data)


@dataclass
class WheelsInfo:
    nvidia: list[NvidiaWheel] = field(default_factory=list)
    conflicts: list[FileConflict] = field(default_factory=list)
    """Files two distributions both install (namespace __init__.py and scripts left out)."""
    frameworks: dict[str, str] = field(default_factory=dict)
    """Versions of the distributions that matter, e.g. {"torch": "2.10.0", "jax-cuda12-plugin": "0.10.2"}."""
    required_by: dict[str, list[str]] = field(default_factory=dict)
    """Who depends on each framework, e.g. {"torch": ["transformers"]}."""
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> WheelsInfo:
        return _build(
            cls,
            data,
            nvidia=[NvidiaWheel.from_json(w) for w in data.get("nvidia") or ()],
            conflicts=[FileConflict.from_json(c) for c in data.get("conflicts") or ()],
        )

    @property
    def cuda_lines(self) -> list[str]:
        """e.g. ["cu12"], or ["cu12", "cu13"] for a broken mix."""
        return sorted({w.cuda_line for w in self.nvidia if w.cuda_line})


@dataclass
class KernelModule:
    loaded: bool = False
    """Whether /proc/driver/nvidia/version exists, e.g. True."""
    version: str | None = None
    """The loaded module's version, e.g. "535.129.03"."""
    version_line: str | None = None
    """Its first line, e.g. "NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.129.03  Thu Oct 19 ..."."""
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> KernelModule:
        return _build(cls, data)


@dataclass
class DeviceNode:
    path: str
    """e.g. "/dev/nvidia0"."""
    openable: bool
    """Whether this user could open it read-only, e.g. False."""
    error: str | None = None
    """Why not, e.g. "Permission denied"."""
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DeviceNode:
        return _build(cls, data)


@dataclass
class LibcudaInfo:
    """The user-space driver through ctypes, no framework imported: ground truth below every framework."""

    path: str | None = None
    """Where libcuda.so.1 was loaded from, e.g. "/usr/lib/x86_64-linux-gnu/libcuda.so.1"; None if it was not."""
    load_error: str | None = None
    """The loader's error, e.g. "libcuda.so.1: cannot open shared object file: No such file or directory"."""
    version: str | None = None
    """Driver build from the file's real name, e.g. "535.129.03"."""
    driver_api_version: int | None = None
    """cuDriverGetVersion, e.g. 12020 (CUDA 12.2)."""
    cu_init: str | None = None
    """cuInit(0) as a CUresult name, e.g. "CUDA_SUCCESS", "CUDA_ERROR_NO_DEVICE"."""
    device_count: int | None = None
    """cuDeviceGetCount, e.g. 1; None unless cuInit succeeded."""
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LibcudaInfo:
        return _build(cls, data)


@dataclass
class RunContext:
    kind: str = "machine"
    """"space", "container", "wsl" or "machine"."""
    evidence: list[str] = field(default_factory=list)
    """The facts that decided it, e.g. ["SYSTEM=spaces"] or ["/.dockerenv"]."""
    nvidia_visible_devices: str | None = None
    """NVIDIA_VISIBLE_DEVICES, e.g. "all"; None when unset."""
    nvidia_driver_capabilities: str | None = None
    """NVIDIA_DRIVER_CAPABILITIES, e.g. "compute,utility"; None when unset."""
    kernel_release: str | None = None
    """e.g. "5.15.153.1-microsoft-standard-WSL2"."""
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RunContext:
        return _build(cls, data)


@dataclass
class LibraryCandidate:
    path: str
    """e.g. "/usr/local/cuda/lib64/libcudnn.so.9"."""
    source: str
    """"pip", "LD_LIBRARY_PATH", "conda" or "system"."""
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LibraryCandidate:
        return _build(cls, data)


@dataclass
class CudaLibrary:
    name: str
    """The soname, e.g. "libcudnn.so.9"."""
    needed_by: list[str] = field(default_factory=list)
    """Installed frameworks whose wheels require it, e.g. ["torch", "jax"]."""
    candidates: list[LibraryCandidate] = field(default_factory=list)
    """Files of that name, in the order the loader would try them."""
    winner: str | None = None
    """The one that loads, e.g. the LD_LIBRARY_PATH copy; None when there is none."""
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CudaLibrary:
        return _build(cls, data, candidates=[LibraryCandidate.from_json(c) for c in data.get("candidates") or ()])


def _optional(kind: Any, value: Any) -> Any:
    return None if value is None else kind(value)


@dataclass
class DriverInfo:
    """The layers below the frameworks. A key the probe (or a recorded report) does not give is None: not known."""

    kernel_module: KernelModule | None = None
    modules: list[str] | None = None
    """The nvidia* names in /proc/modules, e.g. ["nvidia", "nvidia_uvm", "nvidia_modeset"]; None when unreadable."""
    device_nodes: list[DeviceNode] | None = None
    """Every /dev/nvidia* (and /dev/dxg on WSL), each opened read-only by this user; [] when none."""
    libcuda: LibcudaInfo | None = None
    context: RunContext | None = None
    libraries: list[CudaLibrary] | None = None
    """Per CUDA library the installed frameworks need: candidates in loader order and the winner."""
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DriverInfo:
        nodes, libraries = data.get("device_nodes"), data.get("libraries")
        return _build(
            cls,
            data,
            kernel_module=_optional(KernelModule.from_json, data.get("kernel_module")),
            device_nodes=None if nodes is None else [DeviceNode.from_json(n) for n in nodes],
            libcuda=_optional(LibcudaInfo.from_json, data.get("libcuda")),
            context=_optional(RunContext.from_json, data.get("context")),
            libraries=None if libraries is None else [CudaLibrary.from_json(c) for c in libraries],
        )


Facts = HostInfo | NvmlInfo | DriverInfo | TorchInfo | JaxInfo | TensorFlowInfo | WheelsInfo

# The C++ log lines TF and XLA print about the GPU stack, in the three shapes they come in:
#   2026-11-28 12:00:00.000000: W tensorflow/core/common_runtime/gpu/gpu_device.cc:2365] text  (dated glog)
#   W0000 00:00:1753232013.685876   24341 gpu_device.cc:2431] text                             (absl, TF >= 2.18)
#   W tensorflow/core/common_runtime/gpu/gpu_device.cc:1956] text                              (bare)
_CPP_LOG = re.compile(r"^(?:\S+ \S+: ([IWEF]) |([IWEF])\d{4} [\d:.]+\s+\d+ |([IWEF]) )\S+:\d+\] ")
_GPU_WORDS = re.compile(r"dlopen|cuInit|libcu|libnv|CUDA|cuDNN|GPU|compute capability|out of memory|ECC", re.IGNORECASE)
# INFO lines are chatter, except the one where TensorFlow drops a GPU it considers too old.
_NOTABLE_INFO = re.compile(r"Ignoring visible gpu device")


def notable_stderr_lines(stderr: str, limit: int = 20) -> list[str]:
    """C++ warning/error lines about the GPU stack, verbatim, e.g. TensorFlow's "Cannot dlopen some GPU libraries"."""
    lines = []
    for line in stderr.splitlines():
        match = _CPP_LOG.match(line)
        if match and _GPU_WORDS.search(line):
            level = next(g for g in match.groups() if g)
            if level != "I" or _NOTABLE_INFO.search(line):
                lines.append(line)
    return lines[:limit]


def log_message(line: str) -> str:
    """A C++ log line without its level, timestamp and source location: what the framework said."""
    match = _CPP_LOG.match(line)
    return line[match.end() :] if match else line.strip()
