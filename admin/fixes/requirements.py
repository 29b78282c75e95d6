"""requirements.txt edited line by line as a verdict's action says, and the diff the owner reviews."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

from diagnostics.verdicts.actions import RequirementEdit, package_of

_SEPARATORS = re.compile(r"[-_.]+")


def _normal(name: str) -> str:
    """A distribution name as pip compares it (PEP 503): "Jax_CUDA12.plugin" -> "jax-cuda12-plugin"."""
    return _SEPARATORS.sub("-", name).lower()


def _package(line: str) -> str | None:
    """The distribution a requirements line installs; None for comments, blank lines and options (-r, --index-url)."""
    text = line.split("#", 1)[0].strip()
    if not text or text.startswith("-"):
        return None
    return _normal(package_of(text)) or None


def edited(text: str, edits: Iterable[RequirementEdit]) -> str:
    """`text` with each edit made: the package's first line replaced (its other lines dropped), or appended when
    absent; a removal drops every line of the package. Comments, options and other packages stay as they are."""
    lines = text.splitlines()
    for edit in edits:
        wanted = _normal(edit.package)
        kept, placed = [], False
        for line in lines:
            if _package(line) != wanted:
                kept.append(line)
            elif edit.line is not None and not placed:
                kept.append(edit.line)
                placed = True
        if edit.line is not None and not placed:
            kept.append(edit.line)
        lines = kept
    return "\n".join(lines) + "\n" if lines else ""


def unified_diff(before: str, after: str, path: str = "requirements.txt") -> str:
    """The change as `git diff` shows it, for the page and the pull request's description."""
    return "".join(
        difflib.unified_diff(
            before.splitlines(keepends=True), after.splitlines(keepends=True), f"a/{path}", f"b/{path}"
        )
    )
