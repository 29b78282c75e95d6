"""The lean JSON routes of the real app (default model), through the clients people use and a hostile caller."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import pytest
from gradio_client import Client
from huggingface_hub import InferenceClient
from huggingface_hub.errors import HfHubHTTPError

from tests.apptools import AppProcess

pytestmark = pytest.mark.slow

SOURCE = "A man is playing a guitar."
SENTENCES = ["The stock market fell today.", "Someone is strumming a guitar.", "A person plays music on stage."]


@pytest.fixture(scope="module")
def app(tmp_path_factory) -> AppProcess:
    env = {"MAX_BATCH_SIZE": "8", "DIAGNOSTICS_AT_STARTUP": "false"}
    with AppProcess(env, tmp_path_factory.mktemp("app") / "app.log") as app:
        yield app


@pytest.fixture(scope="module")
def inference(app) -> InferenceClient:
    return InferenceClient(model=f"{app.url}/inference")


@pytest.fixture(autouse=True)
def online_to_the_app(monkeypatch):
    """Tests run with HF_HUB_OFFLINE=1 so nothing reaches the Hub; the InferenceClient must reach the app."""
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", False)


def refused(call) -> HfHubHTTPError:
    with pytest.raises(HfHubHTTPError) as caught:
        call()
    return caught.value


def test_sentence_similarity_scores_each_sentence_in_order(inference):
    scores = inference.sentence_similarity(SOURCE, other_sentences=SENTENCES)
    assert len(scores) == 3 and all(isinstance(s, float) for s in scores)
    assert max(range(3), key=scores.__getitem__) == 1
    assert scores[0] < 0.2 < scores[2] < scores[1]


def test_the_same_inputs_get_the_same_scores_as_predict(app, inference):
    ranking, _ = Client(app.url, verbose=False).predict(SOURCE, "\n".join(SENTENCES), api_name="/predict")
    through_predict = {c["label"]: c["confidence"] for c in ranking["confidences"]}
    assert inference.sentence_similarity(SOURCE, other_sentences=SENTENCES) == [through_predict[s] for s in SENTENCES]


def test_repeated_sentences_and_line_breaks_keep_one_score_per_sentence(inference):
    sentences = ["A guitar\nis played.", "Stocks fell.", "Stocks fell."]
    scores = inference.sentence_similarity(SOURCE, other_sentences=sentences)
    assert len(scores) == 3 and scores[1] == scores[2] and scores[0] > scores[1]


def test_feature_extraction_gives_unit_vectors_that_agree_with_similarity(inference):
    one = inference.feature_extraction(SOURCE)
    many = inference.feature_extraction([SOURCE, *SENTENCES])
    assert one.shape == (1, 384) and many.shape == (4, 384)
    assert np.allclose(np.linalg.norm(many, axis=1), 1.0, atol=1e-4)
    assert np.allclose(one[0], many[0], atol=1e-5)
    scores = inference.sentence_similarity(SOURCE, other_sentences=SENTENCES)
    assert np.allclose(many[1:] @ many[0], scores, atol=1e-4)


def test_the_openai_sdk_gets_the_same_embeddings(app, inference):
    from openai import OpenAI

    client = OpenAI(base_url=f"{app.url}/v1", api_key="unused", max_retries=0)
    default = client.embeddings.create(model="all-MiniLM-L6-v2", input=[SOURCE, SENTENCES[0]])  # base64 on the wire
    floats = client.embeddings.create(model="all-MiniLM-L6-v2", input=SOURCE, encoding_format="float")
    expected = inference.feature_extraction([SOURCE, SENTENCES[0]])
    assert [d.index for d in default.data] == [0, 1]
    assert np.allclose(np.array([d.embedding for d in default.data]), expected, atol=1e-6)
    assert np.allclose(floats.data[0].embedding, expected[0], atol=1e-6)
    assert default.usage.prompt_tokens == default.usage.total_tokens > 10
    assert "all-MiniLM-L6-v2" in default.model


def test_the_openai_sdk_hears_why_a_request_is_refused(app):
    import openai

    client = openai.OpenAI(base_url=f"{app.url}/v1", api_key="unused", max_retries=0)
    with pytest.raises(openai.UnprocessableEntityError) as caught:
        client.embeddings.create(model="m", input=[[101, 2023, 102]])
    assert "token ids are not accepted" in caught.value.message
    assert "check_embedding_ctx_length=False" in caught.value.message
    with pytest.raises(openai.UnprocessableEntityError) as caught:
        client.embeddings.create(model="m", input="text", dimensions=64)
    assert "dimensions=64 is not supported here: this model gives 384" in caught.value.message


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda c: c.sentence_similarity("   ", other_sentences=["a"]), "Source sentence is empty: type some text."),
        (lambda c: c.sentence_similarity("ok", other_sentences=[]), "Candidates, one per line is empty"),
        (lambda c: c.sentence_similarity("ok", other_sentences=["a", " "]), "inputs.sentences[1]: Text is empty"),
        (
            lambda c: c.sentence_similarity("ok", other_sentences=[f"s{i}" for i in range(100)]),
            "100 given, at most 32 allowed (MAX_CANDIDATES)",
        ),
        (
            lambda c: c.feature_extraction([f"t{i}" for i in range(2049)]),
            "inputs: 2,049 texts given, at most 2,048 allowed (MAX_EMBEDDING_INPUTS)",
        ),
        (lambda c: c.feature_extraction(["fine", ""]), "inputs[1]: Text is empty"),
        (lambda c: c.feature_extraction("x", normalize=False), "normalize=False is not supported here"),
        (lambda c: c.feature_extraction("x", prompt_name="query"), "prompt_name is not supported for this task"),
        (lambda c: c.feature_extraction("word " * 400, truncate=False), "longer than the model's 256 tokens"),
    ],
)
def test_bad_input_is_a_422_with_the_message(inference, call, message):
    error = refused(lambda: call(inference))
    assert error.response.status_code == 422
    assert message in str(error)
    assert "Traceback" not in error.response.text


def test_a_text_of_exactly_the_models_256_tokens_is_read_whole_and_one_more_is_refused(inference):
    # "word" is one token of all-MiniLM-L6-v2's vocabulary; [CLS] and [SEP] make the other two.
    (fits,) = inference.feature_extraction("word " * 254, truncate=False)
    assert np.isclose(np.linalg.norm(fits), 1.0, atol=1e-4)
    error = refused(lambda: inference.feature_extraction("word " * 255, truncate=False))
    assert error.response.status_code == 422 and "inputs[0] is longer than the model's 256 tokens" in str(error)


def test_feature_extraction_takes_more_texts_than_one_batch_and_answers_in_order(inference):
    texts = [f"text number {i}" for i in range(100)]  # the app's MAX_BATCH_SIZE is 8, MAX_CANDIDATES 32
    many = inference.feature_extraction(texts)
    assert many.shape == (100, 384)
    assert np.allclose(many[[0, 57, 99]], inference.feature_extraction([texts[0], texts[57], texts[99]]), atol=1e-5)


def test_a_long_text_is_cut_like_in_the_demo(inference):
    (long,) = inference.feature_extraction("word " * 400)
    assert np.isclose(np.linalg.norm(long), 1.0, atol=1e-4)


# --- a hostile caller with plain HTTP -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (b"{not json", 422, "The body is not valid JSON."),
        (b"[" * 100_000 + b"]" * 100_000, 413, "The JSON nests deeper than 32 levels."),
        (b'"just a string"', 422, '{"inputs": ..., "parameters": {...}}'),
        (b'{"inputs": 42}', 422, "inputs must be a list of texts"),
        (b'{"inputs": {"source_sentence": "a", "sentences": "b"}}', 422, "inputs.sentences must be a list of texts"),
        (b'{"inputs": {"source_sentence": {"x": 1}, "sentences": ["b"]}}', 422, "must be text, not dict"),
        (b'{"inputs": {"source_sentence": "a", "sentences": [1, 2]}}', 422, "inputs.sentences must be a list of texts"),
        (b'{"inputs": {"source_sentence": "a"}}', 422, '"source_sentence": "...", "sentences"'),
        (b'{"inputs": {"source_sentence": "a", "sentences": ["b"]}, "parameters": [1]}', 422, "parameters must be"),
        (b'{"inputs": {"source_sentence": "a", "sentences": ["b"]}, "parameters": {"x": 1}}', 422, "parameters.x"),
        (b'{"inputs": "a", "truncate": "yes"}', 422, "truncate='yes' is not supported here"),
        (b'{"inputs": "a\\ud800b"}', 422, "The body is not valid JSON."),
    ],
)
def test_malformed_bodies_get_a_clear_answer_and_no_trace(app, body, status, message):
    response = httpx.post(f"{app.url}/inference", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == status
    assert message in response.json()["error"]


@pytest.mark.parametrize(
    "content_type", [None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data"]
)
def test_a_body_that_is_not_declared_json_is_refused(app, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    response = httpx.post(f"{app.url}/inference", content=b'{"inputs": "a"}', headers=headers)
    assert response.status_code == 415
    assert "Content-Type: application/json" in response.json()["error"]


def test_a_huge_body_is_refused_before_it_is_read(app):
    huge = json.dumps({"inputs": "x" * 7_000_000}).encode()
    response = httpx.post(f"{app.url}/inference", content=huge, headers={"Content-Type": "application/json"})
    assert response.status_code == 413 and "larger than" in response.json()["error"]

    def chunks():  # no Content-Length: the server has to count
        yield b'{"inputs": "'
        for _ in range(700):
            yield b"x" * 10_000
        yield b'"}'

    response = httpx.post(f"{app.url}/v1/embeddings", content=chunks(), headers={"Content-Type": "application/json"})
    assert response.status_code == 413 and "larger than" in response.json()["error"]["message"]


def test_the_wrong_method_is_refused(app):
    assert httpx.get(f"{app.url}/inference").status_code == 405


def test_bad_callers_do_not_fail_good_ones_in_the_same_batches(app):
    def call(i: int) -> tuple[int, object]:
        sentences = ["", "b"] if i % 4 == 0 else [f"sentence {i}", "something else"]
        body = {"inputs": {"source_sentence": f"sentence {i}", "sentences": sentences}}
        response = httpx.post(f"{app.url}/inference", json=body, timeout=60)
        return response.status_code, response.json()

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(call, range(48)))
    for i, (status, body) in enumerate(results):
        if i % 4 == 0:
            assert status == 422 and "inputs.sentences[0]: Text is empty" in body["error"]
        else:
            assert status == 200 and body[0] > body[1]


def test_the_log_has_no_trace_of_any_of_it(app):
    assert "Traceback" not in app.log()


def test_too_many_waiting_callers_get_503_with_retry_after(tmp_path):
    env = {"QUEUE_MAX_SIZE": "2", "MAX_BATCH_SIZE": "1", "MAX_INPUT_CHARS": "100000", "DIAGNOSTICS_AT_STARTUP": "false"}
    with AppProcess(env, tmp_path / "app.log") as app:
        # Each request costs a forward pass of 32 long sentences: 24 at once cannot all wait in 2 places.
        body = {"inputs": {"source_sentence": "a", "sentences": [f"{i} " + "word " * 200 for i in range(32)]}}

        def call(_: int) -> httpx.Response:
            return httpx.post(f"{app.url}/inference", json=body, timeout=120)

        with ThreadPoolExecutor(24) as pool:
            responses = list(pool.map(call, range(24)))
    busy = [r for r in responses if r.status_code == 503]
    assert busy and all(r.headers["Retry-After"] == "1" and "QUEUE_MAX_SIZE" in r.json()["error"] for r in busy)
    assert all(r.status_code == 200 and len(r.json()) == 32 for r in responses if r.status_code != 503)
