"""Each task's real pipeline code, on tiny random models (and the embedded model for similarity)."""

from __future__ import annotations

import dataclasses

import pytest

from models.inference import Predictor
from models.inputs import Limits
from models.loader import LoadedModel, load_model
from settings import load_settings
from tests.tiny_models import MAX_POSITIONS

LIMITS = Limits(max_input_chars=20_000, max_candidates=8)
LONG = "word " * (MAX_POSITIONS * 3)


def load(model_dir=None, task=None) -> LoadedModel:
    settings = dataclasses.replace(load_settings({}), model_id=str(model_dir) if model_dir else None, task=task)
    return load_model(settings)


@pytest.fixture(scope="module")
def embedded() -> Predictor:
    return Predictor(load(), LIMITS, max_new_tokens=8)


def tiny(tiny_models, task) -> Predictor:
    return Predictor(load(tiny_models[task]), LIMITS, max_new_tokens=6)


def test_embedded_model_ranks_the_paraphrase_first(embedded):
    [outcome] = embedded.predict_batch([embedded.prepare(embedded.model.spec.examples[0])])
    ranking = list(outcome.value)
    assert ranking[0] == "Someone is strumming a guitar."
    assert ranking[-1] in {"The stock market fell today.", "A woman is slicing vegetables."}
    assert list(outcome.value.values()) == sorted(outcome.value.values(), reverse=True)
    assert outcome.notes == ""


def test_embeddings_are_the_same_alone_or_in_a_batch(embedded):
    requests = [embedded.prepare(example) for example in embedded.model.spec.examples]
    together = embedded.predict_batch(requests)
    alone = [embedded.predict_batch([r])[0] for r in requests]
    for a, b in zip(together, alone):
        assert a.value.keys() == b.value.keys()
        assert all(abs(a.value[k] - b.value[k]) < 1e-3 for k in a.value)


def test_embedded_model_reports_where_it_runs(embedded):
    model = embedded.model
    assert (model.plan.device, model.plan.dtype) == ("cpu", "float32")
    assert model.max_tokens == 256  # sentence-transformers' max_seq_length, not the tokenizer's 512
    assert "all-MiniLM-L6-v2 (embedded)" in model.summary()


def test_a_sentence_longer_than_the_model_is_cut_and_reported(embedded):
    [outcome] = embedded.predict_batch([embedded.prepare(["word " * 400, "a\nb"])])
    assert "longer than the model's 256 tokens" in outcome.notes


def test_text_classification_scores_every_label(tiny_models):
    predictor = tiny(tiny_models, "text-classification")
    outcomes = predictor.predict_batch([predictor.prepare(["fine"]), predictor.prepare([LONG])])
    assert [set(o.value) for o in outcomes] == [{"negative", "positive"}] * 2
    assert outcomes[0].notes == "" and "were cut to fit" in outcomes[1].notes


def test_zero_shot_scores_the_callers_labels(tiny_models):
    predictor = tiny(tiny_models, "zero-shot-classification")
    [outcome] = predictor.predict_batch([predictor.prepare(["GPUs are fast", "tech, food"])])
    assert set(outcome.value) == {"tech", "food"}
    assert abs(sum(outcome.value.values()) - 1) < 1e-3


def test_token_classification_marks_spans_of_the_text(tiny_models):
    predictor = tiny(tiny_models, "token-classification")
    text = "Hugging Face is based in New York."
    [outcome] = predictor.predict_batch([predictor.prepare([text])])
    assert outcome.value["text"] == text
    for entity in outcome.value["entities"]:
        assert 0 <= entity["start"] < entity["end"] <= len(text)
        assert entity["entity"] in {"PER", "LOC"}


def test_fill_mask_serves_the_batch_even_when_one_mask_was_cut_off(tiny_models):
    predictor = tiny(tiny_models, "fill-mask")
    fine, lost = predictor.prepare(["Paris is the [MASK]."]), predictor.prepare([LONG + "[MASK]"])
    served, refused = predictor.predict_batch([fine, lost])
    assert len(served.value) == 10
    assert refused.value == {} and "move it earlier" in refused.notes


def test_generation_streams_growing_text(tiny_models):
    predictor = tiny(tiny_models, "text-generation")
    steps = [outcome.value for outcome in predictor.stream(predictor.prepare(["Once upon a time"]))]
    assert len(steps) >= 3
    assert all(later.startswith(earlier) for earlier, later in zip(steps, steps[1:]))
    assert steps[-1]
