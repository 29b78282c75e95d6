"""One shared read, rate-limited: what the Admin tab's Hub reads, the hardware catalogue, the Diagnostics report
and the backend check have in common, so that no visitor can make the app ask something costly more often than
its owner allows.

At most one read is under way. A result is kept `keep_s(made)` seconds after its read finished (a failure of a
`remember`ed type too, and raised again to whoever gets it), and a read starts at most once per interval of
`min_interval_s` (per kind of read: a kind may have a stricter interval of its own). Callers who come while a read
is under way wait for it, at most `max_waiting` of them; with `serve_latest_while_reading` those who can be shown
something are answered at once instead. Every answer says why it is the one it is (`Why`).

Top level, beside settings.py, because admin/ and diagnostics/ both use it and neither may import the other.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any, Generic, TypeVar

Value = TypeVar("Value")

ANY = None
"""The kind whose interval every read counts against, whatever its own kind."""


class Why(str, Enum):
    READ = "read"
    """Made by a read that started after the caller asked, or that it waited for."""
    KEPT = "kept"
    """The kept result, still within `keep_s` (or the caller did not ask for a fresh one)."""
    TOO_SOON = "too soon"
    """A fresh read was asked for, but the interval since the last start has not passed."""
    UNDER_WAY = "under way"
    """A read is under way that the caller may not wait for: of another kind, or the latest is served at once."""
    FULL = "full"
    """A read is under way and `max_waiting` callers already wait for it."""
    FAILED = "failed"
    """The read the caller waited for failed, and nothing of it is kept."""


@dataclass(frozen=True)
class Made(Generic[Value]):
    """What one read left: its value, or the failure to raise again while it is kept."""

    number: int
    """Which read made it, counting from 1."""
    started: float
    finished: float
    kind: Hashable
    value: Value | None = None
    failure: Exception | None = None

    def unwrap(self) -> Value:
        if self.failure is not None:
            raise self.failure
        return self.value


@dataclass(frozen=True)
class Shared(Generic[Value]):
    """One caller's answer."""

    made: Made[Value] | None
    """The result this caller gets (for READ, the one it asked for); else the latest of any kind, None if none."""
    why: Why
    wait_s: float = 0.0
    """KEPT and TOO_SOON: seconds until a read may start."""
    limit: Hashable = ANY
    """TOO_SOON: the kind whose interval decides."""
    waiting: int = 0
    """FULL: how many callers wait for the read under way."""
    failure: BaseException | None = None
    """FAILED: what the awaited read raised (its starter got it raised); None if that is no longer known."""


def _keep_nothing(made: Made[Any]) -> float:
    return 0.0


class SharedRead(Generic[Value]):
    def __init__(
        self,
        read: Callable[..., Value],
        *,
        keep_s: Callable[[Made[Value]], float] = _keep_nothing,
        min_interval_s: Mapping[Hashable, float] | float = 0.0,
        remember: tuple[type[Exception], ...] = (),
        max_waiting: int | None = None,
        serve_latest_while_reading: bool = False,
        serves: Callable[[Hashable, Hashable], bool] = lambda under_way, wanted: True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`min_interval_s`: one number, or per kind (ANY for every read); `serves(kind under way, kind wanted)`:
        whether a caller may wait for the read under way."""
        self._read = read
        self._keep_s = keep_s
        self._intervals = min_interval_s if isinstance(min_interval_s, Mapping) else {ANY: min_interval_s}
        self._remember = remember
        self._max_waiting = max_waiting
        self._serve_latest = serve_latest_while_reading
        self._serves = serves
        self._clock = clock
        self._changed = threading.Condition()
        self._latest: dict[Hashable, Made[Value]] = {}
        """The latest result of each kind, and under ANY the latest of all."""
        self._last_start: dict[Hashable, float] = {}
        """When the latest read of each kind started (ANY: of any kind), whatever came of it."""
        self._under_way: tuple[int, Hashable] | None = None
        self._waiting = 0
        self._last_failure: tuple[int, BaseException | None] = (0, None)
        """The latest read that failed with nothing to keep (its number), and what it raised."""
        self.reads_started = 0

    @property
    def waiting(self) -> int:
        """How many callers wait for the read under way now."""
        return self._waiting

    def latest(self, kind: Hashable = ANY) -> Made[Value] | None:
        return self._latest.get(kind)

    def keep(self, value: Value, kind: Hashable = ANY) -> Value:
        """Keep `value` as the latest result without reading, e.g. the state a change returned."""
        now = self._clock()
        with self._changed:
            self._store(Made(self.reads_started, now, now, kind, value))
        return value

    def get(self, *, fresh: bool = True, kind: Hashable = ANY, **read_args: Any) -> Shared[Value]:
        """The kept result while it may be used (any kept result when not `fresh`), else one read now or under
        way; `read_args` go to the read this call starts. Raises what that read raises."""
        with self._changed:
            now = self._clock()
            kept = self._latest.get(kind)
            if kept is not None:
                until = kept.finished + self._keep_s(kept)
                if not fresh or now < until:
                    return Shared(kept, Why.KEPT, wait_s=max(0.0, until - now))
            if self._under_way is not None:
                return self._join(kind)
            waits = [(self._last_start.get(k, -math.inf) + s - now, k) for k, s in self._limits(kind)]
            wait_s, limit = max(waits, key=lambda wait: wait[0])
            if wait_s > 0:
                return Shared(self._latest.get(ANY), Why.TOO_SOON, wait_s=wait_s, limit=limit)
            self.reads_started += 1
            number = self.reads_started
            self._under_way = (number, kind)
            self._last_start[ANY] = self._last_start[kind] = now
        try:
            made = self._attempt(number, now, kind, read_args)
        except BaseException as failure:
            self._finish(number, failure)
            raise
        self._finish(number, made)
        return Shared(made, Why.READ)

    def _attempt(self, number: int, started: float, kind: Hashable, read_args: dict[str, Any]) -> Made[Value]:
        try:
            value = self._read(**read_args)
        except self._remember as failure:
            return Made(number, started, self._clock(), kind, failure=failure)
        return Made(number, started, self._clock(), kind, value)

    def _finish(self, number: int, outcome: Made[Value] | BaseException) -> None:
        with self._changed:
            if isinstance(outcome, Made):
                self._store(outcome)
            else:
                self._last_failure = (number, outcome)
            self._under_way = None
            self._changed.notify_all()

    def _limits(self, kind: Hashable) -> list[tuple[Hashable, float]]:
        """The intervals a read of `kind` waits for, its own first (it names the limit when they tie)."""
        limits = [(k, s) for k, s in self._intervals.items() if k in (ANY, kind)]
        return sorted(limits, key=lambda limit: limit[0] is ANY)

    def _join(self, kind: Hashable) -> Shared[Value]:
        """Wait for the read under way (called holding the lock), where the caller may."""
        number, running = self._under_way
        latest = self._latest.get(ANY)
        if not self._serves(running, kind) or (self._serve_latest and latest is not None):
            return Shared(latest, Why.UNDER_WAY)
        if self._max_waiting is not None and self._waiting >= self._max_waiting:
            return Shared(latest, Why.FULL, waiting=self._waiting)
        self._waiting += 1
        try:
            while self._under_way is not None and self._under_way[0] == number:
                self._changed.wait()
        finally:
            self._waiting -= 1
        made = self._latest.get(running)
        if made is not None and made.number >= number:  # this read's result, or a newer one if others followed
            return Shared(made, Why.READ)
        failed, failure = self._last_failure
        return Shared(self._latest.get(ANY), Why.FAILED, failure=failure if failed == number else None)

    def _store(self, made: Made[Value]) -> None:
        self._latest[ANY] = self._latest[made.kind] = made
