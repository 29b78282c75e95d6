"""The CPU runtime: which one runs, that it agrees with float32 torch, and that its export is cached.

Tolerances (stated in README and models/cpu_runtime.py): float32 ONNX (the default on the CPU) gives
torch's vectors within 1e-5, alone or in a batch; int8 (opt-in) ranks 300 sentence pairs with Spearman
>= 0.99 against torch's float32 scores, moves no score by more than 0.08, and picks the same best
candidate on every example of the task.
"""

from __future__ import annotations

import dataclasses
import random

import numpy as np
import pytest

from benchmarks.loadgen import sentence
from models import cpu_runtime
from models.cpu_runtime import RuntimePlan, length_sorted_chunks, pad, plan_runtime
from models.inference import Predictor
from models.inputs import Limits
from models.loader import load_model
from models.registry import get_task
from settings import SettingsError, load_settings

SPEARMAN_MIN = 0.99
INT8_MAX_SCORE_SHIFT = 0.08
FP32_MAX_DIFF = 1e-5


def settings(**changes):
    return dataclasses.replace(load_settings({}), **changes)


@pytest.fixture(scope="module")
def export_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("onnx-exports")


@pytest.fixture(scope="module")
def predictors(export_cache):
    """The default model under each runtime, exported once into a cache of this module."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cpu_runtime, "default_cache_root", lambda: export_cache)
        return {
            runtime: Predictor(load_model(settings(cpu_runtime=runtime)), Limits(10_000, 32), 0)
            for runtime in ("torch", "onnx", "onnx-int8")
        }


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    def ranks(x):
        r = np.empty(len(x))
        r[np.argsort(x)] = np.arange(len(x))
        return r

    return float(np.corrcoef(ranks(a), ranks(b))[0, 1])


def pair_scores(predictor: Predictor, count: int = 300) -> np.ndarray:
    rng = random.Random(7)
    left = [sentence(rng) for _ in range(count)]
    right = [sentence(rng) for _ in range(count)]
    a, b = predictor.embed(left).vectors, predictor.embed(right).vectors
    return (a * b).sum(axis=1)


# --- which runtime ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "requested, is_cuda, task, installed, expected",
    [
        ("auto", False, "sentence-similarity", True, "onnx"),
        ("onnx-int8", False, "sentence-similarity", True, "onnx-int8"),
        ("onnx", False, "sentence-similarity", True, "onnx"),
        ("torch", False, "sentence-similarity", True, "torch"),
        ("auto", True, "sentence-similarity", True, "torch"),
        ("onnx-int8", True, "sentence-similarity", True, "torch"),
        ("auto", False, "text-classification", True, "torch"),
        ("onnx", False, "fill-mask", True, "torch"),
        ("auto", False, "sentence-similarity", False, "torch"),
    ],
)
def test_the_runtime_follows_the_table(requested, is_cuda, task, installed, expected):
    assert plan_runtime(requested, is_cuda, task, installed).runtime == expected


def test_an_ignored_request_says_why():
    assert "CPU only" in plan_runtime("onnx", True, "sentence-similarity", True).reason
    assert "serves sentence-similarity only" in plan_runtime("onnx", False, "fill-mask", True).reason


def test_an_unknown_cpu_runtime_names_the_variable():
    with pytest.raises(SettingsError, match="CPU_RUNTIME='tensorrt' is not one of auto, torch, onnx, onnx-int8"):
        load_settings({"CPU_RUNTIME": "tensorrt"})
    assert load_settings({"CPU_RUNTIME": " ONNX "}).cpu_runtime == "onnx"


# --- grouping by length -----------------------------------------------------------------------------------


def test_a_long_text_gets_its_own_pass_instead_of_padding_the_short_ones():
    lengths = [12, 256, 10, 14, 11]
    chunks = length_sorted_chunks(lengths, token_budget=512)
    assert chunks == [[2, 4, 0, 3], [1]]
    assert sorted(i for chunk in chunks for i in chunk) == list(range(len(lengths)))


def test_every_chunk_fits_the_budget_unless_one_text_alone_exceeds_it():
    rng = random.Random(3)
    lengths = [rng.randint(3, 300) for _ in range(200)]
    for chunk in length_sorted_chunks(lengths, token_budget=1024):
        assert len(chunk) * max(lengths[i] for i in chunk) <= 1024 or len(chunk) == 1


def test_pad_fills_right_with_the_pad_id_and_zero_masks():
    encoded = {"input_ids": [[101, 7, 102], [101, 102]], "attention_mask": [[1, 1, 1], [1, 1]]}
    arrays = pad(encoded, [1, 0], pad_id=0)
    assert arrays["input_ids"].tolist() == [[101, 102, 0], [101, 7, 102]]
    assert arrays["attention_mask"].tolist() == [[1, 1, 0], [1, 1, 1]]


def test_grouped_embeddings_equal_one_text_at_a_time(predictors):
    torch_predictor = predictors["torch"]
    texts = ["A short one.", "word " * 400, "Another short sentence here.", "medium " * 40]
    embedded = torch_predictor.embed(texts)
    together, cut = embedded.vectors, embedded.cut
    alone = np.concatenate([torch_predictor.embed([t]).vectors for t in texts])
    assert np.abs(together - alone).max() < 1e-5
    assert cut == [False, True, False, False]


# --- agreement with float32 torch -------------------------------------------------------------------------


def test_float32_onnx_gives_torchs_vectors(predictors):
    texts = [sentence(random.Random(i)) for i in range(40)] + ["word " * 400]
    reference, got = predictors["torch"].embed(texts), predictors["onnx"].embed(texts)
    assert np.abs(got.vectors - reference.vectors).max() < FP32_MAX_DIFF
    assert got.cut == reference.cut


def test_int8_ranks_sentence_pairs_like_float32(predictors):
    reference = pair_scores(predictors["torch"])
    scores = pair_scores(predictors["onnx-int8"])
    assert spearman(reference, scores) >= SPEARMAN_MIN
    assert np.abs(scores - reference).max() <= INT8_MAX_SCORE_SHIFT


@pytest.mark.parametrize("runtime", ["onnx", "onnx-int8"])
def test_the_best_candidate_of_every_example_stays_the_same(predictors, runtime):
    examples = get_task("sentence-similarity").examples
    for source, candidates in examples:
        expected = predictors["torch"].predict_batch([predictors["torch"].prepare([source, candidates])])[0]
        got = predictors[runtime].predict_batch([predictors[runtime].prepare([source, candidates])])[0]
        assert list(got.value) == list(expected.value), source


# --- export and cache -------------------------------------------------------------------------------------


def test_the_default_model_on_the_cpu_runs_float32_onnx(export_cache, monkeypatch):
    monkeypatch.setattr(cpu_runtime, "default_cache_root", lambda: export_cache)
    model = load_model(load_settings({}))
    assert model.runtime.runtime == "onnx" and model.embedder is not None
    assert "runtime onnx" in model.summary()


def test_float32_onnx_answers_alike_whoever_shares_the_batch(predictors):
    texts = [sentence(random.Random(i)) for i in range(24)]
    together = predictors["onnx"].embed(texts).vectors
    alone = np.concatenate([predictors["onnx"].embed([t]).vectors for t in texts])
    assert np.abs(together - alone).max() < FP32_MAX_DIFF


def test_a_second_start_reads_the_export_from_the_cache(predictors, export_cache):
    torch_model = predictors["torch"].model
    pipe = torch_model.pipeline
    again = cpu_runtime.prepare_runtime(
        pipe.model, pipe.tokenizer, torch_model.source.location, "onnx-int8", 1, export_cache
    )
    assert again.from_cache
    assert again.embedder.path == predictors["onnx-int8"].model.embedder.path
    # Nothing half-written is left beside the cached graph.
    assert [p.name for p in again.embedder.path.parent.iterdir()] == ["model.onnx"]


def test_the_int8_export_writes_nothing_outside_its_cache_entry(predictors, tmp_path, monkeypatch):
    """On a Space the working directory is the app folder: no quantiser scratch file may land there."""
    workdir, cache = tmp_path / "app", tmp_path / "cache"
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    pipe = predictors["torch"].model.pipeline
    prepared = cpu_runtime.prepare_runtime(pipe.model, pipe.tokenizer, "int8-in-a-clean-dir", "onnx-int8", 1, cache)
    assert not prepared.from_cache
    assert list(workdir.iterdir()) == []
    assert sorted(p.relative_to(cache).as_posix() for p in cache.rglob("*")) == [
        prepared.embedder.path.parent.name,
        f"{prepared.embedder.path.parent.name}/model.onnx",
    ]


def test_a_failed_quantisation_leaves_no_scratch_files(predictors, tmp_path, monkeypatch):
    def half_written(source, target):
        target.write_bytes(b"partial")
        raise RuntimeError("quantiser ran out of memory")

    monkeypatch.setattr(cpu_runtime, "quantize_int8", half_written)
    pipe = predictors["torch"].model.pipeline
    with pytest.raises(RuntimeError, match="out of memory"):
        cpu_runtime.prepare_runtime(pipe.model, pipe.tokenizer, "failing-int8", "onnx-int8", 1, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_model_that_will_not_export_is_served_by_torch(monkeypatch, tmp_path, caplog):
    def refuse(*_):
        raise RuntimeError("unsupported operator")

    monkeypatch.setattr(cpu_runtime, "default_cache_root", lambda: tmp_path)
    monkeypatch.setattr(cpu_runtime, "export", refuse)
    model = load_model(settings(cpu_runtime="onnx"))
    assert model.embedder is None and model.runtime.runtime == "torch"
    assert "export failed: RuntimeError" in model.runtime.reason
    assert "torch serves instead" in caplog.text


def test_cpu_runtime_torch_loads_no_onnx_session(predictors):
    model = predictors["torch"].model
    assert model.embedder is None and model.runtime == RuntimePlan("torch", "CPU_RUNTIME=torch")


def test_exports_made_by_tests_stay_out_of_the_machines_hf_home():
    """tests/conftest.py points HF_HOME at a folder of the run; the default model needs no HF_HOME."""
    import tempfile
    from pathlib import Path

    from models.loader import embedded_model_dir

    assert cpu_runtime.default_cache_root().is_relative_to(tempfile.gettempdir())
    assert not cpu_runtime.default_cache_root().is_relative_to(Path.home() / ".cache" / "huggingface")
    assert "site-packages" in embedded_model_dir().parts
