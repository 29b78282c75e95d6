"""The remote backend (INFERENCE_URL) against a stand-in server speaking TEI's formats: requests, answers,
failures and waiting, through the real huggingface_hub.InferenceClient."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from diagnostics.backend import BackendCheck
from models.backend_calls import WaitPolicy
from models.backend_info import BackendInfo, resolve_task
from models.inputs import Limits
from models.predictor import Failed
from models.registry import TaskError, get_task
from models.remote import RemoteModel, RemotePredictor, RemoteSource, connect
from settings import SettingsError, load_settings
from tests.apptools import free_port
from tests.tei_standin import TEI_INFO, TOKEN, Behaviour, cosine_ranking, tei_standin


@pytest.fixture(autouse=True)
def online_to_the_stand_in(monkeypatch):
    """Tests run with HF_HUB_OFFLINE=1 so nothing reaches the Hub; the client must reach the stand-in."""
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", False)


@pytest.fixture
def server() -> Iterator[tuple[str, Behaviour]]:
    with tei_standin() as running:
        yield running


LIMITS = Limits(max_input_chars=1000, max_candidates=8)


class FakeTime:
    """Sleeps that only move a clock: waiting is tested without waiting."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


def predictor(url: str, task: str = "sentence-similarity", max_wait_s: float = 30.0, timeout_s: float = 10.0,
              fake: FakeTime | None = None, info: BackendInfo | None = None) -> RemotePredictor:
    fake = fake or FakeTime()
    model = RemoteModel(get_task(task), RemoteSource("stand-in"), info or BackendInfo(), "TASK")
    return RemotePredictor(url, TOKEN, model, LIMITS, timeout_s, WaitPolicy(max_wait_s, fake.sleep, fake.clock))


# --- what the backend says about itself -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("info", "task", "refused", "engine"),
    [
        (TEI_INFO, "sentence-similarity", None, "Text Embeddings Inference 1.8.0"),
        ({"model_type": {"classifier": {"id2label": {}}}, "version": "1.8.0"}, "text-classification", None,
         "Text Embeddings Inference 1.8.0"),
        ({"model_type": {"reranker": {}}}, None, "reranker", "Text Embeddings Inference"),
        ({"model_id": "gpt2", "model_pipeline_tag": "text-generation", "version": "3.0"}, "text-generation", None,
         "Text Generation Inference 3.0"),
        ({"model_pipeline_tag": "feature-extraction"}, "sentence-similarity", None, "Text Generation Inference"),
        ({"model_pipeline_tag": "image-to-text"}, None, "image-to-text", "Text Generation Inference"),
        ({"detail": "Not Found"}, None, None, None),
        ([1, 2], None, None, None),
    ],
)
def test_info_tells_the_task_and_engine(info, task, refused, engine):
    parsed = BackendInfo.from_json(info)
    assert (parsed.task, parsed.refused_task, parsed.engine) == (task, refused, engine)


def test_task_comes_from_the_setting_then_info_then_the_default():
    tei = BackendInfo.from_json(TEI_INFO)
    assert resolve_task("fill-mask", tei)[0].name == "fill-mask"
    assert resolve_task(None, tei) == (get_task("sentence-similarity"), "the backend's /info")
    assert resolve_task(None, BackendInfo())[0].name == "sentence-similarity"
    with pytest.raises(TaskError, match="reranker"):
        resolve_task(None, BackendInfo.from_json({"model_type": {"reranker": {}}}))
    with pytest.raises(TaskError, match="streamed"):
        resolve_task("text-generation", BackendInfo())


def test_connect_reads_info_and_survives_a_backend_that_is_down(server):
    url, behaviour = server
    up = connect(url, TOKEN, None, LIMITS, 5.0, 5.0)
    assert up.model.source.name == "BAAI/bge-small-en-v1.5" and up.model.task_source == "the backend's /info"
    assert "Text Embeddings Inference 1.8.0" in up.where_it_runs()
    down = connect(f"http://127.0.0.1:{free_port()}", TOKEN, None, LIMITS, 5.0, 5.0)
    assert down.model.spec.name == "sentence-similarity" and down.model.source.name == "the model at INFERENCE_URL"


# --- answers ---------------------------------------------------------------------------------------------------


def test_similarity_ranks_by_cosine_in_calls_of_the_backends_batch_size(server):
    url, behaviour = server
    remote = predictor(url, info=BackendInfo.from_json(TEI_INFO))
    requests = [("a guitar", "strumming\nslicing\nmusic on stage"), ("password", "login\nweather\nstrumming")]
    outcomes = remote.predict_batch([remote.prepare(r) for r in requests])
    for (source, candidates), outcome in zip(requests, outcomes):
        assert list(outcome.value) == cosine_ranking(source, candidates.split("\n"))
        assert all(-1 <= score <= 1 for score in outcome.value.values())
    sent = [text for body in behaviour.bodies for text in body["inputs"]]
    assert sorted(sent) == sorted({t for s, c in requests for t in (s, *c.split("\n"))})  # each distinct text once
    assert max(len(body["inputs"]) for body in behaviour.bodies) == 3  # max_client_batch_size
    assert all(body["normalize"] is True and body["truncate"] is True for body in behaviour.bodies)
    assert set(behaviour.auth) == {f"Bearer {TOKEN}"}


def test_text_classification_reads_teis_flat_answer(server):
    url, behaviour = server
    behaviour.classifier = True
    tei = BackendInfo.from_json({"model_type": {"classifier": {}}, "version": "1.8.0"})
    remote = predictor(url, task="text-classification", info=tei)
    (outcome,) = remote.predict_batch([remote.prepare(["Great template"])])
    assert list(outcome.value.items()) == [("NEGATIVE", 0.75), ("POSITIVE", 0.25)]
    assert behaviour.bodies[0]["inputs"] == ["Great template"]


def test_input_notes_reach_the_caller_as_with_a_local_model(server):
    url, _ = server
    remote = predictor(url)
    (outcome,) = remote.predict_batch([remote.prepare(["a guitar", "strumming\nstrumming\nsinging"])])
    assert "dropped repeated entries" in outcome.notes and len(outcome.value) == 2


# --- failures ----------------------------------------------------------------------------------------------


def test_a_refused_input_fails_only_its_own_visitor(server):
    url, _ = server
    remote = predictor(url)
    good, bad = remote.prepare(["a guitar", "strumming\nsinging"]), remote.prepare(["a BAD one", "strumming"])
    served, refused = remote.predict_batch([good, bad])
    assert list(served.value) == cosine_ranking("a guitar", ["strumming", "singing"])
    assert isinstance(refused, Failed) and "refused this input (422): Input validation error" in refused.message
    assert TOKEN not in refused.message


def test_a_backend_that_is_down_gets_a_clear_message_for_everyone():
    remote = predictor(f"http://127.0.0.1:{free_port()}")
    outcomes = remote.predict_batch([remote.prepare(["a", "b"]), remote.prepare(["c", "d"])])
    assert all(isinstance(o, Failed) and "cannot be reached" in o.message for o in outcomes)


def test_a_backend_too_slow_to_answer_times_out_with_a_message(server):
    url, behaviour = server
    behaviour.delay_s = 3
    remote = predictor(url, timeout_s=1)
    (outcome,) = remote.predict_batch([remote.prepare(["a", "b"])])
    assert isinstance(outcome, Failed) and "did not answer in time" in outcome.message


def test_a_backend_waking_from_zero_is_waited_for(server):
    url, behaviour = server
    behaviour.unavailable = 3
    fake = FakeTime()
    remote = predictor(url, fake=fake)
    seen: list = []
    real_sleep = fake.sleep
    fake.sleep = lambda s: (seen.append(remote.waiting and remote.waiting.tries), real_sleep(s))  # type: ignore[method-assign]
    remote._wait.sleep = fake.sleep
    (outcome,) = remote.predict_batch([remote.prepare(["a guitar", "strumming\nsinging"])])
    assert not isinstance(outcome, Failed)
    assert seen == [1, 2, 3]  # progress visitors are shown counts the tries
    assert remote.waiting is None  # nothing shown once answered


def test_the_wait_for_a_starting_backend_is_bounded(server):
    url, behaviour = server
    behaviour.unavailable = 1000
    fake = FakeTime()
    remote = predictor(url, max_wait_s=30, fake=fake)
    (outcome,) = remote.predict_batch([remote.prepare(["a guitar", "strumming"])])
    assert isinstance(outcome, Failed) and "is starting" in outcome.message
    assert 30 <= fake.now <= 31 and max(fake.slept) <= 10
    assert len(behaviour.bodies) < 20


# --- the Diagnostics check -------------------------------------------------------------------------------


def test_backend_check_reports_model_latency_and_is_shared(server):
    url, behaviour = server
    check = BackendCheck(connect(url, TOKEN, None, LIMITS, 5.0, 5.0), min_interval_s=60)
    status = check.get(fresh=True)
    assert status.answered and status.latency_ms is not None and status.model == "BAAI/bge-small-en-v1.5"
    shown = status.to_markdown()
    assert "The model's server answers" in shown and "Text Embeddings Inference 1.8.0" in shown
    calls = behaviour.info_calls
    for _ in range(5):
        check.get(fresh=True)
    assert behaviour.info_calls == calls  # within the interval every caller shares the latest check
    assert TOKEN not in json.dumps(status.to_dict()) + status.to_markdown()


def test_backend_check_says_a_starting_backend_is_starting_without_waiting(server):
    url, behaviour = server
    behaviour.unavailable = 1000
    status = BackendCheck(predictor(url, max_wait_s=3600)).get()
    assert not status.answered and "is starting" in status.message
    assert len(behaviour.bodies) == 1


# --- settings ----------------------------------------------------------------------------------------------


def test_inference_settings_are_read_and_a_bad_url_is_refused_without_echoing_it():
    settings = load_settings({"INFERENCE_URL": "https://x.endpoints.huggingface.cloud", "INFERENCE_TOKEN": TOKEN,
                              "INFERENCE_MAX_WAIT": "30"})
    assert settings.inference_url == "https://x.endpoints.huggingface.cloud" and settings.inference_max_wait_s == 30
    assert settings.inference_token == TOKEN and TOKEN not in repr(settings)
    assert load_settings({}).inference_url is None
    with pytest.raises(SettingsError, match="INFERENCE_URL must be an http") as caught:
        load_settings({"INFERENCE_URL": "ftp://user:secret@host"})
    assert "secret" not in str(caught.value)
