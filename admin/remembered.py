"""The last answer of one Hub read, shared by every caller, so that nobody drives the owner's token faster
than the poll interval: one caller asks at a time while the others wait for that answer; an answer is reused
for `max_age_s`; a failure (AdminError) is raised again for max(max_age_s, failure_backoff_s, the Hub's
Retry-After)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

from admin.hub import AdminError

POLL_INTERVAL_S = 3.0
"""The least time between two reads of one thing on the Hub, whoever asks; a tab's refresh period while it changes."""
FAILURE_BACKOFF_S = 15.0
"""A failed Hub read is answered from memory this long, or as long as the Hub's Retry-After says."""

Value = TypeVar("Value")


class RememberedRead(Generic[Value]):
    def __init__(
        self,
        read: Callable[[], Value],
        max_age_s: float,
        failure_backoff_s: float,
        clock: Callable[[], float] = time.monotonic,
        *,
        say_when_asked_again: bool = False,
    ):
        """`say_when_asked_again`: a remembered failure's message ends with when the Hub is asked next."""
        self._read = read
        self._max_age_s = max_age_s
        self._failure_backoff_s = failure_backoff_s
        self._clock = clock
        self._say_when_asked_again = say_when_asked_again
        self._asking = threading.Lock()
        self._lock = threading.Lock()
        self._entry: tuple[float, Value | AdminError] | None = None
        """(time after which the Hub may be asked again, what it last answered)."""

    def get(self) -> Value:
        """The remembered answer while it may be used, else a fresh one; raises AdminError."""
        with self._asking:
            value = self._remembered()
            if value is None:
                try:
                    value = self.keep(self._read())
                except AdminError as error:
                    wait = max(self._max_age_s, self._failure_backoff_s, error.retry_after_s or 0.0)
                    with self._lock:
                        self._entry = (self._clock() + wait, error)
                    raise
        if isinstance(value, AdminError):
            raise value
        return value

    def keep(self, value: Value) -> Value:
        """Remember `value` as the Hub's latest answer, e.g. the state a change returned."""
        with self._lock:
            self._entry = (self._clock() + self._max_age_s, value)
        return value

    def _remembered(self) -> Value | AdminError | None:
        with self._lock:
            entry = self._entry
        if entry is None or self._clock() >= entry[0]:
            return None
        until, value = entry
        if isinstance(value, AdminError) and self._say_when_asked_again:
            wait = max(1, round(until - self._clock()))
            return AdminError(value.kind, f"{value.message} (Asking the Hub again in {wait} s.)", value.status)
        return value
