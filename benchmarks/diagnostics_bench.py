"""Time a full diagnostics report (probes in parallel) against the probes run one after another.

    python benchmarks/diagnostics_bench.py [--repeat 3] [--smoke]

Prints medians of: the full report, each probe alone, their sum and the slowest; the ratio
full/slowest (target <= 1.2: the report costs little more than its slowest probe); and this
process's RSS before and after the reports, with gradio imported first as in the server
(target: growth < 20 MB, since torch, JAX and TensorFlow stay in the probe processes).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args()

    import gradio  # noqa: F401 - the server has it loaded; measure growth on top of it

    from diagnostics.registry import PROBE_NAMES
    from diagnostics.report import collect_report
    from diagnostics.runner import probe_environment, run_probe

    collect_report(args.timeout, smoke=args.smoke)  # warm the page cache so every round starts alike
    rss_before = rss_mb()
    full, alone = [], {name: [] for name in PROBE_NAMES}
    env = probe_environment()
    for _ in range(args.repeat):
        started = time.perf_counter()
        report = collect_report(args.timeout, smoke=args.smoke)
        full.append(time.perf_counter() - started)
        for name in PROBE_NAMES:
            alone[name].append(run_probe(name, args.timeout, smoke=args.smoke, env=env).seconds)
    rss_after = rss_mb()

    medians = {name: statistics.median(times) for name, times in alone.items()}
    total, slowest = sum(medians.values()), max(medians, key=medians.get)
    full_s = statistics.median(full)
    print(f"probes ({'with' if args.smoke else 'without'} smoke test), median of {args.repeat}:")
    for name, seconds in medians.items():
        print(f"  {name:<11} alone {seconds:6.2f} s")
    print(f"full report (parallel)   {full_s:6.2f} s   overall {report.overall.value}")
    print(f"sum one after another    {total:6.2f} s   ({total / full_s:.1f}x the full report)")
    print(f"slowest probe ({slowest})  {medians[slowest]:6.2f} s")
    print(f"ratio full / slowest     {full_s / medians[slowest]:6.2f}    (target <= 1.2)")
    print(
        f"serving process RSS      {rss_before:6.1f} MB before, {rss_after:6.1f} MB after "
        f"{args.repeat + 1} reports: {rss_after - rss_before:+.1f} MB (target < 20 MB)"
    )


if __name__ == "__main__":
    main()
