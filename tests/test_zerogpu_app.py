"""The real app as a process on a simulated ZeroGPU: the stand-in `spaces` package
(tests/fixtures/spaces_standin) records each GPU call with the request it ran under, and refuses the
visitors whose quota it is told is spent, with the error the real package raises."""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

from diagnostics.zerogpu_check import CHECK_SECONDS
from models.inputs import Prepared
from models.zerogpu import gpu_seconds
from tests.apptools import REPO, AppProcess

pytestmark = pytest.mark.slow

STANDIN = REPO / "tests" / "fixtures" / "spaces_standin"
VISITORS = 6
SPENT = 2
"""The visitor whose ZeroGPU quota is spent."""
SOURCE = "A man is playing a guitar."


def _token(visitor: int) -> str:
    return f"ip-token-of-visitor-{visitor}"


def _candidates(visitor: int) -> str:
    return f"Someone strums guitar number {visitor}.\nThe stock market fell."


def _standin_env(record: Path, **extra: str) -> dict[str, str]:
    return {
        "PYTHONPATH": os.pathsep.join(filter(None, [str(STANDIN), os.environ.get("PYTHONPATH")])),
        "SPACES_STANDIN_RECORD": str(record),
        "DIAGNOSTICS_AT_STARTUP": "false",
        **extra,
    }


def _records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.fixture(scope="module")
def zero_app(tmp_path_factory):
    folder = tmp_path_factory.mktemp("zerogpu")
    env = _standin_env(
        folder / "record.jsonl",
        SPACES_ZERO_GPU="true",
        SPACES_STANDIN_EXHAUSTED=_token(SPENT),
        # Each call holds its GPU a while, so concurrent visitors overlap (and a batcher would batch them).
        SPACES_STANDIN_CALL_SECONDS="2",
    )
    with AppProcess(env, folder / "app.log") as app:
        app.record = folder / "record.jsonl"
        yield app


@pytest.fixture(scope="module")
def rush(zero_app):
    """Every visitor, each with their own session and X-IP-Token, calls /predict at the same time."""
    clients = [Client(zero_app.url, headers={"X-IP-Token": _token(v)}, verbose=False) for v in range(VISITORS)]

    def call(visitor: int):
        try:
            return clients[visitor].predict(SOURCE, _candidates(visitor), api_name="/predict")
        except AppError as error:
            return error

    with ThreadPoolExecutor(VISITORS) as pool:
        answers = list(pool.map(call, range(VISITORS)))
    calls = [r for r in _records(zero_app.record) if r["event"] == "call" and r["function"] == "predict_batch"]
    return clients, answers, calls


def test_spaces_is_imported_before_torch(zero_app):
    imports = [r for r in _records(zero_app.record) if r["event"] == "import"]
    assert imports == [{"event": "import", "pid": imports[0]["pid"], "zero_gpu": True, "torch_imported_before": False}]


def test_each_visitor_gets_one_gpu_call_of_their_own_under_their_own_request(rush):
    clients, _, calls = rush
    by_session = {c["session_hash"]: c for c in calls}
    assert len(calls) == VISITORS and len(by_session) == VISITORS
    for visitor, client in enumerate(clients):
        assert by_session[client.session_hash]["ip_token"] == _token(visitor)
    # The calls ran side by side, not one batch after another.
    assert max(c["start"] for c in calls) < min(c["end"] for c in calls if not c["refused"])


def test_each_call_asks_for_seconds_sized_to_its_input(rush):
    clients, _, calls = rush
    expected = gpu_seconds("sentence-similarity", [Prepared((SOURCE, tuple(_candidates(0).split("\n"))), ())], 64)
    assert {c["duration"] for c in calls} == {expected} and expected < 60


def test_a_spent_quota_reaches_that_visitor_alone_as_a_clear_message(rush):
    _, answers, calls = rush
    refused = answers[SPENT]
    assert isinstance(refused, AppError)
    assert refused.title == "ZeroGPU quota exceeded"
    assert "You have exceeded your ZeroGPU quota" in refused.message and "Traceback" not in refused.message
    for visitor, answer in enumerate(answers):
        if visitor != SPENT:
            ranking, _ = answer
            assert ranking["label"] == f"Someone strums guitar number {visitor}."
    assert [c["ip_token"] for c in calls if c["refused"]] == [_token(SPENT)]


def test_the_torch_check_runs_in_one_gpu_call_shared_by_visitors(zero_app):
    first = Client(zero_app.url, headers={"X-IP-Token": _token(0)}, verbose=False)
    shown = first.predict(api_name="/zerogpu_torch_check")
    # No GPU here, even inside the (simulated) call: the check says so rather than pretending.
    assert "torch sees no CUDA GPU even inside a ZeroGPU call" in shown
    again = Client(zero_app.url, headers={"X-IP-Token": _token(1)}, verbose=False).predict(
        api_name="/zerogpu_torch_check"
    )
    assert again == shown
    checks = [r for r in _records(zero_app.record) if r.get("function") == "torch_in_gpu_call"]
    assert len(checks) == 1
    assert checks[0]["session_hash"] == first.session_hash and checks[0]["duration"] == CHECK_SECONDS


def test_off_zerogpu_nothing_of_spaces_is_imported(tmp_path):
    record = tmp_path / "record.jsonl"
    with AppProcess(_standin_env(record), tmp_path / "app.log") as app:
        client = Client(app.url, verbose=False)
        ranking, _ = client.predict(SOURCE, _candidates(1), api_name="/predict")
        endpoints = client.view_api(return_format="dict")["named_endpoints"]
    assert ranking["label"] == "Someone strums guitar number 1."
    assert "/zerogpu_torch_check" not in endpoints
    assert _records(record) == []
