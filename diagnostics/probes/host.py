"""Host and Space: OS, kernel, glibc, Python, CPUs, RAM, cgroup limits, the Space's own variables."""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path

from redaction import environment_report


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return None


def _meminfo() -> dict[str, int]:
    values = {}
    for line in (_read("/proc/meminfo") or "").splitlines():
        key, _, rest = line.partition(":")
        if rest.strip().endswith("kB"):
            values[key] = int(rest.split()[0]) * 1024
    return values


def _cgroup_memory_limit() -> int | None:
    # cgroup v2 first, then v1; "max" or a huge v1 number mean no limit.
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        raw = _read(path)
        if raw and raw.isdigit() and int(raw) < 1 << 60:
            return int(raw)
    return None


def _cgroup_cpu_limit() -> float | None:
    raw = _read("/sys/fs/cgroup/cpu.max")
    if raw:
        quota, _, period = raw.partition(" ")
        return None if quota == "max" else int(quota) / int(period)
    quota, period = _read("/sys/fs/cgroup/cpu/cpu.cfs_quota_us"), _read("/sys/fs/cgroup/cpu/cpu.cfs_period_us")
    if quota and period and quota.lstrip("-").isdigit() and int(quota) > 0:
        return int(quota) / int(period)
    return None


def _glibc() -> str | None:
    try:
        return os.confstr("CS_GNU_LIBC_VERSION")
    except (ValueError, OSError):
        return None


def probe(smoke: bool) -> dict:
    env = os.environ
    memory = _meminfo()
    accelerator = env.get("ACCELERATOR") or None
    return {
        "os": platform.platform(),
        "kernel": platform.release(),
        "glibc": _glibc(),
        "python": sys.version.split()[0],
        "python_executable": sys.executable,
        "cpu_count": os.cpu_count(),
        "cpu_affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "ram_total_bytes": memory.get("MemTotal"),
        "ram_available_bytes": memory.get("MemAvailable"),
        "cgroup_memory_limit_bytes": _cgroup_memory_limit(),
        "cgroup_cpu_limit": _cgroup_cpu_limit(),
        "space": {
            "on_spaces": env.get("SYSTEM") == "spaces",
            "space_id": env.get("SPACE_ID"),
            "author": env.get("SPACE_AUTHOR_NAME"),
            "accelerator": None if accelerator == "none" else accelerator,
            "zero_gpu": env.get("SPACES_ZERO_GPU", "").lower() in {"1", "true", "yes", "on"},
            "cpu_cores": env.get("CPU_CORES"),
            "memory": env.get("MEMORY"),
        },
        # Values by allow-list (redaction.SHOWN_NAMES / SHOWN_PREFIXES); other related variables by name only.
        "environment": environment_report(env),
    }
