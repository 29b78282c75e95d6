"""Run one probe and print its findings as one JSON object: `python -m diagnostics.probe torch [--smoke]`.

Each probe runs in a process of its own, so a framework that hangs, crashes or grabs GPU memory
never touches the serving process. Only the standard library and the registry's dataclasses are
imported here; the probe module named on the command line imports its framework.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys

from diagnostics.registry import BY_NAME

# Set in framework probes before the framework initialises: JAX would otherwise take 75% of GPU
# memory and TensorFlow nearly all of it, away from the model the Space serves. Level 1 drops TF's
# INFO chatter but keeps the W/E lines (cuInit, dlopen) the report quotes. The host probe sees the
# app's own values, which the memory verdicts read.
PROBE_ENV = {
    "XLA_PYTHON_CLIENT_PREALLOCATE": "false",
    "TF_FORCE_GPU_ALLOW_GROWTH": "true",
    "TF_CPP_MIN_LOG_LEVEL": "1",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m diagnostics.probe")
    parser.add_argument("name", choices=sorted(BY_NAME))
    parser.add_argument("--smoke", action="store_true", help="also run a small matmul checked against numpy")
    args = parser.parse_args(argv)
    spec = BY_NAME[args.name]
    if spec.framework:
        os.environ.update(PROBE_ENV)
    os.nice(spec.niceness)
    # Libraries print to stdout too; keep fd 1 for the JSON alone and send their noise to stderr.
    result_fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    module = importlib.import_module(spec.module)
    facts = module.probe(args.smoke)
    with os.fdopen(result_fd, "w") as out:
        out.write(json.dumps(facts, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
