"""Verdicts on public failure reports: each case in tests/fixtures/diagnostics/real/ is a reported machine in
the probes' format (the messages verbatim, `source` the issue), with the status, rule and words its verdict must have."""

from __future__ import annotations

import pytest

from diagnostics.registry import PROBE_NAMES
from diagnostics.verdicts import RULES
from tests.fixtures.diagnostics import MACHINES, REAL, real_case, real_report

SITUATIONS = {
    "driver too old": ("driver-too-old", "driver-module-mismatch"),
    "GPU architecture": ("arch-unsupported", "ptx-jit"),
    "environment variables": ("cuda-visible-devices-past-gpus", "cuda-visible-devices-empty", "ld-library-path"),
    "MIG": ("mig-without-uuid", "mig-instances"),
    "memory": ("out-of-memory", "memory-held"),
    "cuDNN": ("cudnn-mismatch",),
    "host": ("host-not-ready", "gpu-hardware-fault", "cuda-not-initialized"),
}


@pytest.mark.parametrize("path", REAL, ids=[p.stem for p in REAL])
def test_real_report_gets_the_right_verdict(path):
    case = real_case(path)
    if case.get("batch", 1) >= 2 and "driver" not in PROBE_NAMES:
        pytest.skip("judged by the layered engine (#15)")
    report = real_report(case)
    for expect in case["expect"]:
        verdict = report.verdict(expect["component"])
        shown = f"{verdict.status} [{verdict.rule}] {verdict.reason} -> {verdict.fix}"
        assert (verdict.status, verdict.rule) == (expect["status"], expect["rule"]), shown
        for word in expect["reason"]:
            assert word in verdict.reason, (word, shown)
        for word in expect["fix"]:
            assert word in (verdict.fix or ""), (word, shown)
        if verdict.status != "OK" or verdict.rule != "ok":
            assert verdict.evidence, shown  # every non-trivial verdict shows what it read


def test_the_corpus_is_real_and_covers_every_situation_twice():
    cases = [real_case(p) for p in REAL]
    reports = [c for c in cases if not c.get("healthy")]
    assert len({c["source"] for c in reports}) >= 30
    assert all(c["source"].startswith("https://") and c["summary"] for c in cases)
    fired = [e["rule"] for c in cases for e in c["expect"]]
    for situation, rules in SITUATIONS.items():
        assert sum(fired.count(r) for r in rules) >= 2, situation
    for framework in ("torch", "jax", "tensorflow"):
        failing = [e for c in reports for e in c["expect"] if e["component"] == framework and e["status"] != "OK"]
        assert len(failing) >= 5, framework
    healthy = {c["machine"] for c in cases if c.get("healthy")}
    assert healthy == set(MACHINES) - {"local"}


def test_every_rule_names_what_it_reads():
    for rule in RULES:
        assert rule.reads and rule.components, rule.name
