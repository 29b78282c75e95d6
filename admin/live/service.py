"""The owner check in front of the live metrics and run log: the Guard (admin/guard.py) decides, the one
LiveReader of the process (admin/live/reader.py) reads only for callers it let through.

The Origin check holds for reading too: Gradio lets any site's script send the owner's cookie with
credentials, and the run log is for the owner's eyes only. A refused look is counted like a refused change.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from admin.access import Caller
from admin.activity import ActivityLog
from admin.guard import Guard, Refusal
from admin.hub import configuration_problems
from admin.live.reader import LiveReader, LiveView
from settings import Settings

WATCH = "watch the Space's metrics and run log"


@dataclass(frozen=True)
class LiveAnswer:
    """What one caller may see: the view for the owner, a reason for anyone else."""

    allowed: bool
    message: str
    """Why not (for a refusal or a missing setting), or "" when allowed."""
    view: LiveView | None = None


class LiveMonitor:
    """The owner check in front of the process's one LiveReader, created at the first look the owner makes."""

    def __init__(
        self,
        settings: Settings,
        *,
        guard: Guard | None = None,
        reader_factory: Callable[[], LiveReader] | None = None,
    ):
        """`guard`: the app's one Guard, whose activity log counts the refused looks."""
        self.settings = settings
        self.problems = configuration_problems(settings)
        self.guard = guard or Guard(settings, ActivityLog(known_secrets=(settings.hf_token,)))
        self._factory = reader_factory or (lambda: LiveReader(settings.space_id or "", settings.hf_token or ""))
        self._reader: LiveReader | None = None
        self._lock = threading.Lock()

    def check(self, caller: Caller) -> str | None:
        """Why `caller` may not see the live metrics and logs (None when they may), not counted: for a page load.
        Asks the Hub nothing."""
        return self._reason(self.guard.check(caller))

    def watch(self, caller: Caller) -> LiveAnswer:
        """The owner's look: starts the reader when it is not running; anyone else gets the reason only."""
        refused = self._reason(self.guard.refusal(caller, WATCH))
        if refused:
            return LiveAnswer(False, refused)
        with self._lock:
            if self._reader is None:
                self._reader = self._factory()
            reader = self._reader
        return LiveAnswer(True, "", reader.look())

    def _reason(self, refusal: Refusal | None) -> str | None:
        if refusal:
            return f"Live metrics and the run log are for the Space's owner. {refusal.message}"
        return " ".join(self.problems) or None

    def running(self) -> list[str]:
        with self._lock:
            return self._reader.running() if self._reader else []

    def close(self) -> None:
        with self._lock:
            reader = self._reader
        if reader is not None:
            reader.close()
