"""How well the current rules judge one batch of real failure reports (tests/fixtures/diagnostics/real/, #15).

    python benchmarks/diagnosis_score.py --batch 2 [--show]

A case is right when every expectation holds: the status, the rule, all its reason and fix words, and none of
its fix_absent words. Prints one line per case (right, or wrong with the first expectation that failed and what
the rules said instead), then "batch N: R/T right". Probes a case carries that this engine does not have (e.g.
the `driver` probe before the layered engine) are dropped from the case, so the score is the current rules'
answer on the facts they can read; a case the engine raises on counts as wrong.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from diagnostics.registry import PROBE_NAMES
from tests.fixtures.diagnostics import REAL, real_case, real_report


def known_probes_only(case: dict) -> dict:
    """The case without payloads or deaths of probes this engine does not have."""
    return case | {
        key: {name: value for name, value in case.get(key, {}).items() if name in PROBE_NAMES}
        for key in ("payloads", "died")
    }


def first_miss(expect: dict, verdict) -> str | None:
    """Why the verdict fails this expectation, or None when it holds."""
    if (verdict.status, verdict.rule) != (expect["status"], expect["rule"]):
        return f"wants {expect['status']} [{expect['rule']}]"
    fix = verdict.fix or ""
    missing = [w for w in expect["reason"] if w not in verdict.reason] + [w for w in expect["fix"] if w not in fix]
    if missing:
        return f"right rule, words missing: {missing}"
    present = [w for w in expect.get("fix_absent", ()) if w in fix]
    return f"right rule, fix says {present}" if present else None


def judge_case(case: dict) -> list[str]:
    """One line per failed expectation; empty when the case is right."""
    try:
        report = real_report(known_probes_only(case))
    except Exception as error:  # noqa: BLE001 - a case the engine cannot read is a wrong answer, not a crash
        return [f"engine raised {type(error).__name__}: {error}"]
    misses = []
    for expect in case["expect"]:
        verdict = report.verdict(expect["component"])
        miss = first_miss(expect, verdict)
        if miss:
            misses.append(f"{expect['component']}: {miss}; got {verdict.status} [{verdict.rule}] {verdict.reason}")
    return misses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, required=True, help="e.g. 2")
    parser.add_argument("--show", action="store_true", help="print every failed expectation, not only the first")
    args = parser.parse_args()

    cases = [(path.stem, real_case(path)) for path in REAL]
    batch = [(name, case) for name, case in cases if case.get("batch", 1) == args.batch]
    if not batch:
        sys.exit(f"no case has batch {args.batch}")
    right = 0
    for name, case in batch:
        misses = judge_case(case)
        right += not misses
        print(f"{'right' if not misses else 'wrong'}  {name}" + (f"  {misses[0]}" if misses else ""))
        for miss in misses[1:] if args.show else ():
            print(f"       {miss}")
    print(f"batch {args.batch}: {right}/{len(batch)} right")


if __name__ == "__main__":
    main()
