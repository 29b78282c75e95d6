"""The app with a GPU-like model stand-in, for benchmarks only: nothing in the product reads these knobs.

Each forward pass sleeps SIMULATED_MODEL_MS (default 5) milliseconds, which releases the GIL and uses no
CPU, as a GPU's kernel does, and returns unit vectors. Tokenising, batching, HTTP and Gradio's queue stay
real, so the CPU the server spends is what serving costs once the model runs on a GPU.

    SIMULATED_MODEL_MS=5 python benchmarks/simulated_model_app.py    # then call it like the app
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from models.inference import Predictor  # noqa: E402

MODEL_SECONDS = float(os.environ.get("SIMULATED_MODEL_MS", "5")) / 1000
DIMENSIONS = 384


def simulated_forward(self: Predictor, features: dict[str, np.ndarray]) -> np.ndarray:
    time.sleep(MODEL_SECONDS)
    vectors = np.zeros((features["input_ids"].shape[0], DIMENSIONS), dtype=np.float32)
    vectors[:, 0] = 1.0
    return vectors


Predictor._encode = simulated_forward  # the one place the embedding's forward pass runs

if __name__ == "__main__":
    # torch loads the real weights (cheap) but no ONNX export: the stand-in replaces the forward pass anyway.
    os.environ.setdefault("CPU_RUNTIME", "torch")
    import app

    app.main()
