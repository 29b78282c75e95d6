"""STATE_DIR: the activity file every replica shares, against several real processes writing at once."""

from __future__ import annotations

import json
import multiprocessing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from admin.activity import ActivityLog, activity_log, compact_activity, timeline
from admin.state_store import ACTIVITY_FILE, JsonLinesStore, open_state_store
from settings import load_settings

TOKEN = "hf_" + "Zx" * 17
WRITERS, PER_WRITER = 4, 300
LINE_PAD = "x" * 600  # longer than PIPE_BUF: no small-write atomicity to lean on


def _change(writer: int, n: int) -> dict:
    return {"kind": "change", "when": datetime.now(UTC).isoformat(), "who": f"w{writer}", "n": n, "pad": LINE_PAD}


def _write_many(path: str, writer: int, count: int) -> None:
    store = JsonLinesStore(Path(path), compact=compact_activity, max_bytes=10**9)
    for n in range(count):
        store.append(_change(writer, n))


def test_writers_in_separate_processes_never_corrupt_the_file(tmp_path: Path) -> None:
    """4 processes append 300 long lines each at once: every line parses, none lost, each writer's in order.

    (On a local disk one O_APPEND write per line already holds this; what only the lock holds, appends
    racing a compaction, is the next test, which loses lines with the lock taken out.)"""
    path = tmp_path / ACTIVITY_FILE
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_write_many, args=(str(path), w, PER_WRITER)) for w in range(WRITERS)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
        assert worker.exitcode == 0
    lines = path.read_text().splitlines()
    assert len(lines) == WRITERS * PER_WRITER
    records = [json.loads(line) for line in lines]  # raises on any torn or interleaved line
    for writer in range(WRITERS):
        assert [r["n"] for r in records if r["who"] == f"w{writer}"] == list(range(PER_WRITER))


def _write_and_compact(path: str, writer: int, count: int) -> None:
    store = JsonLinesStore(Path(path), compact=compact_activity, max_bytes=20_000)
    for n in range(count):
        store.append(_change(writer, n))
        store.append({"kind": "refused", "when": datetime.now(UTC).isoformat(), "by_kind": {"anonymous": 1}})


def test_compaction_while_others_append_keeps_the_newest_and_every_refused_count(tmp_path: Path) -> None:
    """Writers past the size limit in 3 processes: the file stays bounded, the latest changes survive,
    and the refused counts (folded into one record) still add up to every attempt."""
    path = tmp_path / ACTIVITY_FILE
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_write_and_compact, args=(str(path), w, 150)) for w in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
        assert worker.exitcode == 0
    assert path.stat().st_size <= 20_000 + 2_000
    records = JsonLinesStore(path, compact=compact_activity).read()
    refused = [r for r in records if r["kind"] == "refused"]
    assert sum(r["by_kind"]["anonymous"] for r in refused) == 3 * 150
    changes = [r for r in records if r["kind"] == "change"]
    assert changes, "compaction must keep the newest changes"
    assert changes[-1]["n"] == 149, "the last change written is kept"
    for writer in range(3):
        kept = [r["n"] for r in changes if r["who"] == f"w{writer}"]
        assert kept == list(range(kept[0], kept[0] + len(kept))) if kept else True, "a suffix, no holes"


def test_refused_attempts_never_push_out_a_change_when_the_file_is_compacted(tmp_path: Path) -> None:
    """One owner change, then 5,000 refused attempts past the size limit: the change is still listed."""
    store = JsonLinesStore(tmp_path / ACTIVITY_FILE, compact=compact_activity, max_bytes=4_000)
    activity = ActivityLog(store=store, clock=iter(range(0, 10**9, 61)).__next__)  # every refusal is stored
    activity.record("alice", "request hardware a10g-small", "Requested a10g-small.", ok=True, restarts=True)
    for _ in range(5_000):
        activity.refuse("anonymous", "pause the Space", "Sign in with Hugging Face to manage this Space.")
    assert (tmp_path / ACTIVITY_FILE).stat().st_size <= 4_000
    [entry] = ActivityLog(store=store).entries()
    assert entry.action == "request hardware a10g-small"
    assert ActivityLog(store=store).refused().total == 5_000


def test_a_new_process_reads_the_change_and_attaches_its_start_up_diagnostics(tmp_path: Path) -> None:
    """The restart in miniature: log A records a switch, log B (the next start) records its diagnostics."""
    settings = load_settings({"STATE_DIR": str(tmp_path), "HF_TOKEN": TOKEN})
    before = activity_log(settings)
    before.record_startup("cpu-basic", "GPU WARN (no NVIDIA GPU), torch OK")
    before.record("alice", "request hardware a10g-small", f"Requested a10g-small ({TOKEN}).", ok=True, restarts=True)
    after = activity_log(settings)
    after.record_startup("a10g-small", f"torch OK, JAX OK, TF WARN (libcudnn.so.9 missing; {TOKEN})")
    change, first_start = after._timeline()
    assert change.action == "request hardware a10g-small"
    [back] = change.back
    assert back.hardware == "a10g-small"
    row = change.as_row()
    assert "→ back at" in row[3] and "on a10g-small: torch OK, JAX OK, TF WARN (libcudnn.so.9 missing" in row[3]
    assert first_start.hardware == "cpu-basic" and not getattr(first_start, "back", ())  # before the change
    assert TOKEN not in (tmp_path / ACTIVITY_FILE).read_text()


def test_a_start_long_after_the_change_stands_alone() -> None:
    """A rebuild a day later is not the switch's outcome, nor a start-up of a process already running."""
    change_at = datetime(2026, 11, 29, 10, 32, tzinfo=UTC)
    records = [
        {"kind": "change", "when": change_at.isoformat(), "who": "alice", "action": "request hardware t4-small",
         "result": "Requested t4-small.", "ok": True, "restarts": True},
        {"kind": "startup", "when": (change_at + timedelta(minutes=1)).isoformat(), "replica": "r0",
         "started": (change_at - timedelta(minutes=5)).isoformat(), "hardware": "cpu-basic", "summary": "torch OK"},
        {"kind": "startup", "when": (change_at + timedelta(minutes=3)).isoformat(), "replica": "r1",
         "started": (change_at + timedelta(minutes=2)).isoformat(), "hardware": "t4-small", "summary": "torch OK"},
        {"kind": "startup", "when": (change_at + timedelta(days=1)).isoformat(), "replica": "r2",
         "hardware": "t4-small", "summary": "torch OK"},
    ]
    change, running, later = timeline(records)
    assert [start.replica for start in change.back] == ["r1"]
    assert running.replica == "r0"
    assert "back at 10:35:00 on t4-small: torch OK" in change.as_row()[3]
    assert later.replica == "r2"


def test_damaged_lines_are_skipped_not_fatal(tmp_path: Path) -> None:
    path = tmp_path / ACTIVITY_FILE
    good = {"kind": "change", "when": datetime.now(UTC).isoformat(), "who": "alice", "action": "pause the Space",
            "result": "Paused.", "ok": True}
    path.write_text(json.dumps(good) + "\n" + '{"kind": "chan' + "\n" + "[1, 2]\n" + json.dumps({"kind": "x"}) + "\n")
    [entry] = ActivityLog(store=JsonLinesStore(path, compact=compact_activity)).entries()
    assert entry.action == "pause the Space"


@pytest.mark.parametrize("state_dir", [None, "/nonexistent/bucket"])
def test_without_a_mounted_directory_the_state_is_in_memory_and_the_tab_says_so(state_dir: str | None) -> None:
    choice = open_state_store(state_dir, compact_activity)
    assert choice.store is None
    assert "memory only" in choice.note and "STATE_DIR" in choice.note and "set_space_volumes" in choice.note
    if state_dir:
        assert not Path(state_dir).exists(), "the directory must not be created on the Space's own disk"


# What a bucket file holds is not only what this version wrote: an older version, a hand edit, a crash,
# another program or a planted file. Each case below once broke every Admin tab load or lost records.


def _pause_record(when: str, who: str = "alice") -> dict:
    return {"kind": "change", "when": when, "who": who, "action": "pause the Space", "result": "Paused.", "ok": True}


def test_a_time_without_a_time_zone_is_read_as_utc_not_fatal(tmp_path: Path) -> None:
    """One record with a naive time among aware ones: rows() used to raise TypeError on every tab load."""
    path = tmp_path / ACTIVITY_FILE
    records = [
        _pause_record("2026-12-01T10:00:00+00:00", "bob"),
        {"kind": "change", "when": "2026-12-01T10:05:00", "who": "alice", "action": "request hardware t4-small",
         "result": "Requested t4-small.", "ok": True, "restarts": True},
        {"kind": "startup", "when": "2026-12-01T10:07:00+00:00", "started": "2026-12-01T10:06:00", "replica": "r1",
         "hardware": "t4-small", "summary": "torch OK"},
        {"kind": "refused", "when": "2026-12-01T10:08:00", "by_kind": {"anonymous": 2},
         "last_action": "pause the Space", "last_reason": "Sign in."},
        _pause_record("2026-12-01T12:09:00+02:00", "carol"),  # another zone: shown in UTC, in order
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    activity = ActivityLog(store=JsonLinesStore(path, compact=compact_activity))
    activity.refuse("anonymous", "pause the Space", "Sign in.")
    rows = activity.rows()
    assert rows[0][1] == "refused callers (anonymous 3)"
    assert [row[:2] for row in rows[1:]] == [
        ["2026-12-01 10:09:00 UTC", "carol"],
        ["2026-12-01 10:05:00 UTC", "alice"],
        ["2026-12-01 10:00:00 UTC", "bob"],
    ]
    assert "→ back at 10:07:00 on t4-small: torch OK" in rows[2][3]


def test_a_file_ending_in_a_torn_line_costs_that_line_only(tmp_path: Path) -> None:
    """A crash mid-write leaves no newline at the end: the next record starts a line of its own."""
    path = tmp_path / ACTIVITY_FILE
    path.write_text(json.dumps(_pause_record("2026-12-01T10:00:00+00:00", "bob")) + "\n" + '{"kind": "chan')
    store = JsonLinesStore(path, compact=compact_activity)
    store.append(_pause_record("2026-12-01T10:01:00+00:00", "alice"))
    assert [r["who"] for r in store.read()] == ["bob", "alice"]
    assert path.read_text().endswith('{"kind": "chan\n' + json.dumps(store.read()[-1], separators=(",", ":")) + "\n")


def test_a_line_holding_a_unicode_line_separator_is_one_record(tmp_path: Path) -> None:
    """JSON may carry U+2028 unescaped (a Hub error text can hold one): lines are split at "\\n" only."""
    store = JsonLinesStore(tmp_path / ACTIVITY_FILE, compact=compact_activity)
    store.append({**_pause_record("2026-12-01T10:00:00+00:00"), "result": "Paused.\u2028Then\u0085more\x0c."})
    [record] = store.read()
    assert record["result"] == "Paused.\u2028Then\u0085more\x0c."


def test_a_deeply_nested_line_is_skipped_not_fatal(tmp_path: Path) -> None:
    path = tmp_path / ACTIVITY_FILE
    path.write_text("[" * 100_000 + "\n" + json.dumps(_pause_record("2026-12-01T10:00:00+00:00")) + "\n")
    assert [r["who"] for r in JsonLinesStore(path, compact=compact_activity).read()] == ["alice"]


def test_a_symlink_in_place_of_the_file_is_refused_and_its_target_untouched(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.txt"
    target.write_text("not yours\n")
    (tmp_path / ACTIVITY_FILE).symlink_to(target)
    store = JsonLinesStore(tmp_path / ACTIVITY_FILE, compact=compact_activity)
    with pytest.raises(OSError, match="not a regular file"):
        store.append(_pause_record("2026-12-01T10:00:00+00:00"))
    with pytest.raises(OSError, match="not a regular file"):
        store.read()
    assert target.read_text() == "not yours\n"
    choice = open_state_store(str(tmp_path), compact_activity)
    assert choice.store is None and "not a regular file" in choice.note and "memory only" in choice.note


def test_a_symlink_in_place_of_the_lock_file_is_refused_and_its_target_not_created(tmp_path: Path) -> None:
    (tmp_path / (ACTIVITY_FILE + ".lock")).symlink_to(tmp_path / "created-elsewhere")
    store = JsonLinesStore(tmp_path / ACTIVITY_FILE, compact=compact_activity)
    with pytest.raises(OSError, match="not a regular file"):
        store.append(_pause_record("2026-12-01T10:00:00+00:00"))
    assert not (tmp_path / "created-elsewhere").exists()


def test_a_fifo_in_place_of_the_file_is_refused_without_blocking(tmp_path: Path) -> None:
    """Opening a FIFO for reading waits for a writer forever: the tab would hang on it."""
    import os
    import threading

    os.mkfifo(tmp_path / ACTIVITY_FILE)
    store = JsonLinesStore(tmp_path / ACTIVITY_FILE, compact=compact_activity)
    errors: list[BaseException] = []

    def read_and_append() -> None:
        for attempt in (store.read, lambda: store.append(_pause_record("2026-12-01T10:00:00+00:00"))):
            try:
                attempt()
            except OSError as error:
                errors.append(error)

    reader = threading.Thread(target=read_and_append, daemon=True)
    reader.start()
    reader.join(10)
    assert not reader.is_alive(), "the reader blocked on the FIFO"
    assert len(errors) == 2 and all("not a regular file" in str(error) for error in errors), errors


def test_the_activity_log_shows_memory_when_the_store_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / ACTIVITY_FILE).symlink_to(tmp_path / "elsewhere")
    activity = ActivityLog(store=JsonLinesStore(tmp_path / ACTIVITY_FILE, compact=compact_activity))
    activity.record("alice", "pause the Space", "Paused.", ok=True)
    assert [entry.who for entry in activity.entries()] == ["alice"]
    assert not (tmp_path / "elsewhere").exists()


def test_compaction_keeps_the_files_mode(tmp_path: Path) -> None:
    """A bucket file the owner made private (0600) stays private once rewritten."""
    path = tmp_path / ACTIVITY_FILE
    path.write_text("")
    path.chmod(0o600)
    store = JsonLinesStore(path, compact=compact_activity, max_bytes=2_000)
    for n in range(40):
        store.append({**_pause_record("2026-12-01T10:00:00+00:00"), "n": n})
    assert path.stat().st_size <= 2_000
    assert store.read()[-1]["n"] == 39, "compacted"
    assert path.stat().st_mode & 0o777 == 0o600


def test_a_huge_file_is_read_from_its_end_only(tmp_path: Path) -> None:
    """A file far past the size limit (a stuck compaction, something else's file) is not read whole on every
    tab load: the newest records, at its end, are read; the next append compacts it back under the limit."""
    path = tmp_path / ACTIVITY_FILE
    old = json.dumps(_pause_record("2026-12-01T09:00:00+00:00", "old")) + "\n"
    new = json.dumps(_pause_record("2026-12-01T10:00:00+00:00", "new")) + "\n"
    with path.open("w") as out:
        out.write(old)
        out.write(("x" * 1_000 + "\n") * 40_000)  # 40 MB
        out.write(new)
    store = JsonLinesStore(path, compact=compact_activity, max_bytes=100_000)
    assert [r["who"] for r in store.read()] == ["new"]
    store.append(_pause_record("2026-12-01T10:01:00+00:00", "newest"))
    assert path.stat().st_size <= 100_000
    assert [r["who"] for r in store.read()] == ["new", "newest"]


def test_a_binary_file_is_skipped_and_the_next_record_still_reads(tmp_path: Path) -> None:
    import os

    path = tmp_path / ACTIVITY_FILE
    path.write_bytes(os.urandom(300_000).replace(b"\n", b"\0"))
    store = JsonLinesStore(path, compact=compact_activity)
    assert store.read() == []
    store.append(_pause_record("2026-12-01T10:00:00+00:00"))
    assert [r["who"] for r in store.read()] == ["alice"]


def test_a_lock_held_too_long_fails_the_read_instead_of_hanging_the_tab(tmp_path: Path) -> None:
    """A replica stuck holding the lock (a hung mount mid-write): the tab shows this replica's memory after
    `lock_wait_s` instead of waiting for ever, and the store works again once the lock is free."""
    import fcntl
    import os
    import threading
    import time

    store = JsonLinesStore(tmp_path / ACTIVITY_FILE, compact=compact_activity, lock_wait_s=0.5)
    store.append(_pause_record("2026-12-01T10:00:00+00:00", "stored"))
    holder = os.open(tmp_path / (ACTIVITY_FILE + ".lock"), os.O_WRONLY)  # another open file: flock conflicts
    fcntl.flock(holder, fcntl.LOCK_EX)
    activity = ActivityLog(store=store)
    rows: list = []
    started = time.monotonic()
    loader = threading.Thread(target=lambda: rows.extend(activity.rows()), daemon=True)
    loader.start()
    loader.join(10)
    assert not loader.is_alive(), "the tab load waited for the lock"
    assert time.monotonic() - started < 5
    assert rows == []  # this process's memory: nothing recorded here yet
    fcntl.flock(holder, fcntl.LOCK_UN)
    os.close(holder)
    assert [r["who"] for r in store.read()] == ["stored"]


def test_a_lock_held_at_start_is_reported_not_waited_on_for_ever(tmp_path: Path) -> None:
    import fcntl
    import os

    holder = os.open(tmp_path / (ACTIVITY_FILE + ".lock"), os.O_WRONLY | os.O_CREAT)
    fcntl.flock(holder, fcntl.LOCK_EX)
    try:
        choice = open_state_store(str(tmp_path), compact_activity, lock_wait_s=0.3)
    finally:
        os.close(holder)
    assert choice.store is None and "still locked after 0.3 s" in choice.note and "memory only" in choice.note
