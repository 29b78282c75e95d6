"""The whole Diagnostics tab in one call, as app.py makes it (as `build_admin_tab` does for the Admin tab):
the model's server when the Demo runs on INFERENCE_URL, the report, what other features add below it (the
owner's Apply, admin/fixes/), and torch inside a GPU call on ZeroGPU."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gradio as gr

from diagnostics.backend import BackendCheck
from diagnostics.backend_tab import build_backend_check
from diagnostics.cache import LatestReport
from diagnostics.tab import build_diagnostics_tab
from diagnostics.zerogpu_check import CHECK_SECONDS, ZeroGpuTorchCheck, torch_in_gpu_call
from diagnostics.zerogpu_tab import build_zerogpu_check
from models.predictor import Predictor
from models.remote import RemotePredictor
from settings import Settings


def build_diagnostics(
    settings: Settings,
    reports: LatestReport,
    *,
    predictor: Predictor | None = None,
    gpu: Callable[..., Any] | None = None,
    below: Callable[[gr.JSON], None] | None = None,
) -> None:
    """Lay out the Diagnostics tab inside the caller's `with gr.Tab(...)` of a gr.Blocks.

    `reports`: the app's shared report (diagnostics.startup.start_diagnostics). `predictor`: the Demo's, checked
    when it is INFERENCE_URL's. `gpu`: ZeroGPU's wrapper (models.zerogpu.zero_gpu_wrap), None elsewhere.
    `below(report_json)`: builds a section under the report, fed every report the page shows.
    """
    if isinstance(predictor, RemotePredictor):
        build_backend_check(BackendCheck(predictor))
    report_json = build_diagnostics_tab(reports)
    if below is not None:
        below(report_json)
    if gpu is not None:
        build_zerogpu_check(ZeroGpuTorchCheck(gpu(torch_in_gpu_call, lambda: CHECK_SECONDS)))
