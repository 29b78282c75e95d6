"""Rule tests above the lower layers: probes, environment variables, MIG, driver CUDA, libraries, memory,
architecture, builds, the GPU row and the wheels row. Each returns Found or None."""

from __future__ import annotations

import re

from diagnostics.facts import (
    FrameworkInfo,
    JaxInfo,
    NvmlGpu,
    NvmlInfo,
    ProbeOutcome,
    TensorFlowInfo,
    TorchInfo,
    WheelsInfo,
)
from diagnostics.registry import FRAMEWORKS
from diagnostics.stack import (
    FULL_DRIVER,
    MIN_DRIVER,
    STACK,
    arch_supports,
    build_for,
    build_for_driver,
    oldest_arch,
    runs_natively,
)
from diagnostics.verdicts.evidence import (
    BROKEN_INSTALL,
    HARMLESS,
    is_healthy,
    named_library,
    nvml_line,
    pip_libraries_for,
    quote_line,
    quoted_hit,
)
from diagnostics.verdicts.machine import Machine, Subject, cuda_text, cudnn_words, sm_name, texts_of
from diagnostics.verdicts.model import Found

# --- Rule tests: probes ----------------------------------------------------------------------------------------


def probe_missing(s: Subject) -> Found | None:
    return Found() if s.run is None else None


def probe_died(s: Subject) -> Found | None:
    run = s.run
    if run is None or (run.outcome is ProbeOutcome.OK and run.payload is not None):
        return None
    tail = [line for line in run.stderr_tail.splitlines() if line.strip()][-3:]
    # A hang or crash alone says nothing about the installation; a missing file or symbol on import does.
    broken = s.stack and BROKEN_INSTALL.search(run.stderr_tail)
    reinstall = (
        f"; the import breaks on a missing file or symbol, so reinstall it: "
        f"`pip install --force-reinstall --no-cache-dir {s.stack.requirement}`"
        if broken
        else ""
    )
    return Found(tuple(tail), {"outcome": run.outcome.value, "error": run.error, "reinstall": reinstall})


def not_installed(s: Subject) -> Found | None:
    return Found() if isinstance(s.info, FrameworkInfo) and not s.info.installed else None


# --- Rule tests: the host --------------------------------------------------------------------------------------

_HOST_NOT_READY = (
    r"CUDA_ERROR_SYSTEM_NOT_READY|system not yet initialized|cudaErrorSystemNotReady|[Ff]abric ?[Mm]anager"
)
_HARDWARE_FAULT = r"uncorrectable ECC|ECC_UNCORRECTABLE|\bXid\b|fallen off the bus|CUDA_ERROR_ECC"
_NOT_INITIALIZED = (
    r"CUDA_ERROR_NOT_INITIALIZED|CUDA driver initialization failed|cudaErrorInitializationError"
    r"|CUDA error: initialization error"
)


def host_not_ready(s: Subject) -> Found | None:
    return quoted_hit(s, _HOST_NOT_READY)


def hardware_fault(s: Subject) -> Found | None:
    return quoted_hit(s, _HARDWARE_FAULT)


def cuda_not_initialized(s: Subject) -> Found | None:
    machine = s.machine
    if not machine.gpus:
        return None
    found = quoted_hit(s, _NOT_INITIALIZED)
    if not found:
        return None
    nodes = machine.nvml.dev_nvidia if machine.nvml else []
    uvm = "" if "/dev/nvidia-uvm" in nodes or not nodes else " (/dev/nvidia-uvm is missing)"
    return Found((*found.lines, nvml_line(machine)), {**found.values, "gpu": machine.gpus[0].name, "uvm": uvm})


# --- Rule tests: environment variables, MIG ----------------------------------------------------------------------


def _visible_entries(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def cvd_hides_all(s: Subject) -> Found | None:
    cvd = s.machine.cuda_visible_devices
    if cvd is None or not s.machine.gpus or is_healthy(s):
        return None
    entries = _visible_entries(cvd)
    if entries and not any(e in {"-1", "none", "NoDevFiles", "void"} for e in entries):
        return None
    return Found((f"CUDA_VISIBLE_DEVICES={cvd!r}", nvml_line(s.machine)), {"cvd": repr(cvd)})


def cvd_past_gpus(s: Subject) -> Found | None:
    cvd, gpus = s.machine.cuda_visible_devices, s.machine.gpus
    if cvd is None or not gpus or is_healthy(s):
        return None
    past = [e for e in _visible_entries(cvd) if e.isdigit() and int(e) >= len(gpus)]
    if not past:
        return None
    said = quoted_hit(s, r"no CUDA-capable device|CUDA_ERROR_NO_DEVICE|No CUDA GPUs are available|is_available")
    lines = (f"CUDA_VISIBLE_DEVICES={cvd}", nvml_line(s.machine), *(said.lines if said else ()))
    valid = "0" if len(gpus) == 1 else f"0…{len(gpus) - 1}"
    return Found(lines, {"cvd": cvd, "index": past[0], "count": len(gpus), "valid": valid})


def _mig_gpus(machine: Machine) -> list[NvmlGpu]:
    return [g for g in machine.gpus if g.mig_mode == "enabled"]


def _mig_uuid_hint(machine: Machine) -> str:
    uuids = [d["uuid"] for g in _mig_gpus(machine) for d in g.mig_devices if d.get("uuid")]
    return f" (here: {uuids[0]})" if uuids else ""


def mig_without_uuid(s: Subject) -> Found | None:
    migs = _mig_gpus(s.machine)
    cvd = s.machine.cuda_visible_devices or ""
    if not migs or "MIG-" in cvd or is_healthy(s):
        return None
    said = quoted_hit(s, r"num_gpus|no CUDA-capable device|CUDA_ERROR_NO_DEVICE|No visible GPU|MIG")
    lines = (
        f"NVML: MIG enabled on {migs[0].name}",
        f"CUDA_VISIBLE_DEVICES={s.machine.cuda_visible_devices!r}",
        *(said.lines if said else ()),
    )
    shown = "unset" if s.machine.cuda_visible_devices is None else repr(s.machine.cuda_visible_devices)
    return Found(lines, {"gpu": migs[0].name, "cvd": shown, "hint": _mig_uuid_hint(s.machine)})


def mig_several(s: Subject) -> Found | None:
    cvd = s.machine.cuda_visible_devices or ""
    migs = [e for e in _visible_entries(cvd) if e.startswith("MIG-")]
    if len(migs) >= 2:
        line = f"CUDA_VISIBLE_DEVICES={cvd[:120]}{'…' if len(cvd) > 120 else ''}"
        return Found((line,), {"listed": f"CUDA_VISIBLE_DEVICES lists {len(migs)} MIG instances"})
    # Without a list, a process that sees fewer devices than the MIG instances NVML counts meets the same limit.
    instances = sum(len(g.mig_devices) for g in s.machine.gpus)
    seen = _devices_seen(s.info)
    if migs or instances < 2 or not seen or seen >= instances:
        return None
    line = f"NVML: {instances} MIG instances; {s.label} sees {seen}"
    return Found((line,), {"listed": f"the GPUs have {instances} MIG instances and {s.label} sees {seen}"})


def _devices_seen(info: object) -> int:
    if isinstance(info, TorchInfo):
        return info.device_count if info.cuda_available else 0
    if isinstance(info, TensorFlowInfo):
        return len(info.gpus)
    if isinstance(info, JaxInfo):
        return sum(d.platform in {"gpu", "cuda"} for d in info.devices)
    return 0


_SYSTEM_LIB_DIR = re.compile(r"cuda|cudnn|nvidia|lib64", re.IGNORECASE)
_LIBRARY_TROUBLE = (
    r"cannot open shared object|undefined symbol|Could not load (?:dynamic )?library|Cannot dlopen"
    r"|DNN library initialization failed|CUDNN_STATUS_\w+|cuDNN version incompatibility|libcu\w*\.so"
)


def _shadowing_dirs(machine: Machine) -> list[str]:
    """LD_LIBRARY_PATH entries with CUDA libraries outside the pip wheels (those live in site-packages/nvidia)."""
    value = machine.env.get("LD_LIBRARY_PATH", "")
    return list(
        dict.fromkeys(d for d in value.split(":") if d and _SYSTEM_LIB_DIR.search(d) and "site-packages" not in d)
    )


def ld_library_path(s: Subject) -> Found | None:
    dirs = _shadowing_dirs(s.machine)
    if not dirs or is_healthy(s):
        return None
    said = quoted_hit(s, _LIBRARY_TROUBLE)
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


def module_mismatch(s: Subject) -> Found | None:
    said = quoted_hit(s, _MODULE_MISMATCH)
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
        "driver": cuda_text(driver) if driver else "an older CUDA",
        "need": cuda_text(need),
        "alternative": alternative,
    }


def driver_too_old_said(s: Subject) -> Found | None:
    said = quoted_hit(s, _DRIVER_SAYS)
    if not said:
        return None
    match = said.values["match"]
    driver = s.machine.driver_cuda
    if match.group("found"):
        found = int(match.group("found"))
        driver = (found // 1000, found % 1000 // 10)
    lines = (*said.lines, nvml_line(s.machine)) if s.machine.nvml and s.machine.nvml.driver_loaded else said.lines
    return Found(tuple(x for x in lines if x), {**said.values, **_driver_values(s, driver)})


def driver_too_old_numbers(s: Subject) -> Found | None:
    driver = s.machine.driver_cuda
    if not driver or not isinstance(s.info, FrameworkInfo) or not s.info.installed:
        return None
    built = s.view.built_cuda(s.info)
    if not built or built[0] <= driver[0]:
        return None
    line = f"{nvml_line(s.machine)}; {s.label} is built for CUDA {cuda_text(built)}"
    return Found((line,), _driver_values(s, driver))


def driver_minor_behind(s: Subject) -> Found | None:
    driver = s.machine.driver_cuda
    built = s.view.built_cuda(s.info) if isinstance(s.info, FrameworkInfo) else None
    if not driver or not built or built <= driver or built[0] != driver[0]:
        return None
    return Found(
        (f"{nvml_line(s.machine)}; {s.label} is built for CUDA {cuda_text(built)}",),
        {"driver": cuda_text(driver), "need": cuda_text(built), "full_driver": FULL_DRIVER.get(built, "a newer one")},
    )


# --- Rule tests: libraries and memory -------------------------------------------------------------------------

_CUDNN_SAYS = (
    r"Loaded runtime CuDNN library:? (?P<loaded>[\d.]+)(?: \(compatibility version \d+\))?"
    r" but source was compiled with:? (?P<built>\d+(?:\.\d+)*)"
    r"|Found cuDNN version (?P<loaded2>\d+), but JAX was built against version (?P<built2>\d+)"
    # torch's own message has two spaces in "compiled  against": every gap is read as any whitespace.
    r"|cuDNN\s+version\s+incompatibility:\s+PyTorch\s+was\s+compiled\s+against\s+(?P<built3>\([\d, ]+\))\s+but\s+"
    r"(?:linked\s+against|found\s+runtime\s+version)\s+(?P<loaded3>\([\d, ]+\))"
    r"|Outdated cuDNN installation found\.\s*Version JAX was built against: (?P<built4>\d+)"
    r"\s*Minimum supported: (?P<minimum4>\d+)\s*Installed version: (?P<loaded4>\d+)"
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
    return (
        "no nvidia-cudnn wheel is installed: the cuDNN loaded comes from the system or conda, found through "
        "LD_LIBRARY_PATH or ld.so.conf (`ldconfig -p | grep cudnn`)"
    )


def cudnn_mismatch(s: Subject) -> Found | None:
    said = quoted_hit(s, _CUDNN_SAYS)
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
            "loaded": cudnn_words(loaded),
            "built": cudnn_words(built),
            "source": _cudnn_source(s),
            "cudnn_plan": f"`{STACK['torch'].requirement}` pins nvidia-cudnn-cu12 {shared}"
            + ("" if s.component == "torch" else f", which `{s.stack.requirement}` accepts"),
        },
    )


_MEMORY_SAYS = (
    r"CUDA_ERROR_OUT_OF_MEMORY|CUDA out of memory|out of memory|RESOURCE_EXHAUSTED|cudaErrorMemoryAllocation"
    r"|CUBLAS_STATUS_ALLOC_FAILED|CUBLAS_STATUS_NOT_INITIALIZED|Failed to allocate"
    r"|ResourceExhaustedError|OOM when allocating"
)
"""TensorFlow raises ResourceExhaustedError ("OOM when allocating tensor") when GPU memory runs out."""


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
    shown = [
        f"{k}={env[k]}"
        for k in ("XLA_PYTHON_CLIENT_PREALLOCATE", "XLA_PYTHON_CLIENT_MEM_FRACTION", "TF_FORCE_GPU_ALLOW_GROWTH")
        if k in env
    ]
    return f" (now {', '.join(shown)})" if shown else ""


def out_of_memory(s: Subject) -> Found | None:
    said = quoted_hit(s, _MEMORY_SAYS)
    if not said:
        return None
    holder_lines, holders = _memory_holders(s.machine)
    return Found((*said.lines, *holder_lines), {**said.values, "holders": holders, "env": _memory_env(s.machine)})


def memory_held(s: Subject) -> Found | None:
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
            fix = f"{why} and no current {s.title} build supports {sm_name(cc)}: choose newer hardware (T4 or later)"
        else:
            fix = f"{why}: no {s.title} build in this stack has kernels for {sm_name(cc)}; choose other hardware"
    return {"cc": sm_name(cc), "installed": installed, "arch_fix": fix}


def arch_unsupported(s: Subject) -> Found | None:
    info = s.info
    if not isinstance(info, FrameworkInfo) or not info.installed:
        return None
    said = quoted_hit(s, _ARCH_SAYS)
    cc = _gpu_cc(s, said)
    archs = s.view.archs(info)
    if cc is None or (not said and (not archs or arch_supports(archs, cc))):
        return None
    lines = said.lines if said else (f"{s.label} arch list: {' '.join(archs)}; GPU is {sm_name(cc)}",)
    return Found(lines, {"quote": said.values["quote"] if said else lines[0], **_arch_fix_values(s, cc, archs)})


def ptx_jit(s: Subject) -> Found | None:
    said = quoted_hit(s, r"not built with CUDA kernel binaries compatible with compute capability (?P<cap>\d+\.\d+)")
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
    line = f"{s.label} arch list: {' '.join(archs)}; GPU is {sm_name(newer[0])}"
    return Found((line,), {"quote": line, "cap": f"{newer[0][0]}.{newer[0][1]}"})


# --- Rule tests: builds and the rest ---------------------------------------------------------------------------


def import_failed(s: Subject) -> Found | None:
    info = s.info
    if not isinstance(info, FrameworkInfo) or not info.import_error:
        return None
    lines = [line for line in info.import_error.strip().splitlines() if line.strip()]
    last = lines[-1].strip()
    if installed_release(s) != s.stack.pinned.version:
        fix = f"pin `{s.stack.requirement}` in requirements.txt and keep every nvidia-* wheel on CUDA 12"
    elif BROKEN_INSTALL.search(info.import_error):
        fix = (
            f"the pinned version is installed but broken ({last}): "
            f"`pip install --force-reinstall --no-cache-dir {s.stack.requirement}`"
        )
    else:
        fix = "the pinned version is installed and its import fails: read the traceback below; " + (
            "CUDA 12 and 13 wheels are mixed (see CUDA wheels)"
            if s.machine.mixed_wheels
            else "its last line names the cause"
        )
    return Found((last,), {"last": last, "import_fix": fix})


def installed_release(s: Subject) -> str | None:
    """The installed version without its CUDA label: "2.10.0+cu128" -> "2.10.0"; "+cpu" stays, it is another build."""
    version = getattr(s.info, "version", None)
    return re.sub(r"\+cu\d+$", "", version) if version else None


def _jax_versions(s: Subject) -> dict[str, str]:
    """jax, jaxlib and the CUDA plugins as installed: from the probe, else from the wheels' metadata (a probe
    that crashed, e.g. a segfault from a plugin built for another jaxlib, still leaves the versions readable)."""
    info, wheels = s.info, s.machine.wheels
    versions: dict[str, str | None] = {}
    if isinstance(info, JaxInfo) and info.installed:
        versions = {"jax": info.version, "jaxlib": info.jaxlib_version}
        versions |= {p["name"]: p.get("version") for p in info.cuda_plugins}
    elif wheels and wheels.frameworks:
        versions = {k: v for k, v in wheels.frameworks.items() if k in {"jax", "jaxlib"} or k.startswith("jax-cuda")}
    return {k: re.sub(r"\+.*$", "", v) for k, v in versions.items() if v}


def jax_skew(s: Subject) -> Found | None:
    releases = _jax_versions(s)
    if not releases:
        return None
    said = quoted_hit(s, JAX_SKEW_SAYS)
    # jax may be newer than jaxlib (down to its minimum); jaxlib newer than jax, or a CUDA plugin that is not
    # exactly jaxlib's version, is a broken set: the [cuda12] extra pins the plugin to jaxlib's version, and a
    # plugin of another release loads with missing handlers, or crashes the process, even where JAX lists the GPU.
    lib = releases.get("jaxlib")
    plugins = {v for k, v in releases.items() if k.startswith("jax-cuda")}
    newer = lib and releases.get("jax") and _release(lib) > _release(releases["jax"])
    plugin_skew = bool(lib and plugins - {lib})
    if not (plugin_skew or ((said or newer) and not is_healthy(s))):
        return None
    shown = ", ".join(f"{k} {v}" for k, v in releases.items())
    return Found(
        (shown, *(said.lines if said else ())),
        {"versions": shown, "said": f": {said.values['quote']}" if said else ""},
    )


def _release(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version)[:3])


JAX_SKEW_SAYS = (
    r"jaxlib version [\d.]+ is (?:newer than and )?incompatible with jax|jax requires jaxlib version"
    r"|jaxlib is version [\d.]+, but this version of jax requires"
    r"|plugin \S* ?version [\d.]+ (?:is installed,\s*but it )?is not compatible with (?:the installed )?jaxlib"
    r"|Mismatched PJRT plugin PJRT API version[^\n]*"
)


def _framework_wheels(s: Subject) -> list[str]:
    """nvidia-* wheels installed for this framework (required by it or by its CUDA plugin)."""
    owners = {
        "torch": ("torch",),
        "jax": ("jax-cuda12-plugin", "jax-cuda13-plugin", "jax-cuda12-pjrt"),
        "tensorflow": ("tensorflow",),
    }
    wheels = s.machine.wheels
    return [w.name for w in (wheels.nvidia if wheels else []) if set(w.required_by) & set(owners.get(s.component, ()))]


_LIBS_MISSING = (
    r"cannot open shared object file|Could not load (?:dynamic )?library|Cannot dlopen some GPU libraries"
    r"|Unable to load (?:cuDNN|cuBLAS|cuFFT|cuSPARSE|cuSOLVER)|Could not find cuda drivers"
    r"|library was not found|not found in the system path"
)
"""A CUDA library that does not load: a loader error, or the framework's own "not found" for it."""


def cuda_libs_not_found(s: Subject) -> Found | None:
    """A CUDA library does not load. With the pip wheels there, pinning or reinstalling changes nothing; where
    the loader looks does. Without them (a tool that skipped torch's or the plugin's dependencies), the fix is the
    build that brings them."""
    info = s.info
    if not isinstance(info, FrameworkInfo) or not info.installed or is_healthy(s):
        return None
    on_disk = pip_libraries_for(s.component, s.machine)
    # TensorFlow's wheel metadata names its [and-cuda] wheels whether the extra was installed or not: only the
    # library probe's files show they are there. JAX's plugin and torch require theirs outright.
    wheels = on_disk or (_framework_wheels(s) if s.component != "tensorflow" else [])
    said = quoted_hit(s, _LIBS_MISSING)
    if not said:
        return None
    library = named_library(said.lines[0], s.machine, s.stack.pinned.cuda[0])
    if not wheels and (s.component == "tensorflow" or library is None):
        return None  # TensorFlow's missing [and-cuda] libraries are tf-cannot-dlopen's; an unnamed library is no one's
    driver = s.machine.driver
    libraries = driver.libraries or [] if driver else []
    shadowed = [
        f"{lib.name} loads from {lib.winner}"
        for lib in libraries
        if lib.winner and any(c.source == "pip" for c in lib.candidates) and "site-packages" not in lib.winner
    ]
    unreached = [
        c.path
        for lib in libraries
        if lib.winner is None and s.component in lib.needed_by
        for c in lib.candidates
        if c.source == "pip"
    ]
    if not wheels:
        state = ": the nvidia-* wheels that provide them are not installed"
        ships = f"{library.wheel} ships {library.name}"
        fix = (
            f"use `{s.stack.requirement}` in requirements.txt: from PyPI it depends on the nvidia-* wheels ({ships}), "
            "which this installation lacks"
            if installed_release(s) != s.stack.pinned.version
            else f"the nvidia-* wheels `{s.stack.requirement}` depends on are missing ({ships}): let pip install its "
            "dependencies (no --no-deps, no tool that skips them); `pip check` lists what is missing"
        )
    elif shadowed:
        state = f" although the pip wheels are installed ({_shown(wheels)})"
        fix = f"the pip copies lose: {'; '.join(shadowed)}: remove those directories from LD_LIBRARY_PATH / ld.so.conf"
    elif unreached:
        state = f" although the pip wheels are installed ({_shown(wheels)})"
        fix = (
            f"the loader does not look where the wheel put it ({unreached[0]}): install {s.title} and the nvidia-* "
            "wheels into one site-packages (a venv split into lib and lib64 separates them), or add that directory "
            "to LD_LIBRARY_PATH"
        )
    else:
        state = f" although the pip wheels are installed ({_shown(wheels)})"
        where = (
            f"{library.wheel} puts {library.name} in site-packages/{library.directory}"
            if library
            else ("the nvidia-* wheels put their libraries in site-packages/nvidia/*/lib")
        )
        fix = (
            f"{where}: check the files are there (`pip show -f {library.wheel if library else 'nvidia-cudnn-cu12'}`) "
            "and that nothing points the loader elsewhere first: LD_LIBRARY_PATH, LD_PRELOAD, CUDA_HOME, conda's lib, "
            "a Dockerfile ENV; on a cluster, a module's CUDA paths"
        )
    return Found((*said.lines, *shadowed), {**said.values, "libs_state": state, "libs_fix": fix})


def _shown(wheels: list[str]) -> str:
    return ", ".join(wheels[:3]) + ("…" if len(wheels) > 3 else "")


def broken_by_mixed_wheels(s: Subject) -> Found | None:
    """A failing framework in an environment with CUDA 12 and 13 wheels: the mix is the broken installation."""
    if not s.machine.mixed_wheels or is_healthy(s) or not isinstance(s.info, FrameworkInfo) or not s.info.installed:
        return None
    hit = quoted_hit(s, r"CUDA|GPU|cuda|dlopen|\.so")
    quote = hit.values["quote"] if hit else "it lists no GPU device"
    lines = (f"wheels: {', '.join(s.machine.wheels.cuda_lines)}", *(hit.lines if hit else ()))
    return Found(lines, {"quote": quote, "culprits": _culprits(s.machine.wheels)})


def zero_gpu_other(s: Subject) -> Found | None:
    if not s.machine.zero_gpu or s.component == "torch" or not isinstance(s.info, FrameworkInfo):
        return None
    return Found(("SPACES_ZERO_GPU=true",))


def zero_gpu_torch(s: Subject) -> Found | None:
    if not s.machine.zero_gpu or not isinstance(s.info, TorchInfo) or s.info.cuda_available:
        return None
    if not s.view.is_cuda_build(s.info):
        return None
    return Found(("SPACES_ZERO_GPU=true",))


def no_gpu(s: Subject) -> Found | None:
    if s.machine.gpu_present:
        return None
    where = (
        f"this hardware ({s.machine.hardware})"
        if s.machine.on_spaces or s.machine.hardware != "this machine"
        else "this machine (no NVIDIA driver, no /dev/nvidia*)"
    )
    return Found(
        (f"NVML: {s.machine.nvml.error}",) if s.machine.nvml and s.machine.nvml.error else (), {"where": where}
    )


def cpu_build(s: Subject) -> Found | None:
    info = s.info
    if not isinstance(info, FrameworkInfo) or not (s.machine.gpu_present or s.machine.zero_gpu):
        return None
    if s.view.is_cuda_build(info) is not False:
        return None
    said = quoted_hit(s, r"CUDA-enabled jaxlib is not installed|not compiled with CUDA|CPU-only")
    what = {
        "torch": f"torch.version.cuda is None ({info.version})",
        "jax": f"no CUDA plugin installed, jaxlib {getattr(info, 'jaxlib_version', None)}",
        "tensorflow": "tf.sysconfig.get_build_info()['is_cuda_build'] is False",
    }[s.component]
    lines = (*(said.lines if said else ()), what)
    return Found(lines, {"what": said.values["quote"] if said else what, "cpu_fix": _cuda_build_fix(s)})


def _cuda_build_fix(s: Subject) -> str:
    """The CUDA build to install instead: the pinned one, or the newest listed one this driver's CUDA runs."""
    pinned, driver = s.stack.pinned, s.machine.driver_cuda
    note = {
        "torch": "drop any --index-url …/whl/cpu",
        "jax": "plain `jax` is CPU-only",
        "tensorflow": "not tensorflow-cpu",
    }[s.component]
    if not driver or driver[0] >= pinned.cuda[0]:
        pypi = "from PyPI it is a CUDA 12.8 build; " if s.component == "torch" else ""
        return f"use `{pinned.requirement}` in requirements.txt ({pypi}{note})"
    other = build_for_driver(s.component, driver)
    if other is None:
        return (
            f"the driver supports CUDA {cuda_text(driver)}, too old for every listed {s.title} CUDA build: update the "
            f"NVIDIA driver to ≥ {MIN_DRIVER.get(pinned.cuda[0], '?')}, then use `{pinned.requirement}` ({note})"
        )
    return (
        f"use {other.how}: {other.label}, a CUDA {other.cuda_text} build this driver (CUDA {cuda_text(driver)}) runs "
        f"({note}); `{pinned.requirement}` needs a driver ≥ {MIN_DRIVER.get(pinned.cuda[0], '?')}"
    )


def smoke_failed(s: Subject) -> Found | None:
    smoke = getattr(s.info, "smoke", None)
    if not smoke or smoke.passed:
        return None
    detail = smoke.error or f"result differs from numpy (relative error {smoke.relative_error:.2g})"
    return Found((detail,), {"device": smoke.device, "detail": detail})


def dlopen(s: Subject) -> Found | None:
    return quoted_hit(s, r"Could not load dynamic library '[^']+'[^\n]*") or quoted_hit(
        s, r"Cannot dlopen some GPU libraries"
    )


def mixed(s: Subject) -> Found | None:
    return Found((f"wheels: {', '.join(s.machine.wheels.cuda_lines)}",)) if s.machine.mixed_wheels else None


def smoke_note(info: FrameworkInfo) -> str:
    smoke = info.smoke
    if not smoke or smoke.tflops is None:
        return ""
    where = "on the CPU" if smoke.on_cpu else f"on {smoke.device}"
    return f"; matmul {where} {smoke.tflops:.2f} TFLOP/s, matches numpy"


def framework_ok(s: Subject) -> Found | None:
    info = s.info
    devices = s.view.devices(info)
    count = len(devices) if s.component != "torch" else info.device_count
    summary = f"{count}× {', '.join(devices)}{s.view.details(info)}{smoke_note(info)}"
    noise = [t for t in texts_of(info) if HARMLESS.search(t)]
    harmless = ""
    if noise:
        more = f" (+{len(noise) - 1} more)" if len(noise) > 1 else ""
        harmless = f"; harmless log lines: {quote_line(noise[0])}{more}"
    return Found(tuple(noise[:3]), {"summary": summary, "harmless": harmless})


# --- Rule tests: the GPU row and the wheels row ------------------------------------------------------------------


def nvml_missing(s: Subject) -> Found | None:
    return Found() if isinstance(s.info, NvmlInfo) and not s.info.nvml_installed and not s.info.gpus else None


def zero_gpu_row(s: Subject) -> Found | None:
    return Found(("SPACES_ZERO_GPU=true",)) if s.machine.zero_gpu and not s.machine.gpus else None


def nvml_broken(s: Subject) -> Found | None:
    nvml = s.info
    if nvml.gpus or not (nvml.dev_nvidia or s.machine.sees_gpu):
        return None
    return Found((f"/dev/nvidia*: {', '.join(nvml.dev_nvidia)}", f"NVML: {nvml.error}"), {"error": nvml.error})


def driver_absent(s: Subject) -> Found | None:
    if s.info.gpus or not s.machine.on_spaces or s.machine.hardware in {"cpu-basic", "cpu-upgrade", "CPU hardware"}:
        return None
    return Found((f"ACCELERATOR={s.machine.hardware}", f"NVML: {s.info.error}"))


def gpu_ok(s: Subject) -> Found | None:
    nvml, machine = s.info, s.machine
    if not machine.gpus:
        return None
    names = ", ".join(sorted({g.name for g in machine.gpus}))
    cuda = f", CUDA ≤ {cuda_text(machine.driver_cuda)}" if machine.driver_cuda else ""
    migs = f"; MIG enabled ({len(_mig_gpus(machine))} GPU)" if _mig_gpus(machine) else ""
    failed = sorted({k for g in machine.gpus for k in g.errors})
    queries = f"; NVML could not read: {', '.join(failed)}" if failed else ""
    return Found(
        (),
        {
            "summary": (
                f"{len(machine.gpus)}× {names} on {machine.hardware}, driver {nvml.driver_version}{cuda}{migs}{queries}"
            )
        },
    )


def wheels_mixed(s: Subject) -> Found | None:
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


def wheels_driver(s: Subject) -> Found | None:
    wheels, driver = s.info, s.machine.driver_cuda
    newest = max((int(line[2:]) for line in wheels.cuda_lines), default=None)
    if not newest or not driver or newest <= driver[0]:
        return None
    return Found(
        (f"{nvml_line(s.machine)}; cu{newest} wheels installed",),
        {"driver": cuda_text(driver), "newest": newest, "culprits": _culprits(wheels)},
    )


def wheels_ok(s: Subject) -> Found | None:
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
            fixes.append(
                f"torch {wheels.frameworks.get('torch', '')} pulls CUDA 13 wheels: pin `{STACK['torch'].requirement}`"
            )
        elif owner.startswith("jax-cuda13"):
            fixes.append(f"replace jax[cuda13] with `{STACK['jax'].requirement}`")
        else:
            fixes.append(f"remove `{owner}` or pin a CUDA 12 build of it")
    return "; ".join(fixes) or (
        "keep one CUDA line: requirements.txt pins "
        + ", ".join(f"`{STACK[k].requirement}`" for k in FRAMEWORKS)
        + " and no CUDA 13 wheel"
    )
