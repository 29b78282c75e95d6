"""Admin state that outlives the process: one JSON-lines file under STATE_DIR, shared by every replica.

A Space's own disk is lost on every restart, and switching hardware restarts it: the record of the switch
would be lost by the restart it causes. A Storage Bucket mounted as a volume (e.g. at /data) survives, and
every replica of the Space sees the same one, so the file lives there.

Writers append one whole line per record, one at a time: an exclusive `fcntl.flock` on a lock file beside
the data file (never replaced, so a waiting writer never ends up holding a lock on a file compaction has
swapped out). Readers take the shared lock and skip any line that does not parse, so a line torn by a
crash, or by a mount that does not honour locks across machines, costs that line and nothing else.

Growth is bounded: past `max_bytes` the writer holding the lock rewrites the file through `compact`
(a pure function of the records and a byte budget, half of `max_bytes`) into a temporary file and
renames it over the old one.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("admin.state")

ACTIVITY_FILE = "admin-activity.jsonl"
DEFAULT_MAX_BYTES = 512 * 1024
"""A bucket file the app reads whole on a page load stays small: about 2,000 records."""

Record = dict
Compactor = Callable[[list[Record], int], list[Record]]
"""(every record, byte budget) -> the records to keep, within about that many bytes."""


@dataclass(frozen=True)
class StoreChoice:
    """Where the admin state lives, for the log and the Admin tab."""

    store: JsonLinesStore | None
    """None: memory only."""
    note: str
    """One sentence for the Admin tab, e.g. "Kept in /data/admin-activity.jsonl: survives restarts ..."."""


class JsonLinesStore:
    """One JSON-lines file: `append` one record, `read` them all (oldest first); safe across processes."""

    def __init__(self, path: Path, *, compact: Compactor, max_bytes: int = DEFAULT_MAX_BYTES):
        self.path = Path(path)
        self._lock_path = self.path.with_name(self.path.name + ".lock")
        self._compact = compact
        self._max_bytes = max_bytes
        self._thread_lock = threading.Lock()  # flock is per open file: threads of one process queue here first
        self._cache: tuple[tuple[int, int, int], list[Record]] | None = None

    def __repr__(self) -> str:
        return f"JsonLinesStore({str(self.path)!r})"

    @contextlib.contextmanager
    def _locked(self, exclusive: bool) -> Iterator[None]:
        with self._thread_lock, open(self._lock_path, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def append(self, record: Record) -> None:
        """Add one record (JSON-ready, already scrubbed of secrets); compacts the file when it grew too big."""
        line = json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"
        with self._locked(exclusive=True):
            # O_APPEND and one write per line: even a writer that ignores the lock cannot interleave inside it.
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, line.encode())
                size = os.fstat(fd).st_size
            finally:
                os.close(fd)
            if size > self._max_bytes:
                self._rewrite(self._compact(self._parse(), self._max_bytes // 2))

    def read(self) -> list[Record]:
        """Every record that parses, oldest first; [] when the file does not exist yet."""
        with self._locked(exclusive=False):
            try:
                stat = os.stat(self.path)
            except FileNotFoundError:
                return []
            key = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
            if self._cache and self._cache[0] == key:
                return list(self._cache[1])
            records = self._parse()
            self._cache = (key, records)
            return list(records)

    def _parse(self) -> list[Record]:
        try:
            text = self.path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return []
        records = []
        for line in text.splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue  # a torn or foreign line: skip it, keep the rest
            if isinstance(record, dict):
                records.append(record)
        return records

    def _rewrite(self, records: list[Record]) -> None:
        fd, temporary = tempfile.mkstemp(prefix=self.path.name, suffix=".tmp", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.writelines(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in records)
            os.chmod(temporary, 0o644)
            os.replace(temporary, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise


def open_state_store(state_dir: str | None, compact: Compactor, *, max_bytes: int = DEFAULT_MAX_BYTES) -> StoreChoice:
    """The store under `state_dir` (STATE_DIR), or memory with the reason.

    The directory must exist already: it is a mounted volume, and creating it would put the state on the
    Space's own disk, which looks persistent but is wiped by the next restart.
    """
    attach = (
        "attach a Storage Bucket to the Space as a volume (Space settings → Volumes, or HfApi.set_space_volumes) "
        "and set STATE_DIR to its mount path, e.g. /data"
    )
    if not state_dir:
        return StoreChoice(
            None,
            "Kept in memory only: lost when the Space restarts (switching hardware restarts it), and each replica "
            f"keeps its own. To keep it, {attach}.",
        )
    directory = Path(state_dir)
    if not directory.is_dir():
        note = (
            f"STATE_DIR={state_dir} is not a directory (is the bucket mounted there?). Kept in memory only; "
            + attach
            + "."
        )
        log.error(note)
        return StoreChoice(None, note)
    store = JsonLinesStore(directory / ACTIVITY_FILE, compact=compact, max_bytes=max_bytes)
    try:
        with store._locked(exclusive=True):
            pass
    except OSError as error:
        note = f"STATE_DIR={state_dir} cannot be written ({error.strerror}); kept in memory only. Mount it read-write."
        log.error(note)
        return StoreChoice(None, note)
    return StoreChoice(
        store,
        f"Kept in {store.path}: survives restarts and is shared by every replica that mounts the same bucket.",
    )
