"""Verdicts from recorded probe outputs of GPU machines (tests/fixtures/diagnostics/recorded/*.json)."""

from __future__ import annotations

import json

import pytest

from diagnostics.facts import HostInfo, ProbeOutcome, ProbeRun
from diagnostics.report import Report, report_from_payloads
from diagnostics.verdicts import COMPONENTS, Status, arch_supports, context, judge_torch
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
    for name in ("mixed_cu12_cu13", "driver_too_old", "arch_missing", "torch_cpu_build_on_gpu", "tf_cannot_dlopen"):
        for verdict in recorded_report(name).verdicts:
            if verdict.status == "FAIL" and verdict.component in {"torch", "jax", "tensorflow", "wheels"}:
                assert "==" in (verdict.fix or ""), verdict


def test_status_is_a_string_enum_ordered_by_severity():
    assert Status.WARN == "WARN" and f"{Status.FAIL}" == "FAIL"
    assert Status.worst(["OK", "WARN", "OK"]) is Status.WARN
    assert Status.worst([Status.WARN, "FAIL"]) is Status.FAIL
    assert Status.worst([]) is Status.OK


@pytest.mark.parametrize(
    ("archs", "cc", "runs"),
    [
        (["sm_80"], (8, 6), True),  # same major, higher minor: cubin is binary compatible
        (["sm_86"], (8, 0), False),
        (["sm_80", "sm_89", "compute_90"], (9, 0), True),  # PTX JIT
        (["sm_80", "compute_90"], (12, 0), True),
        (["sm_50", "sm_90"], (12, 0), False),  # no PTX, no sm_12x: the Blackwell case
        (["sm_90a"], (9, 0), True),
        (["sm_90a"], (10, 0), False),  # arch-specific code runs only on its own GPU
        ([], (8, 6), False),
    ],
)
def test_arch_list_compatibility(archs, cc, runs):
    assert arch_supports(archs, cc) is runs


def test_a_dead_probe_fails_its_framework_without_touching_the_others():
    data = load_recorded("a10g_all_ok")["payloads"]
    report = report_from_payloads({k: v for k, v in data.items() if k != "torch"})
    assert report.verdict("torch").status == "FAIL" and "did not run" in report.verdict("torch").reason
    assert report.verdict("jax").status == "OK"
    timed_out = ProbeRun("torch", ProbeOutcome.TIMEOUT, 5.0, None, "timed out after 5 s", "")
    verdict = judge_torch(timed_out, None, context(None, None, None))
    assert verdict.status == "FAIL" and verdict.reason == "probe timeout: timed out after 5 s"


def test_zero_gpu_is_explained_not_failed():
    payloads = load_recorded("cpu_basic_space")["payloads"]
    payloads["host"]["space"] |= {"zero_gpu": True, "accelerator": "zero-a10g"}
    report = report_from_payloads(payloads)
    assert report.verdict("torch").status == "WARN"
    assert "ZeroGPU" in report.verdict("torch").reason and "ZeroGPU" in report.verdict("gpu").reason


def test_unknown_probe_fields_are_kept_in_extra():
    host = HostInfo.from_json({"python": "3.11.7", "new_field": 1, "space": {"space_id": "a/b", "later": True}})
    assert host.extra == {"new_field": 1} and host.space.extra == {"later": True}
    assert HostInfo.from_json(__import__("dataclasses").asdict(host)) == host
