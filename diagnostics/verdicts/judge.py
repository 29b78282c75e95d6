"""Walk the table for each component and render the winning rule's templates."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from diagnostics.facts import (
    FrameworkInfo,
    ProbeRun,
)
from diagnostics.registry import COMPONENTS, FRAMEWORKS
from diagnostics.stack import (
    MIN_DRIVER,
)
from diagnostics.verdicts.actions import action_for
from diagnostics.verdicts.evidence import HARMLESS, prescribes_installed
from diagnostics.verdicts.findings import smoke_note
from diagnostics.verdicts.layers import layer_checks
from diagnostics.verdicts.machine import Machine, Subject, texts_of
from diagnostics.verdicts.model import Found, LayerCheck, Rule, Verdict
from diagnostics.verdicts.rules import RULES


def _values(subject: Subject) -> dict[str, Any]:
    machine, stack, info = subject.machine, subject.stack, subject.info
    driver_fix = (
        "the driver comes with the hardware, not requirements.txt: "
        "restart the Space or pick another GPU flavor (Admin tab)"
        if machine.on_spaces
        else "update the NVIDIA driver"
    )
    values: dict[str, Any] = {
        "title": subject.title,
        "label": subject.label,
        "hardware": machine.hardware,
        "host_fix": machine.host_fix,
        "pin": stack.requirement if stack else "",
        "because": f"{subject.label} cannot use the GPU because " if subject.component in FRAMEWORKS else "",
        "pinned_archs": stack.pinned.arch_text if stack else "",
        "mixed_hint": "; remove the CUDA 13 wheels first (see CUDA wheels)" if machine.mixed_wheels else "",
        "smoke": smoke_note(info) if isinstance(info, FrameworkInfo) else "",
    }
    need = stack.pinned.cuda if stack else None
    values["driver_fix"] = (
        driver_fix if machine.on_spaces or not need else f"{driver_fix} to ≥ {MIN_DRIVER.get(need[0], '?')}"
    )
    return values


class TemplateKeyError(KeyError):
    """A rule's template names a value neither the subject nor its test gives: a misspelt key, never shown as {key}."""


class _Values(dict):
    def __init__(self, rule: str, values: Mapping[str, Any]) -> None:
        super().__init__(values)
        self.rule = rule

    def __missing__(self, key: str) -> str:
        raise TemplateKeyError(f"rule {self.rule!r} has no value for {{{key}}}")


def render(rule: Rule, subject: Subject, found: Found) -> Verdict:
    values = _Values(rule.name, {**_values(subject), **found.values})
    return Verdict(
        subject.component,
        rule.status,
        rule.reason.format_map(values),
        rule.fix.format_map(values) if rule.fix else None,
        rule.name,
        tuple(line for line in found.lines if line),
        action=action_for(rule.action, subject, values),
    )


def judge(subject: Subject) -> Verdict:
    """The verdict of the first rule for this component whose test finds evidence and whose fix changes something."""
    for rule in RULES:
        if subject.component not in rule.components:
            continue
        found = rule.test(subject)
        if found is None:
            continue
        verdict = render(rule, subject, found)
        if verdict.fix and prescribes_installed(verdict.fix, subject.machine):
            continue  # a pin of what is installed changes nothing: a later rule (at worst `unexplained`) decides
        return verdict
    raise AssertionError(f"no rule for {subject.component}")  # every component ends in a rule that always matches


def machine_of(runs: Mapping[str, ProbeRun], facts: Mapping[str, object]) -> Machine:
    return Machine(
        host=facts.get("host"),  # type: ignore[arg-type]
        nvml=facts.get("nvml"),  # type: ignore[arg-type]
        wheels=facts.get("wheels"),  # type: ignore[arg-type]
        driver=facts.get("driver"),  # type: ignore[arg-type]
        frameworks={name: facts.get(name) for name in FRAMEWORKS},  # type: ignore[misc]
        runs=runs,
    )


def _said_by(name: str, runs: Mapping[str, ProbeRun], facts: Mapping[str, object]) -> list[str]:
    """A framework's words: its facts, or the stderr of a probe that died before printing them."""
    info, run = facts.get(name), runs.get(name)
    if isinstance(info, FrameworkInfo):
        return texts_of(info)
    return [line for line in (run.stderr_tail if run else "").splitlines() if line.strip()]


def subject_of(component: str, machine: Machine, runs: Mapping[str, ProbeRun], facts: Mapping[str, object]) -> Subject:
    """The component's facts and its words, harmless log lines left out so no rule reads them as a cause."""
    names = FRAMEWORKS if component == "gpu" else (component,) if component in FRAMEWORKS else ()
    texts = tuple(t for name in names for t in _said_by(name, runs, facts) if not HARMLESS.search(t))
    if component == "gpu":
        return Subject("gpu", runs.get("nvml"), facts.get("nvml"), machine, texts)
    return Subject(component, runs.get(component), facts.get(component), machine, texts)


def judge_all(runs: Mapping[str, ProbeRun], facts: Mapping[str, object]) -> list[Verdict]:
    """One verdict per component, in COMPONENTS order."""
    machine = machine_of(runs, facts)
    return [judge(subject_of(c, machine, runs, facts)) for c in COMPONENTS]


def judge_layers(
    runs: Mapping[str, ProbeRun], facts: Mapping[str, object], verdicts: list[Verdict]
) -> list[LayerCheck]:
    """Every layer, bottom up, with what the probes found there and the rule that found its fault."""
    return layer_checks(machine_of(runs, facts), verdicts)
