"""Issue 9 items 1 and 10 against the real app as a process: what a hostile caller with plain HTTP sends
cannot fail other visitors, and every refusal reaches its caller in words, without a traceback in the log."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

from tests.apptools import AppProcess

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def app(tmp_path_factory) -> AppProcess:
    env = {"MAX_BATCH_SIZE": "8", "DIAGNOSTICS_AT_STARTUP": "false"}
    with AppProcess(env, tmp_path_factory.mktemp("app") / "app.log") as app:
        yield app


def call_raw(app: AppProcess, data: list) -> tuple[str, object]:
    """POST /gradio_api/call/predict as plain HTTP, the body escaped to ASCII so lone surrogates survive
    (they are valid JSON); returns the event name and its data."""
    body = json.dumps({"data": data}).encode()
    posted = httpx.post(
        f"{app.url}/gradio_api/call/predict", content=body, headers={"content-type": "application/json"}, timeout=30
    )
    posted.raise_for_status()
    stream = httpx.get(f"{app.url}/gradio_api/call/predict/{posted.json()['event_id']}", timeout=120).text
    event = stream.split("event: ")[-1].split("\n")[0]
    return event, json.loads(stream.split("data: ")[-1])


def test_lone_surrogates_sent_among_concurrent_visitors_fail_nobody(app):
    client = Client(app.url, verbose=False)

    def good(i: int) -> str:
        try:
            answer = client.predict(f"sentence number {i}", f"number {i}\nsomething else", api_name="/predict")
            return answer[0]["label"]
        except AppError as error:
            return f"failed: {error}"

    def bad(i: int) -> tuple[str, object]:
        return call_raw(app, [f"x\ud800 {i}", "a\udfff\nb"])

    # Interleaved, so that bad requests share batches with good ones (before the fix: 11 of 15 good failed).
    with ThreadPoolExecutor(20) as pool:
        calls = [pool.submit(bad, i) if i % 4 == 0 else pool.submit(good, i) for i in range(40)]
        results = [call.result() for call in calls]

    served = [result for i, result in enumerate(results) if i % 4]
    assert [s for s in served if s.startswith("failed")] == []
    assert served == [f"number {i}" for i in range(40) if i % 4]
    for event, answer in results[::4]:
        assert event == "complete", answer
        ranking, notes = answer
        assert ranking["label"] in {"a", "b"}
        assert "Source sentence: removed 1 character(s) that are not valid Unicode" in notes
    assert "Traceback" not in app.log()


@pytest.mark.parametrize("data", [["only one"], [], ["a", "b", "c"]], ids=["one", "none", "three"])
def test_a_wrong_number_of_values_is_answered_with_the_parameters_by_name(app, data):
    event, answer = call_raw(app, data)
    assert event == "error"
    assert answer["error"] == f"/predict takes 2 value(s), in this order: source, candidates; {len(data)} sent."
    assert "Traceback" not in app.log()


def test_candidates_are_counted_as_given_not_as_left_after_the_cut(app):
    event, answer = call_raw(app, ["ok", "\n".join(f"candidate {i}" for i in range(10_000))])
    assert event == "error"
    assert answer["error"] == "Candidates, one per line: 10,000 given, at most 32 allowed (MAX_CANDIDATES)."
