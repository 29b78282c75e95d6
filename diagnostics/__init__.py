"""GPU self-diagnostics: do torch, JAX and TensorFlow see the GPU, and if not, which requirements.txt line fixes it.

Probes run as subprocesses (`python -m diagnostics.probe NAME`); this package's import stays cheap
because every probe starts by importing it.
"""

from __future__ import annotations

from importlib import import_module

_EXPORTS = {
    "collect_report": "diagnostics.report",
    "Report": "diagnostics.report",
    "Status": "diagnostics.verdicts",
    "Verdict": "diagnostics.verdicts",
    "start_background_summary": "diagnostics.startup",
    "build_diagnostics_tab": "diagnostics.tab",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'diagnostics' has no attribute {name!r}")
