from __future__ import annotations

import dataclasses

import pytest

from models.loader import ModelLoadError, load_model, resolve
from settings import load_settings


def settings(**changes):
    return dataclasses.replace(load_settings({}), **changes)


def test_without_configuration_the_embedded_model_serves_similarity():
    source, spec = resolve(settings())
    assert spec.name == "sentence-similarity" and source.name.endswith("(embedded)")


def test_the_task_is_read_from_the_models_config(tiny_models):
    _, spec = resolve(settings(model_id=str(tiny_models["token-classification"])))
    assert spec.name == "token-classification"


def test_an_unknown_task_stops_loading_and_names_task(tiny_models):
    with pytest.raises(ModelLoadError, match="TASK='translation' is not supported"):
        load_model(settings(model_id=str(tiny_models["fill-mask"]), task="translation"))


def test_the_embedded_model_refuses_other_tasks():
    with pytest.raises(ModelLoadError, match="set MODEL_ID"):
        load_model(settings(task="fill-mask"))


def test_a_model_that_cannot_be_loaded_names_model_id(tmp_path):
    with pytest.raises(ModelLoadError, match="Could not load MODEL_ID='org/not-on-this-machine'"):
        load_model(settings(model_id="org/not-on-this-machine"))


def test_a_broken_model_folder_names_model_id(tiny_models, tmp_path):
    (tmp_path / "config.json").write_text('{"model_type": "bert", "architectures": ["BertModel"]}')
    with pytest.raises(ModelLoadError, match="MODEL_ID"):
        load_model(settings(model_id=str(tmp_path), task="sentence-similarity"))


def test_device_cuda_without_a_gpu_stops_loading():
    with pytest.raises(ModelLoadError, match="DEVICE=cuda"):
        load_model(settings(device="cuda"))
