"""shared_read.py, the one mechanism behind the Admin tab's Hub reads, the hardware catalogue, the Diagnostics
report and the backend check: one read shared by concurrent callers, results and failures kept, intervals,
a bounded wait list, the latest served at once while a read runs."""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor

import pytest

from shared_read import ANY, Made, SharedRead, Why


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Unavailable(Exception):
    def __init__(self, retry_after_s: float | None = None) -> None:
        super().__init__("unavailable")
        self.retry_after_s = retry_after_s


class Reads:
    """A read that counts its calls, can be held open until released, and fails while `failure` is set."""

    def __init__(self, hold: bool = False) -> None:
        self.calls = 0
        self.started = threading.Event()
        self.release = threading.Event()
        if not hold:
            self.release.set()
        self.failure: Exception | None = None

    def __call__(self, **args) -> str:
        self.calls += 1
        self.started.set()
        assert self.release.wait(10), "the test never released the read"
        if self.failure is not None:
            raise self.failure
        return f"answer {self.calls}"


def keep_like_the_hub(made: Made[str]) -> float:
    """60 s for an answer; a failure 15 s, or as long as its Retry-After asks."""
    if isinstance(made.failure, Unavailable):
        return max(15.0, made.failure.retry_after_s or 0.0)
    return 60.0


def wait_until_waiting(shared: SharedRead, count: int) -> None:
    deadline = time.monotonic() + 10
    while shared.waiting < count:
        assert time.monotonic() < deadline, f"{shared.waiting} callers wait, expected {count}"
        time.sleep(0.005)


def test_concurrent_callers_share_one_read():
    reads = Reads(hold=True)
    shared = SharedRead(reads, keep_s=keep_like_the_hub, clock=Clock())
    with ThreadPoolExecutor(10) as pool:
        first = pool.submit(shared.get)
        assert reads.started.wait(5)
        others = [pool.submit(shared.get) for _ in range(9)]
        wait_until_waiting(shared, 9)
        reads.release.set()
        answers = [first.result(5)] + [other.result(5) for other in others]
    assert reads.calls == 1 and shared.reads_started == 1
    assert {(a.why, a.made.value, a.made.number) for a in answers} == {(Why.READ, "answer 1", 1)}


def test_an_answer_is_kept_for_keep_s_then_read_again():
    reads, clock = Reads(), Clock()
    shared = SharedRead(reads, keep_s=keep_like_the_hub, clock=clock)
    assert shared.get().why is Why.READ
    clock.now += 59
    kept = shared.get()
    assert (kept.why, kept.made.value, kept.wait_s) == (Why.KEPT, "answer 1", 1.0)
    clock.now += 1
    assert shared.get().made.value == "answer 2" and reads.calls == 2


@pytest.mark.parametrize(("retry_after_s", "quiet_s"), [(None, 15.0), (40.0, 40.0)])
def test_a_remembered_failure_is_raised_again_until_the_backoff_or_retry_after(retry_after_s, quiet_s):
    reads, clock = Reads(), Clock()
    shared = SharedRead(reads, keep_s=keep_like_the_hub, remember=(Unavailable,), clock=clock)
    reads.failure = Unavailable(retry_after_s)
    for _ in range(20):
        with pytest.raises(Unavailable):
            shared.get().made.unwrap()
    assert reads.calls == 1
    clock.now += quiet_s - 1
    answer = shared.get()
    assert answer.why is Why.KEPT and answer.wait_s == 1.0 and answer.made.failure is reads.failure
    reads.failure = None
    clock.now += 1
    assert shared.get().made.unwrap() == "answer 2" and reads.calls == 2


def test_a_failure_not_remembered_reaches_its_starter_and_tells_its_waiters():
    reads = Reads(hold=True)
    reads.failure = RuntimeError("exploded")
    shared = SharedRead(reads, clock=Clock())
    with ThreadPoolExecutor(2) as pool:
        starter = pool.submit(shared.get)
        assert reads.started.wait(5)
        waiter = pool.submit(shared.get)
        wait_until_waiting(shared, 1)
        reads.release.set()
        with pytest.raises(RuntimeError, match="exploded"):
            starter.result(5)
        answer = waiter.result(5)
    assert answer.why is Why.FAILED and answer.failure is reads.failure and answer.made is None
    assert shared.latest() is None


def test_the_interval_counts_from_the_start_of_the_last_read_even_a_failed_one():
    reads, clock = Reads(), Clock()
    shared = SharedRead(reads, min_interval_s=60.0, clock=clock)
    reads.failure = RuntimeError("exploded")
    with pytest.raises(RuntimeError):
        shared.get()
    clock.now += 20
    too_soon = shared.get()
    assert (too_soon.why, too_soon.made, too_soon.wait_s, too_soon.limit) == (Why.TOO_SOON, None, 40.0, ANY)
    reads.failure = None
    clock.now += 40
    assert shared.get().made.value == "answer 2"


def test_not_fresh_takes_any_kept_result_however_old():
    reads, clock = Reads(), Clock()
    shared = SharedRead(reads, min_interval_s=60.0, clock=clock)
    shared.get()
    clock.now += 3600
    assert shared.get(fresh=False).why is Why.KEPT and reads.calls == 1


def test_beyond_max_waiting_callers_are_answered_at_once_with_the_latest():
    reads = Reads()
    shared = SharedRead(reads, max_waiting=2, clock=Clock())
    shared.get()
    reads.release.clear()
    with ThreadPoolExecutor(3) as pool:
        running = pool.submit(shared.get)
        assert reads.started.wait(5)
        waiting = [pool.submit(shared.get) for _ in range(2)]
        wait_until_waiting(shared, 2)
        turned_away = [shared.get() for _ in range(5)]  # return while the read is held open
        reads.release.set()
        assert {w.result(5).made.number for w in waiting} == {running.result(5).made.number} == {2}
    assert {(a.why, a.waiting, a.made.value) for a in turned_away} == {(Why.FULL, 2, "answer 1")}


def test_serving_the_latest_while_reading_answers_at_once_and_only_the_first_callers_wait():
    reads = Reads(hold=True)
    shared = SharedRead(reads, serve_latest_while_reading=True, clock=Clock())
    with ThreadPoolExecutor(3) as pool:
        first: Future = pool.submit(shared.get)
        assert reads.started.wait(5)
        before_any = pool.submit(shared.get)
        wait_until_waiting(shared, 1)  # nothing to show yet: it waits for the first read
        reads.release.set()
        assert first.result(5).made.value == before_any.result(5).made.value == "answer 1"
        reads.release.clear()
        reads.started.clear()
        second = pool.submit(shared.get)
        assert reads.started.wait(5)
        during = [shared.get() for _ in range(5)]
        reads.release.set()
        assert second.result(5).made.value == "answer 2"
    assert {(a.why, a.made.value) for a in during} == {(Why.UNDER_WAY, "answer 1")}


def test_a_kind_has_its_own_interval_and_waits_only_for_a_read_that_serves_it():
    reads, clock = Reads(hold=True), Clock()
    shared = SharedRead(
        reads,
        min_interval_s={ANY: 10.0, "smoke": 300.0},
        serves=lambda under_way, wanted: wanted is ANY or under_way == wanted,
        clock=clock,
    )
    with ThreadPoolExecutor(2) as pool:
        plain = pool.submit(shared.get)
        assert reads.started.wait(5)
        assert shared.get(kind="smoke").why is Why.UNDER_WAY  # a plain read cannot answer it
        reads.release.set()
        plain.result(5)
    clock.now += 20
    smoke = shared.get(kind="smoke")
    assert smoke.why is Why.READ and shared.latest("smoke") is shared.latest() is smoke.made
    clock.now += 20
    too_soon = shared.get(kind="smoke")
    assert (too_soon.why, too_soon.limit, too_soon.wait_s) == (Why.TOO_SOON, "smoke", 280.0)
    assert shared.get().made.number == 3 and shared.latest("smoke").number == 2


def test_keep_stores_a_value_without_reading():
    reads, clock = Reads(), Clock()
    shared = SharedRead(reads, keep_s=keep_like_the_hub, clock=clock)
    assert shared.keep("after a change") == "after a change"
    assert shared.get().made.value == "after a change" and reads.calls == 0


def test_read_arguments_reach_the_read_the_call_starts():
    seen = []
    shared = SharedRead(lambda **args: seen.append(args) or "done", clock=Clock())
    shared.get(smoke=True)
    assert seen == [{"smoke": True}]
