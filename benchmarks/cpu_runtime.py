"""CPU runtimes of the default model, side by side in one run: speed as ratios to torch, and agreement.

Variants run interleaved (A, B, C, A, B, C, ...) on the same texts, so a noisy shared CPU slows each alike
and the ratios hold even where the absolute figures do not. Prints:
- cold start: export + quantisation + session, and the same from the disk cache;
- speed per request shape (1 Demo request = 5 texts, 32 requests = 160 texts, a mixed-length batch),
  as torch time / variant time, ONNX Runtime with 1 and with all usable threads, and the grouping of
  texts by length against one padded batch;
- agreement with float32 torch: Spearman of 300 sentence-pair scores, largest score shift, same best
  candidate on each example, and whether a text's vector depends on what shares its batch.

    .venv/bin/python benchmarks/cpu_runtime.py [--rounds 7]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from benchmarks.loadgen import sentence  # noqa: E402
from models import cpu_runtime  # noqa: E402
from models.inference import Predictor  # noqa: E402
from models.inputs import Limits  # noqa: E402
from models.loader import load_model  # noqa: E402
from models.registry import get_task  # noqa: E402
from settings import load_settings  # noqa: E402

Embed = Callable[[Sequence[str]], np.ndarray]


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    def ranks(x: np.ndarray) -> np.ndarray:
        r = np.empty(len(x))
        r[np.argsort(x)] = np.arange(len(x))
        return r

    return float(np.corrcoef(ranks(a), ranks(b))[0, 1])


def one_padded_batch(predictor: Predictor) -> Embed:
    """What embed did before grouping by length: every text padded to the longest of the batch."""
    tokenizer = predictor.model.pipeline.tokenizer

    def embed(texts: Sequence[str]) -> np.ndarray:
        encoded = tokenizer(list(texts), padding=True, truncation=True, max_length=predictor.model.max_tokens,
                            return_tensors="np")
        return predictor._encode({name: array.astype(np.int64) for name, array in encoded.items()})

    return embed


def interleaved(variants: dict[str, Embed], texts: Sequence[str], rounds: int) -> dict[str, float]:
    """Seconds per call of each variant, measured in turns, in rotating order."""
    for embed in variants.values():
        embed(texts)  # warm-up
    spent = dict.fromkeys(variants, 0.0)
    names = list(variants)
    for turn in range(rounds):
        # Each round starts with the next variant: whoever runs after another pays for what it left behind.
        for name in names[turn % len(names):] + names[: turn % len(names)]:
            embed = variants[name]
            started = time.perf_counter()
            embed(texts)
            spent[name] += time.perf_counter() - started
    return {name: seconds / rounds for name, seconds in spent.items()}


def shapes() -> dict[str, list[str]]:
    rng = random.Random(11)
    short = [sentence(rng) for _ in range(160)]
    mixed = short[:60] + [" ".join(sentence(rng) for _ in range(rng.randint(8, 30))) for _ in range(4)]
    return {"1 request (5 texts)": short[:5], "32 requests (160 texts)": short, "mixed lengths (64 texts)": mixed}


def agreement(reference: Predictor, other: Predictor) -> str:
    rng = random.Random(7)
    left, right = [sentence(rng) for _ in range(300)], [sentence(rng) for _ in range(300)]

    def scores(p: Predictor) -> np.ndarray:
        return (p.embed(left).vectors * p.embed(right).vectors).sum(axis=1)

    expected, got = scores(reference), scores(other)
    same_top = 0
    examples = get_task("sentence-similarity").examples
    for example in examples:
        best = [list(p.predict_batch([p.prepare(list(example))])[0].value)[0] for p in (reference, other)]
        same_top += best[0] == best[1]
    texts = left[:24]
    batch_dependence = np.abs(other.embed(texts).vectors
                              - np.concatenate([other.embed([t]).vectors for t in texts])).max()
    return (f"Spearman {spearman(expected, got):.4f}, max |score shift| {np.abs(got - expected).max():.4f}, "
            f"mean {np.abs(got - expected).mean():.4f}, same best candidate {same_top}/{len(examples)}, "
            f"alone vs in a batch differs by up to {batch_dependence:.1e}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7, help="turns per variant and request shape")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    cache = Path(tempfile.mkdtemp(prefix="onnx-exports-"))
    cpu_runtime.default_cache_root = lambda: cache
    base = load_settings({})
    threads = cpu_runtime.usable_cpus()
    print(f"CPU runtimes of the default model; {threads} usable CPUs ({os.cpu_count()} reported)")

    predictors: dict[str, Predictor] = {}
    for runtime in ("torch", "onnx", "onnx-int8"):
        model = load_model(dataclasses.replace(base, cpu_runtime=runtime))
        predictors[runtime] = Predictor(model, Limits(base.max_input_chars, base.max_candidates), 0)
    print("\ncold start, runtime preparation on top of loading the torch model:")
    for runtime in ("onnx", "onnx-int8"):
        fresh = predictors[runtime].model
        pipe = fresh.pipeline
        again = cpu_runtime.prepare_runtime(pipe.model, pipe.tokenizer, fresh.source.location, runtime, threads, cache)
        export_s = fresh.load_seconds - predictors["torch"].model.load_seconds
        print(f"  {runtime:10s} exported ~{export_s:.1f} s (load {fresh.load_seconds:.1f} s vs torch "
              f"{predictors['torch'].model.load_seconds:.1f} s), from the disk cache {again.seconds:.2f} s")

    single = {
        runtime: cpu_runtime.OnnxEmbedder(predictors[runtime].model.embedder.path, 1)
        for runtime in ("onnx", "onnx-int8")
    }
    variants: dict[str, Embed] = {
        "torch": lambda texts: predictors["torch"].embed(texts).vectors,
        "torch, one padded batch": one_padded_batch(predictors["torch"]),
        "onnx": lambda texts: predictors["onnx"].embed(texts).vectors,
        "onnx, one padded batch": one_padded_batch(predictors["onnx"]),
        "onnx, 1 thread": _with_embedder(predictors["onnx"], single["onnx"]),
        "onnx-int8": lambda texts: predictors["onnx-int8"].embed(texts).vectors,
        "onnx-int8, 1 thread": _with_embedder(predictors["onnx-int8"], single["onnx-int8"]),
    }
    print(f"\nspeed, torch time / variant time ({args.rounds} interleaved rounds; torch: ms per call)")
    names = list(variants)
    print(f"  {'request shape':26s}" + "".join(f"{name:>26s}" for name in names))
    for label, texts in shapes().items():
        seconds = interleaved(variants, texts, args.rounds)
        cells = [f"{seconds['torch'] * 1000:.1f} ms"] + [f"{seconds['torch'] / seconds[n]:.2f}x" for n in names[1:]]
        print(f"  {label:26s}" + "".join(f"{cell:>26s}" for cell in cells))

    print("\nagreement with float32 torch:")
    for runtime in ("onnx", "onnx-int8"):
        print(f"  {runtime:10s} {agreement(predictors['torch'], predictors[runtime])}")


def _with_embedder(predictor: Predictor, embedder: cpu_runtime.OnnxEmbedder) -> Embed:
    """The predictor's embed through another session of the same graph (another thread count)."""
    twin = Predictor(dataclasses.replace(predictor.model, embedder=embedder), predictor.limits, 0)
    return lambda texts: twin.embed(texts).vectors


if __name__ == "__main__":
    main()
