"""Compose the Space's tabs and launch. Logic lives in models/, diagnostics/ and admin/."""

from __future__ import annotations

import logging
import os
import sys

from models.zerogpu import zero_gpu_wrap
from redaction import install_log_redaction
from settings import SettingsError, load_settings

log = logging.getLogger("app")

# Gradio rebuilds a pandas summary of its last 10,000 events after every event, for a monitoring page this
# app does not turn on: under load that was ~40% of the server's CPU (py-spy, benchmarks/serving_cost.py).
# Summarised every 1,000 events over the last 1,000, it costs next to nothing. An owner's own values win.
GRADIO_ANALYTICS_DEFAULTS = {"GRADIO_ANALYTICS_CACHE_FREQUENCY": "1000", "GRADIO_ANALYTICS_MAX_EVENTS": "1000"}
# On Spaces every visitor reaches the app through the Hub's proxy, from a private address (10.16.3.80 seen as
# request.client.host: https://github.com/embeddings-benchmark/mteb/pull/4754), which puts the visitor's in
# X-Forwarded-For: uvicorn takes the client from there only when the peer is listed here, and http_guard.py
# bounds bodies per client. An owner's own value wins.
SPACES_PROXY_DEFAULTS = {"FORWARDED_ALLOW_IPS": "127.0.0.1,::1,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16"}


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    install_log_redaction(os.environ)
    try:
        settings = load_settings()
    except SettingsError as error:
        sys.exit(f"Configuration error: {error}")
    # Before torch is imported anywhere: on ZeroGPU, `spaces` must patch CUDA first.
    gpu = zero_gpu_wrap(settings.zero_gpu)

    import gradio as gr

    from admin.activity import activity_log
    from admin.fixes.service import FixService
    from admin.fixes.tab import build_fix_panel
    from admin.space.service import SpaceService
    from admin.sweep.checks import StepChecks, demo_request
    from admin.sweep.service import checks_due_here
    from admin.tab import build_admin_tab
    from diagnostics.page import build_diagnostics
    from diagnostics.startup import start_diagnostics
    from guarded_blocks import CALL_V2_ERRORS, GuardedBlocks, body_guard
    from models.dispatch import serving_predictor
    from models.inference_api import InferenceApi
    from models.inputs import Limits
    from models.loader import ModelLoadError
    from models.registry import TaskError
    from models.remote import connect
    from models.routes import body_limits, inference_routes, refusal_body
    from models.tab import build_demo_tab, build_unavailable_tab

    limits = Limits(
        settings.max_input_chars, settings.max_candidates, settings.max_embedding_inputs, settings.max_embedding_chars
    )
    try:
        if settings.inference_url:
            # No model here: the Demo's batches go to the remote server (models/remote.py).
            predictor = connect(
                settings.inference_url,
                settings.inference_token or settings.hf_token,
                settings.task,
                limits,
                settings.inference_timeout_s,
                settings.inference_max_wait_s,
            )
        else:
            # A copy per GPU when the model fits one (batches to the least busy), else one, sharded if need be.
            predictor = serving_predictor(settings, limits)
        problem = None
    except (ModelLoadError, TaskError) as error:
        # Serve the other tabs anyway: the owner needs Diagnostics and Admin most when the model fails.
        log.error("Model error: %s", error)
        predictor, problem = None, str(error)

    # Shared by the Admin tab, the Diagnostics tab's Apply and the start-up record, in STATE_DIR when set: a
    # restart's diagnostics are kept beside the change (or the fix) that caused it.
    activity = activity_log(settings)
    # A hardware sweep in STATE_DIR carries on here (admin/sweep/): on a flavor it visits, the start-up run is its,
    # with the smoke test.
    reports = start_diagnostics(
        settings,
        lambda line, marks: activity.record_startup(settings.accelerator, line, marks),
        smoke=checks_due_here(settings),
    )
    sweep_checks = StepChecks(reports, demo_request(predictor, problem, gpu), (settings.hf_token,))
    space = SpaceService(settings, activity=activity)
    fixes = FixService(space)

    # Files handed to visitors (the diagnostics download) leave Gradio's cache after a day.
    with GuardedBlocks(title="GPU self-check", delete_cache=(3600, 86_400)) as demo:
        gr.Markdown("# GPU self-check\nA transformers demo that checks the GPU it runs on.")
        with gr.Tab("Demo"):
            batcher = None
            if predictor is None:
                build_unavailable_tab(problem)
            else:
                batcher = build_demo_tab(predictor, settings, None if settings.inference_url else gpu)
        with gr.Tab("Diagnostics"):
            build_diagnostics(
                settings,
                reports,
                predictor=predictor,
                gpu=gpu,
                below=lambda report_json: build_fix_panel(fixes, reports, report_json),
            )
        with gr.Tab("Admin"):
            build_admin_tab(settings, space=space, sweep_checks=sweep_checks)

    for name, value in {**GRADIO_ANALYTICS_DEFAULTS, **(SPACES_PROXY_DEFAULTS if settings.space_host else {})}.items():
        os.environ.setdefault(name, value)
    demo.queue(max_size=settings.queue_max_size, default_concurrency_limit=1)
    # The lean JSON routes join the FastAPI app that launch() builds, as it starts.
    api = InferenceApi(predictor, settings.queue_max_size) if batcher else None
    lifespan = inference_routes(api, api.submit_through(batcher.submit_all)) if api else None
    guard = body_guard(settings, body_limits(api) if api else {}, refusal_body)
    if settings.mcp_server:
        from json_mcp import use_json_mcp_server

        use_json_mcp_server()
    demo.launch(
        mcp_server=settings.mcp_server,
        max_file_size=settings.max_file_size,
        app_kwargs={"lifespan": lifespan, "middleware": [guard], "exception_handlers": CALL_V2_ERRORS},
    )


if __name__ == "__main__":
    main()
