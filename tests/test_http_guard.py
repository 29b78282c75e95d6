"""What a hostile caller can do to the app's HTTP server, run as a process: plain sockets and httpx.

Bodies are bounded before any route reads or parses them (http_guard.py), on the lean routes and on
Gradio's own; uploads are refused (the app takes no files); a stalled body gets 408, and one address
cannot hold more than its share of bodies; bad calls and clients that leave are one log line, not a trace.
"""

from __future__ import annotations

import json
import re
import socket
import time

import httpx
import pytest

from tests.apptools import AppProcess

pytestmark = pytest.mark.slow

BODY_TIMEOUT_S = 2
PER_CLIENT = 2
JSON = {"Content-Type": "application/json"}
# Under the lean routes' 413 limit (2.7 MB), and nearly a million lists to build if parsed.
EMPTY_LISTS = b'{"inputs": [' + b"[]," * 890_000 + b"[]]}"
DEEP = b'{"inputs": ' + b"[" * 5_000 + b"]" * 5_000 + b"}"
GRADIO_POSTS = ("/gradio_api/call/predict", "/gradio_api/queue/join", "/gradio_api/run/predict")


@pytest.fixture(scope="module")
def app(tmp_path_factory) -> AppProcess:
    env = {
        "DIAGNOSTICS_AT_STARTUP": "false",
        "BODY_TIMEOUT": str(BODY_TIMEOUT_S),
        "MAX_BODIES_PER_CLIENT": str(PER_CLIENT),
    }
    with AppProcess(env, tmp_path_factory.mktemp("app") / "app.log") as app:
        yield app


def start_body(app: AppProcess, path: str, declared: int, sent: bytes, client: str | None = None) -> socket.socket:
    """A POST that declares `declared` bytes, sends `sent` of them and goes silent."""
    sock = socket.create_connection(("127.0.0.1", app.port))
    # The app trusts loopback as a proxy (uvicorn's FORWARDED_ALLOW_IPS default): here, a visitor's address.
    forwarded = f"X-Forwarded-For: {client}\r\n" if client else ""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {declared}\r\n{forwarded}\r\n"
    )
    sock.sendall(head.encode() + sent)
    return sock


def answer_of(sock: socket.socket, timeout_s: float) -> tuple[int | None, bytes]:
    """Status and everything the server sent until it closed the connection (None: no answer in time)."""
    sock.settimeout(timeout_s)
    received = b""
    try:
        while chunk := sock.recv(65_536):
            received += chunk
    except (TimeoutError, ConnectionResetError):
        pass
    match = re.match(rb"HTTP/1\.1 (\d{3})", received)
    return (int(match.group(1)) if match else None), received


@pytest.mark.parametrize(
    ("path", "message_of"),
    [("/inference", lambda body: body["error"]), ("/v1/embeddings", lambda body: body["error"]["message"])],
)
def test_json_that_would_cost_to_parse_is_refused_before_parsing(app, path, message_of):
    lists = httpx.post(app.url + path, content=EMPTY_LISTS, headers=JSON, timeout=60)
    assert lists.status_code == 413
    assert message_of(lists.json()) == "The JSON holds more than 10,000 arrays and objects."
    deep = httpx.post(app.url + path, content=DEEP, headers=JSON, timeout=60)
    assert deep.status_code == 413
    assert message_of(deep.json()) == "The JSON nests deeper than 32 levels."


@pytest.mark.parametrize("path", GRADIO_POSTS)
def test_gradio_routes_refuse_a_body_over_their_byte_limit(app, path):
    body = json.dumps({"data": ["x" * 3_000_000, "y"], "fn_index": 0, "session_hash": "s"}).encode()
    declared = httpx.post(app.url + path, content=body, headers=JSON, timeout=60)
    assert declared.status_code == 413
    assert declared.json() == {"error": "The body is larger than 2,097,152 bytes."}

    def chunks():  # no Content-Length: counted as it comes
        for start in range(0, len(body), 65_536):
            yield body[start : start + 65_536]

    chunked = httpx.post(app.url + path, content=chunks(), headers=JSON, timeout=60)
    assert chunked.status_code == 413


@pytest.mark.parametrize("path", GRADIO_POSTS)
def test_gradio_routes_refuse_json_that_would_cost_to_parse(app, path):
    body = b'{"data": [' + b"[]," * 200_000 + b'[]], "fn_index": 0, "session_hash": "s"}'
    response = httpx.post(app.url + path, content=body, headers=JSON, timeout=60)
    assert response.status_code == 413
    assert response.json() == {"error": "The JSON holds more than 10,000 arrays and objects."}


def test_good_calls_pass_the_guard_unchanged(app):
    inference = httpx.post(f"{app.url}/inference", json={"inputs": "a guitar"}, timeout=60)
    assert inference.status_code == 200 and len(inference.json()[0]) == 384
    call = httpx.post(f"{app.url}/gradio_api/call/predict", json={"data": ["a guitar", "a piano\na guitar"]})
    assert call.status_code == 200 and "event_id" in call.json()
    keywords = httpx.post(f"{app.url}/gradio_api/call/v2/predict", json={"source": "a", "candidates": "b\nc"})
    assert keywords.status_code == 200 and "event_id" in keywords.json()


@pytest.mark.parametrize("content", [b"x" * 1000, b""])
def test_uploads_are_refused_as_the_app_takes_no_files(app, content):
    response = httpx.post(f"{app.url}/gradio_api/upload", files={"files": ("notes.txt", content)})
    assert response.status_code == 413
    assert response.json() == {"error": "The body is larger than 0 bytes."}


def test_a_stalled_body_gets_408_and_its_connection_is_closed(app):
    sock = start_body(app, "/inference", 2_600_000, b" " * 2_500_000, client="198.51.100.1")
    started = time.monotonic()
    status, received = answer_of(sock, BODY_TIMEOUT_S + 10)
    sock.close()
    assert status == 408, received[:300]
    assert time.monotonic() - started < BODY_TIMEOUT_S + 5
    assert b"did not arrive within 2 s" in received


def test_one_address_cannot_hold_more_than_its_share_of_bodies(app):
    held = [start_body(app, "/inference", 1000, b"{", client="203.0.113.7") for _ in range(PER_CLIENT)]
    try:
        time.sleep(0.5)  # both are being received
        extra = start_body(app, "/inference", 1000, b"{", client="203.0.113.7")
        status, received = answer_of(extra, 1.0)
        extra.close()
        assert status == 429, received[:300]
        assert b"retry-after: 2" in received.lower()
        # Another address is served meanwhile.
        other = httpx.post(f"{app.url}/inference", json={"inputs": "a"}, headers={"X-Forwarded-For": "192.0.2.9"})
        assert other.status_code == 200
    finally:
        for sock in held:
            sock.close()


def test_clients_leaving_mid_body_are_at_most_a_log_line_a_minute_not_traces(app):
    before = app.log().count("the client left after")
    for path in ("/inference", "/gradio_api/call/predict", "/inference"):
        sock = start_body(app, path, 100_000, b"{" * 5_000)
        time.sleep(0.3)
        sock.close()
    time.sleep(1)
    log = app.log()
    assert "ClientDisconnect" not in log
    assert log.count("the client left after") - before <= 1
    assert re.search(r"POST /[\w/]+ from [\d.]+: the client left after [\d,]+ of [\d,]+ bytes", log)


def test_the_keyword_route_answers_bad_calls_in_words(app):
    wrong = httpx.post(f"{app.url}/gradio_api/call/v2/predict", json={"data": ["a", "b"]})
    assert wrong.status_code == 422
    assert wrong.json() == {
        "error": "Parameter `data` is not a valid key-word argument. "
        "Please click on 'view API' in the footer of the Gradio app to see usage."
    }
    missing = httpx.post(f"{app.url}/gradio_api/call/v2/predict", json={"source": "a"})
    assert missing.status_code == 422 and "candidates" in missing.json()["error"]
    unknown = httpx.post(f"{app.url}/gradio_api/call/v2/no_such_thing", json={})
    assert unknown.status_code == 404
    assert unknown.json() == {"error": "There is no endpoint /no_such_thing: GET /gradio_api/info lists them."}


def test_the_log_has_no_trace_of_any_of_it(app):
    assert "Traceback" not in app.log()
