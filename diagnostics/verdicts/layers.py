"""The layers below the frameworks, judged bottom up: kernel driver, user-space driver, NVML, where it runs,
library resolution. The first failing layer is the cause for everything above it.

Each test here reads the driver probe's facts (and NVML's), never a framework's words alone, and returns
Found with `cause` (one line naming the layer's fault) and `layer_fix` (the action that exists in this
context: a Space, a container, WSL or a machine). A framework row that a lower layer explains reads
"<framework> cannot use the GPU because <cause>". Facts a probe did not give are unknown and never
taken for fine or for failing.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable

from diagnostics.facts import DeviceNode, DriverInfo, FrameworkInfo
from diagnostics.registry import FRAMEWORKS
from diagnostics.verdicts import findings
from diagnostics.verdicts.evidence import HARMLESS, framework_failing, named_library, quote_line, search_texts
from diagnostics.verdicts.machine import Machine, Subject, texts_of
from diagnostics.verdicts.model import Found, LayerCheck, Status

LAYERS = (
    "kernel driver",
    "user-space driver",
    "NVML",
    "where it runs",
    "library resolution",
    "framework build",
    "framework runtime",
)
"""Bottom up; the tab, the CLI and the JSON show them in this order."""

_ESSENTIAL_NODE = re.compile(r"^/dev/(nvidiactl|nvidia\d+|nvidia-uvm|dxg)$")
"""Nodes CUDA opens; /dev/nvidia-uvm-tools and /dev/nvidia-caps/* are often root-only on purpose."""
_DENIED = ("Permission denied", "Operation not permitted")
_FRAMEWORK_LINE = (
    r"cuInit|CUDA_ERROR_\w+|CUDA driver|NVIDIA driver|no CUDA-capable device|CUDA error|CUDA unknown error"
)

# What each fault's fix is in each context, bottom-up. "{...}" are filled from what the test found.
_SPACE_RESTART = (
    "nothing in requirements.txt fixes this: restart the Space (Settings → Restart), then Factory reboot; "
    "if it persists, request the GPU hardware again or another flavor (Admin tab)"
)
FIXES: dict[str, dict[str, str]] = {
    "kernel-module-not-loaded": {
        "space": _SPACE_RESTART,
        "container": "the host has no NVIDIA kernel module loaded: on the host run `sudo modprobe nvidia` "
        "(install the driver for the host's kernel if that fails), then restart the container",
        "machine": "load the driver: `sudo modprobe nvidia`; if that fails, install the NVIDIA driver built for this "
        "kernel ({kernel_release}; DKMS rebuilds it after a kernel update, Secure Boot must allow it), then reboot",
    },
    "driver-module-mismatch": {
        "space": _SPACE_RESTART,
        "container": "the host's kernel module ({kernel}) and the libcuda in the container ({dso}) differ: if "
        "`nvidia-smi` works on the host, the image installs NVIDIA driver libraries of its own (libnvidia-compute-*, "
        "nvidia-utils-* or a package pulling them in): remove them from the image so the NVIDIA runtime mounts the "
        "host's; otherwise reboot the host after its driver upgrade (or reload the module there), then restart the "
        "container",
        "machine": "the driver was upgraded without reloading its kernel module: reboot, or stop every GPU process and "
        "reload it (`sudo rmmod nvidia_uvm nvidia_drm nvidia_modeset nvidia && sudo modprobe nvidia`); the user-space "
        "driver and the module must then both be {dso}",
        "stale-user-space": "the loaded kernel module ({kernel}) is newer than the user-space driver ({dso}), so a "
        "reboot loads the same pair again: install the user-space libraries of driver {kernel} (the driver package "
        "whose module is loaded), or install one driver version for both and reboot",
    },
    "uvm-not-loaded": {
        "space": _SPACE_RESTART,
        "container": "on the host: `sudo modprobe nvidia_uvm` (or `sudo nvidia-modprobe -u -c=0`), then restart "
        "the container",
        "machine": "load it: `sudo modprobe nvidia_uvm` (after suspend/resume: `sudo rmmod nvidia_uvm && "
        "sudo modprobe nvidia_uvm`), or reboot",
    },
    "device-nodes-missing": {
        "space": _SPACE_RESTART,
        "container": "the container was started without GPUs: run it with `--gpus all` (Docker; or "
        "`--runtime=nvidia -e NVIDIA_VISIBLE_DEVICES=all`, or request nvidia.com/gpu in Kubernetes)",
        "machine": "the driver creates the nodes when it loads: `sudo nvidia-modprobe -u -c=0` or "
        "`sudo modprobe nvidia`, or reboot",
    },
    "uvm-node-missing": {
        "space": _SPACE_RESTART,
        "container": "pass every GPU node into the container: `--gpus all` (the NVIDIA runtime adds /dev/nvidia-uvm), "
        "or add `--device /dev/nvidia-uvm` next to the other --device flags",
        "machine": "create the node: `sudo nvidia-modprobe -u -c=0` (makes /dev/nvidia-uvm), or reboot",
    },
    "device-node-permission": {
        "space": _SPACE_RESTART,
        "container": "the container may not open {nodes}: pass the GPUs with `--gpus all` instead of bare "
        "`--device` flags; after `systemctl daemon-reload` on a cgroup-v2 host, restart the container; if it works "
        "with --privileged, SELinux or AppArmor labels deny the nodes (`ls -Z /dev/nvidia*`; on SELinux hosts "
        "`--security-opt label=type:nvidia_container_t` or the nvidia-container SELinux policy)",
        "machine": "let this user open {nodes}: add it to the group that owns them (`ls -l /dev/nvidia*`, usually "
        "`sudo usermod -aG video $USER`, then log in again), or fix the udev rule / NVreg_DeviceFileMode",
    },
    "container-without-compute": {
        "container": "start the container with the compute capability so the NVIDIA runtime mounts libcuda: "
        "`-e NVIDIA_DRIVER_CAPABILITIES=compute,utility` (or `all`) with `--gpus all`",
    },
    "wsl-libcuda": {
        "wsl": "install the NVIDIA driver on Windows, not inside WSL (remove any Linux libcuda.so* outside "
        "/usr/lib/wsl/lib); make /usr/lib/wsl/lib visible: `echo /usr/lib/wsl/lib | sudo tee "
        "/etc/ld.so.conf.d/ld.wsl.conf && sudo ldconfig`, then `wsl --shutdown` in Windows",
    },
    "libcuda-not-found": {
        "space": _SPACE_RESTART,
        "container": "run the container with the NVIDIA runtime (`--gpus all`), which mounts the host's libcuda",
        "machine": "install the NVIDIA driver's user-space libraries matching the kernel module {kernel} "
        "(e.g. libnvidia-compute-<branch>), then `sudo ldconfig`",
    },
    "gpu-hardware-fault": {
        "space": _SPACE_RESTART,
        "container": "a GPU of the host is faulty: on the host check `nvidia-smi` and `dmesg | grep -i xid`, "
        "reboot it, and move the workload to another GPU or host if it persists",
        "machine": "check `nvidia-smi` and `dmesg | grep -i xid`; reset the GPU (`sudo nvidia-smi -r -i {index}`) "
        "or reboot; a GPU that falls off the bus again needs a hardware check (power, seating, cooling)",
    },
}
FIXES["wsl-libcuda"]["machine"] = FIXES["wsl-libcuda"]["wsl"]
_CUINIT_FIXES = {
    "CUDA_ERROR_UNKNOWN": {
        "space": _SPACE_RESTART,
        "machine": "reload the unified-memory module, the usual culprit after suspend/resume: "
        "`sudo rmmod nvidia_uvm && sudo modprobe nvidia_uvm`, or reboot",
        "container": "on the host: `sudo rmmod nvidia_uvm && sudo modprobe nvidia_uvm` (or reboot it), then "
        "restart the container",
    },
    "CUDA_ERROR_COMPAT_NOT_SUPPORTED_ON_DEVICE": {
        "default": "a CUDA forward-compatibility libcuda ({path}) is loaded on a GPU that does not support it: "
        "remove cuda-compat (/usr/local/cuda/compat) from LD_LIBRARY_PATH and ld.so.conf so the driver's own "
        "libcuda loads, or update the host driver",
    },
    "CUDA_ERROR_SYSTEM_DRIVER_MISMATCH": {
        "default": "the CUDA forward-compatibility libcuda ({path}) does not work with this kernel module: remove "
        "cuda-compat from LD_LIBRARY_PATH and ld.so.conf so the driver's own libcuda loads, or update the host driver",
    },
    "CUDA_ERROR_STUB_LIBRARY": {
        "default": "the libcuda loaded is the CUDA toolkit's stub ({path}): remove its `stubs` directory from "
        "LD_LIBRARY_PATH",
    },
    "CUDA_ERROR_NO_DEVICE": {
        "space": _SPACE_RESTART,
        "container": "the driver sees no GPU this container may use: start it with `--gpus all` and check "
        "NVIDIA_VISIBLE_DEVICES ({nvidia_visible_devices})",
        "machine": "the driver sees no GPU: check `nvidia-smi`, and that no CUDA_VISIBLE_DEVICES or "
        "NVIDIA_VISIBLE_DEVICES hides them",
    },
}
_CHECKLISTS = {
    "space": "1) Settings: is GPU hardware assigned and running? 2) restart the Space, then Factory reboot; "
    "3) the framework's own GPU check in the Space's logs: {check}; 4) open an issue with this report (Download JSON)",
    "container": "1) `nvidia-smi` inside the container; 2) started with `--gpus all` and "
    "NVIDIA_DRIVER_CAPABILITIES containing compute? 3) the framework's own GPU check: {check}; "
    "4) LD_LIBRARY_PATH or conda libraries shadowing the pip nvidia-* ones (library resolution above)",
    "wsl": "1) `nvidia-smi` in WSL (driver installed on Windows); 2) libcuda from /usr/lib/wsl/lib; "
    "3) the framework's own GPU check: {check}; 4) LD_LIBRARY_PATH shadowing the pip nvidia-* libraries",
    "machine": "1) `nvidia-smi` shows the GPU; 2) the framework's own GPU check, which prints its reason: {check}; "
    "3) LD_LIBRARY_PATH or conda libraries shadowing the pip nvidia-* ones (library resolution above); "
    "4) `dmesg | grep -i nvrm` for driver errors",
}
CHECKS = {
    "torch": '`python -c "import torch; torch.cuda.init()"`',
    "jax": "`python -c \"import jax; print(jax.devices('cuda'))\"`",
    "tensorflow": '`TF_CPP_MIN_LOG_LEVEL=0 python -c "import tensorflow as tf; '
    "print(tf.config.list_physical_devices('GPU'))\"`",
}


def fix_for(name: str, machine: Machine, table: dict[str, dict[str, str]] | None = None) -> str:
    options = (table or FIXES)[name]
    context = machine.context
    return options.get(context) or options.get("default") or options.get("machine") or next(iter(options.values()))


def checklist(machine: Machine, component: str) -> str:
    return _CHECKLISTS[machine.context].format(check=CHECKS.get(component, CHECKS["torch"]))


def _driver(machine: Machine) -> DriverInfo:
    return machine.driver or DriverInfo()


def _applies(s: Subject) -> bool:
    """A lower fault decides the GPU row, and a framework row only where that framework fails. On ZeroGPU the
    probes run outside @spaces.GPU calls, where no GPU is attached by design: nothing below is a fault."""
    if s.machine.zero_gpu:
        return False
    if s.component == "gpu":
        return True
    return s.component in FRAMEWORKS and (s.info is None or framework_failing(s))


def _gpu_expected(machine: Machine) -> list[str]:
    """Facts saying this machine should have a usable NVIDIA GPU, as evidence lines; [] on a plain CPU machine."""
    driver = _driver(machine)
    facts = []
    if driver.kernel_module and driver.kernel_module.loaded:
        facts.append(f"kernel module {driver.kernel_module.version or 'loaded'}")
    if driver.libcuda and driver.libcuda.path:
        facts.append(f"libcuda loaded from {driver.libcuda.path}")
    if driver.device_nodes:
        facts.append("device nodes: " + ", ".join(n.path for n in driver.device_nodes))
    if machine.gpus or machine.lost_gpus:
        facts.append(f"NVML counts {len(machine.gpus) + len(machine.lost_gpus)} GPU(s)")
    if machine.on_spaces and machine.hardware not in {"cpu-basic", "cpu-upgrade", "CPU hardware"}:
        facts.append(f"ACCELERATOR={machine.hardware}")
    ctx = driver.context
    # On a Space the hardware flavor says whether a GPU belongs here; the runtime's variables do not.
    if ctx and not machine.on_spaces and ctx.nvidia_visible_devices not in (None, "", "void", "none"):
        facts.append(f"NVIDIA_VISIBLE_DEVICES={ctx.nvidia_visible_devices}")
    if machine.nvml and re.search(r"Driver Not Loaded|DriverNotLoaded", machine.nvml.error or ""):
        facts.append(f"NVML: {machine.nvml.error}")
    return facts


def _framework_said(s: Subject) -> tuple[str, ...]:
    """The framework's own line about the failure, quoted next to the lower layer's facts."""
    hit = search_texts(s, _FRAMEWORK_LINE)
    return (hit[0],) if hit and s.component != "gpu" else ()


def _layer(s: Subject, cause: str, lines: list[str], fix: str, **values: object) -> Found:
    return Found((*lines, *_framework_said(s)), {"cause": cause, "layer_fix": fix, **values})


def _libcuda_line(machine: Machine) -> str:
    lib = _driver(machine).libcuda
    if lib is None:
        return ""
    if lib.path is None:
        return f"libcuda: {lib.load_error or 'not loaded'}"
    count = f", {lib.device_count} device(s)" if lib.device_count is not None else ""
    return f"libcuda {lib.version or '?'} from {lib.path}: cuInit {lib.cu_init}{count}"


# --- Layer 1: the kernel driver ---------------------------------------------------------------------------------


def kernel_module_not_loaded(s: Subject) -> Found | None:
    driver, machine = _driver(s.machine), s.machine
    module = driver.kernel_module
    # NVML answers "Driver Not Loaded" only where its library is installed and the kernel driver is not running.
    nvml_says = bool(machine.nvml and re.search(r"Driver Not Loaded|DriverNotLoaded", machine.nvml.error or ""))
    if not _applies(s) or (module is None and not nvml_says) or (module and module.loaded) or machine.context == "wsl":
        return None
    if machine.context == "container" and driver.device_nodes == []:
        # Without GPU nodes the container got no GPU: that is the first thing to fix, and it is what decides here;
        # whether the host's module is loaded cannot be read from inside (a WSL 2 host never has one).
        return None
    expected = [f for f in _gpu_expected(machine) if not f.startswith("kernel module")]
    if not expected:
        return None
    release = driver.context.kernel_release if driver.context else None
    absent = "no /proc/driver/nvidia/version" if module else "NVML: Driver Not Loaded"
    cause = f"the NVIDIA kernel module is not loaded ({absent})"
    fix = fix_for("kernel-module-not-loaded", machine).format(kernel_release=release or "uname -r")
    lines = ["/proc/driver/nvidia/version: absent" if module else "", *expected]
    return _layer(s, cause, [line for line in lines if line], fix)


_NVML_MISMATCH = r"Driver/library version mismatch|RM_VERSION_MISMATCH|LibRmVersionMismatch"
_MISMATCH_SAYS = r"Driver/library version mismatch"
"""What nvidia-smi and NVML print when the kernel module and the user-space driver differ. A framework's
CUDA_ERROR_SYSTEM_DRIVER_MISMATCH is not enough: JAX prints it for a driver too old for its CUDA too."""


def module_mismatch_facts(s: Subject) -> Found | None:
    driver, machine = _driver(s.machine), s.machine
    if not _applies(s):
        return None
    module, lib = driver.kernel_module, driver.libcuda
    kernel, dso = (module.version if module else None), (lib.version if lib else None)
    nvml_error = machine.nvml.error if machine.nvml and re.search(_NVML_MISMATCH, machine.nvml.error or "") else None
    if lib is not None and "/compat/" in (lib.path or ""):
        return None  # a forward-compat libcuda is meant to differ from the module; cuInit says whether it works
    cu_mismatch = lib is not None and lib.cu_init == "CUDA_ERROR_SYSTEM_DRIVER_MISMATCH"
    # Versions that differ while cuInit succeeds are no fault (a newer libcuda can serve an older module).
    cu_failing = lib is not None and (lib.cu_init not in (None, "CUDA_SUCCESS") or not machine.sees_gpu)
    differ = kernel and dso and kernel != dso and cu_failing and lib.cu_init != "CUDA_SUCCESS"
    said = search_texts(s, _MISMATCH_SAYS)
    if not (differ or nvml_error or cu_mismatch or said):
        return None
    lines = [f"kernel module {kernel or '?'}: {module.version_line}" if module and module.version_line else ""]
    lines += [_libcuda_line(machine), f"NVML: {nvml_error}" if nvml_error else "", said[0] if said else ""]
    cause = (
        f"the driver's kernel module ({kernel or '?'}) does not match its user-space libcuda ({dso or '?'})"
        if kernel or dso
        else f"the driver's kernel module and its user-space libraries are different versions: "
        f"{quote_line(said[0] if said else nvml_error or '')}"
    )
    own = _mismatch_own_words(s, cu_mismatch)
    fix = fix_for("driver-module-mismatch", machine).format(kernel=kernel or "?", dso=dso or "?")
    if machine.context == "machine" and kernel and dso and _release(kernel) > _release(dso):
        # The module is the newer one: a reboot loads the same module again; the user space is what is stale.
        fix = FIXES["driver-module-mismatch"]["stale-user-space"].format(kernel=kernel, dso=dso)
    return _layer(s, cause + own, [x for x in lines if x], fix)


_MISMATCH_OWN = (
    r"kernel version [\d.]+ does not match DSO version [\d.]+|[Ee]rror 803\b[^\n]*|cudaErrorSystemDriverMismatch"
    r"|unsupported display driver / cuda driver combination"
)
"""A framework's own words for the mismatch: JAX quotes both versions as it reads them (515.48.7), torch and
the runtime say CUDA error 803; the reason quotes them so the owner recognises the message they searched for."""


def _mismatch_own_words(s: Subject, cu_mismatch: bool) -> str:
    hit = machine_wide(lambda sub: _said_line(sub, _MISMATCH_OWN))(s)
    if hit:
        return f"; it says: {quote_line(hit.lines[0])}"
    return "; cuInit returns CUDA_ERROR_SYSTEM_DRIVER_MISMATCH (CUDA error 803)" if cu_mismatch else ""


def _said_line(s: Subject, pattern: str) -> Found | None:
    """Just the words that matched, not the whole line: torch wraps error 803 in a long preamble."""
    hit = search_texts(s, pattern)
    return Found((hit[1].group(0),)) if hit else None


def _release(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version))


def uvm_not_loaded(s: Subject) -> Found | None:
    driver, machine = _driver(s.machine), s.machine
    if not _applies(s) or machine.context == "wsl":
        return None
    lib = driver.libcuda
    if lib is not None and lib.cu_init == "CUDA_SUCCESS":
        return None
    by_modules = driver.modules is not None and "nvidia" in driver.modules and "nvidia_uvm" not in driver.modules
    paths = {n.path for n in driver.device_nodes or ()}
    # A missing node says the module is not loaded only where nothing says it is: a container may just not have
    # been given the node (device-nodes-missing).
    by_nodes = (
        "/dev/nvidiactl" in paths
        and "/dev/nvidia-uvm" not in paths
        and driver.modules is None
        and machine.context != "container"
    )
    if not (by_modules or by_nodes):
        return None
    lines = [
        f"/proc/modules: {', '.join(driver.modules)}" if by_modules else "",
        "/dev/nvidia-uvm: absent" if by_nodes else "",
    ]
    lines.append(_libcuda_line(machine))
    cause = "the nvidia_uvm kernel module is not loaded (CUDA needs it; it often drops after suspend/resume)"
    return _layer(s, cause, [x for x in lines if x], fix_for("uvm-not-loaded", machine))


def device_nodes_missing(s: Subject) -> Found | None:
    driver, machine = _driver(s.machine), s.machine
    if not _applies(s) or driver.device_nodes is None or machine.context == "wsl":
        return None
    if driver.device_nodes:
        return _uvm_node_missing(s)
    expected = [f for f in _gpu_expected(machine) if not f.startswith("device nodes")]
    if not expected:
        return None
    cause = "no /dev/nvidia* device nodes exist" + (" in this container" if machine.context == "container" else "")
    fix = fix_for("device-nodes-missing", machine)
    if machine.context == "container":
        fix += (
            "; if the host has no NVIDIA GPU, nothing is wrong: CUDA base images set NVIDIA_VISIBLE_DEVICES themselves"
        )
    return _layer(s, cause, ["/dev/nvidia*: none", *expected], fix)


def _uvm_node_missing(s: Subject) -> Found | None:
    """/dev/nvidiactl is there but /dev/nvidia-uvm is not, while nvidia_uvm is loaded (or, in a container, the
    host's modules cannot tell): the node was not created, or not passed into the container."""
    driver, machine = _driver(s.machine), s.machine
    paths = {n.path for n in driver.device_nodes or ()}
    uvm_loaded = driver.modules is not None and "nvidia_uvm" in driver.modules
    if "/dev/nvidiactl" not in paths or "/dev/nvidia-uvm" in paths:
        return None
    if not (uvm_loaded or (machine.context == "container" and driver.modules is None)):
        return None
    where = " in this container" if machine.context == "container" else ""
    cause = f"/dev/nvidia-uvm is missing{where} although the nvidia_uvm module is " + (
        "loaded" if uvm_loaded else "not known to be absent"
    )
    fix = FIXES["uvm-node-missing"].get(machine.context) or FIXES["uvm-node-missing"]["machine"]
    lines = ["/dev/nvidia-uvm: absent", f"/proc/modules: {', '.join(driver.modules)}" if uvm_loaded else ""]
    return _layer(s, cause, [*(x for x in lines if x), _libcuda_line(machine)], fix)


def _denied(nodes: list[DeviceNode] | None) -> list[DeviceNode]:
    return [
        n
        for n in nodes or ()
        if not n.openable and _ESSENTIAL_NODE.match(n.path) and any(d in (n.error or "") for d in _DENIED)
    ]


def device_node_permission(s: Subject) -> Found | None:
    denied = _denied(_driver(s.machine).device_nodes)
    if not _applies(s) or not denied:
        return None
    names = ", ".join(n.path for n in denied)
    cause = f"this user may not open {names} ({denied[0].error})"
    fix = fix_for("device-node-permission", s.machine).format(nodes=names)
    return _layer(s, cause, [f"{n.path}: {n.error}" for n in denied], fix)


# --- Layer 2: the user-space driver -------------------------------------------------------------------------------


def container_without_compute(s: Subject) -> Found | None:
    driver, machine = _driver(s.machine), s.machine
    lib = driver.libcuda
    if not _applies(s) or machine.context != "container":
        return None
    caps = machine.nvidia_driver_capabilities
    no_compute = caps is not None and not {"compute", "all"} & {c.strip() for c in caps.split(",")}
    unmounted = bool(driver.device_nodes) and lib is not None and lib.path is None
    if not (no_compute or unmounted):
        return None
    lines = [f"NVIDIA_DRIVER_CAPABILITIES={caps}" if caps is not None else "", _libcuda_line(machine)]
    cause = (
        f"the container lacks the compute capability (NVIDIA_DRIVER_CAPABILITIES={caps}), so libcuda is not mounted"
        if no_compute
        else "the container has GPU device nodes but no libcuda: the NVIDIA runtime did not mount the driver"
    )
    return _layer(s, cause, [x for x in lines if x], fix_for("container-without-compute", machine))


_LIBCUDA_NOT_FOUND_SAYS = r"libcuda\.so(?:\.1)?: cannot open shared object file"
"""A library asking for libcuda by a name the loader cannot find: under WSL only /usr/lib/wsl/lib has it, and
libraries that dlopen the unversioned libcuda.so (cuDNN 8's sub-libraries) miss it when that directory is not on
the search path, even where libcuda.so.1 loads."""


def wsl_libcuda(s: Subject) -> Found | None:
    driver, machine = _driver(s.machine), s.machine
    lib = driver.libcuda
    if not _applies(s) or machine.context != "wsl" or lib is None:
        return None
    foreign = lib.path is not None and "/usr/lib/wsl/lib" not in lib.path
    if not (lib.path is None or foreign or (lib.cu_init and lib.cu_init != "CUDA_SUCCESS")):
        said = machine_wide(lambda sub: _said_line(sub, _LIBCUDA_NOT_FOUND_SAYS))(s)
        if not said or s.component == "gpu":
            return None
        cause = (
            f"under WSL a library loads libcuda by a name the loader does not find ({quote_line(said.lines[0])}); "
            "WSL keeps libcuda only in /usr/lib/wsl/lib"
        )
        fix = (
            "put /usr/lib/wsl/lib on the loader's path: `export LD_LIBRARY_PATH=/usr/lib/wsl/lib:$LD_LIBRARY_PATH` "
            "(or `echo /usr/lib/wsl/lib | sudo tee /etc/ld.so.conf.d/ld.wsl.conf && sudo ldconfig`)"
        )
        return _layer(s, cause, [_libcuda_line(machine), said.lines[0]], fix)
    cause = (
        f"under WSL the libcuda loaded is {lib.path}, not Windows' /usr/lib/wsl/lib one"
        if foreign
        else "under WSL, libcuda from /usr/lib/wsl/lib "
        + ("is not found" if lib.path is None else f"fails: cuInit {lib.cu_init}")
    )
    release = driver.context.kernel_release if driver.context else None
    if release and re.search(r"-Microsoft$", release) and "standard" not in release:
        # WSL 1 kernels are 4.4.0-<build>-Microsoft; only WSL 2 (…-microsoft-standard-WSL2) passes the GPU through.
        cause = f"this distro runs under WSL 1 (kernel {release}): it has no GPU, no libcuda in /usr/lib/wsl/lib"
        fix = "convert the distro to WSL 2 in Windows: `wsl --set-version <distro> 2` (`wsl -l -v` lists them); " + (
            fix_for("wsl-libcuda", machine)
        )
        return _layer(s, cause, [_libcuda_line(machine), f"kernel release {release}"], fix)
    return _layer(s, cause, [_libcuda_line(machine)], fix_for("wsl-libcuda", machine))


def libcuda_not_found(s: Subject) -> Found | None:
    driver, machine = _driver(s.machine), s.machine
    lib = driver.libcuda
    if not _applies(s) or lib is None or lib.path is not None or not lib.load_error:
        return None
    expected = _gpu_expected(machine)
    if not expected:
        return None
    kernel = driver.kernel_module.version if driver.kernel_module and driver.kernel_module.version else "?"
    cause = f"the user-space driver libcuda.so.1 cannot be loaded ({lib.load_error})"
    return _layer(
        s, cause, [_libcuda_line(machine), *expected], fix_for("libcuda-not-found", machine).format(kernel=kernel)
    )


def lost_gpu(s: Subject) -> Found | None:
    """A GPU NVML counts but cannot read (fallen off the bus, Xid 79): the hardware layer's fault."""
    lost = s.machine.lost_gpus
    if not lost or (s.component != "gpu" and not _applies(s)):
        return None
    first = lost[0]
    readable = len(s.machine.gpus)
    quote = f"NVML cannot read GPU {first.index}: {first.handle_error}" + (
        f" ({readable} other GPU(s) read fine)" if readable else ""
    )
    fix = fix_for("gpu-hardware-fault", s.machine).format(index=first.index)
    return Found((quote, *_framework_said(s)), {"quote": quote, "host_fix": fix})


_CU_UNKNOWN_SAYS = r"CUDA_ERROR_UNKNOWN|Error 999: unknown error|CUDA unknown error|UNKNOWN ERROR \(999\)"


def _cuinit_said(s: Subject) -> Found | None:
    """Without the driver probe's cuInit: a framework saying CUDA_ERROR_UNKNOWN while NVML reads the GPU."""
    hit = search_texts(s, _CU_UNKNOWN_SAYS)
    if not hit or not s.machine.gpus or not _applies(s):
        return None
    gpu = s.machine.gpus[0].name
    cause = f"the CUDA driver fails to initialise with CUDA_ERROR_UNKNOWN (error 999) while NVML reads the {gpu}"
    fix = fix_for("CUDA_ERROR_UNKNOWN", s.machine, _CUINIT_FIXES)
    return Found((hit[0],), {"cause": cause, "layer_fix": fix, "cu_init": "CUDA_ERROR_UNKNOWN"})


def cuinit_failed(s: Subject) -> Found | None:
    driver, machine = _driver(s.machine), s.machine
    lib = driver.libcuda
    if lib is None or lib.cu_init is None:
        return machine_wide(_cuinit_said)(s)
    if not _applies(s) or lib.path is None or lib.cu_init == "CUDA_SUCCESS":
        return None
    if lib.cu_init == "CUDA_ERROR_NO_DEVICE" and machine.cuda_visible_devices is not None:
        return None  # CUDA_VISIBLE_DEVICES hides the GPUs: the environment rules name it
    options = _CUINIT_FIXES.get(lib.cu_init)
    ctx = driver.context
    values = {"path": lib.path, "nvidia_visible_devices": ctx.nvidia_visible_devices if ctx else None}
    fix = fix_for(lib.cu_init, machine, _CUINIT_FIXES).format(**values) if options else checklist(machine, s.component)
    cause = f"the CUDA driver fails to initialise: cuInit returns {lib.cu_init}"
    return _layer(s, cause, [_libcuda_line(machine)], fix, cu_init=lib.cu_init)


# --- The layers as a table ------------------------------------------------------------------------------------------


def _known(value: object) -> bool:
    return value is not None


def layer_facts(machine: Machine) -> dict[str, str | None]:
    """One line of facts per lower layer; None where no probe said anything about it."""
    driver = _driver(machine)
    module, ctx, nvml = driver.kernel_module, driver.context, machine.nvml
    kernel = None
    if _known(module) or _known(driver.modules) or _known(driver.device_nodes):
        parts = []
        if module:
            parts.append(f"module {module.version}" if module.loaded else "module not loaded")
        if driver.modules is not None:
            parts.append("modules: " + (", ".join(driver.modules) or "none"))
        if driver.device_nodes is not None:
            nodes = [
                f"{n.path}{'' if n.openable else ' (' + (n.error or 'not openable') + ')'}" for n in driver.device_nodes
            ]
            parts.append("nodes: " + (", ".join(nodes) or "none"))
        kernel = "; ".join(parts)
    nvml_line = None
    if nvml:
        if nvml.driver_loaded:
            lost = "".join(f"; GPU {g.index}: {g.handle_error}" for g in machine.lost_gpus)
            nvml_line = f"driver {nvml.driver_version}, {len(machine.gpus)} GPU(s) readable{lost}"
        else:
            nvml_line = nvml.error or "nvidia-ml-py not installed"
    where = machine.context
    if ctx:
        shown = [
            *ctx.evidence,
            *(f"{k}={v}" for k, v in (("NVIDIA_DRIVER_CAPABILITIES", ctx.nvidia_driver_capabilities),) if v),
        ]
        where = f"{ctx.kind}" + (f" ({', '.join(shown)})" if shown else "")
    elif machine.on_spaces:
        where = f"space ({machine.hardware})"
    libraries = None
    if driver.libraries is not None:
        libraries = (
            "; ".join(
                f"{lib_.name} ← {next((c.source for c in lib_.candidates if c.path == lib_.winner), '?')}"
                + (f" (of {len(lib_.candidates)})" if len(lib_.candidates) > 1 else "")
                for lib_ in driver.libraries
            )
            or "no CUDA libraries found"
        )
    return {
        "kernel driver": kernel,
        "user-space driver": _libcuda_line(machine) or None,
        "NVML": nvml_line,
        "where it runs": where,
        "library resolution": libraries,
    }


def _broken_layers(machine: Machine) -> set[str]:
    """Lower layers whose own facts show a failure, whether or not a rule names it as the cause."""
    driver = _driver(machine)
    module, lib, nvml = driver.kernel_module, driver.libcuda, machine.nvml
    broken = set()
    uvm_missing = driver.modules is not None and "nvidia" in driver.modules and "nvidia_uvm" not in driver.modules
    if (module and not module.loaded and machine.context != "wsl") or uvm_missing or _denied(driver.device_nodes):
        broken.add("kernel driver")
    if lib and (lib.path is None or lib.cu_init not in (None, "CUDA_SUCCESS")):
        broken.add("user-space driver")
    if (nvml and nvml.nvml_installed and not nvml.driver_loaded) or machine.lost_gpus:
        broken.add("NVML")
    return broken


def layer_checks(machine: Machine, verdicts: list) -> list[LayerCheck]:
    """Every layer bottom up with its status: the lower ones from the rule that fired for the GPU row (and the
    frameworks), the framework ones from the framework rows. None status: not known."""
    facts, broken = layer_facts(machine), _broken_layers(machine)
    by_rule = {v.rule: v for v in verdicts if v.status != Status.OK}
    gpu_here = not machine.zero_gpu and (machine.gpu_present or bool(_gpu_expected(machine)))
    checks: list[LayerCheck] = []
    for layer in LAYERS[:5]:
        fault = next((v for name, v in by_rule.items() if LAYER_OF.get(name) == layer), None)
        below = next((c.layer for c in checks if c.status == Status.FAIL), None)
        if fault:
            checks.append(LayerCheck(layer, fault.status, facts[layer] or fault.reason, fault.rule))
        elif layer in broken and gpu_here:
            follows = f" (follows from the {below} layer)" if below else ""
            checks.append(LayerCheck(layer, Status.FAIL, f"{facts[layer]}{follows}"))
        elif layer in broken:
            checks.append(LayerCheck(layer, None, f"{facts[layer]} (no GPU here)"))
        else:
            checks.append(LayerCheck(layer, Status.OK if facts[layer] else None, facts[layer] or "not probed"))
    frameworks = [v for v in verdicts if v.component in FRAMEWORKS]
    for layer in LAYERS[5:]:
        faults = [v for v in frameworks if LAYER_OF.get(v.rule) == layer and v.status != Status.OK]
        if faults:
            text = "; ".join(f"{v.component}: {v.rule}" for v in faults)
            checks.append(LayerCheck(layer, Status.worst(v.status for v in faults), text, faults[0].rule))
        else:
            installed = [
                v.component for v in frameworks if isinstance(machine.frameworks.get(v.component), FrameworkInfo)
            ]
            checks.append(
                LayerCheck(layer, Status.OK if installed else None, "no fault found" if installed else "not probed")
            )
    return checks


LAYER_OF = {
    **dict.fromkeys(
        (
            "kernel-module-not-loaded",
            "driver-module-mismatch",
            "uvm-not-loaded",
            "device-nodes-missing",
            "device-node-permission",
            "host-not-ready",
        ),
        "kernel driver",
    ),
    **dict.fromkeys(
        ("container-without-compute", "wsl-libcuda", "libcuda-not-found", "cuinit-failed", "cuda-not-initialized"),
        "user-space driver",
    ),
    **dict.fromkeys(("gpu-hardware-fault", "nvml-failed", "driver-absent", "nvml-missing"), "NVML"),
    **dict.fromkeys(
        (
            "cuda-visible-devices-empty",
            "cuda-visible-devices-past-gpus",
            "mig-without-uuid",
            "gpu-mig-without-uuid",
            "mig-instances",
            "zero-gpu-pytorch-only",
        ),
        "where it runs",
    ),
    **dict.fromkeys(
        ("ld-library-path", "cuda-libs-not-found", "cudnn-mismatch", "tf-cannot-dlopen", "broken-by-mixed-wheels"),
        "library resolution",
    ),
    **dict.fromkeys(
        (
            "driver-too-old",
            "driver-too-old-for-build",
            "wheels-driver-too-old",
            "arch-unsupported",
            "ptx-jit",
            "cpu-build",
            "jax-jaxlib-skew",
            "import-failed",
            "mixed-wheels",
            "works-with-mixed-wheels",
            "driver-minor-version",
            "not-installed",
            "probe-died",
            "probe-missing",
        ),
        "framework build",
    ),
    **dict.fromkeys(("out-of-memory", "memory-held", "smoke-failed", "unexplained"), "framework runtime"),
}
"""Which layer each rule's fault belongs to; rules absent here (ok, no-gpu, zero-gpu) report no fault."""


# --- Rules that read a lower layer's facts and the frameworks' words alike ------------------------------------------


def machine_wide(test: Callable[[Subject], Found | None]) -> Callable[[Subject], Found | None]:
    """A lower layer's fault seen in any framework's words explains every failing framework, also one that
    says nothing about it (JAX falls back to the CPU silently): rows never contradict."""

    def widened(s: Subject) -> Found | None:
        found = test(s)
        if found or s.component not in FRAMEWORKS or not _applies(s):
            return found
        texts = tuple(t for info in s.machine.frameworks.values() for t in texts_of(info) if not HARMLESS.search(t))
        return test(dataclasses.replace(s, texts=texts))

    widened.__name__ = test.__name__
    return widened


def driver_module_mismatch(s: Subject) -> Found | None:
    """From the facts (module vs libcuda, NVML's mismatch error), else from the framework's own line."""
    found = module_mismatch_facts(s)
    if found:
        return found
    said = machine_wide(findings.module_mismatch)(s)
    if not said:
        return None
    values = said.values
    cause = (
        f"the driver's kernel module ({values['kernel']}) is older than the libcuda the process loads "
        f"({values['dso']}): {values['quote']}"
    )
    return Found(said.lines, {**values, "cause": cause, "layer_fix": values["module_fix"]})


def host_not_ready(s: Subject) -> Found | None:
    said = machine_wide(findings.host_not_ready)(s)
    lib = _driver(s.machine).libcuda
    if said or lib is None or lib.cu_init != "CUDA_ERROR_SYSTEM_NOT_READY" or not _applies(s):
        return said
    line = _libcuda_line(s.machine)
    return Found((line, *_framework_said(s)), {"quote": line})


def hardware_fault(s: Subject) -> Found | None:
    return machine_wide(findings.hardware_fault)(s) or lost_gpu(s) or _nvml_lost(s)


def _nvml_lost(s: Subject) -> Found | None:
    """NVML itself failing with "Unknown Error" or "GPU is lost" (no GPU entry to hang it on)."""
    nvml = s.machine.nvml
    if not nvml or not re.search(r"Unknown Error|GPU is lost|GpuIsLost", nvml.error or "") or not _applies(s):
        return None
    quote = f"NVML: {nvml.error}"
    fix = fix_for("gpu-hardware-fault", s.machine).format(index=0)
    return Found((quote, *_framework_said(s)), {"quote": quote, "host_fix": fix})


cuda_not_initialized = machine_wide(findings.cuda_not_initialized)


def unexplained(s: Subject) -> Found | None:
    """A framework that does not use a GPU that is there, when no rule above explains why: say so, show the
    evidence, and give the checks in order; never a pin or a reinstall."""
    info = s.info
    if not isinstance(info, FrameworkInfo) or not info.installed or s.view.sees_gpu(info):
        return None
    if not s.machine.gpu_present:
        return None
    # A line naming a CUDA library says more than JAX's generic "falling back to cpu": quote those first.
    relevant = [t for t in s.texts if re.search(r"CUDA|GPU|cuInit|cuda|gpu|device|\.so\b", t)]
    hits = sorted(relevant, key=lambda t: named_library(t, s.machine, s.stack.pinned.cuda[0]) is None)[:2]
    fallback = getattr(info, "default_backend", None)
    said = " / ".join(quote_line(t) for t in hits) or (
        f"default backend {fallback}" if fallback else "it lists no GPU device and prints nothing about it"
    )
    lower = "; ".join(f"{k}: {v}" for k, v in layer_facts(s.machine).items() if v) or "not probed"
    library = next((lib for t in hits if (lib := named_library(t, s.machine, s.stack.pinned.cuda[0]))), None)
    first = (
        f"0) it names {library.name}: which copy loads? `pip show -f {library.wheel}` (and which package pins "
        f"it), then every LD_LIBRARY_PATH entry that holds another copy; "
        if library
        else ""
    )
    return Found(
        (*hits, *(f"{k}: {v}" for k, v in layer_facts(s.machine).items() if v)),
        {"quote": said, "layers": lower, "checklist": first + checklist(s.machine, s.component)},
    )
