"""/inference for every other non-streamed task, through huggingface_hub.InferenceClient's task methods.

Tiny random-weight models (tests/tiny_models.py) in the real app: the answers are noise, so each test
checks the shape the client parses and that /predict gives the same answer for the same input.
"""

from __future__ import annotations

import httpx
import pytest
from gradio_client import Client
from huggingface_hub import InferenceClient
from huggingface_hub.errors import HfHubHTTPError

from tests.apptools import AppProcess

pytestmark = pytest.mark.slow

TEXT = "Hugging Face is based in New York and Paris."


@pytest.fixture(autouse=True)
def online_to_the_app(monkeypatch):
    """Tests run with HF_HUB_OFFLINE=1 so nothing reaches the Hub; the InferenceClient must reach the app."""
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", False)


@pytest.fixture(scope="module")
def app_for(tiny_models, tmp_path_factory):
    """The app serving a tiny model of the task; one app process at a time (tests run task by task)."""
    current: dict[str, AppProcess] = {}

    def start(task: str) -> AppProcess:
        if task not in current:
            for running in current.values():
                running.__exit__(None, None, None)
            current.clear()
            env = {"MODEL_ID": str(tiny_models[task]), "TASK": task, "DIAGNOSTICS_AT_STARTUP": "false"}
            current[task] = AppProcess(env, tmp_path_factory.mktemp(task) / "app.log").__enter__()
        return current[task]

    yield start
    for running in current.values():
        running.__exit__(None, None, None)


def predict(app: AppProcess, *values: str):
    return Client(app.url, verbose=False).predict(*values, api_name="/predict")[0]


def refused(call) -> HfHubHTTPError:
    with pytest.raises(HfHubHTTPError) as caught:
        call()
    assert caught.value.response.status_code == 422
    return caught.value


def test_text_classification(app_for):
    app = app_for("text-classification")
    client = InferenceClient(model=f"{app.url}/inference")
    scores = client.text_classification(TEXT)
    assert [s.label for s in scores] == [c["label"] for c in predict(app, TEXT)["confidences"]]
    assert {s.label for s in scores} == {"negative", "positive"} and abs(sum(s.score for s in scores) - 1) < 1e-5
    assert [round(s.score, 4) for s in scores] == [c["confidence"] for c in predict(app, TEXT)["confidences"]]
    assert len(client.text_classification(TEXT, top_k=1)) == 1
    assert "function_to_apply='sigmoid' is not supported" in str(
        refused(lambda: client.text_classification(TEXT, function_to_apply="sigmoid"))
    )


def test_zero_shot_classification(app_for):
    app = app_for("zero-shot-classification")
    client = InferenceClient(model=f"{app.url}/inference")
    labels = ["technology", "sports", "cooking"]
    scores = client.zero_shot_classification(TEXT, candidate_labels=labels)
    assert sorted(s.label for s in scores) == sorted(labels) and abs(sum(s.score for s in scores) - 1) < 1e-5
    expected = {c["label"]: c["confidence"] for c in predict(app, TEXT, "\n".join(labels))["confidences"]}
    assert {s.label: round(s.score, 4) for s in scores} == expected
    assert "multi_label=True is not supported" in str(
        refused(lambda: client.zero_shot_classification(TEXT, candidate_labels=labels, multi_label=True))
    )
    assert "candidate_labels[1] has a comma" in str(
        refused(lambda: client.zero_shot_classification(TEXT, candidate_labels=["a", "b, c"]))
    )
    assert "candidate_labels is missing" in httpx.post(f"{app.url}/inference", json={"inputs": TEXT}).json()["error"]


def test_token_classification(app_for):
    app = app_for("token-classification")
    client = InferenceClient(model=f"{app.url}/inference")
    entities = client.token_classification(TEXT)
    # The Demo shows the text in spans (adjacent ones of a label joined): compare the label of each character.
    shown = [span["class_or_confidence"] for span in predict(app, TEXT) for _ in span["token"]]
    labelled: list[str | None] = [None] * len(TEXT)
    for e in entities:
        labelled[e.start : e.end] = [e.entity_group] * (e.end - e.start)
    assert labelled == shown
    assert entities, "the tiny model tags something in this text"
    assert all(isinstance(e.score, float) and e.word for e in entities)
    first = entities[0].entity_group
    assert all(e.entity_group != first for e in client.token_classification(TEXT, ignore_labels=[first]))
    assert "stride=16 is not supported" in str(refused(lambda: client.token_classification(TEXT, stride=16)))


def test_fill_mask(app_for):
    app = app_for("fill-mask")
    client = InferenceClient(model=f"{app.url}/inference")
    guesses = client.fill_mask("Paris is the [MASK] of France.")
    assert len(guesses) == 10
    assert all(isinstance(g.token, int) and isinstance(g.sequence, str) and g.token_str for g in guesses)
    shown = [c["label"] for c in predict(app, "Paris is the [MASK] of France.")["confidences"]]
    assert set(shown) == {g.token_str.strip() or g.token_str for g in guesses}
    assert len(client.fill_mask("Paris is the [MASK] of France.", top_k=3)) == 3
    assert "needs exactly one [MASK], found 0" in str(refused(lambda: client.fill_mask("No mask here.")))
    assert "top_k must be a whole number from 1 to 10" in str(refused(lambda: client.fill_mask("[MASK].", top_k=50)))


def test_one_text_only(app_for):
    response = httpx.post(f"{app_for('fill-mask').url}/inference", json={"inputs": ["a", "b"], "parameters": {}})
    assert response.status_code == 422 and response.json()["error"] == "inputs must be one text, not list."


def test_embeddings_are_offered_only_by_embedding_models(app_for):
    response = httpx.post(f"{app_for('fill-mask').url}/v1/embeddings", json={"input": "a", "model": "m"})
    assert response.status_code == 404


def test_streamed_generation_has_no_lean_route(app_for):
    response = httpx.post(f"{app_for('text-generation').url}/inference", json={"inputs": "Once upon a time"})
    assert response.status_code == 404
