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
