"""Reading evidence: searching a framework's own words, quoting them, whether a framework is failing."""

from __future__ import annotations

import re
from typing import Any

from diagnostics.facts import (
    FrameworkInfo,
    log_message,
)
from diagnostics.registry import FRAMEWORKS
from diagnostics.verdicts.machine import Machine, Subject, cuda_text
from diagnostics.verdicts.model import QUOTE_CHARS, Found

# --- Evidence helpers ---------------------------------------------------------------------------------------


def search_texts(subject: Subject, pattern: str, flags: int = 0) -> tuple[str, re.Match] | None:
    """The first of the framework's texts matching `pattern`, as (the line it is on, the match)."""
    regex = re.compile(pattern, flags)
    for text in subject.texts:
        match = regex.search(text)
        if match:
            start = text.rfind("\n", 0, match.start()) + 1
            end = text.find("\n", match.end())
            return text[start : end if end >= 0 else None].strip(), match
    return None


def quote_line(line: str) -> str:
    text = " ".join(log_message(line).split())
    return text if len(text) <= QUOTE_CHARS else text[: QUOTE_CHARS - 1] + "…"


def quoted_hit(subject: Subject, pattern: str, flags: int = 0, **values: Any) -> Found | None:
    hit = search_texts(subject, pattern, flags)
    if not hit:
        return None
    line, match = hit
    return Found((line,), {"quote": quote_line(line), "match": match, **values})


def is_healthy(subject: Subject) -> bool:
    """A framework that uses the GPU fine: environment rules then have nothing to explain for it."""
    return subject.component in FRAMEWORKS and not framework_failing(subject)


def framework_failing(subject: Subject) -> bool:
    """Installed, a GPU is there, and it does not use it (or its smoke test failed)."""
    info = subject.info
    if not isinstance(info, FrameworkInfo) or not info.installed:
        return False
    smoke_failed = bool(info.smoke and not info.smoke.passed)
    return bool(info.import_error) or smoke_failed or not subject.view.sees_gpu(info)


def nvml_line(machine: Machine) -> str:
    nvml = machine.nvml
    names = ", ".join(sorted({g.name for g in machine.gpus})) or "no GPU"
    return f"NVML: driver {nvml.driver_version}, CUDA ≤ {cuda_text(nvml.driver_cuda)}, {names}" if nvml else ""


