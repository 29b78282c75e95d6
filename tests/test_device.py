from __future__ import annotations

import pytest

from models.device import DeviceError, plan_device


def plan(requested="auto", half=True, cuda=False, bf16=False, name=None):
    return plan_device(requested, half, cuda, bf16, name, cpu_count=2)


def test_no_gpu_means_cpu_in_float32():
    result = plan(cuda=False)
    assert (result.device, result.dtype) == ("cpu", "float32")
    assert result.device_name == "CPU (2 cores)"
    assert not result.is_cuda


def test_a_gpu_with_bf16_runs_in_bfloat16():
    result = plan(cuda=True, bf16=True, name="NVIDIA A10G")
    assert (result.device, result.dtype, result.device_name) == ("cuda:0", "bfloat16", "NVIDIA A10G")


def test_a_gpu_without_bf16_runs_in_float16():
    assert plan(cuda=True, bf16=False, name="Tesla T4").dtype == "float16"


def test_half_precision_off_keeps_float32_on_the_gpu():
    result = plan(cuda=True, bf16=True, half=False)
    assert (result.device, result.dtype) == ("cuda:0", "float32")


def test_device_cpu_overrides_a_visible_gpu():
    assert plan("cpu", cuda=True, bf16=True).device == "cpu"


def test_device_cuda_without_a_gpu_says_what_to_change():
    with pytest.raises(DeviceError, match="DEVICE=cuda"):
        plan("cuda", cuda=False)
