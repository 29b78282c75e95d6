"""A small real HTTP server that answers the Hub's Space API the way huggingface_hub 2.4 expects.

Usage (the real `HfApi(endpoint=hub.url, token=hub.token)` talks to it)::

    # importing the fixture functions makes fixtures `hub_standin` and `allow_hub_requests` usable
    from tests.hub_standin import HubStandIn, allow_hub_requests_fixture, hub_standin_fixture

    with HubStandIn(user="alice", space_id="alice/demo", hardware="cpu-basic") as hub:
        ...  # in-process: HfApi(endpoint=hub.url, token=hub.token)
        ...  # app as a subprocess: env HF_ENDPOINT=hub.url, HF_TOKEN=hub.token, HF_HUB_OFFLINE=0
        hub.fail("hardware", 429, headers={"Retry-After": "30"})    # POST /hardware answers 429 from now on
        hub.fail("runtime", 500, times=1)                           # only the next one
        hub.fail("pause", delay_s=3)                                # answer normally, 3 s late
        hub.clear_failures()
        hub.changes()      # recorded POSTs (state-changing requests), oldest first
        hub.requests       # every request: RecordedRequest(method, path, query, endpoint, body, has_auth, token_ok)
        hub.runtime()      # the Space's runtime JSON as the Hub would return it now

Endpoints (names for `fail`): "runtime" GET /api/spaces/{id}/runtime, "hardware" POST .../hardware,
"sleeptime" POST .../sleeptime, "pause" POST .../pause, "restart" POST .../restart(?factory=true),
"hardware-list" GET /api/spaces/hardware, "whoami" GET /api/whoami-v2; streams (server-sent events, see
`_stream`) "metrics" GET /api/spaces/{id}/metrics and "logs" GET /api/spaces/{id}/logs/run (`add_log`);
with `inference_endpoint="name"` (namespace: `user`), the Inference Endpoints API under `endpoints_api`:
"ie-get" GET /v2/endpoint/{ns}/{name}, "ie-update" PUT (compute.scaling min/maxReplica), "ie-pause",
"ie-resume" (400 "already running" when it runs), "ie-scale-to-zero" POST .../{pause,resume,scale-to-zero}.

Behaviour: every endpoint but "hardware-list" wants `Authorization: Bearer <token>` (401 otherwise);
another Space id gives 404 with `X-Error-Code: RepoNotFound`. A hardware request or restart puts the
Space in a transient stage (APP_STARTING, or BUILDING for a factory reboot) for `settle_after_polls`
runtime reads, then RUNNING on the requested hardware; 0 settles at once. Pause gives PAUSED.
"replicas" POST .../replicas with `{"replicas": N}` (a whole number from 1) is refused with 400 on free
hardware, as the Hub documents; the runtime's `"replicas": {"requested": N, "current": M}` reaches N as it settles.
The Space's repo and settings, for fixes (admin/fixes/): "variables" GET, "variables-add" POST and
"variables-delete" DELETE /api/spaces/{id}/variables (`{"key", "value"}` / `{"key"}`, answering every variable);
"file" HEAD/GET /spaces/{id}/resolve/{revision}/{path} (the main branch's `files`, 404 EntryNotFound for others);
"preupload" POST /api/spaces/{id}/preupload/{revision} (every file "regular"); "commit" POST
/api/spaces/{id}/commit/{revision} (huggingface_hub's NDJSON: header, then base64 files): to main it changes
`files()`, with `?create_pr=1` it opens a pull request instead (`pull_requests()`), main unchanged.
`fail(endpoint, status, message=...)` answers with that status, the message in `X-Error-Message` and
in the JSON body's "error"; 404 also sends `X-Error-Code: RepoNotFound`. A failed request changes nothing.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import string
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

# Inference Endpoints: huggingface_hub sends these to constants.INFERENCE_ENDPOINTS_ENDPOINT (".../v2"), not
# HF_ENDPOINT; the stand-in serves them under /v2 (`endpoints_api`): point that constant there.
IE_CHANGES = ("ie-update", "ie-pause", "ie-resume", "ie-scale-to-zero")
IE_ENDPOINTS = ("ie-get", *IE_CHANGES)

ENDPOINTS = (
    "runtime",
    "hardware",
    "sleeptime",
    "pause",
    "restart",
    "replicas",
    "hardware-list",
    "whoami",
    "metrics",
    "logs",
    "variables",
    "variables-add",
    "variables-delete",
    "file",
    "preupload",
    "commit",
    *IE_ENDPOINTS,
)
REPO_CHANGES = ("variables-add", "variables-delete", "commit")
STATE_CHANGING = ("hardware", "sleeptime", "pause", "restart", "replicas", *REPO_CHANGES, *IE_CHANGES)

# name, prettyName, cpu, ram, accelerator (model, quantity, vram) or None, USD per hour
_HARDWARE = (
    ("cpu-basic", "CPU basic", "2 vCPU", "16 GB", None, 0.0),
    ("cpu-upgrade", "CPU upgrade", "8 vCPU", "32 GB", None, 0.03),
    ("t4-small", "Nvidia T4 - small", "4 vCPU", "15 GB", ("T4", "1", "16 GB"), 0.40),
    ("t4-medium", "Nvidia T4 - medium", "8 vCPU", "30 GB", ("T4", "1", "16 GB"), 0.60),
    ("a10g-small", "Nvidia A10G - small", "4 vCPU", "15 GB", ("A10G", "1", "24 GB"), 1.00),
    ("a100-large", "Nvidia A100 - large", "12 vCPU", "142 GB", ("A100", "1", "80 GB"), 2.50),
    ("a100x8", "8x Nvidia A100", "96 vCPU", "1136 GB", ("A100", "8", "640 GB"), 20.00),
)


FREE_FLAVORS = frozenset(row[0] for row in _HARDWARE if row[5] == 0.0)


def hardware_json() -> list[dict]:
    """What GET /api/spaces/hardware answers: prices per minute, like the Hub."""
    rows = []
    for name, pretty, cpu, ram, accel, per_hour in _HARDWARE:
        per_minute = per_hour / 60
        rows.append(
            {
                "name": name,
                "prettyName": pretty,
                "cpu": cpu,
                "ram": ram,
                "accelerator": None
                if accel is None
                else {
                    "type": "gpu",
                    "model": accel[0],
                    "quantity": accel[1],
                    "vram": accel[2],
                    "manufacturer": "Nvidia",
                },
                "unitCostMicroUSD": round(per_minute * 1_000_000),
                "unitCostUSD": per_minute,
                "unitLabel": "minute",
            }
        )
    return rows


def fake_token() -> str:
    """A token shaped like a real one: hf_ and 34 random letters."""
    return "hf_" + "".join(secrets.choice(string.ascii_letters) for _ in range(34))


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    endpoint: str | None
    """One of ENDPOINTS, or None for a path the stand-in does not know."""
    body: object
    """Parsed JSON body, or None."""
    has_auth: bool
    """An Authorization header was sent."""
    token_ok: bool
    """It was `Bearer <the configured token>`."""


@dataclass
class _Failure:
    status: int | None
    message: str | None
    headers: dict[str, str]
    delay_s: float
    times: int | None


@dataclass
class _Space:
    stage: str
    current: str | None
    requested: str | None
    sleep_time: int | None
    polls_left: int = 0
    pending_stage: str = "RUNNING"
    replicas_requested: int = 1
    replicas_current: int = 1
    raw_extra: dict = field(default_factory=lambda: {"storage": None, "devMode": False})


@dataclass
class _InferenceEndpoint:
    """One Inference Endpoint, answered in the API's JSON (see `inference_endpoint_json`)."""

    namespace: str
    name: str
    state: str = "running"
    min_replica: int = 1
    max_replica: int = 1
    ready: int = 1
    polls_left: int = 0
    pending_state: str = "running"


def inference_endpoint_json(endpoint: _InferenceEndpoint) -> dict:
    """GET .../v2/endpoint/{namespace}/{name} as huggingface_hub's InferenceEndpoint.from_raw reads it."""
    target = {"running": max(endpoint.min_replica, 1)}.get(endpoint.state, endpoint.ready)
    return {
        "name": endpoint.name,
        "type": "protected",
        "accountId": None,
        "provider": {"vendor": "aws", "region": "us-east-1"},
        "healthRoute": "/health",
        "compute": {
            "accelerator": "gpu",
            "instanceType": "nvidia-l4",
            "instanceSize": "x1",
            "scaling": {
                "minReplica": endpoint.min_replica,
                "maxReplica": endpoint.max_replica,
                "scaleToZeroTimeout": 15,
            },
        },
        "model": {
            "repository": "sentence-transformers/all-MiniLM-L6-v2",
            "revision": "c9745ed1d9f207416be6d2e6f8de32d1f16199bf",
            "task": "sentence-similarity",
            "framework": "pytorch",
            "image": {"tei": {"url": "ghcr.io/huggingface/text-embeddings-inference:1.8"}},
            # The real API echoes secrets in the model section: nothing of it may reach the page.
            "secrets": {"API_KEY": "sk-proj-" + "Zq9" * 14},
        },
        "status": {
            "createdAt": "2026-11-01T10:00:00.000000000Z",
            "createdBy": {"id": "6273f303f6d63a28483fde12", "name": endpoint.namespace},
            "updatedAt": "2026-11-29T10:00:00.000000000Z",
            "updatedBy": {"id": "6273f303f6d63a28483fde12", "name": endpoint.namespace},
            "private": None,
            "state": endpoint.state,
            "message": {"running": "Endpoint is ready", "paused": "Endpoint paused"}.get(endpoint.state, ""),
            "readyReplica": endpoint.ready,
            "targetReplica": target,
            "url": f"https://{endpoint.name}.us-east-1.aws.endpoints.huggingface.cloud"
            if endpoint.state == "running"
            else None,
        },
    }


class HubStandIn:
    """The Hub's Space API for one Space and one token; a context manager, or `start()` / `stop()`."""

    def __init__(
        self,
        *,
        token: str | None = None,
        user: str = "space-owner",
        space_id: str | None = None,
        hardware: str = "cpu-basic",
        stage: str = "RUNNING",
        sleep_time: int | None = None,
        settle_after_polls: int = 1,
        host: str = "127.0.0.1",
        inference_endpoint: str | None = None,
        replicas: tuple[str, ...] = ("r1a2b",),
        metrics_interval_s: float = 1.0,
        files: dict[str, str] | None = None,
        variables: dict[str, str] | None = None,
    ):
        self.token = token or fake_token()
        self.user = user
        self.space_id = space_id or f"{user}/gpu-self-check"
        self.settle_after_polls = settle_after_polls
        self._space = _Space(stage, hardware, hardware, sleep_time)
        self._endpoint = _InferenceEndpoint(self.user, inference_endpoint) if inference_endpoint else None
        self.replicas = replicas
        """Replica ids the metrics stream reports, one event each per `metrics_interval_s`."""
        self.metrics_interval_s = metrics_interval_s
        self._files = dict(files or {})
        """The Space repo's main branch: path -> text."""
        self._variables = dict(variables or {})
        self._pulls: list[dict] = []
        self._commits = 0
        self._log_lines: list[tuple[str, str]] = []
        self._open_streams: dict[str, int] = {"metrics": 0, "logs": 0}
        self._failures: dict[str, _Failure] = {}
        self._requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = ThreadingHTTPServer((host, 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def endpoints_api(self) -> str:
        """What huggingface_hub.constants.INFERENCE_ENDPOINTS_ENDPOINT must be for HfApi to reach this stand-in."""
        return f"{self.url}/v2"

    def start(self) -> HubStandIn:
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="hub-standin", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> HubStandIn:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # What tests switch and read.

    def fail(
        self,
        endpoint: str,
        status: int | None = None,
        *,
        message: str | None = None,
        headers: dict[str, str] | None = None,
        delay_s: float = 0.0,
        times: int | None = None,
    ) -> None:
        """From now on `endpoint` answers `status` (None: normally), after `delay_s`; `times` limits how often."""
        if endpoint not in ENDPOINTS:
            raise ValueError(f"{endpoint!r} is not one of {ENDPOINTS}")
        with self._lock:
            self._failures[endpoint] = _Failure(status, message, dict(headers or {}), delay_s, times)

    def clear_failures(self) -> None:
        with self._lock:
            self._failures.clear()

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def changes(self) -> list[RecordedRequest]:
        """Recorded requests to state-changing endpoints, answered or not."""
        return [r for r in self.requests if r.endpoint in STATE_CHANGING]

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    def runtime(self) -> dict:
        with self._lock:
            return self._runtime_json()

    def files(self) -> dict[str, str]:
        """The Space repo's main branch now: path -> text."""
        with self._lock:
            return dict(self._files)

    def variables(self) -> dict[str, str]:
        with self._lock:
            return dict(self._variables)

    def pull_requests(self) -> list[dict]:
        """Pull requests opened, oldest first: {"num", "title", "description", "files": {path: text}}."""
        with self._lock:
            return [dict(pr) for pr in self._pulls]

    def add_log(self, *lines: str) -> None:
        """Lines the Space printed: the run-log stream replays them, each with the time it was added."""
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
        with self._lock:
            self._log_lines.extend((line, stamp) for line in lines)

    def open_streams(self, kind: str) -> int:
        """How many "metrics" or "logs" streams a client holds open right now."""
        with self._lock:
            return self._open_streams[kind]

    def inference_endpoint(self) -> dict:
        with self._lock:
            return inference_endpoint_json(self._endpoint)

    def set_inference_endpoint(self, **values) -> None:
        """Overwrite state, min_replica, max_replica or ready (e.g. `set_inference_endpoint(state="paused")`)."""
        with self._lock:
            for name, value in values.items():
                if not hasattr(self._endpoint, name):
                    raise TypeError(f"unknown endpoint field {name!r}")
                setattr(self._endpoint, name, value)

    def set_runtime(self, **values) -> None:
        """Overwrite stage, current, requested, sleep_time, replicas_requested or replicas_current
        (e.g. `set_runtime(stage="BUILDING")`)."""
        with self._lock:
            for name, value in values.items():
                if not hasattr(self._space, name):
                    raise TypeError(f"unknown runtime field {name!r}")
                setattr(self._space, name, value)

    # Serving.

    def _runtime_json(self) -> dict:
        space = self._space
        return {
            "stage": space.stage,
            "hardware": {"current": space.current, "requested": space.requested},
            "gcTimeout": space.sleep_time,
            "replicas": {"requested": space.replicas_requested, "current": space.replicas_current},
            **space.raw_extra,
        }

    def _transition(self, stage: str) -> None:
        if self.settle_after_polls <= 0:
            self._settle()
        else:
            self._space.stage = stage
            self._space.polls_left = self.settle_after_polls

    def _settle(self) -> None:
        self._space.stage = "RUNNING"
        self._space.current = self._space.requested
        self._space.replicas_current = self._space.replicas_requested
        self._space.polls_left = 0

    def _route(self, method: str, path: str) -> tuple[str | None, str | None]:
        """(endpoint, repo id in the path)."""
        parts = path.strip("/").split("/")
        if method == "GET" and parts == ["api", "spaces", "hardware"]:
            return "hardware-list", None
        if method == "GET" and parts == ["api", "whoami-v2"]:
            return "whoami", None
        if parts[:2] == ["v2", "endpoint"] and len(parts) in (4, 5):
            action = parts[4] if len(parts) == 5 else None
            endpoint = {
                ("GET", None): "ie-get",
                ("PUT", None): "ie-update",
                ("POST", "pause"): "ie-pause",
                ("POST", "resume"): "ie-resume",
                ("POST", "scale-to-zero"): "ie-scale-to-zero",
            }.get((method, action))
            return (endpoint, f"{parts[2]}/{parts[3]}") if endpoint else (None, None)
        if method == "GET" and len(parts) == 6 and parts[:2] == ["api", "spaces"] and parts[4:] == ["logs", "run"]:
            return "logs", f"{parts[2]}/{parts[3]}"
        if method == "GET" and len(parts) == 5 and parts[:2] == ["api", "spaces"] and parts[4] == "metrics":
            return "metrics", f"{parts[2]}/{parts[3]}"
        if len(parts) >= 6 and parts[0] == "spaces" and parts[3] == "resolve" and method in ("GET", "HEAD"):
            return "file", f"{parts[1]}/{parts[2]}"
        if len(parts) == 6 and parts[:2] == ["api", "spaces"] and parts[4] in ("preupload", "commit"):
            return (parts[4], f"{parts[2]}/{parts[3]}") if method == "POST" else (None, None)
        if len(parts) == 5 and parts[:2] == ["api", "spaces"] and parts[4] == "variables":
            endpoint = {"GET": "variables", "POST": "variables-add", "DELETE": "variables-delete"}.get(method)
            return (endpoint, f"{parts[2]}/{parts[3]}") if endpoint else (None, None)
        if len(parts) == 5 and parts[:2] == ["api", "spaces"]:
            action = parts[4]
            expected = "GET" if action == "runtime" else "POST"
            if action in ("runtime", "hardware", "sleeptime", "pause", "restart", "replicas") and method == expected:
                return action, f"{parts[2]}/{parts[3]}"
        return None, None

    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        split = urlsplit(handler.path)
        query = parse_qs(split.query)
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("latin-1")
        auth = handler.headers.get("Authorization")
        token_ok = auth == f"Bearer {self.token}"
        endpoint, repo_id = self._route(method, split.path)
        with self._lock:
            self._requests.append(
                RecordedRequest(method, split.path, query, endpoint, body, auth is not None, token_ok)
            )
            failure = self._failures.get(endpoint) if endpoint else None
            if failure and failure.times is not None:
                failure.times -= 1
                if failure.times <= 0:
                    del self._failures[endpoint]
        if failure and failure.delay_s:
            self._stopping.wait(failure.delay_s)
        if endpoint is None:
            return self._send(handler, 404, {"error": f"Sorry, we can't find {split.path}"})
        if failure and failure.status:
            return self._send_failure(handler, failure)
        if endpoint != "hardware-list" and not token_ok:
            message = "Invalid credentials in Authorization header"
            return self._send(handler, 401, {"error": message}, {"X-Error-Message": message})
        if endpoint.startswith("ie-"):
            known = self._endpoint is not None and repo_id == f"{self._endpoint.namespace}/{self._endpoint.name}"
            if not known:
                message = f"Endpoint {repo_id} not found"
                return self._send(handler, 404, {"error": message}, {"X-Error-Message": message})
            status, payload = self._answer_endpoint(endpoint, body)
            return self._send(handler, status, payload, {"X-Error-Message": payload["error"]} if status >= 400 else {})
        if repo_id is not None and repo_id != self.space_id:
            return self._send(
                handler,
                404,
                {"error": "Repository not found"},
                {"X-Error-Code": "RepoNotFound", "X-Error-Message": "Repository not found"},
            )
        if endpoint in ("metrics", "logs"):
            return self._stream(handler, endpoint)
        if endpoint == "file":
            return self._send_file(handler, method, split.path)
        if endpoint == "commit":
            status, payload = self._commit(raw, query)
            return self._send(handler, status, payload, {"X-Error-Message": payload["error"]} if status >= 400 else {})
        status, payload = self._answer(endpoint, body, query)
        self._send(handler, status, payload, {"X-Error-Message": payload["error"]} if status >= 400 else {})

    def _answer_endpoint(self, endpoint: str, body: object) -> tuple[int, object]:
        """The Inference Endpoints API, as HfApi's *_inference_endpoint methods call it."""
        with self._lock:
            ie = self._endpoint
            if endpoint == "ie-get":
                if ie.polls_left > 0:
                    ie.polls_left -= 1
                    if ie.polls_left == 0:
                        ie.state, ie.ready = ie.pending_state, max(ie.min_replica, 1)
                return 200, inference_endpoint_json(ie)
            if endpoint == "ie-update":
                compute = body.get("compute") if isinstance(body, dict) else None
                scaling = (compute.get("scaling") if isinstance(compute, dict) else None) or {}
                low, high = scaling.get("minReplica", ie.min_replica), scaling.get("maxReplica", ie.max_replica)
                if not (isinstance(low, int) and isinstance(high, int) and 0 <= low <= high and high >= 1):
                    return 400, {"error": f"Invalid scaling: minReplica {low!r}, maxReplica {high!r}"}
                ie.min_replica, ie.max_replica = low, high
                if ie.state == "running":
                    self._endpoint_transition("updating", "running")
            elif endpoint == "ie-pause":
                ie.state, ie.ready, ie.polls_left = "paused", 0, 0
            elif endpoint == "ie-resume":
                if ie.state == "running":
                    return 400, {"error": "Endpoint is already running"}
                ie.ready = 0
                self._endpoint_transition("initializing", "running")
            elif endpoint == "ie-scale-to-zero":
                ie.state, ie.ready, ie.polls_left = "scaledToZero", 0, 0
            return 200, inference_endpoint_json(ie)

    def _endpoint_transition(self, state: str, then: str) -> None:
        ie = self._endpoint
        if self.settle_after_polls <= 0:
            ie.state, ie.ready = then, max(ie.min_replica, 1)
        else:
            ie.state, ie.pending_state, ie.polls_left = state, then, self.settle_after_polls

    def _stream(self, handler: BaseHTTPRequestHandler, kind: str) -> None:
        """Server-sent events as the Hub sends them, until the client leaves or the stand-in stops.

        metrics: `event: metric` + `data: {...}` per replica every `metrics_interval_s`, no history.
        logs: the lines so far as `data: {"data": line, "timestamp": ...}`, then lines as they are added;
        like the Hub, the stream stays open (huggingface_hub's no-follow read ends on its read timeout).
        """
        handler.send_response(200)
        handler.send_header("Content-Type", "text/event-stream")
        handler.send_header("Cache-Control", "no-cache")
        handler.end_headers()
        with self._lock:
            self._open_streams[kind] += 1
        sent_logs = 0
        try:
            while not self._stopping.is_set():
                with self._lock:
                    if kind == "metrics":
                        chunks = [f"event: metric\ndata: {json.dumps(self._metric(r))}\n\n" for r in self.replicas]
                    else:
                        new, sent_logs = self._log_lines[sent_logs:], len(self._log_lines)
                        chunks = [f"data: {json.dumps({'data': line, 'timestamp': at})}\n\n" for line, at in new]
                if chunks:
                    handler.wfile.write("".join(chunks).encode())
                    handler.wfile.flush()
                self._stopping.wait(self.metrics_interval_s if kind == "metrics" else 0.2)
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            with self._lock:
                self._open_streams[kind] -= 1
            handler.close_connection = True

    def _metric(self, replica: str) -> dict:
        """One replica's sample; GPUs only on GPU hardware, like the Hub."""
        flavor = self._space.current or "cpu-basic"
        gpu = next((row[4] for row in _HARDWARE if row[0] == flavor and row[4]), None)
        tick = time.monotonic()
        sample = {"utilization": int(tick * 7) % 100, "memory_used_bytes": 3 * 2**30, "memory_total_bytes": 16 * 2**30}
        gpus = {f"{replica}-gpu0": sample} if gpu else {}
        return {
            "cpu_usage_pct": round(20 + 10 * (int(tick) % 5) + 7 * self.replicas.index(replica), 1),
            "cpu_millicores": 4000,
            "memory_used_bytes": 2 * 2**30 + (hash(replica) % 100) * 2**20,
            "memory_total_bytes": 16 * 2**30,
            "rx_bps": 0,
            "tx_bps": 0,
            "gpus": gpus,
            "replica": replica,
        }

    def _answer(self, endpoint: str, body: object, query: dict[str, list[str]]) -> tuple[int, object]:
        with self._lock:
            space = self._space
            if endpoint == "hardware-list":
                return 200, hardware_json()
            if endpoint == "whoami":
                return 200, {
                    "type": "user",
                    "name": self.user,
                    "fullname": self.user.title(),
                    "avatarUrl": "/avatars/standin.svg",
                    "orgs": [],
                }
            if endpoint in ("variables", "variables-add", "variables-delete"):
                key = body.get("key") if isinstance(body, dict) else None
                if endpoint != "variables" and not (isinstance(key, str) and key):
                    return 400, {"error": "key is required"}
                if endpoint == "variables-add":
                    value = body.get("value")
                    if not isinstance(value, str):
                        return 400, {"error": "value must be a string"}
                    self._variables[key] = value
                elif endpoint == "variables-delete":
                    self._variables.pop(key, None)
                stamp = "2026-12-03T08:00:00.000Z"
                return 200, {k: {"value": v, "updatedAt": stamp} for k, v in self._variables.items()}
            if endpoint == "preupload":
                files = body.get("files") if isinstance(body, dict) else None
                if not isinstance(files, list):
                    return 400, {"error": "files is required"}
                return 200, {
                    "files": [
                        {"path": f.get("path"), "uploadMode": "regular", "shouldIgnore": False, "oid": None}
                        for f in files
                    ],
                    "commitOid": self._oid(),
                }
            if endpoint == "runtime":
                if space.polls_left > 0:
                    space.polls_left -= 1
                    payload = self._runtime_json()
                    if space.polls_left == 0:
                        self._settle()
                    return 200, payload
                return 200, self._runtime_json()
            if endpoint == "hardware":
                flavor = body.get("flavor") if isinstance(body, dict) else None
                if flavor not in {row[0] for row in _HARDWARE}:
                    return 400, {"error": f"Invalid flavor {flavor!r}"}
                space.requested = flavor
                if "sleepTimeSeconds" in body:
                    space.sleep_time = body["sleepTimeSeconds"]
                self._transition("APP_STARTING")
            elif endpoint == "sleeptime":
                seconds = body.get("seconds") if isinstance(body, dict) else None
                if not isinstance(seconds, int):
                    return 400, {"error": "seconds must be an integer"}
                space.sleep_time = seconds
            elif endpoint == "replicas":
                replicas = body.get("replicas") if isinstance(body, dict) else None
                if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 1:
                    return 400, {"error": "replicas must be a positive integer"}
                if space.requested in FREE_FLAVORS:
                    return 400, {"error": "Replicas are only available for upgraded hardware"}
                space.replicas_requested = replicas
                self._transition("RUNNING")
            elif endpoint == "pause":
                space.stage = "PAUSED"
                space.polls_left = 0
            elif endpoint == "restart":
                self._transition("BUILDING" if query.get("factory") == ["true"] else "APP_STARTING")
            return 200, self._runtime_json()

    def _oid(self) -> str:
        return f"{self._commits:040x}"

    def _commit(self, raw: bytes, query: dict[str, list[str]]) -> tuple[int, object]:
        """huggingface_hub's commit payload: one JSON object a line, a header, then files with base64 content."""
        try:
            items = [json.loads(line) for line in raw.decode().splitlines() if line.strip()]
        except ValueError:
            return 400, {"error": "Invalid NDJSON payload"}
        header = next((i["value"] for i in items if i.get("key") == "header"), None)
        files = {}
        for item in items:
            value = item.get("value") or {}
            if item.get("key") == "file":
                if value.get("encoding") != "base64":
                    return 400, {"error": "Only base64 file content is accepted"}
                files[value["path"]] = base64.b64decode(value["content"]).decode()
        if not header or not header.get("summary") or not files:
            return 400, {"error": "A commit needs a summary and at least one file"}
        space_url = f"{self.url}/spaces/{self.space_id}"
        with self._lock:
            self._commits += 1
            if query.get("create_pr") == ["1"]:
                number = len(self._pulls) + 1
                pull = {"num": number, "title": header["summary"], "description": header.get("description", "")}
                self._pulls.append({**pull, "files": files})
                pr_url = f"{space_url}/discussions/{number}"
            else:
                self._files.update(files)
                pr_url = None
            oid = self._oid()
        return 200, {"commitUrl": f"{space_url}/commit/{oid}", "commitOid": oid, "pullRequestUrl": pr_url}

    def _send_file(self, handler: BaseHTTPRequestHandler, method: str, path: str) -> None:
        """A file of the main branch with the headers huggingface_hub's download reads (commit, ETag, size)."""
        name = "/".join(path.strip("/").split("/")[5:])
        with self._lock:
            text, oid = self._files.get(name), self._oid()
        if text is None:
            message = f"Entry not found: {name}"
            headers = {"X-Error-Code": "EntryNotFound", "X-Error-Message": message, "X-Repo-Commit": oid}
            return self._send(handler, 404, {"error": message}, headers)
        data = text.encode()
        handler.send_response(200)
        handler.send_header("Content-Type", "text/plain; charset=utf-8")
        handler.send_header("Content-Length", str(len(data)))
        handler.send_header("ETag", f'"{hashlib.sha1(data).hexdigest()}"')
        handler.send_header("X-Repo-Commit", oid)
        handler.end_headers()
        if method == "GET":
            handler.wfile.write(data)

    def _send_failure(self, handler: BaseHTTPRequestHandler, failure: _Failure) -> None:
        headers = dict(failure.headers)
        message = failure.message or {
            401: "Invalid credentials in Authorization header",
            403: "Forbidden",
            404: "Repository not found",
            429: "Too many requests",
        }.get(failure.status, "Internal Error")
        headers.setdefault("X-Error-Message", message)
        if failure.status == 404:
            headers.setdefault("X-Error-Code", "RepoNotFound")
        self._send(handler, failure.status, {"error": message}, headers)

    @staticmethod
    def _send(handler: BaseHTTPRequestHandler, status: int, payload: object, headers: dict[str, str] | None = None):
        data = json.dumps(payload).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(data)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                standin._handle(self, "GET")

            def do_POST(self) -> None:
                standin._handle(self, "POST")

            def do_PUT(self) -> None:
                standin._handle(self, "PUT")

            def do_DELETE(self) -> None:
                standin._handle(self, "DELETE")

            def do_HEAD(self) -> None:
                standin._handle(self, "HEAD")

            def log_message(self, format: str, *args) -> None:  # the tests read `requests` instead
                pass

        return Handler


@pytest.fixture(name="hub_standin")
def hub_standin_fixture() -> Iterator[HubStandIn]:
    """A started stand-in (owner "space-owner", Space "space-owner/gpu-self-check", cpu-basic, RUNNING)."""
    with HubStandIn() as hub:
        yield hub


def wait_for(predicate, timeout_s: float = 10.0, interval_s: float = 0.05) -> bool:
    """Poll `predicate` until it is true or `timeout_s` passes; returns its last value."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval_s)
    return bool(predicate())


@pytest.fixture(name="allow_hub_requests")
def allow_hub_requests_fixture(monkeypatch: pytest.MonkeyPatch) -> None:
    """Lift HF_HUB_OFFLINE (set by conftest) for this test, so in-process HfApi calls reach a stand-in."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
