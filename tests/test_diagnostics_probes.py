"""Probes as subprocesses: the frameworks installed here (CPU only), and stand-ins that raise, hang or crash."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from importlib import metadata

import pytest

from diagnostics.facts import ProbeOutcome
from diagnostics.report import Report, collect_report
from diagnostics.runner import ROOT, probe_environment, run_probe
from diagnostics.verdicts import UPGRADE
from tests.fixtures.diagnostics import HANGS, RAISES, SEGFAULTS


@pytest.fixture(scope="module")
def real_report() -> Report:
    return collect_report(120, smoke=True)


@pytest.mark.slow
def test_cpu_machine_warns_no_gpu_for_every_framework(real_report: Report):
    for component in ("torch", "jax", "tensorflow"):
        verdict = real_report.verdict(component)
        assert verdict.status == "WARN", verdict
        assert "no GPU on this machine" in verdict.reason and verdict.fix == UPGRADE
    assert real_report.overall == "WARN"


@pytest.mark.slow
def test_nvml_reports_no_driver_as_a_status(real_report: Report):
    nvml = real_report.nvml
    assert nvml is not None and not nvml.driver_loaded and nvml.gpus == [] and nvml.dev_nvidia == []
    assert "NVML" in (nvml.error or "")
    gpu = real_report.verdict("gpu")
    assert gpu.status == "WARN" and gpu.reason.startswith("no NVIDIA GPU or driver")


@pytest.mark.slow
def test_framework_facts_match_what_is_installed(real_report: Report):
    torch, jax, tf = real_report.torch, real_report.jax, real_report.tensorflow
    assert torch.version.startswith(metadata.version("torch")) and torch.cuda_built == "12.8"
    assert not torch.cuda_available and "sm_86" in torch.arch_list  # arch list read even without a GPU
    assert jax.version == metadata.version("jax") and jax.default_backend == "cpu"
    assert {p["name"] for p in jax.cuda_plugins} >= {"jax-cuda12-plugin"}
    assert any("cuInit" in m or "CUDA" in m for m in jax.messages), jax.messages  # JAX's own words, verbatim
    assert tf.build_info["is_cuda_build"] and tf.gpus == []
    assert any("cuInit" in line for line in tf.log_lines), tf.log_lines  # from the probe's stderr
    assert real_report.wheels.cuda_lines == ["cu12"] and real_report.wheels.conflicts == []
    assert real_report.host.python == sys.version.split()[0]


@pytest.mark.slow
def test_smoke_test_runs_on_the_cpu_and_says_so(real_report: Report):
    for component in ("torch", "jax", "tensorflow"):
        smoke = getattr(real_report, component).smoke
        assert smoke.on_cpu and smoke.passed and smoke.tflops > 0, smoke
        assert "matmul on the CPU" in real_report.verdict(component).reason


@pytest.mark.slow
def test_probes_run_in_parallel(real_report: Report):
    runs = real_report.runs.values()
    assert real_report.duration_s < sum(r.seconds for r in runs)
    assert real_report.duration_s < max(r.seconds for r in runs) + 3


def test_fault_injection_each_fault_is_reported_and_the_rest_still_comes():
    timeout = 6.0
    started = time.monotonic()
    report = collect_report(timeout, pythonpath=[RAISES, HANGS, SEGFAULTS])
    assert time.monotonic() - started < timeout + 4

    torch = report.verdict("torch")
    assert torch.status == "FAIL" and "import failed: RuntimeError: stand-in torch is broken" in torch.reason

    jax_run = report.runs["jax"]
    assert jax_run.outcome is ProbeOutcome.TIMEOUT and jax_run.returncode is None
    assert report.verdict("jax").status == "FAIL" and "timed out after 6 s" in report.verdict("jax").reason

    tf_run = report.runs["tensorflow"]
    assert tf_run.outcome == "crashed" and tf_run.returncode == -11
    assert "killed by SIGSEGV" in report.verdict("tensorflow").reason
    assert "about to crash" in tf_run.stderr_tail

    for name in ("host", "nvml", "wheels"):
        assert report.runs[name].outcome == "ok"
    assert report.verdict("gpu").status == "WARN" and report.verdict("wheels").status == "OK"


def test_a_probe_keeps_library_chatter_off_its_json(tmp_path):
    chatty = tmp_path / "torch"
    chatty.mkdir()
    (chatty / "__init__.py").write_text("print('hello from a chatty import')\nraise ImportError('no')\n")
    run = run_probe("torch", 30, env=probe_environment([tmp_path]))
    assert run.outcome == "ok" and "ImportError: no" in run.payload["import_error"]
    assert "hello from a chatty import" in run.stderr_tail


def test_a_missing_framework_is_not_installed_rather_than_broken():
    # None in sys.modules makes `import tensorflow` raise ModuleNotFoundError, as if it were not installed.
    script = "import sys; sys.modules['tensorflow'] = None; from diagnostics.probe import main; main(['tensorflow'])"
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    facts = json.loads(out.stdout)
    assert facts["installed"] is False and facts["import_error"] is None


def test_the_serving_side_never_imports_a_framework_or_gradio():
    script = (
        "import sys, diagnostics.report, diagnostics.render, diagnostics.startup, diagnostics.__main__\n"
        "heavy = {'torch', 'jax', 'tensorflow', 'gradio', 'numpy'} & set(sys.modules)\n"
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, check=True, timeout=60)


_MIG_PYNVML = '''
"""Stand-in for nvidia-ml-py on an A100 in MIG mode: what NVML answers there, errors included."""
from types import SimpleNamespace

NVML_TEMPERATURE_GPU = 0


class NVMLError(Exception):
    pass


class NVMLError_NotSupported(NVMLError):
    def __str__(self):
        return "Not Supported"


class NVMLError_NotFound(NVMLError):
    def __str__(self):
        return "Not Found"


def _unsupported(*args):
    raise NVMLError_NotSupported()


nvmlInit = nvmlShutdown = lambda: None
nvmlSystemGetDriverVersion = lambda: "550.54.15"
nvmlSystemGetCudaDriverVersion_v2 = lambda: 12040
nvmlDeviceGetCount = lambda: 1
nvmlDeviceGetHandleByIndex = lambda i: ("gpu", i)
nvmlDeviceGetName = lambda h: b"NVIDIA A100-SXM4-80GB"
nvmlDeviceGetUUID = lambda h: "GPU-5d5ba0d6" if h[0] == "gpu" else "MIG-c6d4f1ef-42e4-5de3-91c7-45d71c87eb3f"
nvmlDeviceGetCudaComputeCapability = lambda h: (8, 0)
nvmlDeviceGetMemoryInfo = lambda h: SimpleNamespace(total=85899345920, used=1 << 30, free=84825604096)
nvmlDeviceGetUtilizationRates = _unsupported  # not supported on MIG
nvmlDeviceGetTemperature = lambda h, sensor: 31
nvmlDeviceGetPowerUsage = lambda h: 60000
nvmlDeviceGetEnforcedPowerLimit = _unsupported
nvmlDeviceGetMigMode = lambda h: (1, 1)
nvmlDeviceGetMaxMigDeviceCount = lambda h: 2


def nvmlDeviceGetMigDeviceHandleByIndex(h, slot):
    if slot:
        raise NVMLError_NotFound()  # an empty slot
    return ("mig", slot)


nvmlDeviceGetComputeRunningProcesses = lambda h: [SimpleNamespace(pid=4242, usedGpuMemory=2 << 30)]
nvmlSystemGetProcessName = _unsupported
'''


def test_nvml_probe_survives_a_mig_gpu_and_keeps_each_failed_query_as_a_fact(tmp_path):
    (tmp_path / "pynvml.py").write_text(_MIG_PYNVML)
    run = run_probe("nvml", 30, env=probe_environment([tmp_path]))
    assert run.outcome == "ok", run.stderr_tail
    gpu = run.payload["gpus"][0]
    assert gpu["name"] == "NVIDIA A100-SXM4-80GB" and gpu["mig_mode"] == "enabled"
    assert gpu["utilization_pct"] is None and gpu["power_limit_w"] is None and gpu["power_w"] == 60.0
    assert gpu["errors"] == {
        "utilization": "NVMLError_NotSupported: Not Supported",
        "power_limit": "NVMLError_NotSupported: Not Supported",
        "process_name": "NVMLError_NotSupported: Not Supported",
    }
    mig = {"uuid": "MIG-c6d4f1ef-42e4-5de3-91c7-45d71c87eb3f", "memory_total_bytes": 85899345920}
    assert gpu["mig_devices"] == [mig]
    assert gpu["processes"] == [{"pid": 4242, "name": None, "used_memory_bytes": 2 << 30}]


def test_the_host_probe_sees_the_apps_memory_variables_not_the_probes(monkeypatch):
    monkeypatch.setenv("XLA_PYTHON_CLIENT_PREALLOCATE", "true")
    run = run_probe("host", 30, env=probe_environment())
    assert run.payload["environment"]["XLA_PYTHON_CLIENT_PREALLOCATE"] == "true"
