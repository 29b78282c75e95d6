"""What was done to the Space, by whom, when, with what result: logged and kept for the tab.

Real changes (sent to the Hub, whether it accepted them or not) are kept one by one. Refused attempts are
only counted, per kind of caller, and shown as one summary row: anyone can make them, so they must never
push the owner's real actions out of the list, nor flood the log.

With a store (STATE_DIR, admin/state_store.py) the changes, each replica's start-up diagnostics and the
refused counts (at most one record per REFUSED_LOG_INTERVAL_S) go to a file every replica shares and the
next start reads; without one they live in memory. Either way a start-up is shown next to the change that
caused it: "request hardware a10g-small ... → back at 10:35:02 on a10g-small: torch OK, JAX OK, TF WARN (...)".
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from admin.state_store import JsonLinesStore, Record, open_state_store
from redaction import redact_text
from settings import Settings

log = logging.getLogger("admin.activity")

REFUSED_LOG_INTERVAL_S = 60.0
"""At most one log line (and one stored record) per this many seconds about refused attempts."""
ATTACH_WINDOW = timedelta(hours=1)
"""A start-up this soon after a change that restarts the Space is shown as that change's outcome."""


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
    restarts: bool = False
    """The change restarts the Space (hardware, restart, more replicas): the start-ups after it are its outcome."""
    back: tuple[StartupEntry, ...] = ()
    """The start-ups that followed it (one per replica), e.g. the new hardware's diagnostics."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """What the change was for besides its words, e.g. {"component": "jax", "rule": "out-of-memory", ...}."""

    def as_row(self) -> list[str]:
        result = self.result
        if self.back:
            several = len(self.back) > 1
            result += " → " + "; ".join(start.outcome(with_replica=several) for start in self.back)
        return [_stamp(self.when), self.who, self.action, result]

    def to_record(self, replica: str) -> Record:
        return {
            "kind": "change",
            "when": self.when.isoformat(),
            "who": self.who,
            "action": self.action,
            "result": self.result,
            "ok": self.ok,
            "restarts": self.restarts,
            "replica": replica,
            **({"tags": dict(self.tags)} if self.tags else {}),
        }


@dataclass(frozen=True)
class StartupEntry:
    """One start of the app (one replica), with its start-up diagnostics when they ran."""

    when: datetime
    """UTC time the start-up diagnostics finished (or the app started, without them)."""
    started: datetime
    """UTC time this process started: only a change made before it can have caused this start."""
    replica: str
    """The replica's host name, e.g. "r-alice-self-check-5d8f-x2x7q"."""
    hardware: str
    """The flavor it started on (ACCELERATOR), e.g. "a10g-small"; "cpu" when Spaces name none."""
    summary: str
    """e.g. "torch OK, JAX OK, TF WARN (libcudnn.so.9 not found)"; "" when diagnostics did not run."""
    verdicts: Mapping[str, str] = field(default_factory=dict)
    """Each component's status and rule, e.g. {"jax": "OK ok", "gpu": "WARN gpu-no-gpu"}: what a fix changed."""

    def outcome(self, with_replica: bool = False) -> str:
        where = f"{self.hardware}, replica {self.replica}" if with_replica else self.hardware
        return f"back at {self.when:%H:%M:%S} on {where}: {self.summary or 'started (no start-up diagnostics)'}"

    def as_row(self) -> list[str]:
        return [_stamp(self.when), f"start-up ({self.replica})", f"start on {self.hardware}", self.summary or "started"]

    def to_record(self) -> Record:
        return {
            "kind": "startup",
            "when": self.when.isoformat(),
            "started": self.started.isoformat(),
            "replica": self.replica,
            "hardware": self.hardware,
            "summary": self.summary,
            **({"verdicts": dict(self.verdicts)} if self.verdicts else {}),
        }


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


def _utc(value: object) -> datetime:
    """A stored ISO time as an aware UTC datetime. One without a time zone (a hand edit, another program)
    is taken as UTC, the zone this app writes: compared with aware times it would raise TypeError."""
    when = datetime.fromisoformat(value)  # TypeError for a non-string
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _entry(record: Record) -> ActivityEntry | StartupEntry | None:
    """A stored record back as an entry; None for one this version does not read (or a damaged one)."""
    try:
        when = _utc(record["when"])
        if record["kind"] == "change":
            return ActivityEntry(
                when,
                str(record["who"]),
                str(record["action"]),
                str(record["result"]),
                bool(record["ok"]),
                bool(record.get("restarts", False)),
                tags=_strings(record.get("tags")),
            )
        if record["kind"] == "startup":
            started = _utc(record.get("started") or record["when"])
            return StartupEntry(
                when,
                started,
                str(record["replica"]),
                str(record["hardware"]),
                str(record["summary"]),
                _strings(record.get("verdicts")),
            )
    except (KeyError, TypeError, ValueError, OverflowError):  # OverflowError: year 1 moved to UTC
        pass
    return None


def _strings(value: object) -> dict[str, str]:
    """A stored mapping of words, or {} where there is none (older records) or it is damaged."""
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def timeline(records: list[Record], window: timedelta = ATTACH_WINDOW) -> list[ActivityEntry | StartupEntry]:
    """Changes and start-ups, oldest first, each start-up folded into the latest change that restarts the
    Space made before that process started, when it came within `window` of it; others stand alone."""
    items: list[ActivityEntry | StartupEntry] = []
    cause: int | None = None  # index in items of the latest change that restarts the Space
    for record in records:
        entry = _entry(record)
        if isinstance(entry, ActivityEntry):
            items.append(entry)
            if entry.restarts:
                cause = len(items) - 1
        elif isinstance(entry, StartupEntry):
            change = items[cause] if cause is not None else None
            caused = isinstance(change, ActivityEntry) and change.when <= entry.started
            if caused and entry.when - change.when <= window:
                items[cause] = replace(change, back=(*change.back, entry))
            else:
                items.append(entry)
    return items


def compact_activity(records: list[Record], budget_bytes: int) -> list[Record]:
    """What a grown activity file is rewritten to: every refused count folded into one record, then the
    newest changes and start-ups that fit in `budget_bytes`. Refused attempts cannot push out a change."""
    refused = _fold_refused([r for r in records if r.get("kind") == "refused"])
    kept: list[Record] = []
    size = len(json.dumps(refused)) if refused else 0
    for record in reversed([r for r in records if r.get("kind") in ("change", "startup")]):
        size += len(json.dumps(record, ensure_ascii=False)) + 1
        if size > budget_bytes:
            break
        kept.append(record)
    return ([refused] if refused else []) + kept[::-1]


def _when(record: Record) -> datetime | None:
    try:
        return _utc(record["when"])
    except (KeyError, TypeError, ValueError, OverflowError):
        return None


def _fold_refused(records: list[Record]) -> Record | None:
    """Stored refused counts (each one the attempts since the previous) summed into one record."""
    by_kind: Counter[str] = Counter()
    latest: Record | None = None
    for record in records:
        counts = record.get("by_kind")
        if not isinstance(counts, dict):
            continue
        by_kind.update({str(k): v for k, v in counts.items() if isinstance(v, int) and v > 0})
        latest = record
    if latest is None:
        return None
    return {**latest, "kind": "refused", "by_kind": dict(by_kind)}


class ActivityLog:
    """Real changes, start-ups, and a count of refused attempts, shared by every visitor; thread-safe.

    With a `store` they are read from it (every replica's, across restarts); the last `maxlen` of this
    process are kept in memory too, shown when no store is set or the store cannot be read.
    """

    COLUMNS = ("When", "Who", "What", "Result")

    def __init__(
        self,
        maxlen: int = 100,
        known_secrets: tuple[str | None, ...] = (),
        clock: Callable[[], float] = time.monotonic,
        *,
        store: JsonLinesStore | None = None,
        where: str = "Kept in memory only.",
        replica: str | None = None,
    ):
        self._maxlen = maxlen
        self._records: deque[Record] = deque(maxlen=maxlen)
        self._refused: Counter[str] = Counter()
        self._refused_unsaved: Counter[str] = Counter()
        self._last_refused: tuple[datetime, str, str] | None = None
        self._refused_logged_at: float | None = None
        self._refused_since_log = 0
        self._lock = threading.Lock()
        self._secrets = known_secrets
        self._clock = clock
        self.store = store
        self.where = where
        """One sentence for the Admin tab: where this is kept and whether it survives a restart."""
        self.replica = replica or socket.gethostname()
        self.started = datetime.now(UTC)
        """When this process started, near enough: app.py makes its log while starting."""

    def record(
        self,
        who: str,
        action: str,
        result: str,
        ok: bool,
        *,
        restarts: bool = False,
        tags: Mapping[str, str] | None = None,
    ) -> ActivityEntry:
        """A change an authorised user asked for, sent to the Hub: kept, stored and logged."""
        entry = ActivityEntry(
            datetime.now(UTC),
            who,
            redact_text(action, self._secrets),
            redact_text(result, self._secrets),
            ok,
            restarts,
            tags={k: redact_text(v, self._secrets) for k, v in (tags or {}).items()},
        )
        self._keep(entry.to_record(self.replica))
        log.log(
            logging.INFO if ok else logging.WARNING,
            "admin action by %s: %s -> %s%s",
            entry.who,
            entry.action,
            "" if ok else "FAILED: ",
            entry.result,
        )
        return entry

    def record_startup(
        self, hardware: str | None, summary: str, verdicts: Mapping[str, str] | None = None
    ) -> StartupEntry:
        """This replica started on `hardware`; `summary` is its start-up diagnostics in a line ("" if none ran),
        `verdicts` each component's status and rule."""
        entry = StartupEntry(
            datetime.now(UTC),
            self.started,
            self.replica,
            hardware or "cpu",
            redact_text(summary, self._secrets),
            dict(verdicts or {}),
        )
        self._keep(entry.to_record())
        return entry

    def _keep(self, record: Record) -> None:
        with self._lock:
            self._records.append(record)
        self._store_append(record)

    def _store_append(self, record: Record) -> None:
        if self.store is None:
            return
        try:
            self.store.append(record)
        except OSError as error:  # the bucket went away: the entry is still in memory, the page still works
            log.error("admin: could not write %s (%s); kept in memory only", self.store.path, error.strerror)

    def _stored(self) -> list[Record] | None:
        if self.store is None:
            return None
        try:
            return self.store.read()
        except OSError as error:
            log.error("admin: could not read %s (%s); showing this replica's memory", self.store.path, error.strerror)
            return None

    def refuse(self, kind: str, action: str, reason: str) -> None:
        """A refused attempt: counted under `kind` (a few fixed words: "anonymous", "cross-site", ...)."""
        action, reason = redact_text(action, self._secrets), redact_text(reason, self._secrets)
        now = self._clock()
        with self._lock:
            self._refused[kind] += 1
            self._refused_unsaved[kind] += 1
            when = datetime.now(UTC)
            self._last_refused = (when, action, reason)
            self._refused_since_log += 1
            due = self._refused_logged_at is None or now - self._refused_logged_at >= REFUSED_LOG_INTERVAL_S
            if due:
                count, self._refused_since_log, self._refused_logged_at = self._refused_since_log, 0, now
                unsaved, self._refused_unsaved = dict(self._refused_unsaved), Counter()
        if due:
            log.warning(
                "admin: %d refused attempt(s) since the last report (latest by %s: %s -> %s)",
                count,
                kind,
                action,
                reason,
            )
            self._store_append(
                {
                    "kind": "refused",
                    "when": when.isoformat(),
                    "by_kind": unsaved,
                    "last_action": action,
                    "last_reason": reason,
                    "replica": self.replica,
                }
            )

    def entries(self) -> list[ActivityEntry]:
        """Real changes, newest first."""
        return [item for item in self._timeline() if isinstance(item, ActivityEntry)]

    def timeline(self) -> list[ActivityEntry | StartupEntry]:
        """Changes (each with the start-ups it caused) and other start-ups, newest first, at most `maxlen`."""
        return self._timeline()

    def _timeline(self) -> list[ActivityEntry | StartupEntry]:
        """Newest first, at most `maxlen` items."""
        stored = self._stored()
        if stored is None:
            with self._lock:
                stored = list(self._records)
        return timeline(stored)[::-1][: self._maxlen]

    def refused(self) -> RefusedSummary | None:
        """Every refused attempt known: stored by any replica, plus this process's not yet stored."""
        folded = _fold_refused([r for r in self._stored() or [] if r.get("kind") == "refused"])
        with self._lock:
            counts = Counter(self._refused) if self.store is None else Counter(self._refused_unsaved)
            last = self._last_refused
        if folded:
            counts.update(folded["by_kind"])
            stored_when = _when(folded)
            if stored_when is not None and (last is None or stored_when > last[0]):
                last = (stored_when, str(folded.get("last_action", "")), str(folded.get("last_reason", "")))
        if last is None or not counts:
            return None
        when, action, reason = last
        return RefusedSummary(sum(counts.values()), dict(counts), when, action, reason)

    def rows(self) -> list[list[str]]:
        """The refused-attempts summary (when there is one) first, then changes and start-ups, newest first."""
        summary = self.refused()
        return ([summary.as_row()] if summary else []) + [item.as_row() for item in self._timeline()]


def activity_log(settings: Settings) -> ActivityLog:
    """The app's one activity log: in STATE_DIR when it is a mounted directory, else in memory (saying why)."""
    choice = open_state_store(settings.state_dir, compact_activity)
    return ActivityLog(known_secrets=(settings.hf_token,), store=choice.store, where=choice.note)
