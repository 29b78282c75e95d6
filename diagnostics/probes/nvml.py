"""The NVIDIA driver as NVML sees it (nvidia-ml-py), plus the device nodes a container was given.

Every device query is guarded on its own: MIG GPUs, vGPUs and consumer cards answer NotSupported
or NoPermission to some of them, and one failing query is a fact about the GPU, not a failed probe.
"""

from __future__ import annotations

import glob
import os

_MIG = {0: "disabled", 1: "enabled"}


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class _Queries:
    """Runs NVML queries, keeping each failure as "name": "NVMLError_X: message"."""

    def __init__(self) -> None:
        self.errors: dict[str, str] = {}

    def __call__(self, name: str, fn, *args):
        import pynvml

        try:
            return fn(*args)
        except pynvml.NVMLError as error:
            self.errors[name] = f"{type(error).__name__}: {error}"
            return None


def _processes(ask: _Queries, handle) -> list[dict]:
    import pynvml

    found = []
    for process in ask("processes", pynvml.nvmlDeviceGetComputeRunningProcesses, handle) or ():
        name = ask("process_name", pynvml.nvmlSystemGetProcessName, process.pid)
        used = getattr(process, "usedGpuMemory", None)
        found.append(
            {
                "pid": process.pid,
                "name": _text(name) if name is not None else None,
                # NVML reports "not available" (e.g. under MIG or without permission) as a huge sentinel.
                "used_memory_bytes": used if isinstance(used, int) and used < 1 << 60 else None,
            }
        )
    return found


def _mig_devices(ask: _Queries, handle) -> list[dict]:
    import pynvml

    devices = []
    for slot in range(ask("mig_count", pynvml.nvmlDeviceGetMaxMigDeviceCount, handle) or 0):
        mig = ask(f"mig_{slot}", pynvml.nvmlDeviceGetMigDeviceHandleByIndex, handle, slot)
        if mig is None:
            continue
        uuid = ask(f"mig_{slot}_uuid", pynvml.nvmlDeviceGetUUID, mig)
        memory = ask(f"mig_{slot}_memory", pynvml.nvmlDeviceGetMemoryInfo, mig)
        devices.append({"uuid": _text(uuid) if uuid else None, "memory_total_bytes": memory.total if memory else None})
    # Empty MIG slots answer NotFound; that is how NVML says "no instance here", not an error.
    ask.errors = {k: v for k, v in ask.errors.items() if not (k.startswith("mig_") and "NotFound" in v)}
    return devices


def _gpu(index: int) -> dict:
    import pynvml

    ask = _Queries()
    handle = ask("handle", pynvml.nvmlDeviceGetHandleByIndex, index)
    name = ask("name", pynvml.nvmlDeviceGetName, handle) if handle is not None else None
    # A GPU fallen off the bus answers every query "Unknown Error": a finding about that GPU, never a row of "?".
    lost = ask.errors.get("handle") or next((e for e in ask.errors.values() if "Unknown Error" in e), None)
    if lost:
        return {"index": index, "handle_error": lost.split(": ", 1)[-1], "errors": ask.errors}
    memory = ask("memory", pynvml.nvmlDeviceGetMemoryInfo, handle)
    util = ask("utilization", pynvml.nvmlDeviceGetUtilizationRates, handle)
    power = ask("power", pynvml.nvmlDeviceGetPowerUsage, handle)
    limit = ask("power_limit", pynvml.nvmlDeviceGetEnforcedPowerLimit, handle)
    mig = ask("mig_mode", pynvml.nvmlDeviceGetMigMode, handle)
    uuid = ask("uuid", pynvml.nvmlDeviceGetUUID, handle)
    cc = ask("compute_capability", pynvml.nvmlDeviceGetCudaComputeCapability, handle)
    mig_mode = _MIG.get(mig[0]) if mig else None
    return {
        "index": index,
        "name": _text(name) if name is not None else "?",
        "uuid": _text(uuid) if uuid is not None else None,
        "compute_capability": list(cc) if cc else None,
        "memory_total_bytes": memory.total if memory else None,
        "memory_used_bytes": memory.used if memory else None,
        "memory_free_bytes": memory.free if memory else None,
        "utilization_pct": util.gpu if util else None,
        "memory_utilization_pct": util.memory if util else None,
        "temperature_c": ask("temperature", pynvml.nvmlDeviceGetTemperature, handle, pynvml.NVML_TEMPERATURE_GPU),
        "power_w": power / 1000 if power is not None else None,
        "power_limit_w": limit / 1000 if limit is not None else None,
        "mig_mode": mig_mode,
        "mig_devices": _mig_devices(ask, handle) if mig_mode == "enabled" else [],
        "processes": _processes(ask, handle),
        "errors": ask.errors,
    }


def probe(smoke: bool) -> dict:
    facts = {
        "dev_nvidia": sorted(glob.glob("/dev/nvidia*")),
        "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
        "nvml_installed": True,
        "driver_loaded": False,
        "error": None,
        "driver_version": None,
        "cuda_driver_version": None,
        "device_count": None,
        "gpus": [],
    }
    try:
        import pynvml
    except ImportError:
        facts["nvml_installed"] = False
        return facts
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError as error:
        # LibraryNotFound / DriverNotLoaded on a CPU machine: a status, not a failure of the probe.
        facts["error"] = f"{type(error).__name__}: {error}"
        return facts
    try:
        facts["driver_loaded"] = True
        ask = _Queries()
        version = ask("driver_version", pynvml.nvmlSystemGetDriverVersion)
        facts["driver_version"] = _text(version) if version is not None else None
        facts["cuda_driver_version"] = ask("cuda_driver_version", pynvml.nvmlSystemGetCudaDriverVersion_v2)
        count = ask("device_count", pynvml.nvmlDeviceGetCount)
        facts["device_count"] = count
        facts["gpus"] = [_gpu(i) for i in range(count or 0)]
        if ask.errors:
            facts["error"] = "; ".join(f"{k}: {v}" for k, v in ask.errors.items())
    finally:
        pynvml.nvmlShutdown()
    return facts
