"""The stack description against requirements.txt and, where installed, against the wheels' own metadata."""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

import pytest

from diagnostics.stack import STACK, arch_supports, build_for, build_for_driver, requirement_lines, runs_natively

REQUIREMENTS = Path(__file__).resolve().parent.parent / "requirements.txt"


def _pinned_lines() -> set[str]:
    return {line.split("#")[0].strip() for line in REQUIREMENTS.read_text().splitlines() if "==" in line}


def test_every_pin_in_the_stack_is_a_requirements_line():
    assert set(requirement_lines()) <= _pinned_lines()


def test_every_framework_in_requirements_is_described():
    names = {re.split(r"[\[=]", line)[0] for line in _pinned_lines()}
    assert {"torch", "jax", "tensorflow"} <= names
    pinned = {line for line in _pinned_lines() if re.split(r"[\[=]", line)[0] in STACK}
    assert {s.requirement for s in STACK.values()} == pinned


def _installed(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


@pytest.mark.skipif(_installed("torch") is None, reason="torch not installed")
def test_torch_cudnn_pin_matches_the_wheel():
    cudnn = next(r for r in metadata.requires("torch") if r.startswith("nvidia-cudnn-cu12"))
    assert f"=={STACK['torch'].pinned.cudnn}" in cudnn, cudnn


@pytest.mark.skipif(_installed("jax-cuda12-plugin") is None, reason="jax[cuda12] not installed")
def test_jax_cudnn_range_matches_the_plugin():
    cudnn = next(r for r in metadata.requires("jax-cuda12-plugin") if r.startswith("nvidia-cudnn-cu12"))
    assert ">=9.8" in cudnn and "<10" in cudnn and STACK["jax"].pinned.cudnn == ">=9.8,<10"


@pytest.mark.skipif(_installed("torch") is None, reason="torch not installed")
def test_torch_arch_list_matches_the_installed_wheel():
    import subprocess
    import sys

    code = "import torch; print(torch._C._cuda_getArchFlags())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    if out.returncode:
        pytest.skip(f"torch does not import here: {out.stderr.strip().splitlines()[-1:]}")
    assert tuple(out.stdout.split()) == STACK["torch"].pinned.archs


@pytest.mark.parametrize(
    ("archs", "cc", "runs"),
    [
        (["sm_80"], (8, 6), True),  # same major, higher minor: cubin is binary compatible
        (["sm_86"], (8, 0), False),
        (["sm_80", "sm_89", "compute_90"], (9, 0), True),  # PTX JIT
        (["sm_80", "compute_90"], (12, 0), True),
        (["sm_50", "sm_90"], (12, 0), False),  # no PTX, no sm_12x: the Blackwell case
        (["sm_90a"], (9, 0), True),
        (["sm_90a"], (10, 0), False),  # arch-specific code runs only on its own GPU
        ([], (8, 6), False),
    ],
)
def test_arch_list_compatibility(archs, cc, runs):
    assert arch_supports(archs, cc) is runs


def test_the_table_picks_the_build_that_would_work():
    assert build_for("torch", (12, 0)) is STACK["torch"].pinned
    assert build_for("torch", (6, 0)).cuda == (12, 6)  # a P100 needs torch's CUDA 12.6 index
    assert build_for("torch", (3, 7)) is None  # a K80 has no current build
    assert not runs_natively(STACK["tensorflow"].pinned.archs, (12, 0))  # TF 2.20 reaches Blackwell by PTX only
    assert build_for_driver("torch", (11, 4)).cuda == (11, 8)
    assert build_for_driver("jax", (11, 4)) is None
