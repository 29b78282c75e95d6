"""Verdicts on public failure reports: each case in tests/fixtures/diagnostics/real/ is a reported machine in
the probes' format (the messages verbatim, `source` the issue), with the status, rule and words its verdict must have.
Every file there is walked, including cases added later (batches held out to measure how the rules generalise)."""

from __future__ import annotations

import re

import pytest

from diagnostics.registry import FRAMEWORKS
from diagnostics.report import Report
from diagnostics.verdicts import RULES
from diagnostics.verdicts.layers import LAYER_OF, LAYERS
from tests.fixtures.diagnostics import MACHINES, REAL, real_case, real_report

RULE_SITUATION = {rule.name: rule.situation for rule in RULES}
COVERED_ELSEWHERE = {
    "probes": "tests/test_diagnostics_probes.py (stand-ins that raise, hang, segfault)",
    "no GPU": "the CPU machine in tests/test_diagnostics_probes.py",
    "runtime": "the smoke test in tests/test_diagnostics_probes.py",
    "CUDA wheels": "recorded/mixed_cu12_cu13.json",
    "unexplained": "tests/test_diagnostics_layers.py",
}
"""Situations the real corpus need not show twice, and where they are tested instead."""
_PIN = re.compile(r"\b(?:pin|use|add|install)\s+`([A-Za-z0-9_.-]+)(?:\[([^\]]*)\])?==([^`\s]+)`")
_REINSTALL = re.compile(r"(?<!not )(?<!no )\breinstall", re.IGNORECASE)
_BROKEN = re.compile(r"cannot open shared object|undefined symbol|No such file")


def _ids(paths):
    return [p.stem for p in paths]


@pytest.mark.parametrize("path", REAL, ids=_ids(REAL))
def test_real_report_gets_the_right_verdict(path):
    case = real_case(path)
    report = real_report(case)
    for expect in case["expect"]:
        verdict = report.verdict(expect["component"])
        shown = f"{verdict.status} [{verdict.rule}] {verdict.reason} -> {verdict.fix}"
        assert (verdict.status, verdict.rule) == (expect["status"], expect["rule"]), shown
        for word in expect["reason"]:
            assert word in verdict.reason, (word, shown)
        for word in expect["fix"]:
            assert word in (verdict.fix or ""), (word, shown)
        for word in expect.get("fix_absent", ()):
            assert word not in (verdict.fix or ""), (word, shown)
        if verdict.status != "OK" or RULE_SITUATION[verdict.rule] != "healthy":
            assert verdict.evidence, shown  # every non-trivial verdict shows what it read


def _installed(report: Report) -> dict[str, str]:
    found = dict(report.wheels.frameworks) if report.wheels else {}
    for name in FRAMEWORKS:
        info = getattr(report, name)
        if info is not None and not info.installed:
            found.pop(name, None)
        elif info is not None and info.version:
            found[name] = info.version
    if report.jax and report.jax.installed:
        found["jaxlib"] = report.jax.jaxlib_version or ""
        found |= {p["name"]: p.get("version") or "" for p in report.jax.cuda_plugins}
    return {k: re.sub(r"\+cu\d+$", "", v) for k, v in found.items() if v}


def _pin_is_installed(report: Report, name: str, extras: str, version: str) -> bool:
    installed = _installed(report)
    parts = [name] + (["jaxlib", "jax-cuda12-plugin"] if name == "jax" and "cuda12" in extras else [])
    if name == "tensorflow" and "and-cuda" in extras:
        libraries = (report.driver.libraries or []) if report.driver else []
        if not any(
            "tensorflow" in lib.needed_by and any(c.source == "pip" for c in lib.candidates) for lib in libraries
        ):
            return False  # whether the [and-cuda] libraries are there is not known: the pin may add them
    return all(installed.get(part) == version for part in parts)


def _broken_install_evidence(report: Report) -> bool:
    """A file or symbol missing on import, CUDA 12 and 13 wheels mixed, or jax's parts at different versions."""
    texts = [getattr(report, n).import_error or "" for n in FRAMEWORKS if getattr(report, n)]
    texts += [run.stderr_tail for run in report.runs.values()]
    mixed = bool(report.wheels and {"cu12", "cu13"} <= set(report.wheels.cuda_lines))
    jax = report.jax
    skew = bool(jax and jax.installed and jax.jaxlib_version and jax.version != jax.jaxlib_version)
    return any(_BROKEN.search(t) for t in texts) or mixed or skew


@pytest.mark.parametrize("path", REAL, ids=_ids(REAL))
def test_no_verdict_prescribes_a_no_op_fix(path):
    """A fix must change something: never the pin already installed, never a reinstall without a broken install."""
    report = real_report(real_case(path))
    for verdict in report.verdicts:
        fix = verdict.fix or ""
        for name, extras, version in _PIN.findall(fix):
            assert not _pin_is_installed(report, name, extras, version), (verdict.component, verdict.rule, fix)
        if _REINSTALL.search(fix):
            assert _broken_install_evidence(report), (verdict.component, verdict.rule, fix)


@pytest.mark.parametrize("path", REAL, ids=_ids(REAL))
def test_framework_rows_inherit_the_lowest_failing_layer(path):
    """Rows never contradict: where the GPU row fails below the frameworks, each failing framework row names it."""
    report = real_report(real_case(path))
    gpu = report.verdict("gpu")
    lower = LAYERS[:3]
    if gpu.status != "FAIL" or LAYER_OF.get(gpu.rule) not in lower:
        return
    for name in FRAMEWORKS:
        verdict = report.verdict(name)
        if verdict.status == "FAIL":
            assert LAYER_OF.get(verdict.rule) in lower, (gpu.rule, verdict)


def test_the_corpus_is_real_and_covers_every_situation_twice():
    cases = [real_case(p) for p in REAL]
    reports = [c for c in cases if not c.get("healthy")]
    sources = [c["source"] for c in reports]
    assert len(set(sources)) == len(sources) >= 30, "each report once"
    assert all(c["source"].startswith("https://") and c["summary"] for c in cases)
    fired = [e["rule"] for c in cases for e in c["expect"]]
    assert set(fired) <= set(RULE_SITUATION), set(fired) - set(RULE_SITUATION)
    for situation in set(RULE_SITUATION.values()) - set(COVERED_ELSEWHERE):
        rules = {name for name, s in RULE_SITUATION.items() if s == situation}
        assert sum(fired.count(r) for r in rules) >= 2, situation
    for framework in ("torch", "jax", "tensorflow"):
        failing = [e for c in reports for e in c["expect"] if e["component"] == framework and e["status"] != "OK"]
        assert len(failing) >= 5, framework
    healthy = {c["machine"] for c in cases if c.get("healthy")}
    assert healthy == set(MACHINES) - {"local"}


def test_every_rule_has_a_unique_name_and_names_what_it_reads():
    names = [rule.name for rule in RULES]
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)
    for rule in RULES:
        assert rule.reads and rule.components and rule.situation, rule.name
