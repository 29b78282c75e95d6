"""Changes that cost money, chosen but not yet confirmed: each kept for one signed-in user in one session.

Never keyed by session alone: a caller who reuses the owner's session hash without the owner's sign-in
must not confirm, cancel or replace the owner's choice.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

from admin.access import Caller

PENDING_TTL_S = 600.0
"""A choice waits this long for its confirmation."""

Choice = TypeVar("Choice")


class PendingChoices(Generic[Choice]):
    def __init__(self, ttl_s: float = PENDING_TTL_S, clock: Callable[[], float] = time.monotonic):
        self._ttl_s = ttl_s
        self._clock = clock
        self._lock = threading.Lock()
        self._waiting: dict[tuple[str, str | None], tuple[float, Choice]] = {}

    def hold(self, caller: Caller, choice: Choice) -> Choice:
        """Keep `choice` for this caller (replacing their earlier one); expired choices of anyone are dropped."""
        if not caller.username:
            raise ValueError("only a signed-in caller's choice is kept")
        now = self._clock()
        with self._lock:
            self._waiting = {key: entry for key, entry in self._waiting.items() if now - entry[0] < self._ttl_s}
            self._waiting[(caller.username, caller.session)] = (now, choice)
        return choice

    def take(self, caller: Caller) -> Choice | None:
        """This caller's waiting choice, removed; None when there is none, it expired, or nobody is signed in."""
        if not caller.username:
            return None
        with self._lock:
            entry = self._waiting.pop((caller.username, caller.session), None)
        if entry is None or self._clock() - entry[0] >= self._ttl_s:
            return None
        return entry[1]
