"""The CPU runtime of the embedding model: ONNX Runtime on an export of the loaded model.

On a 2-vCPU cpu-basic Space the forward pass is most of each request's CPU. Measured side by side with
torch on all-MiniLM-L6-v2 (benchmarks/cpu_runtime.py): ONNX Runtime in float32 gives torch's vectors
(within 1e-6, whatever else is in the batch) and runs faster, so it is the default on the CPU.
int8 (dynamic, per-channel weights) runs faster still and ranks sentence pairs like float32 (Spearman
>= 0.99, same best candidate on every example), but it quantises activations per batch: a visitor's
scores move by up to ~0.03 with whoever shares the batch. So it is offered (CPU_RUNTIME=onnx-int8), not
the default. Per-tensor int8 (Spearman 0.97) and OpenVINO were measured and not adopted (see README).

The export is the loaded torch model itself, with mean pooling and normalisation inside the graph, so it
needs no Hub access and no optimum (optimum-onnx and optimum-intel require transformers < 5). It is cached
on disk under HF_HOME, keyed by the model's files and the library versions, so a restart with the same
disk reuses it; on Spaces' ephemeral disk the export (a few seconds) is part of each cold start.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import logging
import os
import tempfile
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from models.registry import TASKS

log = logging.getLogger(__name__)

RUNTIMES = ("torch", "onnx", "onnx-int8")
"""What CPU_RUNTIME may name besides "auto"."""
EXPORT_FORMAT = 1
"""Bump when the exported graph changes, so caches from older code are not reused."""


@dataclass(frozen=True)
class RuntimePlan:
    runtime: str
    """"torch", "onnx" (float32) or "onnx-int8"."""
    reason: str
    """Why, e.g. "CPU_RUNTIME=auto on the CPU: int8 ONNX Runtime (measured 2-3x torch)"."""


def onnxruntime_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("onnxruntime") is not None and importlib.util.find_spec("onnx") is not None


def plan_runtime(requested: str, is_cuda: bool, task: str, has_onnxruntime: bool) -> RuntimePlan:
    """Which runtime runs the forward pass: the first row of the table below that matches wins."""
    wanted = "onnx" if requested == "auto" else requested
    onnx_tasks = [name for name, spec in TASKS.items() if spec.onnx]
    rows = (
        (requested == "torch", "torch", "CPU_RUNTIME=torch"),
        (is_cuda, "torch", f"CPU_RUNTIME={requested} applies to the CPU only; on CUDA torch runs the model"),
        (task not in onnx_tasks, "torch",
         f"CPU_RUNTIME={requested}: the ONNX path serves {', '.join(onnx_tasks)} only, so torch runs {task}"),
        (not has_onnxruntime, "torch",
         f"CPU_RUNTIME={requested} but onnxruntime or onnx is not installed (see requirements.txt), so torch"),
        (requested == "auto", wanted,
         "CPU_RUNTIME=auto on the CPU: ONNX Runtime, float32 (torch's results, faster)"),
        (True, wanted, f"CPU_RUNTIME={requested}"),
    )
    return next(RuntimePlan(runtime, reason) for matches, runtime, reason in rows if matches)


def usable_cpus() -> int:
    """CPUs this process may really use: the affinity mask, bounded by a cgroup v2 CPU quota.

    os.cpu_count() reports the host's CPUs; a 2-vCPU Space on a large host would otherwise start one
    runtime thread per host core and lose time to contention."""
    count = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            count = min(count, max(1, round(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return max(1, count)


def length_sorted_chunks(lengths: Sequence[int], token_budget: int) -> list[list[int]]:
    """Indices of texts grouped shortest first so each group pads to its own longest text.

    One padded batch costs rows x longest; a single long text among short ones would make every row
    that long. A group grows until rows x longest would exceed `token_budget` (always at least one text)."""
    chunks: list[list[int]] = []
    current: list[int] = []
    for index in sorted(range(len(lengths)), key=lengths.__getitem__):
        if current and (len(current) + 1) * lengths[index] > token_budget:
            chunks.append(current)
            current = []
        current.append(index)
    if current:
        chunks.append(current)
    return chunks


def pad(encoded: Mapping[str, Sequence[Sequence[int]]], rows: Sequence[int], pad_id: int) -> dict[str, np.ndarray]:
    """The tokenizer's unpadded lists for `rows`, right-padded into int64 arrays (input ids with `pad_id`)."""
    longest = max(len(encoded["input_ids"][i]) for i in rows)
    arrays = {}
    for name, values in encoded.items():
        array = np.full((len(rows), longest), pad_id if name == "input_ids" else 0, dtype=np.int64)
        for row, i in enumerate(rows):
            array[row, : len(values[i])] = values[i]
        arrays[name] = array
    return arrays


class OnnxEmbedder:
    """Unit-length mean-pooled embeddings from an exported graph, run by ONNX Runtime on the CPU."""

    def __init__(self, path: Path, threads: int):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Idle runtime threads otherwise spin for a while after each run, taking the CPU that the web
        # server's threads need between batches on a 2-vCPU Space.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.path = path
        self.threads = threads
        self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.input_names = [i.name for i in self._session.get_inputs()]

    def __call__(self, features: Mapping[str, np.ndarray]) -> np.ndarray:
        return self._session.run(None, {name: features[name] for name in self.input_names})[0]


@dataclass(frozen=True)
class PreparedRuntime:
    embedder: OnnxEmbedder
    seconds: float
    """Export, quantisation and session start, or only the session when the cache held the graph."""
    from_cache: bool


def _input_names(model: Any, tokenizer: Any) -> list[str]:
    accepted = inspect.signature(model.forward).parameters
    return [name for name in tokenizer.model_input_names if name in accepted]


def _cache_key(location: str, model: Any, variant: str) -> str:
    """Same model files, same libraries, same variant -> same key."""
    import onnxruntime
    import torch

    parts: dict[str, Any] = {
        "format": EXPORT_FORMAT,
        "variant": variant,
        "torch": torch.__version__,
        "onnxruntime": onnxruntime.__version__,
        "location": location,
        "commit": getattr(model.config, "_commit_hash", None),
    }
    folder = Path(location)
    if folder.is_dir():
        parts["files"] = sorted(
            (p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in folder.iterdir() if p.is_file()
        )
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:24]


def default_cache_root() -> Path:
    from huggingface_hub import constants

    return Path(constants.HF_HOME) / "onnx-exports"


def _pooled(model: Any, names: Sequence[str]) -> Any:
    """`model` with mean pooling and normalisation after it, taking its inputs by position (for export)."""
    import torch

    class Pooled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
            inputs = dict(zip(names, tensors))
            hidden = self.model(**inputs).last_hidden_state
            mask = inputs["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, dim=-1)

    return Pooled().eval()


def export(model: Any, tokenizer: Any, target: Path) -> None:
    """Write `model` (a transformers encoder) with mean pooling and normalisation as ONNX to `target`."""
    import torch

    names = _input_names(model, tokenizer)
    sample = tokenizer(["a short text", "a slightly longer text to export"], padding=True, return_tensors="pt")
    axes = {name: {0: "batch", 1: "sequence"} for name in names}
    # The TorchScript exporter: 2 s here against 12 s for the dynamo one, same outputs (benchmarks/cpu_runtime.py).
    # The tracer warns about shape checks in transformers' mask code that hold for every encoder input.
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            _pooled(model, names),
            tuple(sample[name] for name in names),
            str(target),
            input_names=names,
            output_names=["embedding"],
            dynamic_axes={**axes, "embedding": {0: "batch"}},
            opset_version=17,
            dynamo=False,
        )


def quantize_int8(source: Path, target: Path) -> None:
    """Dynamic int8 with per-channel weights: per-tensor int8 moved scores by up to 0.1 (Spearman 0.97)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # The quantiser logs a line per tensor through the root logger; the app's own loggers are named.
    quiet = _DropAll()
    logging.getLogger().addFilter(quiet)
    try:
        quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8, per_channel=True)
    finally:
        logging.getLogger().removeFilter(quiet)


class _DropAll(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return False


def prepare_runtime(
    model: Any, tokenizer: Any, location: str, variant: str, threads: int, cache_root: Path | None = None
) -> PreparedRuntime:
    """The ONNX graph for `variant` ("onnx" or "onnx-int8") from the cache, or exported now and cached."""
    started = time.perf_counter()
    root = cache_root or default_cache_root()
    folder = root / _cache_key(location, model, variant)
    target = folder / "model.onnx"
    from_cache = target.is_file()
    if not from_cache:
        root.mkdir(parents=True, exist_ok=True)
        # Every intermediate file (the float32 graph, the quantiser's shape-inferred copy beside it) goes into
        # a directory of this process that is removed afterwards, also when the export fails. It sits in the
        # cache root, on the same file system, so the graph is renamed into place whole: two processes starting
        # at once each export, and neither reads the other's half-written file.
        with tempfile.TemporaryDirectory(prefix="export-", dir=root) as scratch_dir:
            scratch = Path(scratch_dir)
            graph = scratch / "fp32.onnx"
            export(model, tokenizer, graph)
            if variant == "onnx-int8":
                quantize_int8(graph, scratch / "int8.onnx")
                graph = scratch / "int8.onnx"
            folder.mkdir(exist_ok=True)
            graph.replace(target)
    embedder = OnnxEmbedder(target, threads)
    return PreparedRuntime(embedder, time.perf_counter() - started, from_cache)
