"""The verdict vocabulary: statuses, verdicts, rules and what a rule's test found."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from diagnostics.verdicts.actions import ActionOf, FixAction

if TYPE_CHECKING:
    from diagnostics.verdicts.machine import Subject

UPGRADE = "upgrade the Space's hardware (Settings or Admin tab)"
QUOTE_CHARS = 220


class Status(StrEnum):
    """Compares equal to plain strings: Status.WARN == "WARN"."""

    OK = "OK"
    WARN = "WARN"
    FAIL = "FAIL"

    @property
    def rank(self) -> int:
        return _RANK[self]

    @classmethod
    def worst(cls, statuses: Iterable[str]) -> Status:
        return max((cls(s) for s in statuses), key=lambda s: s.rank, default=cls.OK)


_RANK = {Status.OK: 0, Status.WARN: 1, Status.FAIL: 2}


@dataclass(frozen=True)
class Verdict:
    component: str
    """One of COMPONENTS, e.g. "torch"."""
    status: Status
    """e.g. Status.WARN."""
    reason: str
    """One line quoting the evidence, e.g. "the NVIDIA driver supports CUDA 11.4, torch 2.1.0 needs 12.1: ..."."""
    fix: str | None = None
    """What to change and where, e.g. "update the NVIDIA driver to 525.60.13 or newer, ..."."""
    rule: str = ""
    """The rule that decided, e.g. "driver-too-old"."""
    evidence: tuple[str, ...] = ()
    """The lines it read, verbatim, e.g.
    ("torch: The NVIDIA driver on your system is too old (found version 11040)...",)."""
    extra: dict = field(default_factory=dict)
    action: FixAction | None = None
    """The fix as something the Space can do on itself (a Space only), e.g. set TF_FORCE_GPU_ALLOW_GROWTH=true."""

    @classmethod
    def from_json(cls, data: Mapping) -> Verdict:
        return cls(
            data["component"],
            Status(data["status"]),
            data["reason"],
            data.get("fix"),
            data.get("rule", ""),
            tuple(data.get("evidence") or ()),
            data.get("extra", {}),
            FixAction.from_json(data.get("action")),
        )


@dataclass(frozen=True)
class Found:
    """What a rule's test found: the lines it read and the values its reason and fix quote."""

    lines: tuple[str, ...] = ()
    values: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Rule:
    name: str
    """e.g. "driver-too-old"; shown with every verdict it makes."""
    components: frozenset[str]
    reads: str
    """The evidence it reads, in words (README and the tab list them)."""
    status: Status
    reason: str
    """Template over the subject's values and what the test found, e.g. "{quote}"."""
    fix: str | None
    test: Callable[[Subject], Found | None]
    situation: str = field(kw_only=True)
    """The kind of failure it covers, e.g. "kernel driver"; the corpus must show each situation at least twice."""
    action: ActionOf | None = field(default=None, kw_only=True)
    """Builds the fix as an action the Space takes on itself (diagnostics/verdicts/actions.py); None: words only."""


@dataclass(frozen=True)
class LayerCheck:
    """One layer of the stack, bottom up, as the report shows it."""

    layer: str
    """e.g. "user-space driver"."""
    status: Status | None
    """Status.FAIL where this layer fails; None where no probe told us anything about it."""
    finding: str
    """Its facts in a line, e.g. "libcuda 535.129.03 from /usr/lib/…/libcuda.so.1: cuInit CUDA_SUCCESS"."""
    rule: str | None = None
    """The rule that found its fault, e.g. "cuinit-failed"; None when it is fine or not known."""

    @classmethod
    def from_json(cls, data: Mapping) -> LayerCheck:
        status = data.get("status")
        return cls(data["layer"], Status(status) if status else None, data["finding"], data.get("rule"))
