"""The lean routes' HTTP layer on a FastAPI app of its own: what a caller and the owner's log see when the model
fails."""

from __future__ import annotations

import dataclasses
import logging

from fastapi import FastAPI
from fastapi.testclient import TestClient

from models.inference import Predictor
from models.inference_api import InferenceApi
from models.inputs import Limits
from models.loader import load_model
from models.routes import add_inference_routes
from settings import load_settings


def test_a_model_failure_is_a_500_to_the_caller_and_one_line_in_the_log(tiny_models, caplog):
    settings = dataclasses.replace(
        load_settings({}), model_id=str(tiny_models["sentence-similarity"]), task="sentence-similarity"
    )
    predictor = Predictor(load_model(settings), Limits(max_input_chars=1000, max_candidates=4), max_new_tokens=4)

    async def failing_submit(item):
        raise RuntimeError("CUDA error: device-side assert triggered")

    app = FastAPI()
    add_inference_routes(app, InferenceApi(predictor, queue_max_size=4), failing_submit)
    with caplog.at_level(logging.ERROR, logger="app.routes"), TestClient(app) as client:
        answer = client.post("/inference", json={"inputs": "a sentence"})
    assert answer.status_code == 500
    assert answer.json() == {"error": "The model failed on this input."}
    assert "device-side assert" not in answer.text
    [record] = [r for r in caplog.records if r.name == "app.routes"]
    assert record.getMessage() == "/inference failed: RuntimeError: CUDA error: device-side assert triggered"
    assert record.exc_info is None
