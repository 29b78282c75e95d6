"""The last answer of one Hub read, shared by every caller, so that nobody drives the owner's token faster
than the poll interval: one caller asks at a time while the others wait for that answer; an answer is reused
for `max_age_s`; a failure (AdminError) is raised again for max(failure_backoff_s, the Hub's Retry-After).
The mechanism is shared_read.py's; this is its Hub policy."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Generic, TypeVar

from admin.hub import AdminError
from shared_read import Made, SharedRead, Why

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

        def keep_s(made: Made[Value]) -> float:
            if isinstance(made.failure, AdminError):
                return max(failure_backoff_s, made.failure.retry_after_s or 0.0)
            return max_age_s

        self._say_when_asked_again = say_when_asked_again
        self._shared = SharedRead(read, keep_s=keep_s, remember=(AdminError,), clock=clock)

    def get(self) -> Value:
        """The remembered answer while it may be used, else a fresh one; raises AdminError."""
        answer = self._shared.get()
        if answer.why is Why.FAILED:  # an unexpected error, not remembered: the next caller asks again
            if answer.failure is None:
                return self.get()
            raise answer.failure
        made = answer.made
        error = made.failure
        if answer.why is Why.KEPT and isinstance(error, AdminError) and self._say_when_asked_again:
            wait = max(1, round(answer.wait_s))
            raise AdminError(error.kind, f"{error.message} (Asking the Hub again in {wait} s.)", error.status)
        return made.unwrap()

    def peek(self) -> Value | None:
        """The latest answer, however old, without asking; None when there is none (or it was a failure)."""
        made = self._shared.latest()
        return None if made is None else made.value

    def keep(self, value: Value) -> Value:
        """Remember `value` as the Hub's latest answer, e.g. the state a change returned."""
        return self._shared.keep(value)
