"""The Space's live metrics and run log, read from the Hub for the owner by one background reader per process.

The Hub streams a Space's metrics as server-sent events at GET /api/spaces/{id}/metrics: one `event: metric`
a second per replica, `data: {"cpu_usage_pct", "memory_used_bytes", "memory_total_bytes",
"gpus": {id: {"utilization", "memory_used_bytes", "memory_total_bytes"}}, "replica"}`, and `: keep-alive`
comments. huggingface_hub 2.4 has no method for it, so it is read with the library's own session, headers and
error handling. The run log comes from `HfApi.fetch_space_logs`.

Every read spends the owner's token, so nothing here runs for a visitor: `LiveReader.look` is asked only
after the owner check (admin/live/service.py), `look` starts the reader when it is not running, and the
reader stops by itself once nobody has looked for `idle_stop_s`. A failed read is not retried before the Hub's
Retry-After (or `failure_backoff_s`), however often the owner looks.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import httpx2
from huggingface_hub.utils import build_hf_headers, get_session, hf_raise_for_status

from admin.hub import AdminError, HubClient, map_error
from admin.remembered import FAILURE_BACKOFF_S
from redaction import redact_text, secret_values

log = logging.getLogger("admin.metrics")

WINDOW_S = 300.0
"""How far back the plots reach: the last five minutes."""
LOG_TAIL_LINES = 200
"""How many of the run log's last lines the tab shows."""
IDLE_STOP_S = 30.0
"""The reader stops when no owner has looked for this long (the tab looks every REFRESH_S while open)."""
REFRESH_S = 2.0
"""The tab's refresh period while the owner has it open."""
LOG_POLL_S = 10.0
"""Seconds between two reads of the run log."""
STREAM_TIMEOUT_S = 10.0
"""A metrics stream silent this long (no event, no keep-alive) is dropped and opened again while wanted."""
MAX_SAMPLES = 5_000
"""Samples kept at most, whatever the number of replicas (5 min at 1/s is 300 per replica)."""


@dataclass(frozen=True)
class MetricSample:
    """One replica's metrics at one second, as the Hub streamed them."""

    at: float
    """Wall-clock time it arrived (seconds since the epoch): the Hub's events carry no time."""
    replica: str
    """The replica's id, e.g. "57vr7"."""
    cpu_pct: float | None
    """CPU use in percent of the replica's CPUs, e.g. 12.5."""
    memory_used_bytes: int | None
    memory_total_bytes: int | None
    gpu_utilization_pct: float | None
    """Mean utilisation of the replica's GPUs in percent; None without a GPU."""
    gpu_memory_used_bytes: int | None
    """Summed over the replica's GPUs; None without a GPU."""
    gpu_memory_total_bytes: int | None


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _bytes(value: object) -> int | None:
    number = _number(value)
    return int(number) if number is not None else None


def parse_metric(data: Mapping, at: float) -> MetricSample | None:
    """A sample from one event's JSON; None when it names no replica (then it cannot be placed on a line)."""
    replica = data.get("replica")
    if not isinstance(replica, str) or not replica:
        return None
    listed = data.get("gpus")
    gpus = [gpu for gpu in listed.values() if isinstance(gpu, Mapping)] if isinstance(listed, Mapping) else []
    utilizations = [u for u in (_number(gpu.get("utilization")) for gpu in gpus) if u is not None]
    used = [b for b in (_bytes(gpu.get("memory_used_bytes")) for gpu in gpus) if b is not None]
    total = [b for b in (_bytes(gpu.get("memory_total_bytes")) for gpu in gpus) if b is not None]
    return MetricSample(
        at=at,
        replica=replica[:64],
        cpu_pct=_number(data.get("cpu_usage_pct")),
        memory_used_bytes=_bytes(data.get("memory_used_bytes")),
        memory_total_bytes=_bytes(data.get("memory_total_bytes")),
        gpu_utilization_pct=sum(utilizations) / len(utilizations) if utilizations else None,
        gpu_memory_used_bytes=sum(used) if used else None,
        gpu_memory_total_bytes=sum(total) if total else None,
    )


@dataclass(frozen=True)
class LiveView:
    """What the tab shows at one refresh."""

    samples: tuple[MetricSample, ...]
    """The last WINDOW_S of samples, oldest first."""
    log_lines: tuple[str, ...]
    """The run log's last lines, scrubbed of secrets."""
    metrics_problem: str | None
    """Why the metrics are not streaming (a clear message), or None."""
    log_problem: str | None
    log_read_at: float | None
    """Wall-clock time of the last successful run-log read."""


class LiveReader(HubClient):
    """One per process, shared by every owner's session: at most one metrics stream and one log reader."""

    def __init__(
        self,
        repo_id: str,
        token: str,
        *,
        endpoint: str | None = None,
        window_s: float = WINDOW_S,
        idle_stop_s: float = IDLE_STOP_S,
        log_poll_s: float = LOG_POLL_S,
        failure_backoff_s: float = FAILURE_BACKOFF_S,
        stream_timeout_s: float = STREAM_TIMEOUT_S,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ):
        super().__init__(repo_id, token, endpoint=endpoint)
        self.repo_id = repo_id
        self._secrets = [token, *secret_values(os.environ)]
        self._window_s = window_s
        self._idle_stop_s = idle_stop_s
        self._log_poll_s = log_poll_s
        self._failure_backoff_s = failure_backoff_s
        self._stream_timeout_s = stream_timeout_s
        self._clock = clock
        self._wall = wall
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._looked_at: float | None = None
        self._samples: deque[MetricSample] = deque(maxlen=MAX_SAMPLES)
        self._log_lines: tuple[str, ...] = ()
        self._log_read_at: float | None = None
        self._problems: dict[str, AdminError] = {}
        self._threads: dict[str, threading.Thread] = {}
        self._closed = False

    def __repr__(self) -> str:
        return f"LiveReader(repo_id={self.repo_id!r}, endpoint={self._api.endpoint!r})"

    # What the tab calls, after the owner check.

    def look(self) -> LiveView:
        """Note that the owner is looking, start the reader if it is not running, and return what it has."""
        with self._lock:
            self._looked_at = self._clock()
            if not self._closed:
                for name, loop in (("metrics", self._metrics_loop), ("logs", self._logs_loop)):
                    thread = self._threads.get(name)
                    if thread is None or not thread.is_alive():
                        thread = threading.Thread(target=loop, name=f"admin-live-{name}", daemon=True)
                        self._threads[name] = thread
                        thread.start()
            return self._view()

    def running(self) -> list[str]:
        """Which loops are running now ("metrics", "logs"), for tests and the tab's status line."""
        with self._lock:
            return sorted(name for name, thread in self._threads.items() if thread.is_alive())

    def close(self, timeout_s: float = 5.0) -> None:
        """Stop both loops and wait for them (the app's shutdown and tests)."""
        with self._lock:
            self._closed = True
            self._wake.notify_all()
            threads = list(self._threads.values())
        for thread in threads:
            thread.join(timeout_s)

    def _view(self) -> LiveView:
        cutoff = self._wall() - self._window_s
        problems = {name: error.message for name, error in self._problems.items()}
        return LiveView(
            samples=tuple(sample for sample in self._samples if sample.at >= cutoff),
            log_lines=self._log_lines,
            metrics_problem=problems.get("metrics"),
            log_problem=problems.get("logs"),
            log_read_at=self._log_read_at,
        )

    # The loops: each runs while someone looked less than idle_stop_s ago.

    def _wanted(self) -> bool:
        """Called with the lock held."""
        return not self._closed and self._looked_at is not None and self._clock() - self._looked_at < self._idle_stop_s

    def _wait(self, seconds: float) -> bool:
        """Sleep up to `seconds` (woken early by close); whether the loop should go on."""
        deadline = self._clock() + seconds
        with self._lock:
            while self._wanted() and (left := deadline - self._clock()) > 0:
                self._wake.wait(min(left, 1.0))
            return self._wanted()

    def _still_wanted(self) -> bool:
        with self._lock:
            return self._wanted()

    def _failed(self, name: str, error: AdminError) -> float:
        """Keep the failure for the tab; how long to wait before the next try."""
        with self._lock:
            first = name not in self._problems or self._problems[name].message != error.message
            self._problems[name] = error
        if first:
            log.warning("live %s for %s: %s", name, self.repo_id, error.message)
        return max(self._failure_backoff_s, error.retry_after_s or 0.0)

    def _succeeded(self, name: str) -> None:
        with self._lock:
            self._problems.pop(name, None)

    def _metrics_loop(self) -> None:
        log.info("live metrics reader started for %s", self.repo_id)
        try:
            while self._still_wanted():
                try:
                    # The stream ended (or went silent): reopen it soon if it brought samples; a Space that
                    # sends none (paused, sleeping) is asked again only after the backoff.
                    wait = 1.0 if self._stream_metrics() else self._failure_backoff_s
                except AdminError as error:
                    wait = self._failed("metrics", error)
                if not self._wait(wait):
                    break
        finally:
            log.info("live metrics reader stopped for %s (nobody looking)", self.repo_id)

    def _stream_metrics(self) -> int:
        """Read the metrics stream until nobody looks, it ends, or it stays silent; how many samples it brought.

        Raises AdminError.
        """
        what = "read the Space's live metrics"
        url = f"{self._api.endpoint}/api/spaces/{self.repo_id}/metrics"
        count = 0
        try:
            with get_session().stream(
                "GET", url, headers=build_hf_headers(token=self._token), timeout=self._stream_timeout_s
            ) as response:
                hf_raise_for_status(response)
                for line in response.iter_lines():
                    if not self._still_wanted():
                        break
                    sample = self._sample_from_line(line)
                    if sample is not None:
                        count += 1
                        self._succeeded("metrics")
                        with self._lock:
                            self._samples.append(sample)
        except (httpx2.ReadTimeout, httpx2.RemoteProtocolError):
            pass  # silent (a paused or sleeping Space sends nothing) or cut: reopened while wanted
        except AdminError:
            raise
        except Exception as error:  # noqa: BLE001  whatever the stream raised becomes a clear AdminError
            raise self._map(what, error) from None
        return count

    def _sample_from_line(self, line: str) -> MetricSample | None:
        if not line.startswith("data:"):
            return None  # "event: metric", ": keep-alive" comments, blank separators
        try:
            data = json.loads(line[len("data:") :].strip() or "null")
        except ValueError:
            return None
        return parse_metric(data, self._wall()) if isinstance(data, Mapping) else None

    def _logs_loop(self) -> None:
        try:
            while self._still_wanted():
                try:
                    lines = self._read_log()
                except AdminError as error:
                    wait = self._failed("logs", error)
                else:
                    self._succeeded("logs")
                    with self._lock:
                        self._log_lines, self._log_read_at = lines, self._wall()
                    wait = self._log_poll_s
                if not self._wait(wait):
                    break
        finally:
            log.info("live run-log reader stopped for %s", self.repo_id)

    def _read_log(self) -> tuple[str, ...]:
        """The run log's buffered lines (huggingface_hub's no-follow read ends within seconds), last ones kept."""
        tail: deque[str] = deque(maxlen=LOG_TAIL_LINES)
        try:
            for line in self._api.fetch_space_logs(self.repo_id):
                tail.append(line)
        except Exception as error:  # noqa: BLE001  whatever the stream raised becomes a clear AdminError
            raise self._map("read the Space's run log", error) from None
        return tuple(self._scrub(tail))

    def _scrub(self, lines: Iterable[str]) -> list[str]:
        return [redact_text(str(line).rstrip("\n"), self._secrets)[:2000] for line in lines]

    def _map(self, what: str, error: BaseException) -> AdminError:
        if isinstance(error, AdminError):
            return error
        return map_error(what, error, self._api.endpoint, self.repo_id, lambda text: redact_text(text, self._secrets))
