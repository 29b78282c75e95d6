"""Every probe and every row of the report, listed once: the probe command, runner, report, verdicts,
renderer and tab all read these tables."""

from __future__ import annotations

from dataclasses import dataclass

from diagnostics.facts import (
    DriverInfo,
    Facts,
    HostInfo,
    JaxInfo,
    NvmlInfo,
    ProbeRun,
    TensorFlowInfo,
    TorchInfo,
    WheelsInfo,
    notable_stderr_lines,
)


@dataclass(frozen=True)
class Probe:
    name: str
    """`python -m diagnostics.probe NAME`, e.g. "torch"; also the report's field for its facts."""
    module: str
    """Module whose `probe(smoke: bool) -> dict` gathers the facts."""
    facts: type
    """Dataclass the JSON becomes, e.g. TorchInfo."""
    component: str
    """Row of the summary it feeds, e.g. "gpu" for host and nvml."""
    title: str
    """What it looks at, for progress messages, e.g. "NVIDIA driver (NVML)"."""
    framework: bool = False
    """A framework probe: runs the smoke test, its stderr's C++ lines are quoted."""
    niceness: int = 10
    """Probes yield the CPU to the app they diagnose; TensorFlow's import, the longest, yields least,
    so on a 2-vCPU Space the report takes little longer than that import alone."""


PROBES: tuple[Probe, ...] = (
    Probe("host", "diagnostics.probes.host", HostInfo, "gpu", "Host and Space"),
    Probe("nvml", "diagnostics.probes.nvml", NvmlInfo, "gpu", "NVIDIA driver (NVML)"),
    Probe("driver", "diagnostics.probes.driver", DriverInfo, "gpu", "Kernel module, libcuda, device nodes"),
    Probe("wheels", "diagnostics.probes.wheels", WheelsInfo, "wheels", "nvidia-* wheels"),
    Probe("torch", "diagnostics.probes.torch_probe", TorchInfo, "torch", "PyTorch", framework=True),
    Probe("jax", "diagnostics.probes.jax_probe", JaxInfo, "jax", "JAX", framework=True),
    Probe("tensorflow", "diagnostics.probes.tf_probe", TensorFlowInfo, "tensorflow", "TensorFlow", True, 5),
)
BY_NAME = {p.name: p for p in PROBES}
PROBE_NAMES = tuple(BY_NAME)
FRAMEWORKS = tuple(p.name for p in PROBES if p.framework)

TITLES = {"gpu": "GPU & driver", "wheels": "CUDA wheels", "torch": "PyTorch", "jax": "JAX", "tensorflow": "TensorFlow"}
"""Summary rows, in order, with their titles."""
COMPONENTS = tuple(TITLES)


def probes_of(component: str) -> tuple[str, ...]:
    """e.g. "gpu" -> ("host", "nvml")."""
    return tuple(p.name for p in PROBES if p.component == component)


def parse_probe(run: ProbeRun) -> Facts | None:
    """The typed facts of a probe that answered; None when it timed out, crashed or printed nothing."""
    if run.payload is None:
        return None
    spec = BY_NAME[run.name]
    data = dict(run.payload)
    if spec.framework and "log_lines" not in data:
        data["log_lines"] = notable_stderr_lines(run.stderr_tail)
    return spec.facts.from_json(data)
