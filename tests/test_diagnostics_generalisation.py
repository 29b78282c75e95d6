"""Rules widened after the held-out batches 2 and 3 (#15), each checked on facts built here rather than on the
report that showed the gap: the reading must hold for reports nobody has read yet."""

from __future__ import annotations

import pytest

from diagnostics.verdicts import Status
from tests.fixtures.diagnostics import real_report
from tests.test_diagnostics_layers import NO_MODULE, NODES, report_for, rows

MISMATCH_NVML = {
    "driver_loaded": False,
    "gpus": [],
    "error": "NVMLError_LibRmVersionMismatch: RM has detected an NVML/RM version mismatch.",
}


def _mismatch(libcuda_version: str) -> dict:
    return {
        "libcuda": {"version": libcuda_version, "cu_init": "CUDA_ERROR_SYSTEM_DRIVER_MISMATCH", "device_count": None}
    }


def test_a_module_newer_than_libcuda_is_not_fixed_by_a_reboot_and_names_error_803():
    gpu = report_for(driver=_mismatch("535.104.05"), nvml=MISMATCH_NVML).verdict("gpu")
    assert gpu.rule == "driver-module-mismatch", gpu
    assert "CUDA error 803" in gpu.reason and "user-space libraries of driver 535.129.03" in gpu.fix, gpu
    older_module = report_for(driver=_mismatch("550.54.15"), nvml=MISMATCH_NVML).verdict("gpu")
    assert "reboot" in older_module.fix and "both be 550.54.15" in older_module.fix, older_module


def test_the_frameworks_own_mismatch_words_are_quoted_as_it_wrote_them():
    torch_says = (
        "CUDA initialization: Unexpected error from cudaGetDeviceCount(). Did you run some cuda functions before "
        "calling NumCudaDevices() that might have already set an error? Error 803: system has unsupported display "
        "driver / cuda driver combination"
    )
    report = report_for(driver=_mismatch("550.54.15"), nvml=MISMATCH_NVML, torch={"messages": [torch_says]})
    torch = report.verdict("torch")
    assert "Error 803: system has unsupported display driver / cuda driver combination" in torch.reason, torch
    assert "Did you run" not in torch.reason  # the words that matched, not torch's preamble


@pytest.mark.parametrize("nodes, rule", [([], "device-nodes-missing"), (None, "kernel-module-not-loaded")])
def test_in_a_container_the_device_nodes_decide_before_the_missing_module(nodes, rule):
    """No /dev/nvidia* in a container: it was started without GPUs (whatever the host has). Nodes there but no
    module: the host's driver is the fault."""
    driver = {
        **NO_MODULE,
        "context": {"kind": "container", "evidence": ["/.dockerenv"], "nvidia_visible_devices": "all"},
        "libcuda": {"path": None, "load_error": "libcuda.so.1: cannot open shared object file", "cu_init": None},
    }
    if nodes is None:
        driver.pop("device_nodes")  # the healthy nodes stay
    nvml = {"driver_loaded": False, "gpus": [], "error": "NVMLError_LibraryNotFound: NVML Shared Library Not Found"}
    verdicts = rows(report_for(driver=driver, nvml=nvml))
    assert {verdicts[c].rule for c in ("gpu", "torch", "jax", "tensorflow")} == {rule}, verdicts
    if rule == "device-nodes-missing":
        assert "--gpus all" in verdicts["torch"].fix


@pytest.mark.parametrize(
    "kind, modules, rule, fix_word",
    [
        ("machine", ["nvidia", "nvidia_uvm"], "device-nodes-missing", "nvidia-modprobe -u"),
        ("container", ["nvidia", "nvidia_uvm"], "device-nodes-missing", "--device /dev/nvidia-uvm"),
        ("machine", ["nvidia"], "uvm-not-loaded", "modprobe nvidia_uvm"),
    ],
)
def test_a_missing_uvm_node_with_the_module_loaded_is_a_node_fault(kind, modules, rule, fix_word):
    driver = {
        "context": {"kind": kind, "evidence": []},
        "modules": modules,
        "device_nodes": [n for n in NODES if n["path"] != "/dev/nvidia-uvm"],
        "libcuda": {"cu_init": "CUDA_ERROR_UNKNOWN", "device_count": None},
    }
    torch = report_for(driver=driver).verdict("torch")
    assert (torch.status, torch.rule) == (Status.FAIL, rule), torch
    assert fix_word in torch.fix, torch


def test_wsl_1_is_named_and_its_fix_is_wsl_2():
    driver = {
        "context": {"kind": "wsl", "evidence": [], "kernel_release": "4.4.0-19041-Microsoft"},
        "kernel_module": {"loaded": False, "version": None, "version_line": None},
        "modules": None,
        "device_nodes": [],
        "libcuda": {"path": None, "load_error": "libcuda.so.1: cannot open shared object file", "cu_init": None},
    }
    gpu = report_for(driver=driver).verdict("gpu")
    assert gpu.rule == "wsl-libcuda" and "WSL 1" in gpu.reason, gpu
    assert "wsl --set-version" in gpu.fix


def test_jax_wheels_of_two_releases_explain_a_crashed_probe_and_a_gpu_that_is_listed():
    plugin = [{"name": "jax-cuda12-plugin", "version": "0.10.3"}, {"name": "jax-cuda12-pjrt", "version": "0.10.3"}]
    listed = report_for(failing=False, jax={"cuda_plugins": plugin}).verdict("jax")
    assert (listed.status, listed.rule) == (Status.FAIL, "jax-jaxlib-skew"), listed
    assert "jax-cuda12-plugin 0.10.3" in listed.reason
    same = report_for(failing=False).verdict("jax")
    assert same.rule == "ok", same
    frameworks = {"jax": "0.10.1", "jaxlib": "0.10.1", "jax-cuda12-plugin": "0.10.2", "jax-cuda12-pjrt": "0.10.2"}
    died = {"outcome": "crashed", "returncode": -11, "error": "killed by SIGSEGV", "stderr_tail": "Segmentation fault"}
    case = {"machine": "local", "payloads": {"wheels": {"frameworks": frameworks}}, "died": {"jax": died}}
    jax = real_report(case).verdict("jax")
    assert (jax.status, jax.rule) == (Status.FAIL, "jax-jaxlib-skew"), jax


def test_tensorflow_resource_exhausted_is_out_of_memory():
    smoke = {
        "device": "GPU:0",
        "on_cpu": False,
        "passed": False,
        "error": "ResourceExhaustedError: OOM when allocating",
    }
    tf = report_for(failing=False, tensorflow={"smoke": smoke}).verdict("tensorflow")
    assert (tf.status, tf.rule) == (Status.FAIL, "out-of-memory"), tf
    assert "TF_FORCE_GPU_ALLOW_GROWTH" in tf.fix and "tensorflow[" not in tf.fix


def test_torchs_cudnn_message_is_read_whatever_its_spacing():
    said = (
        "cuDNN version incompatibility: PyTorch was compiled  against (9, 10, 2) but found runtime version (9, 1, 0)."
    )
    torch = report_for(failing=False, torch={"messages": [said]}).verdict("torch")
    assert (torch.status, torch.rule) == (Status.FAIL, "cudnn-mismatch"), torch
    assert "cuDNN 9.1.0 is loaded" in torch.reason


def test_the_minor_version_warning_uses_the_installed_jax_not_the_pinned_one():
    nvml = {"cuda_driver_version": 12040, "driver_version": "550.78"}
    older = [{"name": "jax-cuda12-plugin", "version": "0.4.28"}, {"name": "jax-cuda12-pjrt", "version": "0.4.28"}]
    installed = {"version": "0.4.28", "jaxlib_version": "0.4.28", "cuda_plugins": older}
    assert report_for(failing=False, nvml=nvml, jax=installed).verdict("jax").rule == "ok"
    pinned = report_for(failing=False, nvml=nvml).verdict("jax")
    assert (pinned.status, pinned.rule) == (Status.WARN, "driver-minor-version"), pinned  # 0.10.2 is built for 12.8


def test_a_cpu_build_on_a_cuda_11_driver_gets_a_cuda_11_build():
    nvml = {"cuda_driver_version": 11040, "driver_version": "470.82.01"}
    torch_cpu = {"version": "2.3.1+cpu", "cuda_built": None, "messages": ["Torch not compiled with CUDA enabled"]}
    torch = report_for(failing=False, nvml=nvml, torch=torch_cpu).verdict("torch")
    assert (torch.status, torch.rule) == (Status.FAIL, "cpu-build"), torch
    assert "whl/cu118" in torch.fix and "use `torch==2.10.0`" not in torch.fix


@pytest.mark.parametrize(
    "message, wheel",
    [
        ("RuntimeError: Unable to load cuSOLVER. Is it installed?", "nvidia-cusolver-cu12"),
        ("RuntimeError: operation cufftGetProperty failed: The cuFFT library was not found.", "nvidia-cufft-cu12"),
    ],
)
def test_a_pip_library_not_found_names_its_wheel_and_never_a_reinstall(message, wheel):
    jax = report_for(failing=False, jax={"default_backend": "cpu", "devices": [], "messages": [message]}).verdict("jax")
    assert (jax.status, jax.rule) == (Status.FAIL, "cuda-libs-not-found"), jax
    assert wheel in jax.fix and "LD_LIBRARY_PATH" in jax.fix and "reinstall" not in jax.fix


def test_a_library_not_found_without_its_wheels_gets_the_build_that_brings_them():
    torch = {
        "version": "2.1.0",
        "import_error": "ValueError: libnvrtc.so.*[0-9].*[0-9] not found in the system path",
        "cuda_available": False,
        "devices": [],
    }
    verdict = report_for(failing=False, wheels={"nvidia": []}, torch=torch).verdict("torch")
    assert (verdict.status, verdict.rule) == (Status.FAIL, "cuda-libs-not-found"), verdict
    assert "use `torch==2.10.0`" in verdict.fix and "nvidia-cuda-nvrtc-cu12" in verdict.fix


# --- Widened after the held-out batch 4 -------------------------------------------------------------------------

WSL_DRIVER = {
    "context": {
        "kind": "wsl",
        "evidence": ["/usr/lib/wsl/lib"],
        "kernel_release": "5.15.153.1-microsoft-standard-WSL2",
    },
    "libcuda": {"path": "/usr/lib/wsl/lib/libcuda.so.1", "cu_init": "CUDA_SUCCESS", "device_count": 1},
}


def test_under_wsl_a_library_missing_the_unversioned_libcuda_is_told_where_it_is():
    said = "Could not load library libcudnn_ops_infer.so.8. Error: libcuda.so: cannot open shared object file"
    report = report_for(driver=WSL_DRIVER, jax={"messages": [said]})
    jax = report.verdict("jax")
    assert (jax.status, jax.rule) == (Status.FAIL, "wsl-libcuda"), jax
    assert "LD_LIBRARY_PATH=/usr/lib/wsl/lib" in jax.fix and "reinstall" not in jax.fix, jax
    machine = report_for(driver={"libcuda": WSL_DRIVER["libcuda"]}, jax={"messages": [said]}).verdict("jax")
    assert machine.rule != "wsl-libcuda", machine  # outside WSL the same words point elsewhere


def test_a_framework_seeing_fewer_devices_than_the_mig_instances_is_told_one_process_per_instance():
    migs = [{"uuid": f"MIG-{i}", "memory_total_bytes": 21474836480} for i in range(2)]
    a100 = {
        "index": 0,
        "name": "NVIDIA A100-SXM4-40GB",
        "compute_capability": [8, 0],
        "mig_mode": "enabled",
        "memory_total_bytes": 42949672960,
        "memory_used_bytes": 0,
        "memory_free_bytes": 42949672960,
        "processes": [],
        "errors": {},
        "mig_devices": migs,
    }
    torch = report_for(failing=False, nvml={"gpus": [a100]}).verdict("torch")
    assert (torch.status, torch.rule) == (Status.WARN, "mig-instances"), torch
    assert "2 MIG instances" in torch.reason and "one process per MIG instance" in torch.fix
    one = report_for(failing=False, nvml={"gpus": [{**a100, "mig_devices": migs[:1]}]}).verdict("torch")
    assert one.rule == "ok", one


def test_a_mismatch_inside_a_container_names_driver_libraries_installed_in_the_image():
    driver = {
        "context": {"kind": "container", "evidence": ["/.dockerenv"]},
        "libcuda": {"version": "570.86.15", "cu_init": "CUDA_ERROR_SYSTEM_DRIVER_MISMATCH", "device_count": None},
    }
    gpu = report_for(driver=driver, nvml=MISMATCH_NVML).verdict("gpu")
    assert gpu.rule == "driver-module-mismatch", gpu
    assert "the image installs NVIDIA driver libraries" in gpu.fix and "reboot the host" in gpu.fix, gpu
