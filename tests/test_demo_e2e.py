"""The real app as a process, driven through gradio_client as an API user would."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

from tests.apptools import REPO, AppProcess

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def default_app(tmp_path_factory) -> AppProcess:
    with AppProcess({"MAX_BATCH_SIZE": "8"}, tmp_path_factory.mktemp("app") / "app.log") as app:
        yield app


@pytest.fixture(scope="module")
def client(default_app) -> Client:
    return Client(default_app.url, verbose=False)


def test_predict_is_documented_with_named_parameters(client):
    endpoint = client.view_api(return_format="dict")["named_endpoints"]["/predict"]
    assert [p["parameter_name"] for p in endpoint["parameters"]] == ["source", "candidates"]


def test_the_default_model_ranks_candidates(client):
    ranking, notes = client.predict(
        source="A man is playing a guitar.",
        candidates="The stock market fell.\nSomeone strums a guitar.",
        api_name="/predict",
    )
    assert ranking["label"] == "Someone strums a guitar."
    assert [c["label"] for c in ranking["confidences"]] == ["Someone strums a guitar.", "The stock market fell."]
    assert notes == ""


@pytest.mark.parametrize(
    ("source", "candidates", "message"),
    [
        ("   ", "a", "Source sentence is empty"),
        ("ok", "", "Candidates, one per line is empty"),
        ("ok", "\n".join(f"c{i}" for i in range(100)), "100 given, at most 32 allowed"),
    ],
)
def test_bad_input_gets_a_clear_message_and_no_trace(client, source, candidates, message):
    with pytest.raises(AppError) as caught:
        client.predict(source, candidates, api_name="/predict")
    assert message in str(caught.value)
    assert "Traceback" not in str(caught.value)


def test_a_megabyte_of_text_is_cut_and_the_caller_told(client):
    _, notes = client.predict("x " * 500_000, "a\nb", api_name="/predict")
    assert "cut from 999,999 to 10,000 characters" in notes


def test_wrong_types_through_the_api_are_refused_cleanly(default_app):
    import httpx

    response = httpx.post(f"{default_app.url}/gradio_api/call/predict", json={"data": [{"a": 1}, ["b"]]})
    event_id = response.json()["event_id"]
    stream = httpx.get(f"{default_app.url}/gradio_api/call/predict/{event_id}", timeout=30).text
    assert "event: error" in stream and "must be text, not dict" in stream and "Traceback" not in stream


def test_concurrent_visitors_are_all_served_and_bad_ones_do_not_hurt_them(default_app, client):
    def call(i: int):
        source = "" if i % 5 == 0 else f"sentence number {i}"
        try:
            return client.predict(source, f"number {i}\nsomething else", api_name="/predict")[0]["label"]
        except AppError as error:
            return str(error)

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(call, range(40)))
    for i, result in enumerate(results):
        assert result == ("Source sentence is empty: type some text." if i % 5 == 0 else f"number {i}")
    assert "Traceback" not in default_app.log()


def test_the_log_says_what_was_loaded_where(default_app):
    log = default_app.log()
    assert "all-MiniLM-L6-v2 (embedded), task sentence-similarity, device cpu" in log
    assert "dtype float32" in log


def test_a_classifier_serves_label_scores(tiny_models, tmp_path):
    env = {"MODEL_ID": str(tiny_models["text-classification"]), "DIAGNOSTICS_AT_STARTUP": "false"}
    with AppProcess(env, tmp_path / "app.log") as app:
        result, _ = Client(app.url, verbose=False).predict("What a nice day", api_name="/predict")
    assert {c["label"] for c in result["confidences"]} == {"negative", "positive"}


def test_generation_streams_through_the_api(tiny_models, tmp_path):
    env = {"MODEL_ID": str(tiny_models["text-generation"]), "MAX_NEW_TOKENS": "12", "DIAGNOSTICS_AT_STARTUP": "false"}
    with AppProcess(env, tmp_path / "app.log") as app:
        job = Client(app.url, verbose=False).submit(prompt="Once upon a time", api_name="/predict")
        final = job.result(timeout=60)
        updates = [text for text, _ in job.outputs()]
    assert len(updates) >= 3
    assert all(later.startswith(earlier) for earlier, later in zip(updates, updates[1:]))
    assert final[0] == updates[-1]


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"MAX_BATCH_SIZE": "many"}, "MAX_BATCH_SIZE='many' is not a number"),
        ({"DEVICE": "tpu"}, "DEVICE='tpu' is not one of auto, cpu, cuda"),
    ],
)
def test_a_malformed_variable_stops_start_up_with_one_clear_message(env, message):
    result = subprocess.run(
        [sys.executable, "app.py"],
        cwd=REPO,
        env={**os.environ, "HF_HUB_OFFLINE": "1", **env},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode != 0
    assert result.stderr.strip() == f"Configuration error: {message}."
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"TASK": "translation"}, "TASK='translation' is not supported"),
        ({"MODEL_ID": "org/not-on-this-machine"}, "Could not load MODEL_ID='org/not-on-this-machine'"),
        ({"DEVICE": "cuda"}, "DEVICE=cuda but torch sees no CUDA GPU"),
    ],
)
def test_a_model_that_cannot_load_leaves_no_demo_but_says_what_to_fix(env, message, tmp_path):
    import httpx

    with AppProcess({**env, "DIAGNOSTICS_AT_STARTUP": "false"}, tmp_path / "app.log") as app:
        config = httpx.get(f"{app.url}/config").json()
        api = httpx.get(f"{app.url}/gradio_api/info").json()
        log = app.log()
    assert "/predict" not in api["named_endpoints"]
    components = config["components"]
    shown = [c["props"].get("value", "") for c in components if c["props"].get("elem_id") == "demo-unavailable"]
    assert len(shown) == 1 and message in shown[0]
    assert log.count(message) == 1 and "Traceback" not in log
