"""A stand-in for a Text Embeddings Inference server (TEI's /info, root route and error shapes), with
switches for the failures a real one shows: 503 while starting, slowness, a refused input, and a hostile
or broken one's: an answer trickled a byte at a time, NaN in the vectors, a bad gzip body, a redirect loop."""

from __future__ import annotations

import gzip
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np

from tests.hub_standin import fake_token

TOKEN = fake_token()
TRICKLE_PAUSE_S = 0.5
"""Shorter than any read timeout: a trickling server never trips one."""
TEI_INFO = {
    "model_id": "BAAI/bge-small-en-v1.5",
    "model_type": {"embedding": {"pooling": "cls"}},
    "max_client_batch_size": 3,
    "version": "1.8.0",
}


def vector(text: str) -> list[float]:
    """A fixed, text-dependent embedding: the stand-in's "model"."""
    rng = np.random.default_rng(sum(map(ord, text)))
    return rng.normal(size=8).tolist()


@dataclass
class Behaviour:
    info: dict | None = field(default_factory=lambda: dict(TEI_INFO))
    unavailable: int = 0
    """Answer 503 to this many inference calls first."""
    delay_s: float = 0.0
    classifier: bool = False
    trickle_s: float = 0.0
    """Answer 200 and send the body one byte every TRICKLE_PAUSE_S for this long (then close)."""
    nan: bool = False
    """Vectors hold NaN (Python's json writes it; huggingface_hub reads it back as a float)."""
    bad_gzip: bool = False
    """Content-Encoding: gzip on a body that is not gzip."""
    redirect_loop: bool = False
    """Answer every call with a redirect to itself."""
    bodies: list = field(default_factory=list)
    auth: list = field(default_factory=list)
    info_calls: int = 0


class StandIn(BaseHTTPRequestHandler):
    behaviour: Behaviour

    def log_message(self, *args) -> None:
        pass

    def _send(self, status: int, body: object, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        try:
            self.wfile.write(data)
        except BrokenPipeError:  # the client gave up (the timeout test)
            pass

    def do_GET(self) -> None:
        b = self.behaviour
        if self.path == "/info" and b.info is not None:
            b.info_calls += 1
            self._send(200, b.info)
        else:
            self._send(404, {"error": "Not Found"})

    def do_POST(self) -> None:
        b = self.behaviour
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        b.bodies.append(body)
        b.auth.append(self.headers.get("Authorization"))
        if b.delay_s:
            time.sleep(b.delay_s)
        if b.trickle_s:
            self._trickle(b.trickle_s)
            return
        if b.redirect_loop:
            self.send_response(307)
            self.send_header("Location", self.path)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if b.bad_gzip:
            data = b"this is not gzip" + gzip.compress(b"[[1.0]]")[:5]
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        if b.unavailable:
            b.unavailable -= 1
            self._send(503, {"error": "Service Unavailable"}, {"Retry-After": "0"})
            return
        texts = body["inputs"] if isinstance(body["inputs"], list) else [body["inputs"]]
        if any("BAD" in text for text in texts):
            self._send(422, {"error": f"Input validation error: refused (token {TOKEN})", "error_type": "Validation"})
            return
        if b.classifier:  # TEI's /predict: a flat list for one text, a list per text for a batch
            scores = [{"label": "POSITIVE", "score": 0.25}, {"label": "NEGATIVE", "score": 0.75}]
            self._send(200, [scores] * len(body["inputs"]) if isinstance(body["inputs"], list) else scores)
            return
        self._send(200, [[float("nan")] * 8 if b.nan else vector(text) for text in texts])

    def _trickle(self, seconds: float) -> None:
        """200, then a body that never completes in time: one space every TRICKLE_PAUSE_S."""
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(10_000))
        self.end_headers()
        until = time.monotonic() + seconds
        try:
            while time.monotonic() < until:
                self.wfile.write(b" ")
                self.wfile.flush()
                time.sleep(TRICKLE_PAUSE_S)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up: what a deadline does
            pass
        self.close_connection = True


@contextmanager
def tei_standin() -> Iterator[tuple[str, Behaviour]]:
    """The stand-in on a free port: its URL and the Behaviour to switch and inspect."""
    behaviour = Behaviour()
    handler = type("Handler", (StandIn,), {"behaviour": behaviour})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", behaviour
    finally:
        httpd.shutdown()
        httpd.server_close()


def cosine_ranking(source: str, candidates: list[str]) -> list[str]:
    """The ranking the stand-in's vectors give."""
    s = np.array(vector(source))
    scores = {c: np.dot(vector(c), s) / np.linalg.norm(vector(c)) / np.linalg.norm(s) for c in candidates}
    return sorted(candidates, key=scores.__getitem__, reverse=True)
