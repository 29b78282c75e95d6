"""Verdicts from recorded probe outputs of GPU machines (tests/fixtures/diagnostics/recorded/*.json)."""

from __future__ import annotations

import json

import pytest

from diagnostics.facts import HostInfo, ProbeOutcome, ProbeRun, notable_stderr_lines
from diagnostics.registry import COMPONENTS
from diagnostics.report import Report, build_report, report_from_payloads
from diagnostics.verdicts import Status
from tests.fixtures.diagnostics import RECORDED, load_recorded, recorded_report


@pytest.mark.parametrize("path", RECORDED, ids=[p.stem for p in RECORDED])
def test_recorded_machine_gets_the_documented_verdicts(path):
    data = json.loads(path.read_text())
    report = report_from_payloads(data["payloads"], stderr=data.get("stderr"))
    expect = data["expect"]
    assert report.overall == expect["overall"], [(v.component, v.status, v.reason) for v in report.verdicts]
    for component, (status, reason, *fix) in ((k, v) for k, v in expect.items() if k != "overall"):
        verdict = report.verdict(component)
        assert verdict.status == status, verdict
        assert reason in verdict.reason, verdict
        if fix:
            assert fix[0] in (verdict.fix or ""), verdict


@pytest.mark.parametrize("path", RECORDED, ids=[p.stem for p in RECORDED])
def test_report_json_round_trips(path):
    report = recorded_report(path.stem)
    data = report.to_dict()
    again = Report.from_dict(json.loads(json.dumps(data)))
    assert again.to_dict() == data
    assert [v.component for v in again.verdicts] == list(COMPONENTS)


def test_every_fix_for_a_failing_framework_names_a_requirements_line():
    # Where the cause is the packages; driver, host, memory and environment causes are fixed elsewhere (see the corpus).
    for name in ("mixed_cu12_cu13", "driver_too_old", "arch_missing", "torch_cpu_build_on_gpu", "tf_cannot_dlopen"):
        for verdict in recorded_report(name).verdicts:
            if verdict.status == "FAIL" and verdict.component in {"torch", "jax", "tensorflow", "wheels"}:
                assert "==" in (verdict.fix or ""), verdict


def test_status_is_a_string_enum_ordered_by_severity():
    assert Status.WARN == "WARN" and f"{Status.FAIL}" == "FAIL"
    assert Status.worst(["OK", "WARN", "OK"]) is Status.WARN
    assert Status.worst([Status.WARN, "FAIL"]) is Status.FAIL
    assert Status.worst([]) is Status.OK


def test_a_dead_probe_fails_its_framework_without_touching_the_others():
    data = load_recorded("a10g_all_ok")["payloads"]
    report = report_from_payloads({k: v for k, v in data.items() if k != "torch"})
    assert report.verdict("torch").status == "FAIL" and "did not run" in report.verdict("torch").reason
    assert report.verdict("jax").status == "OK"
    runs = [
        ProbeRun(name, ProbeOutcome.OK, 0.0, 0, None, "", payload) for name, payload in data.items() if name != "torch"
    ]
    runs.append(ProbeRun("torch", ProbeOutcome.TIMEOUT, 5.0, None, "timed out after 5 s", ""))
    verdict = build_report(runs, created_at="x", duration_s=5.0, smoke=False).verdict("torch")
    assert verdict.status == "FAIL" and verdict.reason == "probe timeout: timed out after 5 s"
    # A hang says nothing about the installation: no reinstall of the torch that is installed.
    assert verdict.rule == "probe-died" and verdict.fix == "see the probe's stderr below"


def test_a_probe_that_dies_on_a_missing_library_gets_a_reinstall():
    data = load_recorded("a10g_all_ok")["payloads"]
    runs = [ProbeRun(n, ProbeOutcome.OK, 0.0, 0, None, "", payload) for n, payload in data.items() if n != "torch"]
    stderr = "ImportError: libcudnn.so.9: cannot open shared object file: No such file or directory"
    runs.append(ProbeRun("torch", ProbeOutcome.CRASHED, 2.0, 1, "exited with status 1", stderr))
    verdict = build_report(runs, created_at="x", duration_s=2.0, smoke=False).verdict("torch")
    assert verdict.rule == "probe-died" and "--force-reinstall" in verdict.fix and "torch==2.10.0" in verdict.fix


def test_zero_gpu_is_explained_not_failed():
    """On ZeroGPU the probe process sees no GPU by design: torch's CUDA build is OK, JAX and TF cannot use ZeroGPU."""
    payloads = load_recorded("cpu_basic_space")["payloads"]
    payloads["host"]["space"] |= {"zero_gpu": True, "accelerator": "zero-a10g"}
    report = report_from_payloads(payloads)
    assert report.verdict("torch").status == "OK" and report.verdict("gpu").status == "OK"
    assert "ZeroGPU" in report.verdict("torch").reason and "ZeroGPU" in report.verdict("gpu").reason
    jax = report.verdict("jax")  # TensorFlow is not installed in this recording; the corpus has both
    assert jax.status == "WARN" and "PyTorch only" in jax.reason and "no requirements.txt change helps" in jax.fix


def test_a_zero_gpu_space_with_a_cpu_torch_still_fails():
    payloads = load_recorded("cpu_basic_space")["payloads"]
    payloads["host"]["space"] |= {"zero_gpu": True, "accelerator": "zero-a10g"}
    payloads["torch"] |= {"version": "2.10.0+cpu", "cuda_built": None, "arch_list": []}
    verdict = report_from_payloads(payloads).verdict("torch")
    assert (verdict.status, verdict.rule) == ("FAIL", "cpu-build")


def test_verdicts_carry_their_rule_and_evidence_through_json():
    report = recorded_report("tf_cannot_dlopen")
    tf = report.verdict("tensorflow")
    assert tf.rule == "tf-cannot-dlopen" and any("gpu_device.cc:2365] Cannot dlopen" in line for line in tf.evidence)
    again = Report.from_dict(json.loads(json.dumps(report.to_dict()))).verdict("tensorflow")
    assert (again.rule, again.evidence) == (tf.rule, tf.evidence)


@pytest.mark.parametrize(
    "line",
    [
        "2026-11-28 10:00:04.000000: W tensorflow/core/common_runtime/gpu/gpu_device.cc:2365] "
        "Cannot dlopen some GPU libraries.",
        "W0000 00:00:1753232013.685876   24341 gpu_device.cc:2431] TensorFlow was not built with CUDA kernel binaries "
        "compatible with compute capability 12.0.",
        "E1027 15:11:27.184481 3266602 cuda_dnn.cc:456] "
        "Loaded runtime CuDNN library: 9.10.1 but source was compiled with: 9.13.1.",
        "W tensorflow/core/common_runtime/gpu/gpu_device.cc:1956] Cannot dlopen some GPU libraries.",
    ],
)
def test_the_three_cpp_log_formats_are_quoted(line):
    stderr = "I0000 00:00:1700000000.000000    1 cpu_feature_guard.cc:210] This TensorFlow binary is optimized\n" + line
    assert notable_stderr_lines(stderr) == [line]


def test_unknown_probe_fields_are_kept_in_extra():
    host = HostInfo.from_json({"python": "3.11.7", "new_field": 1, "space": {"space_id": "a/b", "later": True}})
    assert host.extra == {"new_field": 1} and host.space.extra == {"later": True}
    assert HostInfo.from_json(__import__("dataclasses").asdict(host)) == host
