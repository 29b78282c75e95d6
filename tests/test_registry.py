from __future__ import annotations

import pytest

from models.registry import TASKS, TaskError, get_task, infer_task


def test_every_task_has_examples_matching_its_inputs():
    for spec in TASKS.values():
        assert spec.examples, spec.name
        assert all(len(example) == len(spec.inputs) for example in spec.examples), spec.name


def test_only_generation_streams():
    assert [name for name, spec in TASKS.items() if spec.streaming] == ["text-generation"]


def test_an_unknown_task_lists_the_supported_ones():
    with pytest.raises(TaskError, match="TASK='summarise'.*sentence-similarity.*text-generation"):
        get_task("summarise")


@pytest.mark.parametrize(
    ("architectures", "labels", "task"),
    [
        (["BertModel"], [], "sentence-similarity"),
        (["DistilBertForSequenceClassification"], ["NEGATIVE", "POSITIVE"], "text-classification"),
        (["BartForSequenceClassification"], ["contradiction", "neutral", "entailment"], "zero-shot-classification"),
        (["BertForTokenClassification"], [], "token-classification"),
        (["RobertaForMaskedLM"], [], "fill-mask"),
        (["GPT2LMHeadModel"], [], "text-generation"),
        (["Qwen2ForCausalLM"], [], "text-generation"),
    ],
)
def test_the_task_is_told_from_the_architecture(architectures, labels, task):
    assert infer_task(architectures, labels) == task


def test_an_unrecognised_architecture_asks_for_task():
    with pytest.raises(TaskError, match="set TASK"):
        infer_task(["WhisperForConditionalGeneration"])
