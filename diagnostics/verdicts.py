"""Pure functions from probe facts to one verdict per component: status, one-line reason, the fix.

The fix names the requirements.txt line to change; the stack it points to is the one
requirements.txt pins (REQUIREMENT below): one CUDA 12 set for torch, JAX and TensorFlow.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from diagnostics.facts import (
    FrameworkInfo,
    HostInfo,
    JaxInfo,
    NvmlInfo,
    ProbeOutcome,
    ProbeRun,
    TensorFlowInfo,
    TorchInfo,
    WheelsInfo,
)

REQUIREMENT = {
    "torch": "torch==2.10.0",
    "jax": "jax[cuda12]==0.10.2",
    "tensorflow": "tensorflow[and-cuda]==2.20.0",
    "nvml": "nvidia-ml-py==13.615.71",
}
"""The requirements.txt lines of the tested CUDA 12 stack."""
PINNED_TORCH_ARCHS = "sm_70–sm_120"
"""What torch==2.10.0 from PyPI (CUDA 12.8) is compiled for."""
UPGRADE = "upgrade the Space's hardware (Settings or Admin tab)"
COMPONENTS = ("gpu", "wheels", "torch", "jax", "tensorflow")
"""Rows of the summary, in order."""
TITLES = {"gpu": "GPU & driver", "wheels": "CUDA wheels", "torch": "PyTorch", "jax": "JAX", "tensorflow": "TensorFlow"}


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
    """One line, e.g. "no GPU on this hardware (cpu-basic); torch 2.10.0+cu128 runs on the CPU"."""
    fix: str | None = None
    """What to change, naming the requirements.txt line, e.g. "pin `torch==2.10.0` in requirements.txt"."""
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Mapping) -> Verdict:
        return cls(data["component"], Status(data["status"]), data["reason"], data.get("fix"), data.get("extra", {}))


@dataclass(frozen=True)
class Context:
    """What every framework verdict needs to know about the machine."""

    gpu_present: bool
    """A driver reports GPUs, /dev/nvidia* exists, or some framework sees a GPU."""
    hardware: str
    """e.g. "a10g-small", "cpu-basic", "this machine"."""
    on_spaces: bool = False
    zero_gpu: bool = False
    driver_cuda: tuple[int, int] | None = None
    """Highest CUDA the driver supports, e.g. (12, 8)."""
    capabilities: tuple[tuple[int, int], ...] = ()
    """Compute capability of each GPU per NVML, e.g. ((8, 6),)."""
    gpu_names: tuple[str, ...] = ()
    mixed_wheels: bool = False
    """CUDA 12 and 13 wheels both installed."""


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


def context(
    host: HostInfo | None,
    nvml: NvmlInfo | None,
    wheels: WheelsInfo | None,
    frameworks: Iterable[FrameworkInfo | None] = (),
) -> Context:
    hardware, on_spaces, zero_gpu = _hardware(host)
    sees_gpu = any(
        (isinstance(f, TorchInfo) and f.cuda_available)
        or (isinstance(f, JaxInfo) and f.on_gpu)
        or (isinstance(f, TensorFlowInfo) and f.gpus)
        for f in frameworks
    )
    gpus = nvml.gpus if nvml else []
    return Context(
        gpu_present=bool(gpus) or bool(nvml and nvml.dev_nvidia) or sees_gpu,
        hardware=hardware,
        on_spaces=on_spaces,
        zero_gpu=zero_gpu,
        driver_cuda=nvml.driver_cuda if nvml else None,
        capabilities=tuple(tuple(g.compute_capability) for g in gpus if g.compute_capability),
        gpu_names=tuple(g.name for g in gpus),
        mixed_wheels=bool(wheels and {"cu12", "cu13"} <= set(wheels.cuda_lines)),
    )


def version_tuple(text: str | None) -> tuple[int, int] | None:
    """ "12.5.1" -> (12, 5)."""
    match = re.match(r"(\d+)\.(\d+)", text or "")
    return (int(match.group(1)), int(match.group(2))) if match else None


def _cc(cc: Iterable[int]) -> str:
    major, minor = cc
    return f"sm_{major}{minor}"


def arch_supports(arch_list: Iterable[str], cc: tuple[int, int]) -> bool:
    """Whether code compiled for `arch_list` runs on a GPU of compute capability `cc`.

    sm_XY cubins run on the same major with an equal or higher minor; compute_XY (PTX) is
    JIT-compiled for any GPU at or above XY; "a"/"f"-suffixed archs run only on their own GPU.
    """
    for arch in arch_list:
        match = re.fullmatch(r"(sm|compute)_(\d+)(\d)([af]?)", arch)
        if not match:
            continue
        kind, major, minor, suffix = match.group(1), int(match.group(2)), int(match.group(3)), match.group(4)
        if suffix:
            if (major, minor) == cc:
                return True
        elif kind == "sm" and major == cc[0] and minor <= cc[1]:
            return True
        elif kind == "compute" and (major, minor) <= cc:
            return True
    return False


def _probe_failure(run: ProbeRun | None, component: str, fix: str | None) -> Verdict | None:
    if run is None:
        return Verdict(component, Status.FAIL, "probe did not run", fix)
    if run.outcome is ProbeOutcome.OK and run.payload is not None:
        return None
    return Verdict(component, Status.FAIL, f"probe {run.outcome.value}: {run.error}", fix)


def _no_gpu(ctx: Context, component: str, what: str, note: str = "") -> Verdict:
    if ctx.zero_gpu:
        return Verdict(
            component,
            Status.WARN,
            f"ZeroGPU: a GPU is attached only inside @spaces.GPU calls, so the probe sees none; "
            f"{what} runs on the CPU{note}",
            "nothing to change: the Demo tab uses the GPU inside its @spaces.GPU function",
        )
    where = (
        f"this hardware ({ctx.hardware})"
        if ctx.on_spaces or ctx.hardware != "this machine"
        else ("this machine (no NVIDIA driver, no /dev/nvidia*)")
    )
    return Verdict(component, Status.WARN, f"no GPU on {where}; {what} runs on the CPU{note}", UPGRADE)


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else text


def _common(run: ProbeRun | None, info: FrameworkInfo | None, component: str, title: str) -> Verdict | None:
    """Verdicts alike for every framework: probe died, not installed, import failed, smoke test failed."""
    line = REQUIREMENT[component]
    failure = _probe_failure(run, component, f"see the probe's stderr below; reinstall `{line}`")
    if failure:
        return failure
    assert info is not None
    if not info.installed:
        return Verdict(component, Status.WARN, f"{title} is not installed", f"add `{line}` to requirements.txt")
    if info.import_error:
        return Verdict(
            component,
            Status.FAIL,
            f"import failed: {_last_line(info.import_error)}",
            f"pin `{line}` in requirements.txt and keep every nvidia-* wheel on CUDA 12",
        )
    smoke = info.smoke
    if smoke and not smoke.passed:
        detail = smoke.error or f"result differs from numpy (relative error {smoke.relative_error:.2g})"
        return Verdict(
            component,
            Status.FAIL,
            f"matmul on {smoke.device} failed: {detail}",
            f"pin `{line}` in requirements.txt; if it persists the GPU or driver is faulty",
        )
    return None


def _driver_check(ctx: Context, component: str, built: tuple[int, int] | None, what: str, fix: str) -> Verdict | None:
    driver = ctx.driver_cuda
    if not driver or not built or built <= driver:
        return None
    have, need = f"{driver[0]}.{driver[1]}", f"{built[0]}.{built[1]}"
    if built[0] > driver[0]:
        return Verdict(
            component,
            Status.FAIL,
            f"driver too old for this CUDA: the driver supports CUDA {have}, {what} needs {need}",
            fix,
        )
    return Verdict(
        component,
        Status.WARN,
        f"driver supports CUDA {have}, older than {what}'s {need}: runs through minor-version compatibility, "
        "but PTX JIT and newer APIs can fail",
        f"{fix}, or pick hardware with a newer driver",
    )


def _smoke_note(info: FrameworkInfo) -> str:
    smoke = info.smoke
    if not smoke or smoke.tflops is None:
        return ""
    where = "on the CPU" if smoke.on_cpu else f"on {smoke.device}"
    return f"; matmul {where} {smoke.tflops:.2f} TFLOP/s, matches numpy"


def _ok(component: str, reason: str, ctx: Context) -> Verdict:
    """OK, unless the wheels are mixed: then which cuDNN loads depends on install order, so it may break on rebuild."""
    if ctx.mixed_wheels:
        return Verdict(
            component,
            Status.WARN,
            f"works now, but CUDA 12 and 13 wheels are mixed: {reason}",
            "see CUDA wheels: keep one CUDA line in requirements.txt",
        )
    return Verdict(component, Status.OK, reason)


def cudnn_text(version: int) -> str:
    """91002 -> "9.10.2" (cuDNN 9 encodes major*10000), 8902 -> "8.9.2"."""
    major, rest = divmod(version, 10000) if version >= 10000 else divmod(version, 1000)
    return f"{major}.{rest // 100}.{rest % 100}"


def _log_message(line: str) -> str:
    """A C++ log line without its timestamp and source location."""
    return line.split("] ", 1)[-1]


def _mixed_hint(ctx: Context) -> str:
    return "; remove the CUDA 13 wheels first (see CUDA wheels)" if ctx.mixed_wheels else ""


def judge_torch(run: ProbeRun | None, info: TorchInfo | None, ctx: Context) -> Verdict:
    line = REQUIREMENT["torch"]
    common = _common(run, info, "torch", "torch")
    if common:
        return common
    assert info is not None
    if not ctx.gpu_present:
        return _no_gpu(ctx, "torch", f"torch {info.version}", _smoke_note(info))
    if info.hip_built or not info.cuda_built:
        return Verdict(
            "torch",
            Status.FAIL,
            f"GPU present but torch {info.version} is a CPU build",
            f"pin a CUDA build: `{line}` from PyPI is CUDA 12.8 (drop any --index-url .../whl/cpu)",
        )
    driver = _driver_check(
        ctx,
        "torch",
        version_tuple(info.cuda_built),
        f"torch {info.version}",
        f"pin `{line}` (CUDA 12.8) in requirements.txt",
    )
    if driver and driver.status is Status.FAIL:
        return driver
    caps = [tuple(d.capability) for d in info.devices] or list(ctx.capabilities)
    missing = sorted({_cc(cc) for cc in caps if info.arch_list and not arch_supports(info.arch_list, cc)})
    if missing:
        have = " ".join(info.arch_list)
        fix = (
            f"this GPU is outside what `{line}` supports ({PINNED_TORCH_ARCHS}): choose other hardware"
            if info.version and info.version.startswith(line.split("==")[1])
            else f"pin `{line}` in requirements.txt (built for {PINNED_TORCH_ARCHS})"
        )
        return Verdict(
            "torch", Status.FAIL, f"GPU capability {', '.join(missing)} not in the wheel's arch list ({have})", fix
        )
    if not info.cuda_available:
        why = f": {_last_line(info.messages[-1])}" if info.messages else ""
        return Verdict(
            "torch",
            Status.FAIL,
            f"GPU present but torch.cuda.is_available() is False{why}",
            f"pin `{line}` in requirements.txt{_mixed_hint(ctx)}",
        )
    if driver:
        return driver
    names = ", ".join(sorted({f"{d.name} ({_cc(d.capability)})" for d in info.devices}))
    cudnn = f", cuDNN {cudnn_text(info.cudnn_version)}" if info.cudnn_version else ""
    return _ok("torch", f"{info.device_count}× {names}, CUDA {info.cuda_built}{cudnn}{_smoke_note(info)}", ctx)


def _fallback_message(info: JaxInfo) -> str | None:
    for message in info.messages:
        if any(key in message for key in ("CUDA backend failed", "may be present", "plugin configuration error")):
            return message
    return info.backend_error


def judge_jax(run: ProbeRun | None, info: JaxInfo | None, ctx: Context) -> Verdict:
    line = REQUIREMENT["jax"]
    common = _common(run, info, "jax", "JAX")
    if common:
        return common
    assert info is not None
    if not ctx.gpu_present:
        return _no_gpu(ctx, "jax", f"JAX {info.version}", _smoke_note(info))
    plugins = [p["name"] for p in info.cuda_plugins if p["name"].endswith("-plugin")]
    message = _fallback_message(info)
    quoted = f": {message}" if message else ""
    if not plugins:
        return Verdict(
            "jax",
            Status.FAIL,
            f"GPU present but no CUDA plugin for JAX is installed{quoted}",
            f"use `{line}` in requirements.txt (plain `jax` is CPU-only)",
        )
    majors = [int(m) for p in plugins for m in re.findall(r"cuda(\d+)", p)]
    built = (max(majors), 0) if majors else None
    driver = _driver_check(ctx, "jax", built, ", ".join(plugins), f"use `{line}` in requirements.txt")
    if driver and driver.status is Status.FAIL:
        return driver
    if not info.on_gpu:
        return Verdict(
            "jax",
            Status.FAIL,
            f"JAX fell back to {info.default_backend or 'no backend'}{quoted}",
            f"reinstall `{line}` so its nvidia-*-cu12 wheels match{_mixed_hint(ctx)}",
        )
    gpus = [d for d in info.devices if d.platform in {"gpu", "cuda"}]
    kinds = ", ".join(sorted({f"{d.device_kind} ({d.compute_capability})" for d in gpus}))
    return _ok("jax", f"{len(gpus)}× {kinds} via {', '.join(plugins)}{_smoke_note(info)}", ctx)


def judge_tensorflow(run: ProbeRun | None, info: TensorFlowInfo | None, ctx: Context) -> Verdict:
    line = REQUIREMENT["tensorflow"]
    common = _common(run, info, "tensorflow", "TensorFlow")
    if common:
        return common
    assert info is not None
    if not ctx.gpu_present:
        return _no_gpu(ctx, "tensorflow", f"TensorFlow {info.version}", _smoke_note(info))
    build = info.build_info
    if not build.get("is_cuda_build"):
        return Verdict(
            "tensorflow",
            Status.FAIL,
            f"TensorFlow {info.version} is not a CUDA build",
            f"use `{line}` in requirements.txt",
        )
    driver = _driver_check(
        ctx,
        "tensorflow",
        version_tuple(build.get("cuda_version")),
        f"TensorFlow {info.version}",
        f"use `{line}` (CUDA 12) in requirements.txt",
    )
    if driver and driver.status is Status.FAIL:
        return driver
    if not info.gpus:
        complaint = next((x for x in info.log_lines if "dlopen" in x), None) or next(iter(info.log_lines), None)
        why = f": {_log_message(complaint)}" if complaint else ""
        return Verdict(
            "tensorflow",
            Status.FAIL,
            f"GPU present but TensorFlow registers none{why}",
            f"use `{line}` so its nvidia-*-cu12 libraries are installed{_mixed_hint(ctx)}",
        )
    archs = build.get("cuda_compute_capabilities") or []
    caps = [tuple(g.compute_capability) for g in info.gpus if g.compute_capability] or list(ctx.capabilities)
    missing = sorted({_cc(cc) for cc in caps if archs and not arch_supports(archs, cc)})
    if missing:
        return Verdict(
            "tensorflow",
            Status.FAIL,
            f"GPU capability {', '.join(missing)} not in TensorFlow's arch list ({' '.join(archs)})",
            f"use `{line}` in requirements.txt, or hardware with a newer GPU",
        )
    if driver:
        return driver
    names = ", ".join(sorted({g.device_name or g.name for g in info.gpus}))
    return _ok(
        "tensorflow", f"{len(info.gpus)}× {names}, built for CUDA {build.get('cuda_version')}{_smoke_note(info)}", ctx
    )


def judge_gpu(run: ProbeRun | None, nvml: NvmlInfo | None, ctx: Context) -> Verdict:
    failure = _probe_failure(run, "gpu", "see the probe's stderr below")
    if failure:
        return failure
    assert nvml is not None
    if nvml.gpus:
        names = ", ".join(sorted(set(ctx.gpu_names)))
        cuda = f", CUDA ≤ {ctx.driver_cuda[0]}.{ctx.driver_cuda[1]}" if ctx.driver_cuda else ""
        return Verdict(
            "gpu", Status.OK, f"{len(nvml.gpus)}× {names} on {ctx.hardware}, driver {nvml.driver_version}{cuda}"
        )
    if not nvml.nvml_installed:
        return Verdict(
            "gpu",
            Status.WARN,
            "nvidia-ml-py is not installed: driver and GPU state unknown",
            f"add `{REQUIREMENT['nvml']}` to requirements.txt",
        )
    if ctx.zero_gpu:
        return _no_gpu(ctx, "gpu", "this process")
    if nvml.dev_nvidia or ctx.gpu_present:
        return Verdict(
            "gpu",
            Status.FAIL,
            f"/dev/nvidia* present but NVML failed: {nvml.error}",
            "restart the Space (factory rebuild) or pick other hardware: the driver is not usable",
        )
    if ctx.on_spaces and ctx.hardware not in {"cpu-basic", "cpu-upgrade", "CPU hardware"}:
        return Verdict(
            "gpu",
            Status.FAIL,
            f"hardware is {ctx.hardware} but no NVIDIA driver is visible",
            "restart the Space; if it persists, request the hardware again (Admin tab)",
        )
    return Verdict("gpu", Status.WARN, f"no NVIDIA GPU or driver on {ctx.hardware}", UPGRADE)


def _culprits(wheels: WheelsInfo) -> str:
    """The requirements.txt changes that remove the CUDA 13 wheels, from who depends on them."""
    fixes = []
    owners = sorted(
        {r for w in wheels.nvidia if w.cuda_line == "cu13" for r in w.required_by if not r.startswith("nvidia-")}
    )
    for owner in owners:
        if owner == "torch":
            fixes.append(
                f"torch {wheels.frameworks.get('torch', '')} pulls CUDA 13 wheels: pin `{REQUIREMENT['torch']}`"
            )
        elif owner.startswith("jax-cuda13"):
            fixes.append(f"replace jax[cuda13] with `{REQUIREMENT['jax']}`")
        else:
            fixes.append(f"remove `{owner}` or pin a CUDA 12 build of it")
    return "; ".join(fixes) or (
        "keep one CUDA line: requirements.txt pins "
        + ", ".join(f"`{REQUIREMENT[k]}`" for k in ("torch", "jax", "tensorflow"))
        + " and no CUDA 13 wheel"
    )


def judge_wheels(run: ProbeRun | None, wheels: WheelsInfo | None, ctx: Context) -> Verdict:
    failure = _probe_failure(run, "wheels", None)
    if failure:
        return failure
    assert wheels is not None
    lines = wheels.cuda_lines
    cuda_conflicts = [c for c in wheels.conflicts if any(d.startswith("nvidia-") for d in c.distributions)]
    if cuda_conflicts or ctx.mixed_wheels:
        shown = cuda_conflicts[0] if cuda_conflicts else None
        detail = (
            f": {' and '.join(shown.distributions)} both write {shown.path}"
            + (f" (+{len(cuda_conflicts) - 1} more files)" if len(cuda_conflicts) > 1 else "")
            if shown
            else f" ({', '.join(lines)})"
        )
        return Verdict("wheels", Status.FAIL, f"CUDA 12 and 13 wheels mixed{detail}", _culprits(wheels))
    newest = max((int(line[2:]) for line in lines), default=None)
    if newest and ctx.driver_cuda and newest > ctx.driver_cuda[0]:
        return Verdict(
            "wheels",
            Status.FAIL,
            f"driver too old for this CUDA: driver supports {ctx.driver_cuda[0]}.{ctx.driver_cuda[1]}, "
            f"cu{newest} wheels installed",
            _culprits(wheels),
        )
    cuda = [w for w in wheels.nvidia if w.cuda_line]
    if not cuda:
        return Verdict("wheels", Status.OK, "no CUDA wheels installed (CPU-only install)")
    others = f"; {len(wheels.conflicts)} non-CUDA file overlaps" if wheels.conflicts else ""
    return Verdict("wheels", Status.OK, f"{len(cuda)} nvidia-* wheels, all {'/'.join(lines)}{others}")


def judge_all(runs: Mapping[str, ProbeRun], facts: Mapping[str, object]) -> list[Verdict]:
    """One verdict per component, in COMPONENTS order."""
    host, nvml, wheels = facts.get("host"), facts.get("nvml"), facts.get("wheels")
    frameworks = [facts.get(name) for name in ("torch", "jax", "tensorflow")]
    ctx = context(host, nvml, wheels, frameworks)  # type: ignore[arg-type]
    return [
        judge_gpu(runs.get("nvml"), nvml, ctx),  # type: ignore[arg-type]
        judge_wheels(runs.get("wheels"), wheels, ctx),  # type: ignore[arg-type]
        judge_torch(runs.get("torch"), facts.get("torch"), ctx),  # type: ignore[arg-type]
        judge_jax(runs.get("jax"), facts.get("jax"), ctx),  # type: ignore[arg-type]
        judge_tensorflow(runs.get("tensorflow"), facts.get("tensorflow"), ctx),  # type: ignore[arg-type]
    ]
