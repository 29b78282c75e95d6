"""Layered diagnosis: the lowest failing layer decides the GPU row and every framework row it explains, with the fix
that exists where the app runs; nothing explains a failure -> `unexplained`; healthy machines with noisy logs
stay OK."""

from __future__ import annotations

import copy
import inspect
import string

import pytest

from diagnostics.report import Report, report_from_payloads
from diagnostics.verdicts import RULES, Status, evidence, findings, judge, layers
from diagnostics.verdicts.judge import TemplateKeyError, render
from diagnostics.verdicts.model import Found, Rule
from tests.fixtures.diagnostics import MACHINES

FRAMEWORK_ROWS = ("torch", "jax", "tensorflow")
LIBCUDA = "/usr/lib/x86_64-linux-gnu/libcuda.so.1"
MODULE_LINE = "NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.129.03  Thu Oct 19 18:56:32 UTC 2023"
NODES = [{"path": p, "openable": True, "error": None} for p in ("/dev/nvidia-uvm", "/dev/nvidia0", "/dev/nvidiactl")]
HEALTHY_DRIVER = {
    "kernel_module": {"loaded": True, "version": "535.129.03", "version_line": MODULE_LINE},
    "modules": ["nvidia", "nvidia_modeset", "nvidia_uvm"],
    "device_nodes": NODES,
    "libcuda": {
        "path": LIBCUDA,
        "load_error": None,
        "version": "535.129.03",
        "driver_api_version": 12020,
        "cu_init": "CUDA_SUCCESS",
        "device_count": 1,
    },
    "context": {
        "kind": "machine",
        "evidence": [],
        "nvidia_visible_devices": None,
        "nvidia_driver_capabilities": None,
        "kernel_release": "5.15.0-91-generic",
    },
}


def _without_gpu(payloads: dict) -> None:
    """Every framework falls back to the CPU, saying so as it does when cuInit fails."""
    payloads["torch"] |= {
        "cuda_available": False,
        "device_count": 0,
        "devices": [],
        "messages": [
            ("CUDA initialization: CUDA unknown error - this may be due to an incorrectly set up environment")
        ],
    }
    payloads["jax"] |= {
        "default_backend": "cpu",
        "devices": [{"id": 0, "platform": "cpu", "device_kind": "cpu"}],
        "messages": [("CUDA backend failed to initialize: INTERNAL: no supported devices found for platform CUDA.")],
    }
    payloads["tensorflow"] |= {
        "gpus": [],
        "log_lines": [
            "E0000 00:00:1700000000.000000   4242 cuda_executor.cc:1015] failed call to cuInit: UNKNOWN ERROR (303)"
        ],
    }


def report_for(machine: str = "local", driver: dict | None = None, *, failing: bool = True, **patches: dict) -> Report:
    """`machine` from the real corpus, every framework failing unless told, the driver probe's facts (healthy
    ones patched by `driver`; none when None: an older report without that probe), then `patches` per probe."""
    payloads = copy.deepcopy(MACHINES[machine])
    if failing:
        _without_gpu(payloads)
    if driver is not None:
        payloads["driver"] = _merge(copy.deepcopy(HEALTHY_DRIVER), driver)
    for name, patch in patches.items():
        payloads[name] = _merge(payloads[name], patch)
    return report_from_payloads(payloads)


def _merge(base: dict, patch: dict) -> dict:
    return base | {
        k: _merge(base[k], v) if isinstance(v, dict) and isinstance(base.get(k), dict) else v for k, v in patch.items()
    }


def rows(report: Report) -> dict:
    return {v.component: v for v in report.verdicts}


def assert_every_row(report: Report, rule: str, fix_word: str, reason_word: str) -> None:
    """The GPU row and every failing framework row carry the same lower layer, its reason and its fix."""
    verdicts = rows(report)
    for component in ("gpu", *FRAMEWORK_ROWS):
        verdict = verdicts[component]
        assert (verdict.status, verdict.rule) == (Status.FAIL, rule), verdict
        assert fix_word in verdict.fix and reason_word in verdict.reason, verdict
        assert "==" not in verdict.fix and "reinstall" not in verdict.fix, verdict
    torch = verdicts["torch"]
    assert torch.reason.startswith("torch 2.10.0+cu128 cannot use the GPU because "), torch.reason
    assert any("CUDA unknown error" in line for line in torch.evidence)  # the framework's own words, next to the facts


NO_MODULE = {
    "kernel_module": {"loaded": False, "version": None, "version_line": None},
    "modules": [],
    "device_nodes": [],
    "libcuda": {"cu_init": "CUDA_ERROR_NO_DEVICE", "device_count": None},
}


def test_kernel_module_not_loaded_decides_every_row_on_a_machine():
    report = report_for(
        driver=NO_MODULE,
        nvml={
            "driver_loaded": False,
            "gpus": [],
            "dev_nvidia": [],
            "error": "NVMLError_DriverNotLoaded: Driver Not Loaded",
        },
    )
    assert_every_row(report, "kernel-module-not-loaded", "sudo modprobe nvidia", "kernel module is not loaded")


def test_on_a_space_the_same_fault_names_the_spaces_actions():
    report = report_for("a10g", driver=NO_MODULE, nvml={"driver_loaded": False, "gpus": [], "dev_nvidia": []})
    assert_every_row(report, "kernel-module-not-loaded", "Factory reboot", "kernel module is not loaded")


def test_cuinit_error_is_named_in_every_row_with_its_fix():
    report = report_for(driver={"libcuda": {"cu_init": "CUDA_ERROR_UNKNOWN", "device_count": None}})
    assert_every_row(
        report, "cuinit-failed", "sudo rmmod nvidia_uvm", "fails to initialise: cuInit returns CUDA_ERROR_UNKNOWN"
    )
    layers_json = {c["layer"]: c for c in report.to_dict()["layers"]}
    assert layers_json["kernel driver"]["status"] == "OK"
    assert (layers_json["user-space driver"]["status"], layers_json["user-space driver"]["rule"]) == (
        "FAIL",
        "cuinit-failed",
    )
    assert list(layers_json) == list(layers.LAYERS)


def test_uvm_missing_is_below_the_cuinit_error_it_causes():
    driver = {
        "modules": ["nvidia", "nvidia_modeset"],
        "libcuda": {"cu_init": "CUDA_ERROR_UNKNOWN", "device_count": None},
    }
    report = report_for(driver=driver)
    assert_every_row(report, "uvm-not-loaded", "modprobe nvidia_uvm", "nvidia_uvm")
    kernel, user_space = report.layers[:2]
    assert (kernel.status, kernel.rule) == (Status.FAIL, "uvm-not-loaded")
    assert user_space.status == Status.FAIL and user_space.finding.endswith("(follows from the kernel driver layer)")


def test_a_container_without_the_compute_capability():
    driver = {
        "context": {
            "kind": "container",
            "evidence": ["/.dockerenv"],
            "nvidia_visible_devices": "all",
            "nvidia_driver_capabilities": "utility",
        },
        "libcuda": {
            "path": None,
            "load_error": "libcuda.so.1: cannot open shared object file: No such file or directory",
            "version": None,
            "cu_init": None,
            "device_count": None,
        },
    }
    assert_every_row(
        report_for(driver=driver),
        "container-without-compute",
        "NVIDIA_DRIVER_CAPABILITIES=compute",
        "NVIDIA_DRIVER_CAPABILITIES=utility",
    )


def test_a_container_started_without_gpus():
    driver = {
        "context": {"kind": "container", "evidence": ["/.dockerenv"]},
        "device_nodes": [],
        "libcuda": {"path": None, "load_error": "libcuda.so.1: cannot open shared object file", "cu_init": None},
    }
    report = report_for(
        driver=driver,
        nvml={
            "driver_loaded": False,
            "gpus": [],
            "dev_nvidia": [],
            "error": "NVMLError_LibraryNotFound: NVML Shared Library Not Found",
        },
    )
    assert_every_row(
        report, "device-nodes-missing", "--gpus all", "no /dev/nvidia* device nodes exist in this container"
    )


def test_a_device_node_this_user_may_not_open():
    nodes = [*NODES[:1], {"path": "/dev/nvidia0", "openable": False, "error": "Permission denied"}, NODES[2]]
    driver = {"device_nodes": nodes, "libcuda": {"cu_init": "CUDA_ERROR_NO_DEVICE", "device_count": None}}
    assert_every_row(report_for(driver=driver), "device-node-permission", "usermod -aG video", "/dev/nvidia0")


def test_wsl_with_a_linux_libcuda_instead_of_windows_one():
    driver = {
        "context": {"kind": "wsl", "evidence": ["kernel 5.15.153.1-microsoft-standard-WSL2"]},
        "kernel_module": {"loaded": False, "version": None, "version_line": None},
        "modules": None,
        "device_nodes": [{"path": "/dev/dxg", "openable": True, "error": None}],
        "libcuda": {"cu_init": "CUDA_ERROR_NO_DEVICE", "device_count": None},
    }
    assert_every_row(report_for(driver=driver), "wsl-libcuda", "/usr/lib/wsl/lib", "not Windows'")


def test_a_gpu_nvml_cannot_read_fails_the_gpu_row_not_the_frameworks_that_work():
    gpus = copy.deepcopy(MACHINES["local"]["nvml"]["gpus"]) + [{"index": 1, "handle_error": "Unknown Error"}]
    report = report_for(driver={}, failing=False, nvml={"gpus": gpus, "device_count": 2})
    gpu = report.verdict("gpu")
    assert (gpu.status, gpu.rule) == (Status.FAIL, "gpu-hardware-fault")
    assert "NVML cannot read GPU 1: Unknown Error (1 other GPU(s) read fine)" in gpu.reason
    assert "nvidia-smi -r -i 1" in gpu.fix
    assert all(report.verdict(f).status == Status.OK for f in FRAMEWORK_ROWS)
    assert "| 1 | NVML cannot read it: Unknown Error |" in __import__("diagnostics.render").render.to_markdown(report)


def test_a_failure_no_rule_explains_says_so_and_gives_checks_not_a_pin():
    report = report_for(
        driver={},
        failing=False,
        jax={
            "default_backend": "cpu",
            "devices": [],
            "messages": ["CUDA backend failed to initialize: INTERNAL: no supported devices found for platform CUDA."],
        },
    )
    jax = report.verdict("jax")
    assert (jax.status, jax.rule) == (Status.FAIL, "unexplained")
    assert "no rule explains why: CUDA backend failed to initialize" in jax.reason
    assert "cuInit CUDA_SUCCESS, 1 device(s)" in jax.reason  # the lower layers' facts, all fine here
    assert jax.fix.startswith("1) `nvidia-smi`") and "jax.devices('cuda')" in jax.fix
    assert "==" not in jax.fix and "reinstall" not in jax.fix
    assert report.verdict("torch").status == Status.OK


NOISE = {
    "tensorflow": [
        "W0000 00:00:1712345678.123456   12345 py_utils.cc:38] TF-TRT Warning: Could not find TensorRT",
        (
            "E0000 00:00:1712345678.123456   12345 cuda_dnn.cc:8310] Unable to register cuDNN factory: Attempting to "
            "register factory for plugin cuDNN when one has already been registered"
        ),
        (
            "W0000 00:00:1712345678.123456   12345 gpu_device.cc:2020] Could not identify NUMA node of platform GPU "
            "id 0, "
            "defaulting to 0.  Your kernel may not have been built with NUMA support."
        ),
    ],
    "jax": [
        (
            "The NVIDIA driver's CUDA version is 12.2 which is older than the ptxas CUDA version (12.3.107). "
            "Because the "
            "driver is older than the ptxas version, XLA is disabling parallel compilation, which may slow down "
            "compilation. You should update your NVIDIA driver or use the NVIDIA-provided CUDA forward compatibility "
            "packages."
        ),
    ],
}


def test_healthy_machines_with_noisy_logs_stay_ok_and_say_the_lines_are_harmless():
    report = report_for(
        driver={}, failing=False, tensorflow={"log_lines": NOISE["tensorflow"]}, jax={"messages": NOISE["jax"]}
    )
    for component in ("gpu", *FRAMEWORK_ROWS):
        assert report.verdict(component).status == Status.OK, report.verdict(component)
    assert (
        "harmless log lines: TF-TRT Warning: Could not find TensorRT (+2 more)" in report.verdict("tensorflow").reason
    )
    assert "harmless log lines: The NVIDIA driver's CUDA version is 12.2" in report.verdict("jax").reason


def test_a_misspelt_template_key_fails_instead_of_printing_it():
    subject = judge.subject_of("gpu", judge.machine_of({}, {}), {}, {})
    rule = Rule("typo", frozenset({"gpu"}), "x", Status.WARN, "on {hardwar}", None, lambda s: Found(), situation="x")
    with pytest.raises(TemplateKeyError, match=r"rule 'typo' has no value for \{hardwar\}"):
        render(rule, subject, Found())


def test_every_template_key_is_a_value_some_test_or_the_subject_gives():
    source = "".join(inspect.getsource(module) for module in (judge, findings, layers, evidence))
    for rule in RULES:
        for template in (rule.reason, rule.fix or ""):
            for _, key, _, _ in string.Formatter().parse(template):
                if key:
                    assert f'"{key}"' in source, (rule.name, key)


def test_jax_and_jaxlib_at_different_versions_pin_one_version_for_all():
    report = report_for(
        failing=False, jax={"jaxlib_version": "0.9.0", "default_backend": "cpu", "devices": [], "messages": []}
    )
    jax = report.verdict("jax")
    assert (jax.status, jax.rule) == (Status.FAIL, "jax-jaxlib-skew")
    assert "jax 0.10.2, jaxlib 0.9.0" in jax.reason and "`jax[cuda12]==0.10.2`" in jax.fix


def test_libraries_on_disk_that_do_not_load_get_where_the_loader_looks_not_a_pin():
    pip = "/usr/local/lib/python3.12/site-packages/nvidia/cudnn/lib/libcudnn.so.9"
    libraries = [
        {
            "name": "libcudnn.so.9",
            "needed_by": ["tensorflow", "torch"],
            "candidates": [
                {"path": "/opt/cudnn8/lib/libcudnn.so.9", "source": "LD_LIBRARY_PATH"},
                {"path": pip, "source": "pip"},
            ],
            "winner": "/opt/cudnn8/lib/libcudnn.so.9",
        }
    ]
    report = report_for(
        failing=False,
        driver={"libraries": libraries},
        tensorflow={
            "gpus": [],
            "log_lines": [
                (
                    "W0000 00:00:1700000000.000000   4242 gpu_device.cc:2344] Cannot dlopen some GPU libraries. "
                    "Please make sure "
                    "the missing libraries mentioned above are installed properly if you would like to use GPU."
                )
            ],
        },
    )
    tf = report.verdict("tensorflow")
    assert (tf.status, tf.rule) == (Status.FAIL, "cuda-libs-not-found"), tf
    assert "libcudnn.so.9 loads from /opt/cudnn8/lib/libcudnn.so.9" in tf.fix and "==" not in tf.fix
    layer = {c.layer: c for c in report.layers}["library resolution"]
    assert (layer.status, layer.rule) == (Status.FAIL, "cuda-libs-not-found")


def test_without_the_driver_probe_nvml_driver_not_loaded_still_names_the_kernel_module():
    """Reports from before the driver probe (or a fixture without it): NVML's own error is enough."""
    report = report_for(
        nvml={"driver_loaded": False, "gpus": [], "error": "NVMLError_DriverNotLoaded: Driver Not Loaded"}
    )
    assert_every_row(report, "kernel-module-not-loaded", "sudo modprobe nvidia", "(NVML: Driver Not Loaded)")


def test_without_the_driver_probe_cuda_unknown_error_while_nvml_reads_the_gpu():
    report = report_for()
    assert_every_row(
        report, "cuinit-failed", "sudo rmmod nvidia_uvm", "CUDA_ERROR_UNKNOWN (error 999) while NVML reads"
    )


def test_zero_gpu_has_no_gpu_outside_its_calls_by_design_not_a_lower_fault():
    driver = {
        "device_nodes": [],
        "libcuda": {"cu_init": "CUDA_ERROR_NO_DEVICE", "device_count": None},
        "context": {"kind": "space", "evidence": ["SYSTEM=spaces"], "nvidia_visible_devices": "all"},
    }
    report = report_for("zerogpu", driver=driver, failing=False)
    assert (report.verdict("gpu").status, report.verdict("gpu").rule) == (Status.OK, "gpu-zero-gpu")
    assert (report.verdict("torch").status, report.verdict("torch").rule) == (Status.OK, "zero-gpu")
    assert all(check.status != Status.FAIL for check in report.layers), report.layers


def test_kernel_module_and_libcuda_of_different_versions():
    """After an upgrade without reboot cuInit fails: reboot. A forward-compat libcuda that works is no fault."""
    upgraded = {"libcuda": {"version": "550.54.15", "cu_init": "CUDA_ERROR_UNKNOWN", "device_count": None}}
    report = report_for(
        driver=upgraded,
        nvml={
            "driver_loaded": False,
            "gpus": [],
            "error": "NVMLError_LibRmVersionMismatch: RM has detected an NVML/RM version mismatch.",
        },
    )
    assert_every_row(report, "driver-module-mismatch", "reboot", "kernel module (535.129.03) does not match")
    compat = {"libcuda": {"path": "/usr/local/cuda/compat/libcuda.so.1", "version": "550.54.15"}}
    assert report_for(driver=compat, failing=False).verdict("gpu").status == Status.OK
    broken = {
        "libcuda": {
            "path": "/usr/local/cuda/compat/libcuda.so.1",
            "version": "550.54.15",
            "cu_init": "CUDA_ERROR_COMPAT_NOT_SUPPORTED_ON_DEVICE",
            "device_count": None,
        }
    }
    assert_every_row(report_for(driver=broken), "cuinit-failed", "remove cuda-compat", "COMPAT_NOT_SUPPORTED_ON_DEVICE")


def test_without_the_driver_probe_nvml_version_mismatch_or_nvml_unknown_error():
    mismatch = {
        "driver_loaded": False,
        "gpus": [],
        "error": "NVMLError_LibRmVersionMismatch: Driver/library version mismatch",
    }
    assert_every_row(report_for(nvml=mismatch), "driver-module-mismatch", "reboot", "different versions")
    lost = {"driver_loaded": False, "gpus": [], "error": "NVMLError_Unknown: Unknown Error"}
    assert_every_row(report_for(nvml=lost), "gpu-hardware-fault", "dmesg | grep -i xid", "NVML: NVMLError_Unknown")


def test_without_the_driver_probe_the_container_runtime_variables_still_tell():
    env = {"environment": {"NVIDIA_VISIBLE_DEVICES": "all", "NVIDIA_DRIVER_CAPABILITIES": "utility"}}
    report = report_for(
        host=env,
        driver={
            "libcuda": {
                "path": None,
                "load_error": "libcuda.so.1: cannot open shared object file",
                "cu_init": None,
                "version": None,
            },
            "context": None,
        },
    )
    assert_every_row(report, "container-without-compute", "NVIDIA_DRIVER_CAPABILITIES=compute", "utility")
