"""The NVIDIA driver as NVML sees it (nvidia-ml-py), plus the device nodes a container was given."""

from __future__ import annotations

import glob
import os

_MIG = {0: "disabled", 1: "enabled"}


def _call(fn, *args):
    """NVML answers NotSupported for fields a GPU lacks (power on some vGPUs, MIG on consumer cards)."""
    import pynvml

    try:
        return fn(*args)
    except pynvml.NVMLError:
        return None


def _gpu(index: int) -> dict:
    import pynvml

    handle = pynvml.nvmlDeviceGetHandleByIndex(index)
    memory = _call(pynvml.nvmlDeviceGetMemoryInfo, handle)
    util = _call(pynvml.nvmlDeviceGetUtilizationRates, handle)
    power = _call(pynvml.nvmlDeviceGetPowerUsage, handle)
    limit = _call(pynvml.nvmlDeviceGetEnforcedPowerLimit, handle)
    mig = _call(pynvml.nvmlDeviceGetMigMode, handle)
    name = pynvml.nvmlDeviceGetName(handle)
    return {
        "index": index,
        "name": name.decode() if isinstance(name, bytes) else name,
        "compute_capability": list(_call(pynvml.nvmlDeviceGetCudaComputeCapability, handle) or []) or None,
        "memory_total_bytes": memory.total if memory else None,
        "memory_used_bytes": memory.used if memory else None,
        "memory_free_bytes": memory.free if memory else None,
        "utilization_pct": util.gpu if util else None,
        "memory_utilization_pct": util.memory if util else None,
        "temperature_c": _call(pynvml.nvmlDeviceGetTemperature, handle, pynvml.NVML_TEMPERATURE_GPU),
        "power_w": power / 1000 if power is not None else None,
        "power_limit_w": limit / 1000 if limit is not None else None,
        "mig_mode": _MIG.get(mig[0]) if mig else None,
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
        version = pynvml.nvmlSystemGetDriverVersion()
        facts["driver_version"] = version.decode() if isinstance(version, bytes) else version
        facts["cuda_driver_version"] = _call(pynvml.nvmlSystemGetCudaDriverVersion_v2)
        facts["gpus"] = [_gpu(i) for i in range(pynvml.nvmlDeviceGetCount())]
    except pynvml.NVMLError as error:
        facts["error"] = f"{type(error).__name__}: {error}"
    finally:
        pynvml.nvmlShutdown()
    return facts
