"""The Diagnostics tab's ZeroGPU panel: torch checked inside a `spaces.GPU` call, on request."""

from __future__ import annotations

import gradio as gr

from diagnostics.zerogpu_check import CheckRefused, ZeroGpuTorchCheck, to_markdown

INTRO = (
    "### ZeroGPU: torch inside a GPU call\n"
    "On ZeroGPU a GPU exists only inside `@spaces.GPU` calls, so the probes above never see one. "
    "This check runs torch in such a call, in the app itself, on your own ZeroGPU quota "
    "(a few seconds; one check at most every few minutes for the whole Space, shared with every visitor). "
    "ZeroGPU runs PyTorch only: JAX and TensorFlow cannot use it."
)


def build_zerogpu_check(check: ZeroGpuTorchCheck) -> None:
    """Button, result and the `/zerogpu_torch_check` endpoint, inside the caller's Diagnostics tab."""
    gr.Markdown(INTRO)
    run = gr.Button("Check torch on ZeroGPU", elem_id="zerogpu-check-run")
    shown = gr.Markdown(elem_id="zerogpu-check")

    def check_torch() -> str:
        try:
            return to_markdown(check.get())
        except CheckRefused as refused:
            raise gr.Error(str(refused), title="ZeroGPU check", print_exception=False) from None

    # A gr.Error from spaces.GPU (e.g. "ZeroGPU quota exceeded") reaches only the caller it belongs to.
    run.click(
        check_torch, outputs=shown, api_name="zerogpu_torch_check", concurrency_id="zerogpu_check", concurrency_limit=1
    )
