"""Text forms of a report: summary rows, Markdown (tab, CLI, copy button) and log lines. All redacted."""

from __future__ import annotations

import os

from diagnostics.facts import FrameworkInfo, ProbeOutcome, SmokeResult
from diagnostics.registry import COMPONENTS, TITLES, probes_of
from diagnostics.report import Report
from diagnostics.verdicts import RULES, Status, Verdict, cudnn_text
from redaction import redact_text, secret_values

ICON = {Status.OK: "✅", Status.WARN: "⚠️", Status.FAIL: "❌"}
_READS = {(rule.name, c): rule.reads for rule in RULES for c in rule.components}
"""What each rule reads, shown under the verdict it made."""


def _clean(text: str) -> str:
    """Last line of defence: probes already redact, but a token may come in through any string."""
    return redact_text(text, secret_values(os.environ))


def _gib(n: int | None) -> str:
    return "?" if n is None else f"{n / 2**30:.1f} GiB"


def _cell(text: str | None) -> str:
    return (text or "").replace("|", "\\|").replace("\n", " ")


def summary_rows(report: Report) -> list[list[str]]:
    """[component, status, reason, fix, rule] per component, for a table."""
    return [
        [TITLES[v.component], f"{ICON[v.status]} {v.status.value}", _clean(v.reason), _clean(v.fix or ""), v.rule]
        for v in report.verdicts
    ]


def layer_rows(report: Report) -> list[list[str]]:
    """[layer, status, what the probes found, rule] per layer, bottom up; "not known" where no probe said."""
    return [
        [
            check.layer,
            f"{ICON[check.status]} {check.status.value}" if check.status else "❔ not known",
            _clean(check.finding),
            check.rule or "",
        ]
        for check in report.layers
    ]


def layers_markdown(report: Report) -> str:
    """The layers as a table, kernel driver first: the lowest failing one is the cause for those above it."""
    table = ["| layer (bottom up) | status | what the probes found | rule |", "|---|---|---|---|"]
    return "\n".join(table + [f"| {' | '.join(_cell(c) for c in row)} |" for row in layer_rows(report)])


def headline(report: Report) -> str:
    smoke = ", with smoke test" if report.smoke else ""
    return f"{ICON[report.overall]} **{report.overall.value}** · {report.created_at} · {report.duration_s:.1f} s{smoke}"


def summary_lines(report: Report) -> list[str]:
    """A few log lines: the overall status, then one per component with its fix."""
    lines = [f"diagnostics {report.overall.value} in {report.duration_s:.1f} s"]
    for v in report.verdicts:
        fix = f" -> {v.fix}" if v.fix and v.status is not Status.OK else ""
        lines.append(f"  {v.component:<10} {v.status.value:<4} [{v.rule}] {v.reason}{fix}")
    for check in report.layers:
        status = check.status.value if check.status else "?"
        lines.append(f"  layer {check.layer:<18} {status:<4} {check.finding}")
    return [_clean(line) for line in lines]


def _bullets(pairs: list[tuple[str, object]]) -> str:
    return "\n".join(f"- **{k}**: {v}" for k, v in pairs if v not in (None, "", [], {}))


def _smoke(smoke: SmokeResult | None) -> tuple[str, object]:
    if smoke is None:
        return ("smoke test", None)
    if smoke.error:
        return ("smoke test", f"failed on {smoke.device}: {smoke.error}")
    where = f"{smoke.device} (no GPU: ran on the CPU)" if smoke.on_cpu else f"{smoke.device} {smoke.device_name or ''}"
    check = "matches numpy" if smoke.passed else "DIFFERS from numpy"
    return (
        "smoke test",
        f"{smoke.n}² float32 matmul on {where}: {smoke.tflops:.2f} TFLOP/s; "
        f"{smoke.check_n}² result {check} (relative error {smoke.relative_error:.1e})",
    )


def _framework_lines(info: FrameworkInfo) -> list[tuple[str, object]]:
    if not info.installed:
        return [("installed", "no")]
    return [
        ("version", info.version),
        ("import error", f"\n```\n{info.import_error}\n```" if info.import_error else None),
        ("import time", f"{info.import_s} s" if info.import_s is not None else None),
    ]


def _quoted(title: str, lines: list[str]) -> str:
    return f"\n\n{title}:\n```\n" + "\n".join(lines) + "\n```" if lines else ""


def _gpu_section(report: Report) -> str:
    parts = []
    host = report.host
    if host:
        space = host.space
        parts.append(
            _bullets(
                [
                    ("OS", host.os),
                    ("glibc", host.glibc),
                    ("Python", host.python),
                    (
                        "CPUs",
                        f"{host.cpu_affinity} usable of {host.cpu_count}"
                        + (f", cgroup quota {host.cgroup_cpu_limit:g}" if host.cgroup_cpu_limit else ""),
                    ),
                    (
                        "RAM",
                        f"{_gib(host.ram_available_bytes)} available of {_gib(host.ram_total_bytes)}"
                        + (
                            f", cgroup limit {_gib(host.cgroup_memory_limit_bytes)}"
                            if host.cgroup_memory_limit_bytes
                            else ""
                        ),
                    ),
                    ("Space", space.space_id if space.on_spaces else "not running on Spaces"),
                    ("author", space.author),
                    ("hardware (ACCELERATOR)", space.accelerator),
                    ("ZeroGPU", space.zero_gpu or None),
                ]
            )
        )
    nvml = report.nvml
    if nvml:
        cuda = nvml.driver_cuda
        parts.append(
            _bullets(
                [
                    ("driver", nvml.driver_version if nvml.driver_loaded else f"none ({nvml.error})"),
                    ("highest CUDA of the driver", f"{cuda[0]}.{cuda[1]}" if cuda else None),
                    ("/dev/nvidia*", ", ".join(nvml.dev_nvidia) or "absent"),
                    ("CUDA_VISIBLE_DEVICES", nvml.cuda_visible_devices),
                ]
            )
        )
        if nvml.gpus:
            rows = [
                "| # | GPU | CC | memory used / total | util | temp | power / limit | MIG |",
                "|---|---|---|---|---|---|---|---|",
            ]
            for g in nvml.gpus:
                if g.handle_error:
                    rows.append(f"| {g.index} | NVML cannot read it: {_cell(g.handle_error)} | | | | | | |")
                    continue
                cc = ".".join(map(str, g.compute_capability or [])) or "?"
                rows.append(
                    f"| {g.index} | {g.name} | {cc} | {_gib(g.memory_used_bytes)} / {_gib(g.memory_total_bytes)}"
                    f" | {g.utilization_pct}% | {g.temperature_c} °C | {g.power_w} / {g.power_limit_w} W"
                    f" | {g.mig_mode or '-'} |"
                )
            parts.append("\n".join(rows))
            parts.append(
                _bullets(
                    [
                        (f"GPU {g.index} {label}", value)
                        for g in nvml.gpus
                        for label, value in (
                            ("MIG instances", ", ".join(d.get("uuid") or "?" for d in g.mig_devices)),
                            (
                                "processes holding memory",
                                ", ".join(
                                    f"{p.get('pid')} {p.get('name') or ''} {_gib(p.get('used_memory_bytes'))}"
                                    for p in g.processes
                                ),
                            ),
                            ("NVML queries that failed", "; ".join(f"{k}: {v}" for k, v in g.errors.items())),
                        )
                    ]
                )
            )
    parts.append(_driver_part(report))
    if host and host.environment:
        parts.append("Environment:\n```\n" + "\n".join(f"{k}={v}" for k, v in host.environment.items()) + "\n```")
    return "\n\n".join(parts)


def _driver_part(report: Report) -> str:
    """The layers below the frameworks: the table, then the driver probe's facts."""
    driver = report.driver
    parts = [f"Layers, bottom up:\n\n{layers_markdown(report)}"] if report.layers else []
    if driver is None:
        return "\n\n".join(parts)
    module, lib, ctx = driver.kernel_module, driver.libcuda, driver.context
    nodes = driver.device_nodes
    parts.append(
        _bullets(
            [
                (
                    "kernel module",
                    (module.version_line or "loaded") if module and module.loaded else module and "not loaded",
                ),
                ("nvidia modules", ", ".join(driver.modules) if driver.modules is not None else None),
                (
                    "device nodes",
                    None
                    if nodes is None
                    else ", ".join(f"{n.path}" + ("" if n.openable else f" ({n.error})") for n in nodes) or "none",
                ),
                (
                    "libcuda",
                    lib
                    and (
                        f"{lib.path} ({lib.version or '?'}), cuInit {lib.cu_init}"
                        + (f", {lib.device_count} device(s)" if lib.device_count is not None else "")
                        + (f", driver API {lib.driver_api_version}" if lib.driver_api_version else "")
                        if lib.path
                        else f"not loaded: {lib.load_error}"
                    ),
                ),
                ("where it runs", ctx and f"{ctx.kind} ({', '.join(ctx.evidence) or 'no container or WSL marks'})"),
                ("NVIDIA_VISIBLE_DEVICES", ctx and ctx.nvidia_visible_devices),
                ("NVIDIA_DRIVER_CAPABILITIES", ctx and ctx.nvidia_driver_capabilities),
            ]
        )
    )
    if driver.libraries:
        rows = ["| CUDA library | needed by | loads from | other candidates |", "|---|---|---|---|"]
        for lib_ in driver.libraries:
            others = [f"{c.path} ({c.source})" for c in lib_.candidates if c.path != lib_.winner]
            rows.append(
                f"| {lib_.name} | {', '.join(lib_.needed_by)} | {_cell(lib_.winner)} | {_cell('; '.join(others))} |"
            )
        parts.append("\n".join(rows))
    return "\n\n".join(p for p in parts if p)


def _wheels_section(report: Report) -> str:
    wheels = report.wheels
    if not wheels:
        return ""
    rows = ["| wheel | version | CUDA line | required by |", "|---|---|---|---|"]
    rows += [f"| {w.name} | {w.version} | {w.cuda_line or '-'} | {', '.join(w.required_by)} |" for w in wheels.nvidia]
    text = "\n".join(rows) if wheels.nvidia else "No nvidia-* wheels installed."
    if wheels.conflicts:
        text += "\n\nFiles installed by two distributions (the one installed last won):\n" + "\n".join(
            f"- `{c.path}`: {', '.join(c.distributions)}" for c in wheels.conflicts[:20]
        )
    versions = ", ".join(f"{k} {v}" for k, v in wheels.frameworks.items())
    return text + (f"\n\nInstalled: {versions}" if versions else "")


def _torch_section(report: Report) -> str:
    t = report.torch
    if not t:
        return ""
    lines = _framework_lines(t)
    if t.installed and not t.import_error:
        lines += [
            ("built with CUDA", t.cuda_built or "none (CPU build)"),
            ("ROCm", t.hip_built),
            ("cuDNN loaded", cudnn_text(t.cudnn_version) if t.cudnn_version else None),
            ("cuda.is_available()", t.cuda_available),
            ("arch list", " ".join(t.arch_list)),
            (
                "devices",
                "; ".join(
                    f"cuda:{d.index} {d.name} sm_{d.capability[0]}{d.capability[1]}, "
                    f"{_gib(d.memory_free_bytes)} free of {_gib(d.memory_total_bytes)}"
                    for d in t.devices
                ),
            ),
            ("allocator env", ", ".join(f"{k}={v}" for k, v in t.allocator_env.items())),
            _smoke(t.smoke),
        ]
    return _bullets(lines) + _quoted("Messages", t.messages) + _quoted("Log lines", t.log_lines)


def _jax_section(report: Report) -> str:
    j = report.jax
    if not j:
        return ""
    lines = _framework_lines(j) + [
        ("CUDA plugins", ", ".join(f"{p['name']} {p['version']}" for p in j.cuda_plugins) or "none")
    ]
    if j.installed and not j.import_error:
        lines += [
            ("jaxlib", j.jaxlib_version),
            ("default backend", j.default_backend),
            ("backend error", j.backend_error),
            (
                "devices",
                "; ".join(
                    f"{d.platform}:{d.id} {d.device_kind}"
                    + (f" (cc {d.compute_capability})" if d.compute_capability else "")
                    + (f", {_gib(d.memory_stats.get('bytes_limit'))} limit" if d.memory_stats else "")
                    for d in j.devices
                ),
            ),
            _smoke(j.smoke),
        ]
    return _bullets(lines) + _quoted("JAX's own warnings", j.messages) + _quoted("Log lines", j.log_lines)


def _tf_section(report: Report) -> str:
    t = report.tensorflow
    if not t:
        return ""
    lines = _framework_lines(t)
    if t.installed and not t.import_error:
        b = t.build_info
        lines += [
            ("CUDA build", b.get("is_cuda_build")),
            ("built for CUDA", b.get("cuda_version")),
            ("built for cuDNN", b.get("cudnn_version")),
            ("compute capabilities", " ".join(b.get("cuda_compute_capabilities") or [])),
            (
                "GPUs",
                "; ".join(
                    f"{g.name} {g.device_name or ''} cc {'.'.join(map(str, g.compute_capability or []))}, "
                    f"{_gib(g.memory_current_bytes)} in use"
                    for g in t.gpus
                )
                or "none",
            ),
            _smoke(t.smoke),
        ]
    return _bullets(lines) + _quoted("Messages", t.messages) + _quoted("Its dlopen/cuInit lines", t.log_lines)


_SECTIONS = {
    "gpu": _gpu_section,
    "wheels": _wheels_section,
    "torch": _torch_section,
    "jax": _jax_section,
    "tensorflow": _tf_section,
}


def _probe_problems(report: Report, names: tuple[str, ...]) -> str:
    parts = []
    for name in names:
        run = report.runs.get(name)
        if run and run.outcome is not ProbeOutcome.OK:
            parts.append(f"**probe `{name}` {run.outcome.value}**: {run.error}\n\n```\n{run.stderr_tail}\n```")
    return "\n\n".join(parts)


def _why(v: Verdict) -> str:
    """Which rule decided and the lines it read."""
    reads = _READS.get((v.rule, v.component))
    text = f"**Rule**: `{v.rule}`" + (f" (reads {reads})" if reads else "")
    return text + _quoted("Evidence", list(v.evidence))


def section_markdown(report: Report, component: str) -> str:
    """The details of one component: verdict, the rule and evidence behind it, facts, a dead probe's stderr tail."""
    v = report.verdict(component)
    head = f"{ICON[v.status]} **{v.status.value}**: {v.reason}" + (f"\n\n**Fix**: {v.fix}" if v.fix else "")
    body = [head, _why(v), _SECTIONS[component](report), _probe_problems(report, probes_of(component))]
    return _clean("\n\n".join(part for part in body if part))


def to_markdown(report: Report) -> str:
    """The whole report, fit to paste into an issue."""
    table = ["| component | status | reason | fix | rule |", "|---|---|---|---|---|"]
    table += [f"| {' | '.join(_cell(c) for c in row)} |" for row in summary_rows(report)]
    parts = [f"# GPU diagnostics\n\n{headline(report)}", "\n".join(table)]
    parts += [f"## {TITLES[c]}\n\n{section_markdown(report, c)}" for c in COMPONENTS]
    return _clean("\n\n".join(parts)) + "\n"
