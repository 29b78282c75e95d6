"""ZeroGPU logic without an app: GPU seconds sized to the work, the rate-limited torch check, its display."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest

from diagnostics.zerogpu_check import (
    CheckRefused,
    CheckResult,
    TorchInGpuCall,
    ZeroGpuTorchCheck,
    to_markdown,
    torch_in_gpu_call,
)
from models.inputs import Prepared
from models.zerogpu import BASE_SECONDS, MAX_SECONDS, gpu_seconds
from tests.apptools import REPO


def _similarity(source: str, *candidates: str) -> Prepared:
    return Prepared((source, tuple(candidates)), ())


def test_a_short_request_asks_for_a_few_seconds_not_the_default_minute():
    assert gpu_seconds("sentence-similarity", [_similarity("a man", "a guitar", "stocks")], 64) == BASE_SECONDS + 1


def test_longer_input_asks_for_more_seconds():
    short = gpu_seconds("text-classification", [Prepared(("x" * 100,), ())], 64)
    long = gpu_seconds("text-classification", [Prepared(("x" * 100_000,), ())], 64)
    assert long > short


def test_zero_shot_counts_the_text_once_per_label():
    text = "x" * 50_000
    one = gpu_seconds("zero-shot-classification", [Prepared((text, ("a",)), ())], 64)
    four = gpu_seconds("zero-shot-classification", [Prepared((text, ("a", "b", "c", "d")), ())], 64)
    assert four > one + 10


def test_generation_asks_for_time_per_new_token():
    prompt = [Prepared(("Once upon a time",), ())]
    assert gpu_seconds("text-generation", prompt, 400) > gpu_seconds("text-generation", prompt, 10)


def test_no_request_asks_for_more_than_the_cap():
    # An owner may raise MAX_INPUT_CHARS far beyond the default 10,000.
    assert gpu_seconds("text-classification", [Prepared(("x" * 5_000_000,), ())], 64) == MAX_SECONDS
    assert gpu_seconds("text-generation", [Prepared(("hi",), ())], 4096) == MAX_SECONDS


def test_off_zerogpu_spaces_is_never_imported():
    code = (
        "import sys; from models.zerogpu import zero_gpu_wrap; "
        "assert zero_gpu_wrap(False) is None; print(sorted(m for m in sys.modules if m.split('.')[0] == 'spaces'))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


GOOD = TorchInGpuCall("2.10.0+cu128", "12.8", True, "NVIDIA RTX PRO 6000", "12.0", True, 1e-5, None, 0.3)


class QuotaExceeded(Exception):
    """Like spaces' gr.Error titled "ZeroGPU quota exceeded"."""


def test_a_result_is_shared_for_the_interval_then_checked_again():
    clock, calls = FakeClock(), []
    check = ZeroGpuTorchCheck(lambda: calls.append(1) or GOOD, min_interval_s=300, clock=clock)
    first = check.get()
    clock.now += 299
    assert check.get() is first and len(calls) == 1
    clock.now += 2
    assert check.get() is not first and len(calls) == 2


def test_a_failure_reaches_its_caller_alone_and_others_retry_after_the_pause():
    clock, outcomes = FakeClock(), [QuotaExceeded("You have exceeded your ZeroGPU quota"), GOOD]

    def run():
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    check = ZeroGpuTorchCheck(run, min_interval_s=300, retry_after_failure_s=30, clock=clock)
    with pytest.raises(QuotaExceeded):
        check.get()
    clock.now += 10
    with pytest.raises(CheckRefused) as refused:
        check.get()
    assert "try again in 20 s" in str(refused.value) and "quota" not in str(refused.value)
    clock.now += 21
    assert check.get().torch is GOOD
    assert check.calls == 2


def test_callers_arriving_during_a_call_share_it():
    started, release, calls = threading.Event(), threading.Event(), []

    def run():
        calls.append(1)
        started.set()
        release.wait(5)
        return GOOD

    check = ZeroGpuTorchCheck(run)
    results = []
    first = threading.Thread(target=lambda: results.append(check.get()))
    first.start()
    started.wait(5)
    others = [threading.Thread(target=lambda: results.append(check.get())) for _ in range(3)]
    for thread in others:
        thread.start()
    release.set()
    for thread in (first, *others):
        thread.join(5)
    assert len(calls) == 1 and len(results) == 4 and len({id(r) for r in results}) == 1


def test_on_this_cpu_machine_torch_reports_no_cuda_honestly():
    import torch

    facts = torch_in_gpu_call()
    assert facts.cuda_available is False and facts.torch_version == torch.__version__ and not facts.ok


def test_the_display_says_what_torch_found():
    good = to_markdown(CheckResult(GOOD, "2026-11-29T10:00:00+00:00"))
    assert "torch computes on the ZeroGPU GPU" in good and "NVIDIA RTX PRO 6000" in good and "| 12.0 |" in good
    old_build = TorchInGpuCall("2.6.0+cu124", "12.4", True, "NVIDIA RTX PRO 6000", "12.0", False, None,
                               "RuntimeError: CUDA error: no kernel image is available", 0.2)
    shown = to_markdown(CheckResult(old_build, "2026-11-29T10:00:00+00:00"))
    assert "cannot compute on it" in shown and "no kernel image" in shown and "no: needs sm_120" in shown
    none = to_markdown(CheckResult(TorchInGpuCall("2.10.0+cu128", "12.8", False), "2026-11-29T10:00:00+00:00"))
    assert "no CUDA GPU even inside a ZeroGPU call" in none
