"""What the Demo's remote backend (INFERENCE_URL) says about itself (GET /info), and the task the Demo serves
with it, known without loading the model."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from huggingface_hub.utils import build_hf_headers

from models.backend_calls import TRANSPORT_ERRORS, get_within, transport_error
from models.registry import DEFAULT_TASK, TASKS, TaskError, TaskSpec, get_task, task_for_engine

INFO_TIMEOUT_S = 10.0
"""How long start-up and the Diagnostics check wait for the backend's /info, in all."""
MAX_TEXTS_PER_CALL = 32
"""Texts per feature-extraction call when the backend does not say: TEI's default `max_client_batch_size`
and this template's default MAX_CANDIDATES."""


@dataclass(frozen=True)
class BackendInfo:
    """What a backend's GET /info says (TEI and TGI answer one; an Endpoint's pipeline or another Space
    may not). Only these fields are kept and shown: an allow-list, not the raw answer."""

    model_id: str | None = None
    """e.g. "BAAI/bge-small-en-v1.5"."""
    engine: str | None = None
    """e.g. "Text Embeddings Inference 1.8.0" (TEI_ENGINE and a version)."""
    task: str | None = None
    """The Demo task the backend serves, when /info tells; e.g. "sentence-similarity"."""
    refused_task: str | None = None
    """A kind of model the backend serves that the Demo does not (e.g. "reranker")."""
    max_client_batch_size: int | None = None
    """Most texts the backend takes in one call."""

    @classmethod
    def from_json(cls, data: Any) -> BackendInfo:
        if not isinstance(data, dict):
            return cls()
        model_id = data.get("model_id") if isinstance(data.get("model_id"), str) else None
        version = data.get("version") if isinstance(data.get("version"), str) else ""
        batch = data.get("max_client_batch_size")
        batch = batch if isinstance(batch, int) and not isinstance(batch, bool) and batch > 0 else None
        model_type = data.get("model_type")
        if isinstance(model_type, dict) and model_type:  # TEI: {"embedding": {...}}
            engine, kind = f"Text Embeddings Inference {version}", str(next(iter(model_type)))
        elif isinstance(data.get("model_pipeline_tag"), str):  # TGI: a Hub pipeline tag
            engine, kind = f"Text Generation Inference {version}", data["model_pipeline_tag"]
        else:
            return cls(model_id, None, None, None, batch)
        spec = task_for_engine(kind)
        return cls(model_id, engine.strip(), spec.name if spec else None, None if spec else kind, batch)


def fetch_info(url: str, token: str | None, timeout_s: float = INFO_TIMEOUT_S) -> tuple[BackendInfo, str]:
    """The backend's /info (empty when it has none) and a short account of the answer, e.g. "200 in 12 ms"."""
    started = time.perf_counter()
    try:
        status, body = get_within(url.rstrip("/") + "/info", build_hf_headers(token=token), timeout_s)
    except TRANSPORT_ERRORS as error:
        raise transport_error(error, url) from None
    elapsed = f"{(time.perf_counter() - started) * 1000:.0f} ms"
    if status != 200:
        return BackendInfo(), f"{status} in {elapsed}"
    try:
        return BackendInfo.from_json(json.loads(body)), f"200 in {elapsed}"
    except ValueError:
        return BackendInfo(), f"200 (not JSON) in {elapsed}"


def resolve_task(task_setting: str | None, info: BackendInfo) -> tuple[TaskSpec, str]:
    """The Demo's task without loading the model, and where it came from: TASK when set, else what the
    backend's /info tells, else the template's default. Raises TaskError for a task that cannot run remotely."""
    if task_setting:
        spec, source = get_task(task_setting), "TASK"
    elif info.task:
        spec, source = get_task(info.task), "the backend's /info"
    elif info.refused_task:
        raise TaskError(
            f"The backend at INFERENCE_URL serves a {info.refused_task} model, which the Demo does not show: "
            f"point INFERENCE_URL at one that serves one of: {', '.join(t for t in TASKS if not TASKS[t].streaming)}."
        )
    else:
        spec, source = get_task(DEFAULT_TASK), "the default (set TASK to choose)"
    if spec.streaming:
        raise TaskError(STREAMED_REMOTELY.format(task=spec.name))
    return spec, source


STREAMED_REMOTELY = (
    "TASK={task!r} is streamed token by token, which the Demo does not do through INFERENCE_URL yet: "
    "unset INFERENCE_URL to run the model here, or choose another task."
)
