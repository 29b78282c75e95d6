"""Two instances of the app as processes: A serves the model and its /inference route; B runs with
INFERENCE_URL pointing at A. B's Demo must answer as A's, tell its visitors when A is gone, and recover."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

from tests.apptools import AppProcess, free_port
from tests.hub_standin import fake_token
from tests.tei_standin import cosine_ranking, tei_standin

pytestmark = pytest.mark.slow

SOURCE = "A man is playing a guitar."
CANDIDATES = "The stock market fell today.\nSomeone is strumming a guitar.\nA person plays music on stage."
A_ENV = {"MAX_BATCH_SIZE": "8", "DIAGNOSTICS_AT_STARTUP": "false", "MCP_SERVER": "false"}
SECRET = fake_token()


class Backend:
    """App A, which can be stopped and started again on the same port (the URL B was given)."""

    def __init__(self, log_dir: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_dir = log_dir
        self.starts = 0
        self.app: AppProcess | None = None

    def start(self) -> None:
        self.starts += 1
        self.app = AppProcess(A_ENV, self.log_dir / f"a{self.starts}.log", port=self.port).__enter__()

    def stop(self) -> None:
        if self.app is not None:
            self.app.__exit__(None, None, None)
            self.app = None


@pytest.fixture(scope="module")
def a(tmp_path_factory) -> Backend:
    backend = Backend(tmp_path_factory.mktemp("a"))
    backend.start()
    yield backend
    backend.stop()


@pytest.fixture(scope="module")
def b(a, tmp_path_factory) -> AppProcess:
    env = {
        **A_ENV,
        "INFERENCE_URL": f"{a.url}/inference",
        "INFERENCE_TOKEN": SECRET,
        "INFERENCE_MAX_WAIT": "5",
        "INFERENCE_TIMEOUT": "20",
        # huggingface_hub refuses every request in offline mode, the backend's too; B loads nothing from the Hub.
        "HF_HUB_OFFLINE": "0",
    }
    with AppProcess(env, tmp_path_factory.mktemp("b") / "b.log") as app:
        yield app


def predict(app_url: str, source: str, candidates: str):
    return Client(app_url, verbose=False).predict(source, candidates, api_name="/predict")


def ranking(result) -> list[tuple[str, float]]:
    label, _ = result
    return [(c["label"], c["confidence"]) for c in label["confidences"]]


def message(app_url: str, source: str, candidates: str) -> str:
    with pytest.raises(AppError) as caught:
        predict(app_url, source, candidates)
    return str(caught.value)


def test_b_ranks_as_a_does(a, b):
    here, there = ranking(predict(a.url, SOURCE, CANDIDATES)), ranking(predict(b.url, SOURCE, CANDIDATES))
    assert [label for label, _ in there] == [label for label, _ in here]
    assert [score for _, score in there] == pytest.approx([score for _, score in here], abs=2e-4)


def test_b_serves_concurrent_visitors_in_batches_as_a_does(a, b):
    requests = [(f"sentence number {i}", f"number {i}\nsomething else") for i in range(12)]
    with ThreadPoolExecutor(6) as pool:
        there = list(pool.map(lambda r: ranking(predict(b.url, *r))[0][0], requests))
    assert there == [f"number {i}" for i in range(12)]


@pytest.mark.parametrize(
    ("source", "candidates"),
    [("   ", "a"), ("ok", ""), ("ok", "\n".join(f"c{i}" for i in range(100)))],
)
def test_b_refuses_bad_input_with_as_words(a, b, source, candidates):
    assert message(b.url, source, candidates) == message(a.url, source, candidates)


def test_b_tells_where_its_demo_runs_without_showing_the_url_or_token(a, b):
    config = httpx.get(f"{b.url}/config", timeout=30).text
    assert "runs on a **remote server**" in config and "the model at INFERENCE_URL" in config
    assert SECRET not in config and f":{a.port}" not in config


def test_b_diagnostics_report_the_backend(b):
    status = Client(b.url, verbose=False).predict(api_name="/backend")
    assert status["answered"] is True and status["latency_ms"] > 0
    assert status["task"] == "sentence-similarity" and status["model"] == "the model at INFERENCE_URL"
    assert SECRET not in str(status)


def test_b_tells_its_visitors_when_a_is_down_and_recovers_when_a_is_back(a, b):
    a.stop()
    stopped_at = time.time()
    try:
        assert "cannot be reached right now" in message(b.url, SOURCE, CANDIDATES)
        # Checks are shared for a few seconds (BackendCheck): ask until one made after the stop comes back.
        client, deadline = Client(b.url, verbose=False), time.monotonic() + 30
        while (status := client.predict(api_name="/backend"))["checked_at"] < stopped_at:
            assert time.monotonic() < deadline, status
            time.sleep(1)
        assert status["answered"] is False and "cannot be reached" in status["message"]
    finally:
        a.start()
    assert [label for label, _ in ranking(predict(b.url, SOURCE, CANDIDATES))][0] == "Someone is strumming a guitar."
    log = b.log()
    assert "Traceback" not in log and SECRET not in log


def test_a_tei_server_waking_from_zero_is_waited_for_with_progress(tmp_path):
    """Against a TEI-format server: the task and model come from its /info, and a visitor whose request
    meets its 503s sees the wait as progress, then the answer."""
    with tei_standin() as (url, behaviour):
        env = {**A_ENV, "INFERENCE_URL": url, "INFERENCE_MAX_WAIT": "60", "HF_HUB_OFFLINE": "0"}
        with AppProcess(env, tmp_path / "tei.log") as app:
            client = Client(app.url, verbose=False)
            status = client.predict(api_name="/backend")
            assert status["model"] == "BAAI/bge-small-en-v1.5" and status["engine"] == "Text Embeddings Inference 1.8.0"
            assert status["task_source"] == "the backend's /info"
            behaviour.unavailable = 3  # answered after pauses of 1, 2 and 4 s
            job = client.submit(SOURCE, CANDIDATES, api_name="/predict")
            seen: set[str] = set()
            while not job.done():
                for unit in job.status().progress_data or []:
                    seen.add(unit.desc or "")
                time.sleep(0.2)
            assert [label for label, _ in ranking(job.result())] == cosine_ranking(SOURCE, CANDIDATES.split("\n"))
            assert any(desc.startswith("The model's server is starting: waiting") for desc in seen), seen
