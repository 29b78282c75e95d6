"""The sweep's plan in STATE_DIR: one JSON file of its own, beside the activity log, so every restart the sweep
causes finds it again.

Every change is read, decide, write under an exclusive `fcntl.flock` on a lock file beside it (never replaced),
so two processes of the Space (the one leaving, the one arriving) never both act on one step. The file is
replaced whole through a temporary file and a rename: a crash leaves the old plan or the new one, never half.
Only a regular file is read or replaced (a link, FIFO or directory put there is refused, not followed), the
mode the owner gave the file is kept, and nobody waits more than the state store's LOCK_WAIT_S for the lock:
the lock, the opening and the replacing are admin/state_store.py's, as for the activity log.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

from admin.state_store import NEW_FILE_MODE, FileLock, open_regular, replace_whole
from admin.sweep.plan import SweepPlan

PLAN_FILE = "hardware-sweep.json"


class PlanFileError(OSError):
    """The plan file is not one this app may read or replace (not a regular file, unreadable, not a plan)."""


class PlanFile:
    def __init__(self, directory: Path):
        self.path = Path(directory) / PLAN_FILE
        self._lock = FileLock(self.path.with_name(self.path.name + ".lock"))

    def __repr__(self) -> str:
        return f"PlanFile({str(self.path)!r})"

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """The state store's lock (no link followed, given up after its wait), its failures told as this file's."""
        with contextlib.ExitStack() as held:
            try:
                held.enter_context(self._lock.held(exclusive=True))
            except OSError as error:
                where = str(self._lock.path)
                raise PlanFileError(error.errno, f"{where}: {error.strerror}", where) from error
            yield

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
            # A link, FIFO or directory is refused without being followed or blocking on it.
            fd = open_regular(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return None
        except OSError as error:
            raise PlanFileError(error.errno, f"{self.path} is not a regular file", str(self.path)) from error
        with os.fdopen(fd, "rb") as handle:
            text = handle.read(1_000_000).decode("utf-8", errors="replace")
        try:
            return SweepPlan.from_json(json.loads(text))
        except (ValueError, KeyError, TypeError) as error:
            raise PlanFileError(f"{self.path} is not a sweep plan this version reads ({error})") from error

    def _write(self, plan: SweepPlan) -> None:
        try:
            existing = os.lstat(self.path)
        except FileNotFoundError:
            mode = NEW_FILE_MODE
        else:
            if not stat.S_ISREG(existing.st_mode):
                raise PlanFileError(f"{self.path} is not a regular file; not replaced")
            mode = stat.S_IMODE(existing.st_mode)
        replace_whole(self.path, lambda out: json.dump(plan.to_json(), out, ensure_ascii=False, indent=1), mode)
