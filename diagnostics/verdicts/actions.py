"""A fix the Space can make on itself, as data beside the fix's words: the owner's Apply (admin/fixes/) acts on it.

A rule names how to build its action (`Rule.action`) from the same facts its fix text is rendered from. Only a
Space can act on itself: on a container, WSL or a machine no verdict carries an action, and neither does
`unexplained` (it is a checklist, not a fix). Four kinds, each one Hub call or commit:

- VARIABLES: set or remove Space variables (the Space restarts with them);
- REQUIREMENTS: line edits of requirements.txt, a pull request on the Space's repo (or a commit);
- HARDWARE: request another flavor (billed);
- RESTART: restart, or factory-reboot, the Space.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from diagnostics.stack import NVML_REQUIREMENT, STACK

if TYPE_CHECKING:
    from diagnostics.verdicts.machine import Subject

CHEAPEST_GPU = "t4-small"
"""The flavor an "upgrade the hardware" fix requests: the cheapest GPU on Spaces ($0.40/hour, Hub docs 2026-07)."""
PYTORCH_FREE_GPU = "l4x1"
"""A dedicated GPU flavor for JAX or TensorFlow off ZeroGPU: the one zero-gpu-pytorch-only's fix names."""


class ActionKind(StrEnum):
    VARIABLES = "variables"
    REQUIREMENTS = "requirements"
    HARDWARE = "hardware"
    RESTART = "restart"


@dataclass(frozen=True)
class RequirementEdit:
    """One requirements.txt change: every line of `package` becomes `line`, or goes when `line` is None."""

    package: str
    """The distribution the lines install, e.g. "jaxlib"; compared as pip does (case, -, _ and . alike)."""
    line: str | None
    """The line it becomes, e.g. "jax[cuda12]==0.10.2"; None removes the package's lines."""

    def words(self) -> str:
        return f"pin `{self.line}`" if self.line else f"remove `{self.package}`"


@dataclass(frozen=True)
class FixAction:
    """What Apply does, e.g. FixAction(ActionKind.VARIABLES, set_variables=(("TF_FORCE_GPU_ALLOW_GROWTH", "true"),))."""

    kind: ActionKind
    set_variables: tuple[tuple[str, str], ...] = ()
    """Space variables to add or overwrite, (name, value)."""
    remove_variables: tuple[str, ...] = ()
    """Space variables to delete, e.g. ("CUDA_VISIBLE_DEVICES",)."""
    requirements: tuple[RequirementEdit, ...] = ()
    flavor: str | None = None
    """The hardware to request, e.g. "t4-small"."""
    factory_reboot: bool = False
    """RESTART: rebuild without the cache."""

    def words(self) -> str:
        """What Apply will do, in a line for the button's list and the audit row."""
        if self.kind is ActionKind.VARIABLES:
            changes = [f"set {k}={v}" for k, v in self.set_variables] + [f"remove {k}" for k in self.remove_variables]
            return "Space variables: " + ", ".join(changes)
        if self.kind is ActionKind.REQUIREMENTS:
            return "requirements.txt: " + ", ".join(edit.words() for edit in self.requirements)
        if self.kind is ActionKind.HARDWARE:
            return f"request hardware {self.flavor}"
        return "factory reboot the Space" if self.factory_reboot else "restart the Space"

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "set_variables": [list(pair) for pair in self.set_variables],
            "remove_variables": list(self.remove_variables),
            "requirements": [{"package": e.package, "line": e.line} for e in self.requirements],
            "flavor": self.flavor,
            "factory_reboot": self.factory_reboot,
            "words": self.words(),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> FixAction | None:
        if not data:
            return None
        return cls(
            ActionKind(data["kind"]),
            tuple((str(k), str(v)) for k, v in data.get("set_variables") or ()),
            tuple(str(k) for k in data.get("remove_variables") or ()),
            tuple(RequirementEdit(str(e["package"]), e.get("line")) for e in data.get("requirements") or ()),
            data.get("flavor"),
            bool(data.get("factory_reboot", False)),
        )


ActionOf = Callable[["Subject", Mapping[str, Any]], "FixAction | None"]
"""How a rule builds its action from the subject and the values its templates were rendered with."""

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def package_of(requirement: str) -> str:
    """ "jax[cuda12]==0.10.2" -> "jax"."""
    match = _NAME.match(requirement.strip())
    return match.group(0) if match else ""


def _pins(*lines: str, remove: tuple[str, ...] = ()) -> FixAction:
    edits = tuple(RequirementEdit(package_of(line), line) for line in lines)
    return FixAction(ActionKind.REQUIREMENTS, requirements=edits + tuple(RequirementEdit(p, None) for p in remove))


# Each builder below answers for one fix text in diagnostics/verdicts/rules.py, from the same facts.


def pin_stack(s: Subject, values: Mapping[str, Any]) -> FixAction | None:
    """ "add/use `{pin}`": the stack's line for this framework."""
    return _pins(s.stack.requirement) if s.stack else None


def pin_nvml(s: Subject, values: Mapping[str, Any]) -> FixAction:
    return _pins(NVML_REQUIREMENT)


def pin_jax_set(s: Subject, values: Mapping[str, Any]) -> FixAction:
    """One version for jax, jaxlib and the CUDA plugin: the stack's jax line, separate pins removed."""
    return _pins(STACK["jax"].requirement, remove=("jaxlib", "jax-cuda12-plugin", "jax-cuda13-plugin"))


def pin_cuda_build(s: Subject, values: Mapping[str, Any]) -> FixAction | None:
    """A CPU-only build: the stack's CUDA build, when this driver runs it (else the fix is another build or
    driver, which the words explain); TensorFlow's CPU-only package goes."""
    driver = s.machine.driver_cuda
    if not s.stack or (driver and driver[0] < s.stack.pinned.cuda[0]):
        return None
    return _pins(s.stack.requirement, remove=("tensorflow-cpu",) if s.component == "tensorflow" else ())


_MEMORY_VARIABLES = (("XLA_PYTHON_CLIENT_PREALLOCATE", "false"), ("TF_FORCE_GPU_ALLOW_GROWTH", "true"))


def memory_variables(s: Subject, values: Mapping[str, Any]) -> FixAction | None:
    """The two memory variables the fix names, those not already set so."""
    env = s.machine.env
    missing = tuple((k, v) for k, v in _MEMORY_VARIABLES if env.get(k, "").lower() != v)
    return FixAction(ActionKind.VARIABLES, set_variables=missing) if missing else None


def unset_cuda_visible_devices(s: Subject, values: Mapping[str, Any]) -> FixAction:
    return FixAction(ActionKind.VARIABLES, remove_variables=("CUDA_VISIBLE_DEVICES",))


def drop_library_dirs(s: Subject, values: Mapping[str, Any]) -> FixAction:
    """LD_LIBRARY_PATH without the directories the fix names (`dirs`); removed when nothing is left."""
    dropped = set(str(values["dirs"]).split(":"))
    kept = [d for d in s.machine.env.get("LD_LIBRARY_PATH", "").split(":") if d and d not in dropped]
    if kept:
        return FixAction(ActionKind.VARIABLES, set_variables=(("LD_LIBRARY_PATH", ":".join(kept)),))
    return FixAction(ActionKind.VARIABLES, remove_variables=("LD_LIBRARY_PATH",))


def hardware(flavor: str) -> ActionOf:
    def request(s: Subject, values: Mapping[str, Any]) -> FixAction | None:
        return None if s.machine.hardware == flavor else FixAction(ActionKind.HARDWARE, flavor=flavor)

    return request


def restart(*, factory: bool) -> ActionOf:
    def send(s: Subject, values: Mapping[str, Any]) -> FixAction:
        return FixAction(ActionKind.RESTART, factory_reboot=factory)

    return send


def action_for(build: ActionOf | None, subject: Subject, values: Mapping[str, Any]) -> FixAction | None:
    """The verdict's action: only a Space acts on itself, so elsewhere there is none."""
    if build is None or subject.machine.context != "space":
        return None
    return build(subject, values)
