"""Calls to the Demo's remote backend (INFERENCE_URL): each bounded by one wall-clock deadline, and every way
one can fail worded for visitors.

A read timeout alone does not bound a call: a server that answers 200 and sends a byte every few seconds
never trips it and held a visitor for as long as it trickled (93 s with INFERENCE_TIMEOUT=5). httpx has no
total timeout (https://github.com/encode/httpx/issues/1450, "low-and-slow/slowloris attack on client").
Here a call ends by INFERENCE_TIMEOUT in all (plus at most one read timeout) once the server has sent its
headers; before that, each network operation is bounded by INFERENCE_TIMEOUT as before.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx2
from huggingface_hub import InferenceClient
from huggingface_hub.errors import HfHubHTTPError, InferenceTimeoutError, OfflineModeIsEnabled
from huggingface_hub.utils import get_session, hf_raise_for_status

from redaction import redact_text

log = logging.getLogger("models.remote")

MAX_MESSAGE_CHARS = 300
"""Most characters of a backend's own error message shown to a visitor."""
FIRST_PAUSE_S, MOST_PAUSE_S = 1.0, 10.0
"""Pauses between tries while the backend wakes: doubling from the first, never longer than the most."""

_INPUT_STATUSES = frozenset({400, 413, 422})
"""The backend refuses this one request's input: only its visitor is told."""
_WAKING_STATUSES = frozenset({503})
"""The backend is starting (scaled to zero, loading the model): asked again until INFERENCE_MAX_WAIT."""


class BackendError(Exception):
    """The backend did not answer a call; `message` is meant for the visitor."""

    def __init__(self, message: str, *, per_input: bool = False, waking: bool = False):
        super().__init__(message)
        self.message = message
        self.per_input = per_input
        """The backend refused this input (the caller's to fix), not the service as a whole."""
        self.waking = waking
        """The backend is starting: worth asking again."""


def host(url: str) -> str:
    """Scheme, host and port only: what logs may say of INFERENCE_URL (no userinfo, no path, no query)."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}"


# --- the deadline ---------------------------------------------------------------------------------------------


def read_within(response: httpx2.Response, deadline: float, url: str) -> bytes:
    """The body of a streamed `response`, or InferenceTimeoutError once time.monotonic() passes `deadline`."""
    body = bytearray()
    for chunk in response.iter_bytes():
        body += chunk
        if time.monotonic() > deadline:
            raise InferenceTimeoutError(f"The answer of {host(url)} was still arriving at the deadline")
    return bytes(body)


def get_within(url: str, headers: dict[str, str], timeout_s: float) -> tuple[int, bytes]:
    """GET `url`: its status and body, all within `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    with get_session().stream("GET", url, headers=headers, timeout=timeout_s) as response:
        return response.status_code, read_within(response, deadline, url)


class DeadlineClient(InferenceClient):
    """huggingface_hub's InferenceClient whose every call ends within `timeout` seconds in all.

    InferenceClient hands `timeout` to httpx, which bounds each network operation, not the call; this reads
    the answer as a stream and stops at the deadline. The rest (building the request, reading errors and
    answers) is InferenceClient's own."""

    def _inner_post(self, request_parameters: Any, *, stream: bool = False) -> Any:
        if stream:  # generation streams token by token; the Demo does not ask a backend for it
            return super()._inner_post(request_parameters, stream=True)
        deadline = time.monotonic() + (self.timeout if self.timeout is not None else float("inf"))
        try:
            with get_session().stream(
                "POST",
                request_parameters.url,
                json=request_parameters.json,
                content=request_parameters.data,
                headers=request_parameters.headers,
                cookies=self.cookies,
                timeout=self.timeout,
            ) as response:
                hf_raise_for_status(response)
                return read_within(response, deadline, request_parameters.url)
        except httpx2.TimeoutException as error:
            raise InferenceTimeoutError(f"Inference call timed out: {host(request_parameters.url)}") from error


# --- failures, worded ------------------------------------------------------------------------------------------


def _server_words(error: HfHubHTTPError, token: str | None) -> str:
    """The backend's own message (e.g. this template's "Text is empty: type some text."), short and safe."""
    words = (error.server_message or "").strip().splitlines()
    text = words[0].strip() if words else ""
    if text.startswith("<"):  # an HTML error page from a proxy says nothing a visitor can use
        return ""
    text = redact_text(text, [token])
    return text if len(text) <= MAX_MESSAGE_CHARS else text[: MAX_MESSAGE_CHARS - 1] + "…"


def http_error(error: HfHubHTTPError, token: str | None) -> BackendError:
    status = error.response.status_code if error.response is not None else 0
    words = _server_words(error, token)
    said = f": {words}" if words else "."
    if status in _INPUT_STATUSES:
        return BackendError(f"The model's server refused this input ({status}){said}", per_input=True)
    if status in _WAKING_STATUSES:
        return BackendError(
            "The model's server is starting (it may have scaled to zero when idle) and did not get ready in time: "
            "try again in a minute.",
            waking=True,
        )
    table = {
        401: "The model's server refused this Space's credentials (401): "
        "the owner should check INFERENCE_TOKEN or HF_TOKEN.",
        403: "The model's server refused this Space's credentials (403): "
        "the owner should check INFERENCE_TOKEN or HF_TOKEN.",
        404: "The model's server has no such route (404): the owner should check INFERENCE_URL.",
        405: "The model's server does not take this request (405): the owner should check INFERENCE_URL.",
        429: f"The model's server is busy (429){said} Try again shortly.",
        504: "The model's server took too long to answer (504): try again shortly.",
    }
    if status in table:
        return BackendError(table[status])
    if status >= 500:
        return BackendError(f"The model's server failed ({status}){said} Try again shortly.")
    return BackendError(f"The model's server answered {status}{said}")


# The first row whose type matches words the failure; the owner reads the details in the log.
_TRANSPORT_FAILURES: tuple[tuple[type[Exception] | tuple[type[Exception], ...], str, bool], ...] = (
    (
        OfflineModeIsEnabled,
        (
            "This Space runs with HF_HUB_OFFLINE set, so huggingface_hub refuses to reach the model's server: "
            "the owner should unset HF_HUB_OFFLINE."
        ),
        False,
    ),
    (
        (InferenceTimeoutError, httpx2.TimeoutException),
        "The model's server did not answer in time (INFERENCE_TIMEOUT): try again shortly.",
        False,
    ),
    (
        httpx2.ConnectError,
        "The model's server cannot be reached right now (connection refused or no such host): try again in a minute.",
        True,
    ),
    (
        httpx2.TooManyRedirects,
        "The model's server redirects in a loop (too many redirects): the owner should check INFERENCE_URL.",
        True,
    ),
    (
        httpx2.DecodingError,
        (
            "The model's server sent an answer that cannot be decoded (e.g. a broken gzip body): try again "
            "shortly; the owner should check the server."
        ),
        True,
    ),
    (Exception, "The connection to the model's server failed: try again shortly.", True),
)


def transport_error(error: Exception, url: str) -> BackendError:
    """A failure on the way (no HTTP status to go by), worded like every other backend failure."""
    message, logged = next((m, logged) for kind, m, logged in _TRANSPORT_FAILURES if isinstance(error, kind))
    if logged:
        log.warning("The call to the backend at %s failed: %s: %s", host(url), type(error).__name__, error)
    return BackendError(message)


TRANSPORT_ERRORS = (httpx2.RequestError, OfflineModeIsEnabled, InferenceTimeoutError)
"""What a call raises when it fails on the way: redirect loops and undecodable bodies included."""


def retry_after_s(error: HfHubHTTPError) -> float | None:
    raw = error.response.headers.get("retry-after", "") if error.response is not None else ""
    try:
        return max(0.0, float(raw))
    except ValueError:
        return None


# --- waiting for a backend that is starting ----------------------------------------------------------------------


@dataclass
class Waiting:
    """The backend is being waited for (it answered 503); shown to visitors as progress."""

    since: float
    """time.monotonic() of the first 503."""
    until: float
    """time.monotonic() past which no more tries are made."""
    tries: int = 1

    def fraction(self, now: float) -> float:
        return min(1.0, (now - self.since) / max(1e-9, self.until - self.since))

    def describe(self, now: float) -> str:
        return f"The model's server is starting: waiting {now - self.since:.0f} s (try {self.tries})"


@dataclass
class WaitPolicy:
    """How long one batch may wait for a backend that is starting, and how often it asks meanwhile."""

    max_wait_s: float
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)
