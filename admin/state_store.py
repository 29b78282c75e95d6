"""Admin state that outlives the process: one JSON-lines file under STATE_DIR, shared by every replica.

A Space's own disk is lost on every restart, and switching hardware restarts it: the record of the switch
would be lost by the restart it causes. A Storage Bucket mounted as a volume (e.g. at /data) survives, and
every replica of the Space sees the same one, so the file lives there.

Writers append one whole line per record, one at a time: an exclusive `fcntl.flock` on a lock file beside
the data file (never replaced, so a waiting writer never ends up holding a lock on a file compaction has
swapped out). Readers take the shared lock and skip any line that does not parse, so a line torn by a
crash, or by a mount that does not honour locks across machines, costs that line and nothing else: a
writer that finds the file not ending in a newline starts its record on a new line.

What is in the bucket may not be what this app wrote (a hand edit, another program, a planted file), so
both files are opened without following a symbolic link and refused unless they are regular files (a FIFO
would block the reader forever), a reader reads at most the last `2 * max_bytes` of the file, and nobody
waits more than `lock_wait_s` for the lock.

Growth is bounded: past `max_bytes` the writer holding the lock rewrites the file through `compact`
(a pure function of the records and a byte budget, half of `max_bytes`) into a temporary file with the
old file's mode and renames it over the old one.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import logging
import os
import stat
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

log = logging.getLogger("admin.state")

ACTIVITY_FILE = "admin-activity.jsonl"
DEFAULT_MAX_BYTES = 512 * 1024
"""A bucket file the app reads whole on a page load stays small: about 2,000 records."""
NEW_FILE_MODE = 0o644
LOCK_WAIT_S = 5.0
"""Longest a reader or writer waits for the lock (a replica stuck mid-write on a hung mount): then the call
fails with TimeoutError, and the Admin tab shows this replica's memory instead of hanging."""
LOCK_POLL_S = 0.01

Record = dict
Compactor = Callable[[list[Record], int], list[Record]]
"""(every record, byte budget) -> the records to keep, within about that many bytes."""


class NotARegularFile(OSError):
    """A symbolic link, FIFO, device or directory where a state file belongs: never followed, read or written."""

    def __init__(self, code: int, path: Path):
        super().__init__(
            code,
            "not a regular file (a symbolic link, FIFO or device in its place): refused; "
            "remove it and the app makes a new file",
            str(path),
        )


@dataclass(frozen=True)
class StoreChoice:
    """Where the admin state lives, for the log and the Admin tab."""

    store: JsonLinesStore | None
    """None: memory only."""
    note: str
    """One sentence for the Admin tab, e.g. "Kept in /data/admin-activity.jsonl: survives restarts ..."."""


class JsonLinesStore:
    """One JSON-lines file: `append` one record, `read` them all (oldest first); safe across processes."""

    def __init__(
        self,
        path: Path,
        *,
        compact: Compactor,
        max_bytes: int = DEFAULT_MAX_BYTES,
        lock_wait_s: float = LOCK_WAIT_S,
    ):
        self.path = Path(path)
        self._lock = FileLock(self.path.with_name(self.path.name + ".lock"), lock_wait_s)
        self._compact = compact
        self._max_bytes = max_bytes
        self._read_limit = 2 * max_bytes  # room for what writers add past max_bytes before one compacts
        self._cache: tuple[tuple[int, int, int], list[Record]] | None = None

    def __repr__(self) -> str:
        return f"JsonLinesStore({str(self.path)!r})"

    def append(self, record: Record) -> None:
        """Add one record (JSON-ready, already scrubbed of secrets); compacts the file when it grew too big."""
        line = (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
        with self._lock.held(exclusive=True):
            fd = open_regular(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT)
            try:
                size = os.fstat(fd).st_size
                if size and os.pread(fd, 1, size - 1) != b"\n":
                    line = b"\n" + line  # the last line was torn: it stays alone, and this one whole
                # O_APPEND and one write per line: even a writer that ignores the lock cannot interleave inside it.
                os.write(fd, line)
                after = os.fstat(fd)
                if after.st_size > self._max_bytes:
                    kept = self._compact(self._records_in(fd, after.st_size), self._max_bytes // 2)
                    self._rewrite(kept, stat.S_IMODE(after.st_mode))
            finally:
                os.close(fd)

    def read(self) -> list[Record]:
        """Every record that parses, oldest first; [] when the file does not exist yet."""
        with self._lock.held(exclusive=False):
            try:
                fd = open_regular(self.path, os.O_RDONLY)
            except FileNotFoundError:
                return []
            try:
                info = os.fstat(fd)
                key = (info.st_ino, info.st_size, info.st_mtime_ns)
                if self._cache and self._cache[0] == key:
                    return list(self._cache[1])
                records = self._records_in(fd, info.st_size)
            finally:
                os.close(fd)
            self._cache = (key, records)
            return list(records)

    def _records_in(self, fd: int, size: int) -> list[Record]:
        """The records in the file's last `_read_limit` bytes: a file grown far past its limit (something
        else's file, a compaction that kept failing) costs a page load no more than a full one."""
        start = max(0, size - self._read_limit)
        if start:
            log.warning("admin: %s is %d bytes; reading its last %d only", self.path, size, self._read_limit)
            # One byte before the cut: the partial line up to the first newline is dropped, a whole one kept.
            data = os.pread(fd, size - start + 1, start - 1).partition(b"\n")[2]
        else:
            data = os.pread(fd, size, 0)
        return parse_lines(data)

    def _rewrite(self, records: list[Record], mode: int) -> None:
        lines = [json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in records]
        replace_whole(self.path, lambda out: out.writelines(lines), mode)


class FileLock:
    """An `fcntl.flock` on a lock file beside a state file (never replaced, so a waiting process never ends up
    holding a lock on a file that was swapped out), opened like the state files (no link followed, only a
    regular file), queued first among this process's threads (flock is per open file), and given up after
    `wait_s` with TimeoutError: a replica stuck mid-write on a hung mount must not hang every other."""

    def __init__(self, path: Path, wait_s: float = LOCK_WAIT_S):
        self.path = Path(path)
        self.wait_s = wait_s
        self._thread_lock = threading.Lock()

    @contextlib.contextmanager
    def held(self, exclusive: bool = True) -> Iterator[None]:
        deadline = time.monotonic() + self.wait_s
        if not self._thread_lock.acquire(timeout=self.wait_s):
            raise self._waited_too_long()
        try:
            lock = open_regular(self.path, os.O_WRONLY | os.O_CREAT)
            try:
                # Polled, not blocking: a blocking flock cannot be given up.
                while not _try_flock(lock, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH):
                    if time.monotonic() >= deadline:
                        raise self._waited_too_long()
                    time.sleep(LOCK_POLL_S)
                yield
            finally:
                os.close(lock)  # releases the flock
        finally:
            self._thread_lock.release()

    def _waited_too_long(self) -> TimeoutError:
        return TimeoutError(errno.ETIMEDOUT, f"still locked after {self.wait_s:g} s", str(self.path))


def replace_whole(path: Path, write: Callable[[TextIO], object], mode: int) -> None:
    """A new `path` written by `write` into a temporary file beside it, synced, then renamed over it: a crash
    leaves the old file or the new one, never half. `mode` is the file's: one the owner made private (0600)
    stays private."""
    fd, temporary = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            write(out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _try_flock(fd: int, operation: int) -> bool:
    try:
        fcntl.flock(fd, operation | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def parse_lines(data: bytes) -> list[Record]:
    """The JSON objects among `data`'s lines, skipping any line that is not one (torn, foreign, binary).

    Lines end at "\n" only: JSON may hold U+2028 or a form feed unescaped inside a string."""
    records = []
    for line in data.split(b"\n"):
        try:
            record = json.loads(line.decode("utf-8", errors="replace"))
        except (ValueError, RecursionError):  # RecursionError: a line of 100,000 "["
            continue
        if isinstance(record, dict):
            records.append(record)
    return records


def open_regular(path: Path, flags: int) -> int:
    """`os.open(path, flags)` that refuses a symbolic link, FIFO, device or directory with a clear OSError;
    a new file gets NEW_FILE_MODE. Never blocks: a FIFO opened for reading would wait for a writer."""
    try:
        fd = os.open(path, flags | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, NEW_FILE_MODE)
    except OSError as error:
        # ELOOP: a symbolic link (O_NOFOLLOW); ENXIO: a FIFO nobody reads; EISDIR: a directory.
        if error.errno in (errno.ELOOP, errno.ENXIO, errno.EISDIR):
            raise NotARegularFile(error.errno, path) from None
        raise
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise NotARegularFile(errno.EINVAL, path)
    return fd


def open_state_store(
    state_dir: str | None,
    compact: Compactor,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    lock_wait_s: float = LOCK_WAIT_S,
) -> StoreChoice:
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
    store = JsonLinesStore(directory / ACTIVITY_FILE, compact=compact, max_bytes=max_bytes, lock_wait_s=lock_wait_s)
    try:
        with store._lock.held(exclusive=True), contextlib.suppress(FileNotFoundError):
            os.close(open_regular(store.path, os.O_RDONLY))
    except NotARegularFile as error:
        note = f"{error.filename} is {error.strerror}. Kept in memory only: restart the Space once it is removed."
        log.error(note)
        return StoreChoice(None, note)
    except TimeoutError as error:
        note = f"{error.filename} is {error.strerror} (a replica stuck on a hung mount?). Kept in memory only."
        log.error(note)
        return StoreChoice(None, note)
    except OSError as error:
        note = f"STATE_DIR={state_dir} cannot be written ({error.strerror}); kept in memory only. Mount it read-write."
        log.error(note)
        return StoreChoice(None, note)
    return StoreChoice(
        store,
        f"Kept in {store.path}: survives restarts and is shared by every replica that mounts the same bucket.",
    )
