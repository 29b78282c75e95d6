"""The sweep's plan in STATE_DIR: one JSON file of its own, beside the activity log, so every restart the sweep
causes finds it again.

Every change is read, decide, write under an exclusive `fcntl.flock` on a lock file beside it (never replaced),
so two processes of the Space (the one leaving, the one arriving) never both act on one step. The file is
replaced whole through a temporary file and a rename: a crash leaves the old plan or the new one, never half.
Only a regular file is read or replaced (a link or a directory put there is refused, not followed), and the
mode the owner gave the file is kept.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import stat
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from admin.sweep.plan import SweepPlan

log = logging.getLogger("admin.sweep")

PLAN_FILE = "hardware-sweep.json"
DEFAULT_MODE = 0o644


class PlanFileError(OSError):
    """The plan file is not one this app may read or replace (not a regular file, unreadable, not a plan)."""


class PlanFile:
    def __init__(self, directory: Path):
        self.path = Path(directory) / PLAN_FILE
        self._lock_path = self.path.with_name(self.path.name + ".lock")
        self._thread_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"PlanFile({str(self.path)!r})"

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with self._thread_lock, open(self._lock_path, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def read(self) -> SweepPlan | None:
        """The plan, or None when there is none; PlanFileError for a file that is not a readable plan."""
        with self._locked():
            return self._read()

    def update(self, change: Callable[[SweepPlan | None], SweepPlan | None]) -> SweepPlan | None:
        """Read, `change`, write what it returns (None: leave the file as it is), all under the lock."""
        with self._locked():
            before = self._read()
            after = change(before)
            if after is not None and after != before:
                self._write(after)
            return after if after is not None else before

    def _read(self) -> SweepPlan | None:
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NOFOLLOW)
        except FileNotFoundError:
            return None
        except OSError as error:  # ELOOP: a symbolic link where the plan should be
            raise PlanFileError(error.errno, f"{self.path} is not a regular file", str(self.path)) from error
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise PlanFileError(f"{self.path} is not a regular file")
            text = handle.read(1_000_000).decode("utf-8", errors="replace")
        try:
            return SweepPlan.from_json(json.loads(text))
        except (ValueError, KeyError, TypeError) as error:
            raise PlanFileError(f"{self.path} is not a sweep plan this version reads ({error})") from error

    def _write(self, plan: SweepPlan) -> None:
        try:
            existing = os.lstat(self.path)
        except FileNotFoundError:
            mode = DEFAULT_MODE
        else:
            if not stat.S_ISREG(existing.st_mode):
                raise PlanFileError(f"{self.path} is not a regular file; not replaced")
            mode = stat.S_IMODE(existing.st_mode)
        fd, temporary = tempfile.mkstemp(prefix=self.path.name, suffix=".tmp", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(plan.to_json(), out, ensure_ascii=False, indent=1)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(temporary, mode)
            os.replace(temporary, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
