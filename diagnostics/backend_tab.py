"""The Diagnostics tab's section on the model's server, when the Demo runs on INFERENCE_URL.

Gradio only; the check itself (what is asked, what may be shown) is diagnostics/backend.py.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from diagnostics.backend import BackendCheck


def build_backend_check(check: BackendCheck) -> None:
    """Components and the `/backend` endpoint, inside the caller's Diagnostics `gr.Tab`."""
    gr.Markdown(
        "### The model's server (INFERENCE_URL)\n"
        "The Demo runs on a remote server, not on this Space's hardware: this is the check that matters for it. "
        "The GPU checks below are of this Space's own machine."
    )
    # A callable value is evaluated on each page load: the latest shared check (one per BackendCheck interval).
    status = gr.Markdown(lambda: check.get().to_markdown(), elem_id="backend-status")
    button = gr.Button("Check the model's server", elem_id="backend-check")
    with gr.Accordion("JSON", open=False):
        status_json = gr.JSON(label="backend", elem_id="backend-json")

    def backend() -> dict[str, Any]:
        """Is the Demo's remote model server (INFERENCE_URL) answering, how fast, and which model it serves.

        Checks are shared by every caller and made at most once per few seconds.

        Returns:
            JSON: whether the server served the task's first example, its latency, the model and engine.
        """
        return check.get(fresh=True).to_dict()

    def show() -> str:
        return check.get().to_markdown()

    # No concurrency limit: BackendCheck itself lets one check run at a time and answers the others at once.
    button.click(backend, outputs=status_json, api_name="backend", concurrency_limit=None).then(
        show, outputs=status, api_visibility="private", concurrency_limit=None, show_progress="hidden"
    )
