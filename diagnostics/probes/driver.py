"""The layers below every framework, with no framework imported: the kernel module, the device nodes,
the user-space driver (libcuda through ctypes), where the process runs, and where each CUDA library would load from.

Every reader takes its roots as arguments (`root` for the file system, `libcuda` for the library name or path),
so tests point them at a fixture directory or a fake libcuda built at test time.
"""

from __future__ import annotations

import ctypes
import os
import re
import sysconfig
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path

LIBCUDA = "libcuda.so.1"
# cuGetErrorName answers for every code the driver knows; these cover a stub or fake library that lacks it.
CU_RESULTS = {
    0: "CUDA_SUCCESS",
    3: "CUDA_ERROR_NOT_INITIALIZED",
    34: "CUDA_ERROR_STUB_LIBRARY",
    35: "CUDA_ERROR_INSUFFICIENT_DRIVER",
    46: "CUDA_ERROR_DEVICES_UNAVAILABLE",
    100: "CUDA_ERROR_NO_DEVICE",
    101: "CUDA_ERROR_INVALID_DEVICE",
    214: "CUDA_ERROR_ECC_UNCORRECTABLE",
    304: "CUDA_ERROR_OPERATING_SYSTEM",
    802: "CUDA_ERROR_SYSTEM_NOT_READY",
    803: "CUDA_ERROR_SYSTEM_DRIVER_MISMATCH",
    804: "CUDA_ERROR_COMPAT_NOT_SUPPORTED_ON_DEVICE",
    999: "CUDA_ERROR_UNKNOWN",
}
_MODULE_VERSION = re.compile(r"Kernel Module(?: for \S+)?\s+(\d+\.\d+(?:\.\d+)?)")
_FILE_VERSION = re.compile(r"\.so\.(\d+\.\d+(?:\.\d+)?)$")
# The libraries whose absence or shadowing the frameworks report; others in nvidia/*/lib only lengthen the list.
_WATCHED = re.compile(r"^lib(cudart|cublas|cublasLt|cudnn|cufft|cusparse|cusolver|nvJitLink|nccl)\.so\.\d+$")
_WHEEL_OF = {"cudart": "cuda-runtime", "cublasLt": "cublas", "nvJitLink": "nvjitlink"}
"""Library stem -> the word naming its wheel (nvidia-cuda-runtime-cu12); the others are named as the library."""
_SYSTEM_DIRS = ("usr/lib/x86_64-linux-gnu", "usr/lib64", "usr/local/cuda/lib64", "usr/lib/wsl/lib", "usr/lib")
_FRAMEWORK_DISTS = {
    "torch": "torch",
    "jax-cuda12-plugin": "jax",
    "jax-cuda13-plugin": "jax",
    "tensorflow": "tensorflow",
}


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except OSError:
        return None


def kernel_module(root: Path) -> dict:
    text = _read(root / "proc/driver/nvidia/version")
    if text is None:
        return {"loaded": False, "version": None, "version_line": None}
    line = text.strip().splitlines()[0] if text.strip() else ""
    match = _MODULE_VERSION.search(line)
    return {"loaded": True, "version": match.group(1) if match else None, "version_line": line}


def modules(root: Path) -> list[str] | None:
    text = _read(root / "proc/modules")
    if text is None:
        return None
    return sorted({line.split()[0] for line in text.splitlines() if line.startswith("nvidia")})


def device_nodes(root: Path) -> list[dict]:
    dev = root / "dev"
    paths = sorted(dev.glob("nvidia*")) + ([dev / "dxg"] if (dev / "dxg").exists() else [])
    nodes = []
    for path in paths:
        if path.is_dir():  # /dev/nvidia-caps holds MIG capabilities, not a device
            continue
        try:
            os.close(os.open(path, os.O_RDONLY | os.O_NONBLOCK))
            nodes.append({"path": f"/dev/{path.name}", "openable": True, "error": None})
        except OSError as error:
            nodes.append({"path": f"/dev/{path.name}", "openable": False, "error": error.strerror or str(error)})
    return nodes


def _loaded_from(name: str) -> str | None:
    """The file the loader mapped for `name`: the first libcuda in this process's memory map."""
    base = Path(name).name.split(".so")[0] + ".so"
    for line in (_read(Path("/proc/self/maps")) or "").splitlines():
        path = line.split(maxsplit=5)[-1] if line.count(" ") >= 5 else ""
        if Path(path).name.startswith(base):
            return path
    return name if os.path.isabs(name) else None


def _result_name(lib: ctypes.CDLL, code: int) -> str:
    text = ctypes.c_char_p()
    try:
        if lib.cuGetErrorName(code, ctypes.byref(text)) == 0 and text.value:
            return text.value.decode()
    except AttributeError:
        pass
    return CU_RESULTS.get(code, f"CUresult {code}")


def libcuda(name: str = LIBCUDA) -> dict:
    facts: dict = {
        "path": None,
        "load_error": None,
        "version": None,
        "driver_api_version": None,
        "cu_init": None,
        "device_count": None,
    }
    try:
        lib = ctypes.CDLL(name)
    except OSError as error:
        facts["load_error"] = str(error)
        return facts
    path = _loaded_from(name)
    facts["path"] = path
    match = _FILE_VERSION.search(os.path.realpath(path)) if path else None
    facts["version"] = match.group(1) if match else None
    try:
        code = lib.cuInit(0)
        facts["cu_init"] = _result_name(lib, code)
        version = ctypes.c_int()
        if lib.cuDriverGetVersion(ctypes.byref(version)) == 0:
            facts["driver_api_version"] = version.value
        count = ctypes.c_int()
        if code == 0 and lib.cuDeviceGetCount(ctypes.byref(count)) == 0:
            facts["device_count"] = count.value
    except AttributeError as error:  # a library named libcuda that is not the driver
        facts["load_error"] = f"not a CUDA driver: {error}"
    return facts


def context(root: Path, environ: Mapping[str, str]) -> dict:
    release = (_read(root / "proc/sys/kernel/osrelease") or "").strip() or None
    cgroup = _read(root / "proc/1/cgroup") or ""
    evidence: list[str] = []
    if environ.get("SYSTEM") == "spaces":
        kind, evidence = "space", ["SYSTEM=spaces"]
    elif "microsoft" in (release or "").lower() or (root / "usr/lib/wsl/lib").is_dir():
        kind = "wsl"
        evidence = [f"kernel {release}"] if "microsoft" in (release or "").lower() else ["/usr/lib/wsl/lib"]
    else:
        marks = [f"/{m}" for m in (".dockerenv", "run/.containerenv") if (root / m).exists()]
        marks += [f"/proc/1/cgroup: {w}" for w in ("docker", "kubepods", "containerd", "libpod") if w in cgroup][:1]
        marks += (
            [f"NVIDIA_VISIBLE_DEVICES={environ['NVIDIA_VISIBLE_DEVICES']}"]
            if "NVIDIA_VISIBLE_DEVICES" in environ
            else []
        )
        kind, evidence = ("container", marks) if marks else ("machine", [])
    return {
        "kind": kind,
        "evidence": evidence,
        "nvidia_visible_devices": environ.get("NVIDIA_VISIBLE_DEVICES"),
        "nvidia_driver_capabilities": environ.get("NVIDIA_DRIVER_CAPABILITIES"),
        "kernel_release": release,
    }


def _pip_lib_dirs() -> list[Path]:
    found = []
    for key in ("purelib", "platlib"):
        base = Path(sysconfig.get_paths()[key]) / "nvidia"
        found += sorted(p for p in base.glob("*/lib") if p not in found)
    return found


def _needed_by() -> dict[str, set[str]]:
    """nvidia wheel (normalized name) -> frameworks whose distributions require it."""
    needs: dict[str, set[str]] = {}
    for dist_name, framework in _FRAMEWORK_DISTS.items():
        try:
            requires = metadata.requires(dist_name) or []
        except metadata.PackageNotFoundError:
            continue
        for requirement in requires:
            match = re.match(r"[A-Za-z0-9._-]+", requirement)
            if match and match.group(0).lower().startswith("nvidia-"):
                needs.setdefault(re.sub(r"[-_.]+", "-", match.group(0).lower()), set()).add(framework)
    return needs


def libraries(root: Path, environ: Mapping[str, str], pip_dirs: list[Path] | None = None) -> list[dict]:
    """Each watched library with its candidates in the order a RUNPATH loader tries them: LD_LIBRARY_PATH,
    the pip wheels next to the framework, conda, then the system directories."""
    pip_dirs = _pip_lib_dirs() if pip_dirs is None else pip_dirs
    sources = [(Path(d), "LD_LIBRARY_PATH") for d in environ.get("LD_LIBRARY_PATH", "").split(":") if d]
    sources += [(d, "pip") for d in pip_dirs]
    sources += [(Path(environ["CONDA_PREFIX"]) / "lib", "conda")] if environ.get("CONDA_PREFIX") else []
    sources += [(root / d, "system") for d in _SYSTEM_DIRS]
    candidates: dict[str, list[dict]] = {}
    for directory, source in sources:
        try:
            names = sorted(p.name for p in directory.iterdir() if _WATCHED.match(p.name))
        except OSError:
            continue
        for name in names:
            path = str(directory / name)
            if all(c["path"] != path for c in candidates.get(name, ())):
                candidates.setdefault(name, []).append({"path": path, "source": source})
    needs = _needed_by()
    result = []
    for name, found in sorted(candidates.items()):
        stem = name.split(".so")[0].removeprefix("lib")
        wheel_word = "nvidia-" + _WHEEL_OF.get(stem, stem).lower()
        needed = sorted({f for wheel, fws in needs.items() if wheel.startswith(wheel_word) for f in fws})
        result.append({"name": name, "needed_by": needed, "candidates": found, "winner": found[0]["path"]})
    return result


def probe(
    smoke: bool, *, root: Path = Path("/"), libcuda_name: str = LIBCUDA, environ: Mapping[str, str] | None = None
) -> dict:
    environ = os.environ if environ is None else environ
    return {
        "kernel_module": kernel_module(root),
        "modules": modules(root),
        "device_nodes": device_nodes(root),
        "libcuda": libcuda(libcuda_name),
        "context": context(root, environ),
        "libraries": libraries(root, environ),
    }
