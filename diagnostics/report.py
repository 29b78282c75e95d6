"""The whole report: every probe's run and facts, the verdicts, the overall status; JSON in and out."""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from diagnostics.facts import (
    DriverInfo,
    HostInfo,
    JaxInfo,
    NvmlInfo,
    ProbeOutcome,
    ProbeRun,
    TensorFlowInfo,
    TorchInfo,
    WheelsInfo,
)
from diagnostics.registry import PROBE_NAMES, parse_probe
from diagnostics.runner import iter_probes
from diagnostics.verdicts import LayerCheck, Status, Verdict, judge_all, judge_layers
from redaction import redact_data, secret_values

SCHEMA = 1


@dataclass
class Report:
    created_at: str
    """UTC time the report started, e.g. "2026-11-28T12:00:00+00:00"."""
    duration_s: float
    """Wall time of all probes together, e.g. 9.4."""
    smoke: bool
    """Whether the matmul smoke test ran, e.g. False."""
    runs: dict[str, ProbeRun]
    """Every probe's process: outcome, time, stderr tail."""
    verdicts: list[Verdict]
    """One per component (gpu, wheels, torch, jax, tensorflow)."""
    layers: list[LayerCheck] = field(default_factory=list)
    """Every layer bottom up (kernel driver … framework runtime), with its facts and the rule that found its fault."""
    host: HostInfo | None = None
    nvml: NvmlInfo | None = None
    driver: DriverInfo | None = None
    torch: TorchInfo | None = None
    jax: JaxInfo | None = None
    tensorflow: TensorFlowInfo | None = None
    wheels: WheelsInfo | None = None
    extra: dict = field(default_factory=dict)

    @property
    def overall(self) -> Status:
        """The worst verdict, e.g. Status.WARN on a CPU Space."""
        return Status.worst(v.status for v in self.verdicts)

    def verdict(self, component: str) -> Verdict:
        return next(v for v in self.verdicts if v.component == component)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready and redacted: overall and verdicts first, facts per probe, then how each probe ran."""
        facts = {
            name: _renamed(dataclasses.asdict(fact), "path", JSON_PATH_KEY) if (fact := getattr(self, name)) else None
            for name in PROBE_NAMES
        }
        data = {
            "schema": SCHEMA,
            "overall": self.overall.value,
            "created_at": self.created_at,
            "duration_s": self.duration_s,
            "smoke": self.smoke,
            "verdicts": [
                dataclasses.asdict(v)
                | {"status": v.status.value, "evidence": list(v.evidence), "action": v.action and v.action.to_json()}
                for v in self.verdicts
            ],
            "layers": [
                dataclasses.asdict(check) | {"status": check.status.value if check.status else None}
                for check in self.layers
            ],
            **facts,
            "probes": {
                name: {k: v for k, v in dataclasses.asdict(run).items() if k != "payload"}
                | {"outcome": run.outcome.value}
                for name, run in self.runs.items()
            },
        }
        return redact_data(data, secret_values(os.environ))  # type: ignore[return-value]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Report:
        """Inverse of to_dict: each probe's facts become its payload again, verdicts are recomputed."""
        runs = [
            ProbeRun.from_json({**run, "payload": _renamed(data.get(name), JSON_PATH_KEY, "path")})
            for name, run in (data.get("probes") or {}).items()
        ]
        return build_report(runs, created_at=data["created_at"], duration_s=data["duration_s"], smoke=data["smoke"])


JSON_PATH_KEY = "file"
"""A location's key in the report's JSON, for the facts' `path`: gradio_client downloads every object with a string
"path" as a file (its pre-4.21 FileData rule), so a report naming /dev/nvidia0 or a library would break API callers."""


def _renamed(data: Any, old: str, new: str) -> Any:
    if isinstance(data, dict):
        return {(new if k == old else k): _renamed(v, old, new) for k, v in data.items()}
    if isinstance(data, list):
        return [_renamed(v, old, new) for v in data]
    return data


def build_report(runs: Iterable[ProbeRun], *, created_at: str, duration_s: float, smoke: bool) -> Report:
    """Parse each run's payload into facts (the one place that happens) and judge them."""
    by_name = {run.name: run for run in sorted(runs, key=lambda r: PROBE_NAMES.index(r.name))}
    facts = {name: parse_probe(run) for name, run in by_name.items()}
    verdicts = judge_all(by_name, facts)
    return Report(
        created_at=created_at,
        duration_s=duration_s,
        smoke=smoke,
        runs=by_name,
        verdicts=verdicts,
        layers=judge_layers(by_name, facts, verdicts),
        **{name: facts.get(name) for name in PROBE_NAMES},
    )


def report_from_payloads(payloads: Mapping[str, Any], *, stderr: Mapping[str, str] | None = None) -> Report:
    """A report from recorded probe outputs (name -> JSON object), as if every probe had answered."""
    runs = [
        ProbeRun(name, ProbeOutcome.OK, 0.0, 0, None, (stderr or {}).get(name, ""), dict(payload))
        for name, payload in payloads.items()
    ]
    return build_report(runs, created_at="recorded", duration_s=0.0, smoke=False)


ProgressCallback = Callable[[ProbeRun, int, int], None]
"""Called in the caller's thread after each probe: (run, finished so far, total)."""


def collect_report(
    timeout_s: float = 60.0,
    *,
    smoke: bool = False,
    pythonpath: Iterable[str | os.PathLike] = (),
    on_probe: ProgressCallback | None = None,
) -> Report:
    """Run every probe in parallel (each in its own process, each under `timeout_s`) and build the report."""
    created_at = datetime.now(UTC).isoformat(timespec="seconds")
    started = time.perf_counter()
    runs = []
    for run in iter_probes(timeout_s, smoke=smoke, pythonpath=pythonpath):
        runs.append(run)
        if on_probe:
            on_probe(run, len(runs), len(PROBE_NAMES))
    return build_report(runs, created_at=created_at, duration_s=round(time.perf_counter() - started, 3), smoke=smoke)
