"""What was done to the Space, by whom, when, with what result: logged and kept for the tab.

Real changes (sent to the Hub, whether it accepted them or not) are kept one by one. Refused attempts are
only counted, per kind of caller, and shown as one summary row: anyone can make them, so they must never
push the owner's real actions out of the list, nor flood the log.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from redaction import redact_text

log = logging.getLogger("admin.activity")

REFUSED_LOG_INTERVAL_S = 60.0
"""At most one log line per this many seconds about refused attempts."""


@dataclass(frozen=True)
class ActivityEntry:
    when: datetime
    """UTC time the action finished."""
    who: str
    """Hugging Face username."""
    action: str
    """e.g. "request hardware t4-small (sleep 1 h)"."""
    result: str
    """What happened, e.g. "requested t4-small" or the error message."""
    ok: bool

    def as_row(self) -> list[str]:
        return [_stamp(self.when), self.who, self.action, self.result]


@dataclass(frozen=True)
class RefusedSummary:
    total: int
    """Refused attempts since the app started, e.g. 500."""
    by_kind: dict[str, int]
    """Counts per kind of caller, e.g. {"anonymous": 498, "cross-site": 2}."""
    last_when: datetime
    last_action: str
    """The latest refused action, e.g. "pause the Space"."""
    last_reason: str

    def as_row(self) -> list[str]:
        kinds = ", ".join(f"{kind} {count}" for kind, count in sorted(self.by_kind.items()))
        return [
            _stamp(self.last_when),
            f"refused callers ({kinds})",
            f"{self.total} refused attempt{'s' if self.total != 1 else ''}; latest: {self.last_action}",
            f"refused: {self.last_reason}",
        ]


def _stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%d %H:%M:%S UTC")


class ActivityLog:
    """The last `maxlen` real changes and a count of refused attempts, shared by every visitor; thread-safe."""

    COLUMNS = ("When", "Who", "What", "Result")

    def __init__(
        self,
        maxlen: int = 100,
        known_secrets: tuple[str | None, ...] = (),
        clock: Callable[[], float] = time.monotonic,
    ):
        self._entries: deque[ActivityEntry] = deque(maxlen=maxlen)
        self._refused: Counter[str] = Counter()
        self._last_refused: tuple[datetime, str, str] | None = None
        self._refused_logged_at: float | None = None
        self._refused_since_log = 0
        self._lock = threading.Lock()
        self._secrets = known_secrets
        self._clock = clock

    def record(self, who: str, action: str, result: str, ok: bool) -> ActivityEntry:
        """A change an authorised user asked for, sent to the Hub: kept and logged."""
        entry = ActivityEntry(
            datetime.now(UTC),
            who,
            redact_text(action, self._secrets),
            redact_text(result, self._secrets),
            ok,
        )
        with self._lock:
            self._entries.append(entry)
        log.log(
            logging.INFO if ok else logging.WARNING,
            "admin action by %s: %s -> %s%s",
            entry.who,
            entry.action,
            "" if ok else "FAILED: ",
            entry.result,
        )
        return entry

    def refuse(self, kind: str, action: str, reason: str) -> None:
        """A refused attempt: counted under `kind` (a few fixed words: "anonymous", "cross-site", ...)."""
        action, reason = redact_text(action, self._secrets), redact_text(reason, self._secrets)
        now = self._clock()
        with self._lock:
            self._refused[kind] += 1
            self._last_refused = (datetime.now(UTC), action, reason)
            self._refused_since_log += 1
            due = self._refused_logged_at is None or now - self._refused_logged_at >= REFUSED_LOG_INTERVAL_S
            if due:
                count, self._refused_since_log, self._refused_logged_at = self._refused_since_log, 0, now
        if due:
            log.warning(
                "admin: %d refused attempt(s) since the last report (latest by %s: %s -> %s)",
                count,
                kind,
                action,
                reason,
            )

    def entries(self) -> list[ActivityEntry]:
        """Real changes, newest first."""
        with self._lock:
            return list(reversed(self._entries))

    def refused(self) -> RefusedSummary | None:
        with self._lock:
            if self._last_refused is None:
                return None
            when, action, reason = self._last_refused
            return RefusedSummary(sum(self._refused.values()), dict(self._refused), when, action, reason)

    def rows(self) -> list[list[str]]:
        """The refused-attempts summary (when there is one) first, then the real changes, newest first."""
        summary = self.refused()
        return ([summary.as_row()] if summary else []) + [entry.as_row() for entry in self.entries()]
