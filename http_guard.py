"""Every request body read in full, within bounds, before any route sees it: an ASGI middleware.

A refused body must cost the server next to nothing, whatever route it is sent to (the lean routes,
Gradio's `/gradio_api/call/<name>`, `/queue/join`, `/run/<name>`, `/upload`, MCP):
- bytes: a declared `Content-Length` over the route's limit is refused unread, a chunked body as soon
  as it passes it (413);
- time: the whole body must arrive within `body_timeout_s`, or the caller gets 408 and the connection is
  closed, so a client that stalls mid-body holds neither a connection nor its megabytes for long;
- clients: at most `max_bodies_per_client` bodies being received at once per client address (429);
- shape: JSON nested deeper than `max_json_depth`, or with more than `max_json_containers` arrays and
  objects, is refused before anything parses it (413), as it arrives, at the first piece that breaks a
  limit. Parsing is what costs: a 2.7 MB body of empty lists took orjson 0.19 s and the routes behind it
  over 1 s; the scan below refuses it after its first 64 KB, in about a millisecond.
The route then reads the body from memory, so it never waits on a client nor sees half a body.
(Starlette's RequestBodyLimitMiddleware, FastAPI's `max_body_size`, bounds bytes only, and only as the route
reads: the deadline, the bound per client and the shape need the body read here, before any route.)

The client address is the one uvicorn puts in the ASGI scope: the peer, or, when the peer is a proxy
listed in uvicorn's `FORWARDED_ALLOW_IPS`, the last `X-Forwarded-For` entry that proxy did not add itself.

Each kind of refusal, and a client leaving mid-body, is logged in one line, at most once a minute per
kind with the count since the last line: a flood of bad callers cannot flood the log.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson

log = logging.getLogger("app.http")

TOO_LARGE, TIMEOUT, TOO_MANY = 413, 408, 429
LOG_EVERY_S = 60.0
"""Least seconds between two log lines of one kind of refusal."""
# Bodies in these formats are not JSON: Gradio's uploads and the sign-in forms.
_FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")
_QUOTE, _BACKSLASH = ord('"'), ord("\\")
_OPENS, _CLOSES = (ord("["), ord("{")), (ord("]"), ord("}"))

Refusal = Callable[[str, int, str], Any]
"""(path, HTTP status, message) -> the JSON body that tells the caller, in the route's own error format."""


def _plain_refusal(path: str, status: int, message: str) -> dict[str, str]:
    return {"error": message}


@dataclass(frozen=True)
class GuardLimits:
    max_bytes: int
    """Most bytes in a body, for routes not in `route_max_bytes`."""
    body_timeout_s: float
    """Seconds a whole body may take to arrive."""
    max_bodies_per_client: int
    """Bodies one client address may be sending at once."""
    max_json_depth: int
    """Deepest nesting of arrays and objects in a JSON body."""
    max_json_containers: int
    """Most arrays and objects in a JSON body."""


@dataclass(frozen=True)
class JsonShape:
    depth: int
    """Deepest nesting of arrays and objects (0 for a bare string or number)."""
    containers: int
    """Arrays and objects in all."""


class JsonShapeScan:
    """The shape of a JSON text fed piece by piece as it arrives, counted outside its strings, unparsed.

    Exact for valid JSON. For invalid JSON it counts what a parser would meet before failing, or more, so it
    still bounds a parser's work. Vectorised: a few numpy passes over each piece; and none at all while the
    bracket bytes seen, strings included, are too few to break a limit (most bodies)."""

    def __init__(self, max_depth: int, max_containers: int):
        self.max_depth, self.max_containers = max_depth, max_containers
        self._bracket_bytes = 0
        self._unscanned: list[bytes] = []
        self._inside = False
        """In a string at the end of what was scanned."""
        self._odd_backslashes = False
        """What was scanned ends in an odd run of backslashes: the next byte is escaped."""
        self._depth = self._deepest = self._containers = 0

    @property
    def shape(self) -> JsonShape:
        self._scan_pending()
        return JsonShape(self._deepest, self._containers)

    def feed(self, piece: bytes) -> str | None:
        """Why the text so far is refused, or None."""
        self._unscanned.append(piece)
        self._bracket_bytes += piece.count(b"[") + piece.count(b"{")
        if self._bracket_bytes <= min(self.max_depth, self.max_containers):
            return None
        shape = self.shape
        if shape.depth > self.max_depth:
            return f"The JSON nests deeper than {self.max_depth} levels."
        if shape.containers > self.max_containers:
            return f"The JSON holds more than {self.max_containers:,} arrays and objects."
        return None

    def _scan_pending(self) -> None:
        if self._unscanned:
            text, self._unscanned = b"".join(self._unscanned), []
            if text:
                self._scan(np.frombuffer(text, dtype=np.uint8))

    def _scan(self, raw: np.ndarray) -> None:
        quotes = np.flatnonzero(raw == _QUOTE)
        backslash = raw == _BACKSLASH
        carried = int(self._odd_backslashes)
        if backslash.any():
            # A quote is escaped when an odd run of backslashes stands right before it; a run that starts
            # this piece continues the one the last piece ended with.
            positions = np.arange(raw.size, dtype=np.int32)
            last_plain = np.maximum.accumulate(np.where(backslash, -1, positions))
            before = np.maximum(quotes - 1, 0)
            run = np.where((quotes > 0) & (last_plain[before] >= 0), quotes - 1 - last_plain[before], quotes + carried)
            quotes = quotes[run % 2 == 0]
            end_run = raw.size - 1 - last_plain[-1] if last_plain[-1] >= 0 else raw.size + carried
            self._odd_backslashes = bool(end_run % 2)
        else:
            if carried and quotes.size and quotes[0] == 0:
                quotes = quotes[1:]
            self._odd_backslashes = False
        toggles = np.zeros(raw.size, dtype=bool)
        toggles[quotes] = True
        # From an opening quote up to its closing quote: inside a string, where brackets are text.
        inside = np.logical_xor.accumulate(toggles) ^ self._inside
        self._inside = bool(inside[-1])
        opens = ((raw == _OPENS[0]) | (raw == _OPENS[1])) & ~inside
        closes = ((raw == _CLOSES[0]) | (raw == _CLOSES[1])) & ~inside
        brackets = np.flatnonzero(opens | closes)
        if brackets.size:
            depths = self._depth + np.cumsum(np.where(opens[brackets], 1, -1))
            self._deepest = max(self._deepest, int(depths.max()))
            self._depth = int(depths[-1])
            self._containers += int(np.count_nonzero(opens))


def json_shape(body: bytes) -> JsonShape:
    """Nesting and count of the arrays and objects of a whole JSON text (JsonShapeScan)."""
    scan = JsonShapeScan(0, 0)
    scan.feed(body)
    return scan.shape


class _Refused(Exception):
    def __init__(self, status: int, message: str, kind: str, headers: Mapping[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.kind, self.headers = status, message, kind, headers or {}


class _EventLog:
    """One log line per kind of event at most every LOG_EVERY_S, counting the ones in between."""

    def __init__(self) -> None:
        self._last_logged: dict[str, float] = {}
        self._unlogged: Counter[str] = Counter()

    def note(self, kind: str, line: str) -> None:
        now = time.monotonic()
        last = self._last_logged.get(kind)
        if last is not None and now - last < LOG_EVERY_S:
            self._unlogged[kind] += 1
            return
        more = self._unlogged.pop(kind, 0)
        self._last_logged[kind] = now
        log.warning("%s%s", line, f" ({more} more like it since the last such line)" if more else "")


def _header(scope: Mapping[str, Any], name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None


class BodyGuard:
    """ASGI middleware: reads each request body within `limits` before the app sees it (module docstring)."""

    def __init__(
        self,
        app: Any,
        limits: GuardLimits,
        route_max_bytes: Mapping[str, int] | None = None,
        refusal: Refusal = _plain_refusal,
    ):
        self.app = app
        self.limits = limits
        self.route_max_bytes = dict(route_max_bytes or {})
        self.refusal = refusal
        # Bodies being received per client address; an address leaves the table when its count is back to 0.
        self._receiving: Counter[str] = Counter()
        self._events = _EventLog()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        declared = _header(scope, b"content-length") if scope["type"] == "http" else None
        chunked = scope["type"] == "http" and _header(scope, b"transfer-encoding") is not None
        if not chunked and (declared is None or declared.strip() == "0"):
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        client = scope["client"][0] if scope.get("client") else "unknown"
        try:
            body = await self._read(scope, receive, path, client, declared)
        except _Refused as refused:
            self._events.note(refused.kind, f"Refused {scope['method']} {path} from {client}: {refused.message}")
            await self._answer(send, path, refused)
            return
        if body is None:
            return
        replayed = False

        async def replay() -> dict[str, Any]:
            nonlocal replayed
            if replayed:  # afterwards, what the client does next: usually http.disconnect when it leaves
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _read(self, scope: dict[str, Any], receive: Any, path: str, client: str, declared: str | None):
        """The whole body, or None when the client left; raises _Refused."""
        limits = self.limits
        max_bytes = self.route_max_bytes.get(path, limits.max_bytes)
        too_large = _Refused(TOO_LARGE, f"The body is larger than {max_bytes:,} bytes.", "too large")
        if declared is not None and (not declared.strip().isdigit() or int(declared) > max_bytes):
            raise too_large
        if self._receiving[client] >= limits.max_bodies_per_client:
            raise _Refused(
                TOO_MANY,
                f"Your address is already sending {limits.max_bodies_per_client} request bodies: "
                "retry when they are done.",
                "too many bodies at once",
                {"retry-after": str(max(1, round(limits.body_timeout_s)))},
            )
        media_type = (_header(scope, b"content-type") or "").split(";")[0].strip().lower()
        scan = None if media_type in _FORM_TYPES else JsonShapeScan(limits.max_json_depth, limits.max_json_containers)
        self._receiving[client] += 1
        chunks, size = [], 0
        try:
            async with asyncio.timeout(limits.body_timeout_s):
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        expected = f"{int(declared):,} bytes" if declared else "a chunked body"
                        self._events.note(
                            "left mid-body",
                            f"{scope['method']} {path} from {client}: the client left after {size:,} of {expected}",
                        )
                        return None
                    chunk = message.get("body", b"")
                    size += len(chunk)
                    if size > max_bytes:
                        raise too_large
                    chunks.append(chunk)
                    # Refused at the first piece that breaks a limit: the rest is never read, let alone parsed.
                    problem = scan.feed(chunk) if scan else None
                    if problem:
                        raise _Refused(TOO_LARGE, problem, "too complex")
                    if not message.get("more_body", False):
                        break
        except TimeoutError:
            raise _Refused(
                TIMEOUT,
                f"The body did not arrive within {limits.body_timeout_s:g} s ({size:,} bytes came).",
                "too slow",
            ) from None
        finally:
            self._receiving[client] -= 1
            if not self._receiving[client]:
                del self._receiving[client]
        return b"".join(chunks)

    async def _answer(self, send: Any, path: str, refused: _Refused) -> None:
        content = orjson.dumps(self.refusal(path, refused.status, refused.message))
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(content)).encode()),
            # The rest of the body is never read: the connection cannot carry another request.
            (b"connection", b"close"),
            *((name.encode(), value.encode()) for name, value in refused.headers.items()),
        ]
        await send({"type": "http.response.start", "status": refused.status, "headers": headers})
        await send({"type": "http.response.body", "body": content})
