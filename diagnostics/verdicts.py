"""Probe facts -> one verdict per component, by an ordered rule table.

Each Rule names the evidence it reads, the status, a reason that quotes that evidence and the fix.
`judge` walks RULES in order for one component and the first rule whose test finds evidence decides.
Situations every framework meets alike (driver, host, environment variables, MIG, memory, cuDNN)
are written once; what differs per framework is data: VIEWS (how to read its facts) and
diagnostics.stack.STACK (its pin, CUDA, cuDNN and architectures). Every verdict records the rule
that fired and the evidence lines, so the tab and the CLI can show why.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from diagnostics.facts import (
    FrameworkInfo,
    HostInfo,
    JaxInfo,
    NvmlGpu,
    NvmlInfo,
    ProbeOutcome,
    ProbeRun,
    TensorFlowInfo,
    TorchInfo,
    WheelsInfo,
    log_message,
)
from diagnostics.registry import COMPONENTS, FRAMEWORKS, TITLES
from diagnostics.stack import (
    FULL_DRIVER,
    MIN_DRIVER,
    NVML_REQUIREMENT,
    STACK,
    arch_supports,
    build_for,
    build_for_driver,
    oldest_arch,
    runs_natively,
)

__all__ = ["COMPONENTS", "TITLES", "RULES", "Rule", "Status", "Verdict", "judge_all", "cudnn_text", "UPGRADE"]

UPGRADE = "upgrade the Space's hardware (Settings or Admin tab)"
QUOTE_CHARS = 220


class Status(StrEnum):
    """Compares equal to plain strings: Status.WARN == "WARN"."""

    OK = "OK"
    WARN = "WARN"
    FAIL = "FAIL"

    @property
    def rank(self) -> int:
        return _RANK[self]

    @classmethod
    def worst(cls, statuses: Iterable[str]) -> Status:
        return max((cls(s) for s in statuses), key=lambda s: s.rank, default=cls.OK)


_RANK = {Status.OK: 0, Status.WARN: 1, Status.FAIL: 2}


@dataclass(frozen=True)
class Verdict:
    component: str
    """One of COMPONENTS, e.g. "torch"."""
    status: Status
    """e.g. Status.WARN."""
    reason: str
    """One line quoting the evidence, e.g. "the NVIDIA driver supports CUDA 11.4, torch 2.1.0 needs 12.1: ..."."""
    fix: str | None = None
    """What to change and where, e.g. "update the NVIDIA driver to 525.60.13 or newer, ..."."""
    rule: str = ""
    """The rule that decided, e.g. "driver-too-old"."""
    evidence: tuple[str, ...] = ()
    """The lines it read, verbatim, e.g. ("torch: The NVIDIA driver on your system is too old (found version 11040)...",)."""
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Mapping) -> Verdict:
        return cls(
            data["component"],
            Status(data["status"]),
            data["reason"],
            data.get("fix"),
            data.get("rule", ""),
            tuple(data.get("evidence") or ()),
            data.get("extra", {}),
        )


# --- What the verdicts read -------------------------------------------------------------------------------


def _cc(cc: tuple[int, int]) -> str:
    return f"sm_{cc[0]}{cc[1]}"


def _cuda(version: tuple[int, int] | None) -> str:
    return f"{version[0]}.{version[1]}" if version else "?"


def version_tuple(text: str | None) -> tuple[int, int] | None:
    """ "12.5.1" -> (12, 5)."""
    match = re.match(r"(\d+)\.(\d+)", text or "")
    return (int(match.group(1)), int(match.group(2))) if match else None


def cudnn_text(version: int) -> str:
    """91002 -> "9.10.2" (cuDNN 9 encodes major*10000), 8902 -> "8.9.2"."""
    major, rest = divmod(version, 10000) if version >= 10000 else divmod(version, 1000)
    return f"{major}.{rest // 100}.{rest % 100}"


def _cudnn_words(text: str) -> str:
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
    majors = [int(m) for p in _jax_plugins(info) for m in re.findall(r"cuda(\d+)", p)]
    if majors:
        return STACK["jax"].pinned.cuda if max(majors) == STACK["jax"].pinned.cuda[0] else (max(majors), 0)
    match = re.search(r"\+cuda(\d+)", info.jaxlib_version or "")
    return (int(match.group(1)), 0) if match else None


def _jax_cuda_build(info: JaxInfo) -> bool | None:
    """A CUDA plugin, a "+cuda" jaxlib, or a message showing CUDA code at work (conda-forge builds CUDA in)."""
    if _jax_plugins(info) or "+cuda" in (info.jaxlib_version or "") or info.on_gpu:
        return True
    if any("CUDA-enabled jaxlib is not installed" in m for m in info.messages):
        return False
    if any(re.search(r"CUDA backend failed|cuda_dnn|cuInit|CuDNN|cuDNN", m) for m in _texts_of(info)):
        return True
    return False


def _tf_archs(info: TensorFlowInfo) -> list[str]:
    return list(info.build_info.get("cuda_compute_capabilities") or [])


VIEWS: dict[str, View] = {
    "torch": View(
        sees_gpu=lambda i: i.cuda_available,
        built_cuda=_torch_built,
        archs=lambda i: list(i.arch_list),
        is_cuda_build=lambda i: bool(i.cuda_built) and not i.hip_built,
        devices=lambda i: sorted({f"{d.name} ({_cc(tuple(d.capability))})" for d in i.devices}),
        details=lambda i: f", CUDA {i.cuda_built}"
        + (f", cuDNN {cudnn_text(i.cudnn_version)}" if i.cudnn_version else ""),
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


def _texts_of(info: FrameworkInfo | None) -> list[str]:
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
        return list(self.nvml.gpus) if self.nvml else []

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
        return bool(self.gpus) or bool(self.nvml and self.nvml.dev_nvidia) or self.sees_gpu

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


@dataclass(frozen=True)
class Found:
    """What a rule's test found: the lines it read and the values its reason and fix quote."""

    lines: tuple[str, ...] = ()
    values: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Rule:
    name: str
    """e.g. "driver-too-old"; shown with every verdict it makes."""
    components: frozenset[str]
    reads: str
    """The evidence it reads, in words (README and the tab list them)."""
    status: Status
    reason: str
    """Template over the subject's values and what the test found, e.g. "{quote}"."""
    fix: str | None
    test: Callable[[Subject], Found | None]


# --- Evidence helpers ---------------------------------------------------------------------------------------


def _search(subject: Subject, pattern: str, flags: int = 0) -> tuple[str, re.Match] | None:
    """The first of the framework's texts matching `pattern`, as (the line it is on, the match)."""
    regex = re.compile(pattern, flags)
    for text in subject.texts:
        match = regex.search(text)
        if match:
            start = text.rfind("\n", 0, match.start()) + 1
            end = text.find("\n", match.end())
            return text[start : end if end >= 0 else None].strip(), match
    return None


def _quote(line: str) -> str:
    text = " ".join(log_message(line).split())
    return text if len(text) <= QUOTE_CHARS else text[: QUOTE_CHARS - 1] + "…"


def _said(subject: Subject, pattern: str, flags: int = 0, **values: Any) -> Found | None:
    hit = _search(subject, pattern, flags)
    if not hit:
        return None
    line, match = hit
    return Found((line,), {"quote": _quote(line), "match": match, **values})


def _healthy(subject: Subject) -> bool:
    """A framework that uses the GPU fine: environment rules then have nothing to explain for it."""
    return subject.component in FRAMEWORKS and not _framework_failing(subject)


def _framework_failing(subject: Subject) -> bool:
    """Installed, a GPU is there, and it does not use it (or its smoke test failed)."""
    info = subject.info
    if not isinstance(info, FrameworkInfo) or not info.installed:
        return False
    smoke_failed = bool(info.smoke and not info.smoke.passed)
    return bool(info.import_error) or smoke_failed or not subject.view.sees_gpu(info)


def _nvml_line(machine: Machine) -> str:
    nvml = machine.nvml
    names = ", ".join(sorted({g.name for g in machine.gpus})) or "no GPU"
    return f"NVML: driver {nvml.driver_version}, CUDA ≤ {_cuda(nvml.driver_cuda)}, {names}" if nvml else ""


# --- Rule tests: probes ----------------------------------------------------------------------------------------


def _probe_missing(s: Subject) -> Found | None:
    return Found() if s.run is None else None


def _probe_died(s: Subject) -> Found | None:
    run = s.run
    if run is None or (run.outcome is ProbeOutcome.OK and run.payload is not None):
        return None
    tail = [line for line in run.stderr_tail.splitlines() if line.strip()][-3:]
    return Found(tuple(tail), {"outcome": run.outcome.value, "error": run.error})


def _not_installed(s: Subject) -> Found | None:
    return Found() if isinstance(s.info, FrameworkInfo) and not s.info.installed else None


# --- Rule tests: the host --------------------------------------------------------------------------------------

_HOST_NOT_READY = r"CUDA_ERROR_SYSTEM_NOT_READY|system not yet initialized|cudaErrorSystemNotReady|[Ff]abric ?[Mm]anager"
_HARDWARE_FAULT = r"uncorrectable ECC|ECC_UNCORRECTABLE|\bXid\b|fallen off the bus|CUDA_ERROR_ECC"
_NOT_INITIALIZED = (
    r"CUDA_ERROR_NOT_INITIALIZED|CUDA driver initialization failed|cudaErrorInitializationError"
    r"|CUDA error: initialization error"
)


def _host_not_ready(s: Subject) -> Found | None:
    return _said(s, _HOST_NOT_READY)


def _hardware_fault(s: Subject) -> Found | None:
    return _said(s, _HARDWARE_FAULT)


def _cuda_not_initialized(s: Subject) -> Found | None:
    machine = s.machine
    if not machine.gpus:
        return None
    found = _said(s, _NOT_INITIALIZED)
    if not found:
        return None
    nodes = machine.nvml.dev_nvidia if machine.nvml else []
    uvm = "" if "/dev/nvidia-uvm" in nodes or not nodes else " (/dev/nvidia-uvm is missing)"
    return Found((*found.lines, _nvml_line(machine)), {**found.values, "gpu": machine.gpus[0].name, "uvm": uvm})


# --- Rule tests: environment variables, MIG ----------------------------------------------------------------------


def _visible_entries(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def _cvd_hides_all(s: Subject) -> Found | None:
    cvd = s.machine.cuda_visible_devices
    if cvd is None or not s.machine.gpus or _healthy(s):
        return None
    entries = _visible_entries(cvd)
    if entries and not any(e in {"-1", "none", "NoDevFiles", "void"} for e in entries):
        return None
    return Found((f"CUDA_VISIBLE_DEVICES={cvd!r}", _nvml_line(s.machine)), {"cvd": repr(cvd)})


def _cvd_past_gpus(s: Subject) -> Found | None:
    cvd, gpus = s.machine.cuda_visible_devices, s.machine.gpus
    if cvd is None or not gpus or _healthy(s):
        return None
    past = [e for e in _visible_entries(cvd) if e.isdigit() and int(e) >= len(gpus)]
    if not past:
        return None
    said = _said(s, r"no CUDA-capable device|CUDA_ERROR_NO_DEVICE|No CUDA GPUs are available|is_available")
    lines = (f"CUDA_VISIBLE_DEVICES={cvd}", _nvml_line(s.machine), *(said.lines if said else ()))
    valid = "0" if len(gpus) == 1 else f"0…{len(gpus) - 1}"
    return Found(lines, {"cvd": cvd, "index": past[0], "count": len(gpus), "valid": valid})


def _mig_gpus(machine: Machine) -> list[NvmlGpu]:
    return [g for g in machine.gpus if g.mig_mode == "enabled"]


def _mig_uuid_hint(machine: Machine) -> str:
    uuids = [d["uuid"] for g in _mig_gpus(machine) for d in g.mig_devices if d.get("uuid")]
    return f" (here: {uuids[0]})" if uuids else ""


def _mig_without_uuid(s: Subject) -> Found | None:
    migs = _mig_gpus(s.machine)
    cvd = s.machine.cuda_visible_devices or ""
    if not migs or "MIG-" in cvd or _healthy(s):
        return None
    said = _said(s, r"num_gpus|no CUDA-capable device|CUDA_ERROR_NO_DEVICE|No visible GPU|MIG")
    lines = (
        f"NVML: MIG enabled on {migs[0].name}",
        f"CUDA_VISIBLE_DEVICES={s.machine.cuda_visible_devices!r}",
        *(said.lines if said else ()),
    )
    shown = "unset" if s.machine.cuda_visible_devices is None else repr(s.machine.cuda_visible_devices)
    return Found(lines, {"gpu": migs[0].name, "cvd": shown, "hint": _mig_uuid_hint(s.machine)})


def _mig_several(s: Subject) -> Found | None:
    cvd = s.machine.cuda_visible_devices or ""
    migs = [e for e in _visible_entries(cvd) if e.startswith("MIG-")]
    if len(migs) < 2:
        return None
    return Found((f"CUDA_VISIBLE_DEVICES={cvd[:120]}{'…' if len(cvd) > 120 else ''}",), {"count": len(migs)})


_SYSTEM_LIB_DIR = re.compile(r"cuda|cudnn|nvidia|lib64", re.I)
_LIBRARY_TROUBLE = (
    r"cannot open shared object|undefined symbol|Could not load (?:dynamic )?library|Cannot dlopen"
    r"|DNN library initialization failed|CUDNN_STATUS_\w+|cuDNN version incompatibility|libcu\w*\.so"
)


def _shadowing_dirs(machine: Machine) -> list[str]:
    """LD_LIBRARY_PATH entries with CUDA libraries outside the pip wheels (those live in site-packages/nvidia)."""
    value = machine.env.get("LD_LIBRARY_PATH", "")
    return list(dict.fromkeys(d for d in value.split(":") if d and _SYSTEM_LIB_DIR.search(d) and "site-packages" not in d))


def _ld_library_path(s: Subject) -> Found | None:
    dirs = _shadowing_dirs(s.machine)
    if not dirs or _healthy(s):
        return None
    said = _said(s, _LIBRARY_TROUBLE)
    if not said:
        return None
    line = f"LD_LIBRARY_PATH={s.machine.env['LD_LIBRARY_PATH']}"
    return Found((line, *said.lines), {**said.values, "dirs": ":".join(dirs)})


# --- Rule tests: driver ---------------------------------------------------------------------------------------

_DRIVER_SAYS = (
    r"driver on your system is too old \(found version (?P<found>\d+)\)"
    r"|CUDA driver version is insufficient for CUDA runtime version"
    r"|CUDA_ERROR_INSUFFICIENT_DRIVER|cudaErrorInsufficientDriver"
    r"|CUDA_ERROR_COMPAT_NOT_SUPPORTED_ON_DEVICE"
)
_MODULE_MISMATCH = r"kernel version (?P<kernel>[\d.]+) does not match DSO version (?P<dso>[\d.]+)"


def _module_mismatch(s: Subject) -> Found | None:
    said = _said(s, _MODULE_MISMATCH)
    if not said:
        return None
    match = said.values["match"]
    dso = match.group("dso")
    fix = (
        s.machine.host_fix
        if s.machine.on_spaces
        else f"update the host driver to ≥ {dso}, or drop the image's CUDA forward-compat libcuda (cuda-compat) "
        "so the host's own libcuda loads"
    )
    return Found(said.lines, {**said.values, "kernel": match.group("kernel"), "dso": dso, "module_fix": fix})


def _driver_values(s: Subject, driver: tuple[int, int] | None) -> dict:
    built = s.view.built_cuda(s.info) if isinstance(s.info, FrameworkInfo) else None
    need = built or s.stack.pinned.cuda
    other = build_for_driver(s.component, driver) if driver else None
    if driver is None:
        alternative = f"{s.stack.pinned.label} needs a driver ≥ {MIN_DRIVER.get(s.stack.pinned.cuda[0], '?')}"
    elif other is None:
        alternative = f"no {s.title} build in this template's stack runs on a CUDA {driver[0]} driver"
    elif other is s.stack.pinned:
        alternative = f"or pin `{other.requirement}` ({other.label}), which runs on this driver"
    else:
        alternative = f"or use a build for CUDA {other.cuda_text}: {other.label} ({other.how})"
    return {
        "driver": _cuda(driver) if driver else "an older CUDA",
        "need": _cuda(need),
        "alternative": alternative,
    }


def _driver_too_old_said(s: Subject) -> Found | None:
    said = _said(s, _DRIVER_SAYS)
    if not said:
        return None
    match = said.values["match"]
    driver = s.machine.driver_cuda
    if match.group("found"):
        found = int(match.group("found"))
        driver = (found // 1000, found % 1000 // 10)
    lines = (*said.lines, _nvml_line(s.machine)) if s.machine.nvml and s.machine.nvml.driver_loaded else said.lines
    return Found(tuple(x for x in lines if x), {**said.values, **_driver_values(s, driver)})


def _driver_too_old_numbers(s: Subject) -> Found | None:
    driver = s.machine.driver_cuda
    if not driver or not isinstance(s.info, FrameworkInfo) or not s.info.installed:
        return None
    built = s.view.built_cuda(s.info)
    if not built or built[0] <= driver[0]:
        return None
    line = f"{_nvml_line(s.machine)}; {s.label} is built for CUDA {_cuda(built)}"
    return Found((line,), _driver_values(s, driver))


def _driver_minor_behind(s: Subject) -> Found | None:
    driver = s.machine.driver_cuda
    built = s.view.built_cuda(s.info) if isinstance(s.info, FrameworkInfo) else None
    if not driver or not built or built <= driver or built[0] != driver[0]:
        return None
    return Found(
        (f"{_nvml_line(s.machine)}; {s.label} is built for CUDA {_cuda(built)}",),
        {"driver": _cuda(driver), "need": _cuda(built), "full_driver": FULL_DRIVER.get(built, "a newer one")},
    )


# --- Rule tests: libraries and memory -------------------------------------------------------------------------

_CUDNN_SAYS = (
    r"Loaded runtime CuDNN library:? (?P<loaded>[\d.]+)(?: \(compatibility version \d+\))? but source was compiled with:? (?P<built>\d+(?:\.\d+)*)"
    r"|Found cuDNN version (?P<loaded2>\d+), but JAX was built against version (?P<built2>\d+)"
    r"|cuDNN version incompatibility: PyTorch was compiled against (?P<built3>\([\d, ]+\)) but (?:linked against|found runtime version) (?P<loaded3>\([\d, ]+\))"
    r"|Outdated cuDNN installation found\.\s*Version JAX was built against: (?P<built4>\d+)\s*Minimum supported: (?P<minimum4>\d+)\s*Installed version: (?P<loaded4>\d+)"
)


def _cudnn_source(s: Subject) -> str:
    """Which pin or path put the loaded cuDNN there, from LD_LIBRARY_PATH and the wheels' dependents."""
    dirs = _shadowing_dirs(s.machine)
    if dirs:
        return f"LD_LIBRARY_PATH puts {':'.join(dirs)} first, so its cuDNN loads instead of the pip wheel's"
    wheels = s.machine.wheels
    cudnn = [w for w in (wheels.nvidia if wheels else []) if w.name.startswith("nvidia-cudnn-")]
    if cudnn:
        wheel = cudnn[0]
        owners = [r for r in wheel.required_by if not r.startswith("nvidia-")]
        pulled = f", pulled in by {', '.join(owners)}" if owners else ""
        return f"{wheel.name} {wheel.version} is installed{pulled}"
    return "no nvidia-cudnn wheel is installed: the cuDNN comes from the system or conda"


def _cudnn_mismatch(s: Subject) -> Found | None:
    said = _said(s, _CUDNN_SAYS)
    if not said:
        return None
    groups = said.values["match"].groupdict()
    loaded = next(groups[k] for k in ("loaded", "loaded2", "loaded3", "loaded4") if groups[k])
    # JAX's "Outdated cuDNN" message names the minimum it accepts; that is the version to reach.
    built = next(groups[k] for k in ("minimum4", "built", "built2", "built3", "built4") if groups[k])
    shared = STACK["torch"].pinned.cudnn
    return Found(
        said.lines,
        {
            **said.values,
            "loaded": _cudnn_words(loaded),
            "built": _cudnn_words(built),
            "source": _cudnn_source(s),
            "cudnn_plan": f"`{STACK['torch'].requirement}` pins nvidia-cudnn-cu12 {shared}"
            + ("" if s.component == "torch" else f", which `{s.stack.requirement}` accepts"),
        },
    )


_MEMORY_SAYS = (
    r"CUDA_ERROR_OUT_OF_MEMORY|CUDA out of memory|out of memory|RESOURCE_EXHAUSTED|cudaErrorMemoryAllocation"
    r"|CUBLAS_STATUS_ALLOC_FAILED|CUBLAS_STATUS_NOT_INITIALIZED|Failed to allocate"
)


def _memory_holders(machine: Machine) -> tuple[list[str], str]:
    lines, names = [], []
    for gpu in machine.gpus:
        for p in gpu.processes:
            used = p.get("used_memory_bytes")
            amount = f"{used / 2**30:.1f} GiB" if used else "memory"
            lines.append(f"NVML: process {p.get('pid')} ({p.get('name') or '?'}) holds {amount} on GPU {gpu.index}")
            names.append(f"process {p.get('pid')} ({p.get('name') or '?'}, {amount})")
    return lines, ("; " + ", ".join(names) + " holds GPU memory" if names else "")


def _memory_env(machine: Machine) -> str:
    env = machine.env
    shown = [f"{k}={env[k]}" for k in ("XLA_PYTHON_CLIENT_PREALLOCATE", "XLA_PYTHON_CLIENT_MEM_FRACTION", "TF_FORCE_GPU_ALLOW_GROWTH") if k in env]
    return f" (now {', '.join(shown)})" if shown else ""


def _out_of_memory(s: Subject) -> Found | None:
    said = _said(s, _MEMORY_SAYS)
    if not said:
        return None
    holder_lines, holders = _memory_holders(s.machine)
    return Found((*said.lines, *holder_lines), {**said.values, "holders": holders, "env": _memory_env(s.machine)})


def _memory_held(s: Subject) -> Found | None:
    for gpu in s.machine.gpus:
        used = sum(p.get("used_memory_bytes") or 0 for p in gpu.processes)
        if gpu.memory_total_bytes and used > gpu.memory_total_bytes / 2:
            holder_lines, holders = _memory_holders(s.machine)
            share = f"{used / 2**30:.1f} of {gpu.memory_total_bytes / 2**30:.1f} GiB"
            return Found(tuple(holder_lines), {"share": share, "gpu": gpu.name, "holders": holders})
    return None


# --- Rule tests: architecture ---------------------------------------------------------------------------------

_ARCH_SAYS = (
    r"no kernel image is available|is not compatible with the current PyTorch installation"
    r"|no longer supports this GPU|CUDA_ERROR_NO_BINARY_FOR_GPU|device kernel image is invalid"
    r"|The minimum required Cuda capability"
)


def _gpu_cc(s: Subject, said: Found | None) -> tuple[int, int] | None:
    if said:
        line = said.lines[0]
        match = re.search(r"capability sm_(\d+)(\d)\b", line) or re.search(r"capability:? (\d+)\.(\d+)", line)
        if match:
            return int(match.group(1)), int(match.group(2))
    return s.ccs[0] if s.ccs else None


def _arch_fix_values(s: Subject, cc: tuple[int, int], archs: list[str]) -> dict:
    pinned = s.stack.pinned
    installed = f"{s.label} (built for {' '.join(archs)})" if archs else s.label
    if runs_natively(pinned.archs, cc):
        fix = f"pin `{pinned.requirement}` in requirements.txt: {pinned.label} is built for {pinned.arch_text}"
    else:
        other = build_for(s.component, cc)
        oldest = oldest_arch(pinned.archs)
        older = oldest is not None and cc < oldest
        why = f"the pinned `{pinned.requirement}` is built for {pinned.arch_text}, so pinning it again does not help"
        if other:
            fix = f"{why}: use {other.label} ({other.how}), or hardware with a newer GPU"
        elif older:
            fix = f"{why} and no current {s.title} build supports {_cc(cc)}: choose newer hardware (T4 or later)"
        else:
            fix = f"{why}: no {s.title} build in this stack has kernels for {_cc(cc)}; choose other hardware"
    return {"cc": _cc(cc), "installed": installed, "arch_fix": fix}


def _arch_unsupported(s: Subject) -> Found | None:
    info = s.info
    if not isinstance(info, FrameworkInfo) or not info.installed:
        return None
    said = _said(s, _ARCH_SAYS)
    cc = _gpu_cc(s, said)
    archs = s.view.archs(info)
    if cc is None or (not said and (not archs or arch_supports(archs, cc))):
        return None
    lines = said.lines if said else (f"{s.label} arch list: {' '.join(archs)}; GPU is {_cc(cc)}",)
    return Found(lines, {"quote": said.values["quote"] if said else lines[0], **_arch_fix_values(s, cc, archs)})


def _ptx_jit(s: Subject) -> Found | None:
    said = _said(s, r"not built with CUDA kernel binaries compatible with compute capability (?P<cap>\d+\.\d+)")
    if said:
        return Found(said.lines, {**said.values, "cap": said.values["match"].group("cap")})
    info = s.info
    if not isinstance(info, TensorFlowInfo) or not info.gpus:
        return None
    archs = s.view.archs(info)
    ptx = oldest_arch([a for a in archs if a.startswith("compute_")])
    # PTX for the GPU's own architecture compiles once and quickly; PTX for an older one is the slow path.
    newer = [cc for cc in s.ccs if ptx and cc > ptx and not runs_natively(archs, cc)]
    if not newer:
        return None
    line = f"{s.label} arch list: {' '.join(archs)}; GPU is {_cc(newer[0])}"
    return Found((line,), {"quote": line, "cap": f"{newer[0][0]}.{newer[0][1]}"})


# --- Rule tests: builds and the rest ---------------------------------------------------------------------------


def _import_failed(s: Subject) -> Found | None:
    info = s.info
    if not isinstance(info, FrameworkInfo) or not info.import_error:
        return None
    lines = [line for line in info.import_error.strip().splitlines() if line.strip()]
    return Found((lines[-1].strip(),), {"last": lines[-1].strip()})


def _zero_gpu_other(s: Subject) -> Found | None:
    if not s.machine.zero_gpu or s.component == "torch" or not isinstance(s.info, FrameworkInfo):
        return None
    return Found(("SPACES_ZERO_GPU=true",))


def _zero_gpu_torch(s: Subject) -> Found | None:
    if not s.machine.zero_gpu or not isinstance(s.info, TorchInfo) or s.info.cuda_available:
        return None
    if not s.view.is_cuda_build(s.info):
        return None
    return Found(("SPACES_ZERO_GPU=true",))


def _no_gpu(s: Subject) -> Found | None:
    if s.machine.gpu_present:
        return None
    where = (
        f"this hardware ({s.machine.hardware})"
        if s.machine.on_spaces or s.machine.hardware != "this machine"
        else "this machine (no NVIDIA driver, no /dev/nvidia*)"
    )
    return Found((f"NVML: {s.machine.nvml.error}",) if s.machine.nvml and s.machine.nvml.error else (), {"where": where})


def _cpu_build(s: Subject) -> Found | None:
    info = s.info
    if not isinstance(info, FrameworkInfo) or not (s.machine.gpu_present or s.machine.zero_gpu):
        return None
    if s.view.is_cuda_build(info) is not False:
        return None
    said = _said(s, r"CUDA-enabled jaxlib is not installed|not compiled with CUDA|CPU-only")
    what = {
        "torch": f"torch.version.cuda is None ({info.version})",
        "jax": f"no CUDA plugin installed, jaxlib {getattr(info, 'jaxlib_version', None)}",
        "tensorflow": "tf.sysconfig.get_build_info()['is_cuda_build'] is False",
    }[s.component]
    lines = (*(said.lines if said else ()), what)
    return Found(lines, {"what": said.values["quote"] if said else what})


def _smoke_failed(s: Subject) -> Found | None:
    smoke = getattr(s.info, "smoke", None)
    if not smoke or smoke.passed:
        return None
    detail = smoke.error or f"result differs from numpy (relative error {smoke.relative_error:.2g})"
    return Found((detail,), {"device": smoke.device, "detail": detail})


def _dlopen(s: Subject) -> Found | None:
    return _said(s, r"Could not load dynamic library '[^']+'[^\n]*") or _said(s, r"Cannot dlopen some GPU libraries")


def _gpu_unused(s: Subject) -> Found | None:
    if not isinstance(s.info, FrameworkInfo) or s.view.sees_gpu(s.info):
        return None
    said = _said(s, r"CUDA backend failed|falling back|cuInit|CUDA|GPU|cuda", re.I)
    fallback = getattr(s.info, "default_backend", None)
    quote = said.values["quote"] if said else (f"default backend {fallback}" if fallback else "no GPU device listed")
    return Found(said.lines if said else (quote,), {"quote": quote})


def _mixed(s: Subject) -> Found | None:
    return Found((f"wheels: {', '.join(s.machine.wheels.cuda_lines)}",)) if s.machine.mixed_wheels else None


def _smoke_note(info: FrameworkInfo) -> str:
    smoke = info.smoke
    if not smoke or smoke.tflops is None:
        return ""
    where = "on the CPU" if smoke.on_cpu else f"on {smoke.device}"
    return f"; matmul {where} {smoke.tflops:.2f} TFLOP/s, matches numpy"


def _framework_ok(s: Subject) -> Found | None:
    info = s.info
    devices = s.view.devices(info)
    count = len(devices) if s.component != "torch" else info.device_count
    summary = f"{count}× {', '.join(devices)}{s.view.details(info)}{_smoke_note(info)}"
    return Found((), {"summary": summary})


# --- Rule tests: the GPU row and the wheels row ------------------------------------------------------------------


def _nvml_missing(s: Subject) -> Found | None:
    return Found() if isinstance(s.info, NvmlInfo) and not s.info.nvml_installed and not s.info.gpus else None


def _zero_gpu_row(s: Subject) -> Found | None:
    return Found(("SPACES_ZERO_GPU=true",)) if s.machine.zero_gpu and not s.machine.gpus else None


def _nvml_broken(s: Subject) -> Found | None:
    nvml = s.info
    if nvml.gpus or not (nvml.dev_nvidia or s.machine.sees_gpu):
        return None
    return Found((f"/dev/nvidia*: {', '.join(nvml.dev_nvidia)}", f"NVML: {nvml.error}"), {"error": nvml.error})


def _driver_absent(s: Subject) -> Found | None:
    if s.info.gpus or not s.machine.on_spaces or s.machine.hardware in {"cpu-basic", "cpu-upgrade", "CPU hardware"}:
        return None
    return Found((f"ACCELERATOR={s.machine.hardware}", f"NVML: {s.info.error}"))


def _gpu_ok(s: Subject) -> Found | None:
    nvml, machine = s.info, s.machine
    if not nvml.gpus:
        return None
    names = ", ".join(sorted({g.name for g in nvml.gpus}))
    cuda = f", CUDA ≤ {_cuda(machine.driver_cuda)}" if machine.driver_cuda else ""
    migs = f"; MIG enabled ({len(_mig_gpus(machine))} GPU)" if _mig_gpus(machine) else ""
    failed = sorted({k for g in nvml.gpus for k in g.errors})
    queries = f"; NVML could not read: {', '.join(failed)}" if failed else ""
    return Found((), {"summary": f"{len(nvml.gpus)}× {names} on {machine.hardware}, driver {nvml.driver_version}{cuda}{migs}{queries}"})


def _wheels_mixed(s: Subject) -> Found | None:
    wheels = s.info
    conflicts = [c for c in wheels.conflicts if any(d.startswith("nvidia-") for d in c.distributions)]
    if not conflicts and not s.machine.mixed_wheels:
        return None
    if conflicts:
        first = conflicts[0]
        more = f" (+{len(conflicts) - 1} more files)" if len(conflicts) > 1 else ""
        detail = f": {' and '.join(first.distributions)} both write {first.path}{more}"
    else:
        detail = f" ({', '.join(wheels.cuda_lines)})"
    return Found((detail.lstrip(": "),), {"detail": detail, "culprits": _culprits(wheels)})


def _wheels_driver(s: Subject) -> Found | None:
    wheels, driver = s.info, s.machine.driver_cuda
    newest = max((int(line[2:]) for line in wheels.cuda_lines), default=None)
    if not newest or not driver or newest <= driver[0]:
        return None
    return Found(
        (f"{_nvml_line(s.machine)}; cu{newest} wheels installed",),
        {"driver": _cuda(driver), "newest": newest, "culprits": _culprits(wheels)},
    )


def _wheels_ok(s: Subject) -> Found | None:
    wheels = s.info
    cuda = [w for w in wheels.nvidia if w.cuda_line]
    if not cuda:
        return Found((), {"summary": "no CUDA wheels installed (CPU-only install)"})
    others = f"; {len(wheels.conflicts)} non-CUDA file overlaps" if wheels.conflicts else ""
    return Found((), {"summary": f"{len(cuda)} nvidia-* wheels, all {'/'.join(wheels.cuda_lines)}{others}"})


def _culprits(wheels: WheelsInfo) -> str:
    """The requirements.txt changes that remove the CUDA 13 wheels, from who depends on them."""
    fixes = []
    owners = sorted(
        {r for w in wheels.nvidia if w.cuda_line == "cu13" for r in w.required_by if not r.startswith("nvidia-")}
    )
    for owner in owners:
        if owner == "torch":
            fixes.append(f"torch {wheels.frameworks.get('torch', '')} pulls CUDA 13 wheels: pin `{STACK['torch'].requirement}`")
        elif owner.startswith("jax-cuda13"):
            fixes.append(f"replace jax[cuda13] with `{STACK['jax'].requirement}`")
        else:
            fixes.append(f"remove `{owner}` or pin a CUDA 12 build of it")
    return "; ".join(fixes) or (
        "keep one CUDA line: requirements.txt pins "
        + ", ".join(f"`{STACK[k].requirement}`" for k in FRAMEWORKS)
        + " and no CUDA 13 wheel"
    )


# --- The table ---------------------------------------------------------------------------------------------------

F = frozenset(FRAMEWORKS)
F_GPU = F | {"gpu"}
ALL = frozenset(COMPONENTS)
_MEMORY_FIX = (
    "free GPU memory, do not reinstall: stop what holds it{holders}; set XLA_PYTHON_CLIENT_PREALLOCATE=false "
    "(JAX takes 75% at start) and TF_FORCE_GPU_ALLOW_GROWTH=true before the frameworks load{env}, "
    "or pick hardware with more GPU memory"
)

RULES: tuple[Rule, ...] = (
    Rule("probe-missing", ALL, "whether the probe ran", Status.FAIL, "probe did not run", "see the probe's stderr below", _probe_missing),
    Rule("not-installed", F, "whether the framework imports at all", Status.WARN, "{title} is not installed", "add `{pin}` to requirements.txt", _not_installed),
    Rule("nvml-missing", frozenset({"gpu"}), "whether nvidia-ml-py imports", Status.WARN,
         "nvidia-ml-py is not installed: driver and GPU state unknown", f"add `{NVML_REQUIREMENT}` to requirements.txt", _nvml_missing),
    Rule(
        "host-not-ready", F_GPU, "framework lines: CUDA_ERROR_SYSTEM_NOT_READY / error 802 / Fabric Manager", Status.FAIL,
        "the GPU host is not ready (CUDA error 802, Fabric Manager not running): {quote}",
        "{host_fix}; on your own machine start nvidia-fabricmanager (same version as the driver) and reboot",
        _host_not_ready,
    ),
    Rule(
        "gpu-hardware-fault", F_GPU, "framework lines: uncorrectable ECC error, Xid, GPU fallen off the bus", Status.FAIL,
        "the GPU reports a hardware fault: {quote}", "{host_fix}; a faulty GPU is not fixed by any package",
        _hardware_fault,
    ),
    Rule(
        "cuda-not-initialized", F_GPU, "framework lines: CUDA_ERROR_NOT_INITIALIZED while NVML lists the GPU; /dev/nvidia-uvm",
        Status.FAIL, "NVML sees the {gpu} but CUDA cannot initialise it{uvm}: {quote}", "{host_fix}",
        _cuda_not_initialized,
    ),
    Rule(
        "probe-died", ALL, "the probe process: exit status, timeout, stderr tail", Status.FAIL,
        "probe {outcome}: {error}", "see the probe's stderr below{reinstall}",
        _probe_died,
    ),
    Rule(
        "driver-module-mismatch", F_GPU, "framework lines: kernel module version does not match libcuda (DSO) version",
        Status.FAIL, "the driver's kernel module ({kernel}) is older than the libcuda the process loads ({dso}): {quote}",
        "{module_fix}", _module_mismatch,
    ),
    Rule(
        "driver-too-old", F, "framework lines: driver too old / insufficient for the CUDA runtime; NVML's CUDA version",
        Status.FAIL, "the NVIDIA driver is too old for {label} (built for CUDA {need}; the driver reports CUDA {driver}): {quote}",
        "{driver_fix}; {alternative}", _driver_too_old_said,
    ),
    Rule(
        "driver-too-old", F, "NVML's highest CUDA against the CUDA the installed build was made for", Status.FAIL,
        "the NVIDIA driver supports CUDA {driver}, {label} needs {need}", "{driver_fix}; {alternative}",
        _driver_too_old_numbers,
    ),
    Rule(
        "cudnn-mismatch", F, "framework lines: loaded cuDNN vs the version it was built against; nvidia-cudnn wheel and who requires it; LD_LIBRARY_PATH",
        Status.FAIL, "cuDNN {loaded} is loaded but {title} was built against cuDNN {built}: {quote}",
        "{source}; give every framework one cuDNN ≥ {built}: {cudnn_plan} (remove other cuDNN pins and system cuDNN paths)",
        _cudnn_mismatch,
    ),
    Rule(
        "ld-library-path", F, "LD_LIBRARY_PATH entries outside site-packages, framework library errors", Status.FAIL,
        "LD_LIBRARY_PATH puts {dirs} before the pip nvidia-* libraries: {quote}",
        "remove {dirs} from LD_LIBRARY_PATH (Space variables or Dockerfile ENV): `{pin}` brings its own CUDA libraries",
        _ld_library_path,
    ),
    Rule(
        "cuda-visible-devices-empty", F, "CUDA_VISIBLE_DEVICES against NVML's GPUs", Status.FAIL,
        "CUDA_VISIBLE_DEVICES={cvd} hides every GPU from {title}",
        "unset CUDA_VISIBLE_DEVICES (or set it to 0) in the Space's variables or the code that sets it", _cvd_hides_all,
    ),
    Rule(
        "cuda-visible-devices-past-gpus", F, "CUDA_VISIBLE_DEVICES indices against NVML's GPU count", Status.FAIL,
        "CUDA_VISIBLE_DEVICES={cvd} names GPU {index}, but this machine has {count} GPU(s), numbered from 0",
        "set CUDA_VISIBLE_DEVICES to {valid} or unset it (check scripts that export it)", _cvd_past_gpus,
    ),
    Rule(
        "mig-without-uuid", F, "NVML MIG mode, CUDA_VISIBLE_DEVICES", Status.FAIL,
        "MIG is enabled on the {gpu} and CUDA_VISIBLE_DEVICES ({cvd}) names no MIG instance",
        "set CUDA_VISIBLE_DEVICES to one MIG instance's UUID, MIG-<uuid> from `nvidia-smi -L`{hint}; "
        "one process sees one MIG instance (on Spaces: restart, or pick hardware without MIG)",
        _mig_without_uuid,
    ),
    Rule(
        "mig-without-uuid", frozenset({"gpu"}), "NVML MIG mode, CUDA_VISIBLE_DEVICES", Status.WARN,
        "MIG is enabled on the {gpu} and CUDA_VISIBLE_DEVICES ({cvd}) names no MIG instance",
        "set CUDA_VISIBLE_DEVICES to a MIG-<uuid> from `nvidia-smi -L`{hint}", _mig_without_uuid,
    ),
    Rule(
        "out-of-memory", F, "framework lines: out of memory at context creation; NVML's processes; JAX/TF memory variables",
        Status.FAIL, "GPU memory ran out{holders}: {quote}", _MEMORY_FIX, _out_of_memory,
    ),
    Rule(
        "import-failed", F, "the import's traceback", Status.FAIL, "import failed: {last}",
        "pin `{pin}` in requirements.txt and keep every nvidia-* wheel on CUDA 12", _import_failed,
    ),
    Rule(
        "zero-gpu-pytorch-only", frozenset({"jax", "tensorflow"}), "SPACES_ZERO_GPU", Status.WARN,
        "ZeroGPU lends its GPU to PyTorch only, inside @spaces.GPU calls: {title} runs on the CPU here",
        "no requirements.txt change helps: ZeroGPU is PyTorch-only; for {title} on a GPU pick a dedicated GPU "
        "flavor (e.g. l4x1) in Settings or the Admin tab",
        _zero_gpu_other,
    ),
    Rule(
        "cpu-build", F, "the build: torch.version.cuda / jaxlib CUDA plugin or built-in CUDA / TF is_cuda_build", Status.FAIL,
        "{title} is a CPU-only build on a machine with a GPU: {what}",
        "use `{pin}` in requirements.txt ({cpu_note})", _cpu_build,
    ),
    Rule(
        "zero-gpu", frozenset({"torch"}), "SPACES_ZERO_GPU; torch is a CUDA build", Status.OK,
        "ZeroGPU: the GPU is attached only inside @spaces.GPU calls, so this probe process sees none, by design; "
        "{label} is a CUDA build", None, _zero_gpu_torch,
    ),
    Rule(
        "no-gpu", F, "NVML, /dev/nvidia*, the frameworks' devices", Status.WARN,
        "no GPU on {where}; {label} runs on the CPU{smoke}", UPGRADE, _no_gpu,
    ),
    Rule(
        "arch-unsupported", F, "the GPU's compute capability against the build's arch list; framework lines: no kernel image",
        Status.FAIL, "{cc} has no kernels in {installed}: {quote}", "{arch_fix}", _arch_unsupported,
    ),
    Rule(
        "ptx-jit", F, "TensorFlow's 'not built with CUDA kernel binaries compatible with compute capability' line; its arch list",
        Status.WARN, "{title} has no kernels compiled for compute capability {cap} and JIT-compiles them from PTX: {quote}",
        "expect minutes of JIT compilation at first use (cached in ~/.nv/ComputeCache); `{pin}` is built for "
        "{pinned_archs}, so for this GPU use PyTorch or JAX for heavy work, or accept the slow start",
        _ptx_jit,
    ),
    Rule("smoke-failed", F, "the matmul smoke test", Status.FAIL, "matmul on {device} failed: {detail}",
         "{host_fix}: a wrong result on a working install points at the GPU or driver", _smoke_failed),
    Rule(
        "tf-cannot-dlopen", frozenset({"tensorflow"}), "TensorFlow lines: Could not load dynamic library / Cannot dlopen", Status.FAIL,
        "GPU present but TensorFlow registers none: {quote}",
        "use `{pin}` so its nvidia-*-cu12 libraries are installed{mixed_hint}", _dlopen,
    ),
    Rule(
        "gpu-unused", F, "the framework's devices and its fallback message", Status.FAIL,
        "GPU present but {title} does not use it: {quote}", "pin `{pin}` in requirements.txt{mixed_hint}", _gpu_unused,
    ),
    Rule(
        "driver-minor-version", F, "NVML's CUDA against the build's CUDA (same major)", Status.WARN,
        "driver supports CUDA {driver}, older than {label}'s {need}: runs through minor-version compatibility, "
        "but PTX JIT and newer APIs can fail", "{driver_fix} (≥ {full_driver})", _driver_minor_behind,
    ),
    Rule("mig-instances", F, "CUDA_VISIBLE_DEVICES with several MIG UUIDs", Status.WARN,
         "CUDA_VISIBLE_DEVICES lists {count} MIG instances; CUDA enumerates one MIG instance per process",
         "run one process per MIG instance, each with its own CUDA_VISIBLE_DEVICES=MIG-<uuid>", _mig_several),
    Rule("mixed-wheels", F, "nvidia-* wheels of both CUDA 12 and 13", Status.WARN,
         "works now, but CUDA 12 and 13 wheels are mixed: {summary}", "see CUDA wheels: keep one CUDA line in requirements.txt",
         lambda s: Found(_mixed(s).lines, _framework_ok(s).values) if _mixed(s) else None),
    Rule("ok", F, "the framework's devices", Status.OK, "{summary}", None, _framework_ok),
    # The GPU row.
    Rule("zero-gpu", frozenset({"gpu"}), "SPACES_ZERO_GPU; NVML", Status.OK,
         "ZeroGPU: a GPU is attached only inside @spaces.GPU calls, so the probes see none, by design", None, _zero_gpu_row),
    Rule("nvml-failed", frozenset({"gpu"}), "/dev/nvidia*, NVML's error", Status.FAIL,
         "/dev/nvidia* present but NVML failed: {error}", "{host_fix}: the driver is not usable", _nvml_broken),
    Rule("driver-absent", frozenset({"gpu"}), "ACCELERATOR, NVML", Status.FAIL,
         "hardware is {hardware} but no NVIDIA driver is visible", "restart the Space; if it persists, request the hardware again (Admin tab)",
         _driver_absent),
    Rule("memory-held", frozenset({"gpu"}), "NVML's processes and memory", Status.WARN,
         "other processes hold {share} of the {gpu}{holders}", _MEMORY_FIX.replace("{env}", ""), _memory_held),
    Rule("ok", frozenset({"gpu"}), "NVML", Status.OK, "{summary}", None, _gpu_ok),
    Rule("no-gpu", frozenset({"gpu"}), "NVML, /dev/nvidia*", Status.WARN, "no NVIDIA GPU or driver on {hardware}", UPGRADE,
         lambda s: Found((f"NVML: {s.info.error}",) if s.info.error else ())),
    # The wheels row.
    Rule("mixed-wheels", frozenset({"wheels"}), "files two nvidia-* wheels both install; CUDA lines", Status.FAIL,
         "CUDA 12 and 13 wheels mixed{detail}", "{culprits}", _wheels_mixed),
    Rule("driver-too-old", frozenset({"wheels"}), "NVML's CUDA against the wheels' CUDA line", Status.FAIL,
         "driver too old for this CUDA: driver supports {driver}, cu{newest} wheels installed", "{culprits}", _wheels_driver),
    Rule("ok", frozenset({"wheels"}), "the nvidia-* wheels", Status.OK, "{summary}", None, _wheels_ok),
)


def _values(subject: Subject) -> dict[str, Any]:
    machine, stack, info = subject.machine, subject.stack, subject.info
    driver_fix = (
        "the driver comes with the hardware, not requirements.txt: restart the Space or pick another GPU flavor (Admin tab)"
        if machine.on_spaces
        else "update the NVIDIA driver"
    )
    values: dict[str, Any] = {
        "title": subject.title,
        "label": subject.label,
        "hardware": machine.hardware,
        "host_fix": machine.host_fix,
        "pin": stack.requirement if stack else "",
        "reinstall": f"; a framework that hangs or crashes on import needs reinstalling: `{stack.requirement}`"
        if stack
        else "",
        "pinned_archs": stack.pinned.arch_text if stack else "",
        "mixed_hint": "; remove the CUDA 13 wheels first (see CUDA wheels)" if machine.mixed_wheels else "",
        "smoke": _smoke_note(info) if isinstance(info, FrameworkInfo) else "",
        "cpu_note": {
            "torch": "from PyPI it is a CUDA 12.8 build; drop any --index-url …/whl/cpu",
            "jax": "plain `jax` is CPU-only",
            "tensorflow": "not tensorflow-cpu",
        }.get(subject.component, ""),
    }
    need = stack.pinned.cuda if stack else None
    values["driver_fix"] = (
        driver_fix if machine.on_spaces or not need else f"{driver_fix} to ≥ {MIN_DRIVER.get(need[0], '?')}"
    )
    return values


class _Values(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def judge(subject: Subject) -> Verdict:
    """The verdict of the first rule for this component whose test finds evidence."""
    for rule in RULES:
        if subject.component not in rule.components:
            continue
        found = rule.test(subject)
        if found is None:
            continue
        values = _Values({**_values(subject), **found.values})
        fix = rule.fix.format_map(values) if rule.fix else None
        return Verdict(
            subject.component,
            rule.status,
            rule.reason.format_map(values),
            fix,
            rule.name,
            tuple(line for line in found.lines if line),
        )
    raise AssertionError(f"no rule for {subject.component}")  # every component ends in a rule that always matches


def machine_of(runs: Mapping[str, ProbeRun], facts: Mapping[str, object]) -> Machine:
    return Machine(
        host=facts.get("host"),  # type: ignore[arg-type]
        nvml=facts.get("nvml"),  # type: ignore[arg-type]
        wheels=facts.get("wheels"),  # type: ignore[arg-type]
        frameworks={name: facts.get(name) for name in FRAMEWORKS},  # type: ignore[misc]
        runs=runs,
    )


def _said_by(name: str, runs: Mapping[str, ProbeRun], facts: Mapping[str, object]) -> list[str]:
    """A framework's words: its facts, or the stderr of a probe that died before printing them."""
    info, run = facts.get(name), runs.get(name)
    if isinstance(info, FrameworkInfo):
        return _texts_of(info)
    return [line for line in (run.stderr_tail if run else "").splitlines() if line.strip()]


def subject_of(component: str, machine: Machine, runs: Mapping[str, ProbeRun], facts: Mapping[str, object]) -> Subject:
    if component == "gpu":
        texts = tuple(t for name in FRAMEWORKS for t in _said_by(name, runs, facts))
        return Subject("gpu", runs.get("nvml"), facts.get("nvml"), machine, texts)
    texts = tuple(_said_by(component, runs, facts)) if component in FRAMEWORKS else ()
    return Subject(component, runs.get(component), facts.get(component), machine, texts)


def judge_all(runs: Mapping[str, ProbeRun], facts: Mapping[str, object]) -> list[Verdict]:
    """One verdict per component, in COMPONENTS order."""
    machine = machine_of(runs, facts)
    return [judge(subject_of(c, machine, runs, facts)) for c in COMPONENTS]
