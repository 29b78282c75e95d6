"""What was done to the Space, by whom, when, with what result: logged and kept for the tab."""

from __future__ import annotations

import logging
import threading
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime

from redaction import redact_text

log = logging.getLogger("admin.activity")


@dataclass(frozen=True)
class ActivityEntry:
    when: datetime
    """UTC time the action finished."""
    who: str
    """Hugging Face username, or "anonymous"."""
    action: str
    """e.g. "request hardware t4-small (sleep 1 h)"."""
    result: str
    """What happened, e.g. "requested t4-small" or the error message."""
    ok: bool

    def as_row(self) -> list[str]:
        return [self.when.strftime("%Y-%m-%d %H:%M:%S UTC"), self.who, self.action, self.result]


class ActivityLog:
    """The last `maxlen` actions, shared by every visitor of one app; thread-safe.

    Bounded because refused attempts are recorded too, and anyone can make those.
    """

    COLUMNS = ("When", "Who", "What", "Result")

    def __init__(self, maxlen: int = 100, known_secrets: tuple[str | None, ...] = ()):
        self._entries: deque[ActivityEntry] = deque(maxlen=maxlen)
        self._lock = threading.Lock()
        self._secrets = known_secrets

    def record(self, who: str | None, action: str, result: str, ok: bool) -> ActivityEntry:
        entry = ActivityEntry(
            datetime.now(UTC),
            who or "anonymous",
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

    def entries(self) -> list[ActivityEntry]:
        """Newest first."""
        with self._lock:
            return list(reversed(self._entries))

    def rows(self) -> list[list[str]]:
        return [entry.as_row() for entry in self.entries()]
