"""The embedding clients people use, at their default settings, against the real app (default model) as a process:
the OpenAI SDK, LangChain, LlamaIndex and litellm, each as README shows it, with a real document set's batch sizes.

Offline: tiktoken (LangChain's default counts tokens with it) reads cl100k_base from the copy llama-index-core
ships instead of downloading it, and litellm reads its bundled model price list instead of fetching it."""

from __future__ import annotations

import statistics
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import pytest

from tests.apptools import AppProcess

pytestmark = pytest.mark.slow

MODEL = "all-MiniLM-L6-v2"
DOCUMENTS = [
    f"Paragraph {i} of the handbook, on topic {i % 13}: how the team ships release {i % 7}." for i in range(2048)
]


@pytest.fixture(scope="module", autouse=True)
def offline_client_data():
    import llama_index.core

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TIKTOKEN_CACHE_DIR", str(Path(llama_index.core.__file__).parent / "_static" / "tiktoken_cache"))
        patch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        yield


@pytest.fixture(scope="module")
def app(tmp_path_factory) -> AppProcess:
    with AppProcess({"DIAGNOSTICS_AT_STARTUP": "false"}, tmp_path_factory.mktemp("app") / "app.log") as app:
        yield app


@pytest.fixture(scope="module")
def base_url(app) -> str:
    return f"{app.url}/v1"


@pytest.fixture(scope="module")
def reference(base_url) -> np.ndarray:
    """The first documents' vectors, asked a few at a time: what every client must get back, in order."""
    from openai import OpenAI

    client = OpenAI(base_url=base_url, api_key="unused")
    return np.array([d.embedding for d in client.embeddings.create(model=MODEL, input=DOCUMENTS[:8]).data])


def test_the_openai_sdk_embeds_2048_texts_in_one_request_in_order(base_url, reference):
    from openai import OpenAI

    answer = OpenAI(base_url=base_url, api_key="unused").embeddings.create(model=MODEL, input=DOCUMENTS)
    assert [d.index for d in answer.data] == list(range(2048))
    vectors = np.array([d.embedding for d in answer.data])
    assert np.allclose(vectors[:8], reference, atol=1e-6)
    assert len({round(float(v[0]), 6) for v in vectors}) > 1000  # not one vector repeated


def test_more_than_2048_texts_or_characters_are_refused_with_the_limit(base_url):
    import openai

    client = openai.OpenAI(base_url=base_url, api_key="unused")
    with pytest.raises(openai.UnprocessableEntityError) as caught:
        client.embeddings.create(model=MODEL, input=[*DOCUMENTS, "one more"])
    assert "2,049 texts given, at most 2,048 allowed (MAX_EMBEDDING_INPUTS)" in caught.value.message
    with pytest.raises(openai.UnprocessableEntityError) as caught:
        client.embeddings.create(model=MODEL, input=["word " * 1000] * 201)
    assert "1,005,000 characters in all, at most 1,000,000 allowed (MAX_EMBEDDING_CHARS)" in caught.value.message


def test_langchain_default_token_ids_are_refused_with_what_to_do(base_url):
    import openai
    from langchain_openai import OpenAIEmbeddings

    with pytest.raises(openai.UnprocessableEntityError) as caught:
        OpenAIEmbeddings(base_url=base_url, api_key="unused").embed_documents(DOCUMENTS[:3])
    assert "token ids are not accepted here" in caught.value.message
    assert "check_embedding_ctx_length=False" in caught.value.message


def test_langchain_as_readme_shows_embeds_a_document_set(base_url, reference):
    from langchain_openai import OpenAIEmbeddings

    embeddings = OpenAIEmbeddings(model=MODEL, base_url=base_url, api_key="unused", check_embedding_ctx_length=False)
    vectors = embeddings.embed_documents(DOCUMENTS[:1200])  # 1000 per request, LangChain's default chunk_size
    assert len(vectors) == 1200
    assert np.allclose(vectors[:8], reference, atol=1e-6)
    assert np.allclose(embeddings.embed_query(DOCUMENTS[0]), reference[0], atol=1e-6)


@pytest.mark.parametrize("style", ["default", "model_name", "openai_like"])
def test_llama_index_as_readme_shows_embeds_a_document_set(base_url, reference, style):
    from llama_index.embeddings.openai import OpenAIEmbedding
    from llama_index.embeddings.openai_like import OpenAILikeEmbedding

    embedding = {
        "default": lambda: OpenAIEmbedding(api_base=base_url, api_key="unused"),
        "model_name": lambda: OpenAIEmbedding(model_name=MODEL, api_base=base_url, api_key="unused"),
        "openai_like": lambda: OpenAILikeEmbedding(model_name=MODEL, api_base=base_url, api_key="unused"),
    }[style]()
    vectors = embedding.get_text_embedding_batch(DOCUMENTS[:250])  # 100 per request, LlamaIndex's default
    assert len(vectors) == 250
    assert np.allclose(vectors[:8], reference, atol=1e-6)


def test_litellm_as_readme_shows_embeds_a_document_set(base_url, reference):
    import litellm

    answer = litellm.embedding(model=f"openai/{MODEL}", api_base=base_url, api_key="unused", input=DOCUMENTS[:300])
    vectors = [item["embedding"] for item in answer.data]
    assert len(vectors) == 300
    assert np.allclose(vectors[:8], reference, atol=1e-6)


def test_a_2048_text_request_does_not_hold_up_other_callers(app, base_url):
    """A good caller's requests, one after another, beside a caller that sends 2048 texts at a time: its pieces
    take turns with the good caller's requests in the batches, so the good caller never waits for one to end."""
    body = {"model": MODEL, "input": DOCUMENTS, "encoding_format": "base64"}
    big_seconds: list[float] = []
    big_statuses: list[int] = []
    stop = threading.Event()

    def big_caller() -> None:
        with httpx.Client(timeout=300) as client:
            while not stop.is_set():
                start = time.monotonic()
                big_statuses.append(client.post(f"{base_url}/embeddings", json=body).status_code)
                big_seconds.append(time.monotonic() - start)

    def good_calls(count: int) -> list[float]:
        seconds = []
        with httpx.Client(timeout=60) as client:
            for i in range(count):
                start = time.monotonic()
                answer = client.post(f"{base_url}/embeddings", json={"model": MODEL, "input": f"a good caller's {i}"})
                assert answer.status_code == 200
                seconds.append(time.monotonic() - start)
        return seconds

    idle = statistics.median(good_calls(20))
    worker = threading.Thread(target=big_caller)
    worker.start()
    try:
        time.sleep(0.5)
        beside = good_calls(40)
    finally:
        stop.set()
        worker.join()
    assert big_statuses and set(big_statuses) == {200}
    big, good = statistics.median(big_seconds), statistics.median(beside)
    print(
        f"good caller's median: idle {idle * 1000:.0f} ms, beside 2048-text requests {good * 1000:.0f} ms "
        f"({good / idle:.1f}x); one 2048-text request {big:.1f} s"
    )
    # Queued behind a whole 2048-text request, the good caller would wait about half of one on average.
    assert good < big / 8
