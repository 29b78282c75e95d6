"""The generalisation score (benchmarks/diagnosis_score.py): what counts as a right verdict, and cases carrying
probes the engine does not have."""

from __future__ import annotations

from types import SimpleNamespace

from benchmarks.diagnosis_score import first_miss, judge_case, known_probes_only
from tests.fixtures.diagnostics import REAL, real_case

EXPECT = {"component": "torch", "status": "FAIL", "rule": "cuinit-failed", "reason": ["CUDA_ERROR_UNKNOWN"],
          "fix": ["modprobe"], "fix_absent": ["torch=="]}


def verdict(rule="cuinit-failed", reason="cuInit: CUDA_ERROR_UNKNOWN", fix="sudo modprobe nvidia_uvm"):
    return SimpleNamespace(status="FAIL", rule=rule, reason=reason, fix=fix)


def test_a_verdict_with_the_rule_and_words_is_right():
    assert first_miss(EXPECT, verdict()) is None


def test_the_wrong_rule_a_missing_word_or_a_forbidden_fix_is_wrong():
    assert "wants FAIL [cuinit-failed]" in first_miss(EXPECT, verdict(rule="gpu-unused"))
    assert "modprobe" in first_miss(EXPECT, verdict(fix="reboot"))
    assert "torch==" in first_miss(EXPECT, verdict(fix="sudo modprobe nvidia_uvm, or pin torch==2.10.0"))


def test_probes_the_engine_lacks_are_dropped_and_the_rest_kept():
    case = {"payloads": {"torch": {"version": "1"}, "no-such-probe": {}}, "died": {"no-such-probe": {}}, "expect": []}
    assert known_probes_only(case) == {"payloads": {"torch": {"version": "1"}}, "died": {}, "expect": []}


def test_every_case_of_the_first_corpus_scores_right():
    first = [real_case(p) for p in REAL if real_case(p).get("batch", 1) == 1]
    assert first and all(judge_case(case) == [] for case in first)
