"""The Diagnostics tab: Gradio components over the report. The only module here that imports gradio."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import gradio as gr

from diagnostics.cache import LatestReport
from diagnostics.render import headline, section_markdown, summary_rows, to_markdown
from diagnostics.report import Report
from diagnostics.verdicts import COMPONENTS, TITLES

HEADERS = ["Component", "Status", "Reason", "Fix"]
# One file per report, named by its start time: re-renders of the same report reuse it.
_DOWNLOADS = Path(tempfile.gettempdir()) / "diagnostics-reports"


def _progress_callback(progress: gr.Progress):
    def on_probe(run, done: int, total: int) -> None:
        progress(done / total, desc=f"{run.name} {run.outcome.value} ({done}/{total})")

    return on_probe


def run_diagnostics(latest: LatestReport, smoke: bool = False, progress: gr.Progress | None = None) -> dict:
    """A fresh report as JSON (the `/diagnostics` endpoint); `smoke` adds the matmul test."""
    on_probe = _progress_callback(progress) if progress is not None else None
    return latest.refresh(smoke=smoke, on_probe=on_probe).to_dict()


def latest_diagnostics(latest: LatestReport, progress: gr.Progress | None = None) -> dict:
    """The report already made (at start-up or by another visitor), else a fresh one."""
    on_probe = _progress_callback(progress) if progress is not None else None
    return latest.get(on_probe=on_probe).to_dict()


def render(data: dict | None) -> list:
    """Every display component's value from the report's JSON: headline, table, sections, Markdown, file."""
    if not data:
        return [gr.skip()] * (4 + len(COMPONENTS))
    report = Report.from_dict(data)
    _DOWNLOADS.mkdir(exist_ok=True)
    path = _DOWNLOADS / f"diagnostics-{report.created_at.replace(':', '')}.json"
    path.write_text(json.dumps(data, indent=2))
    return [
        headline(report),
        summary_rows(report),
        *(section_markdown(report, c) for c in COMPONENTS),
        to_markdown(report),
        gr.DownloadButton(value=str(path), interactive=True),
    ]


def build_diagnostics_tab(reports: LatestReport) -> None:
    """Components and the `/diagnostics` endpoint, inside the caller's `gr.Tab` within a `gr.Blocks`.

    The page shows the latest report when it loads (the start-up one if ready), without blocking the
    other tabs; Re-run and Smoke test start fresh ones.
    """
    gr.Markdown(
        "Do torch, JAX and TensorFlow see the GPU? If not, why, and which line of `requirements.txt` fixes it. "
        "Each framework is probed in a process of its own."
    )
    status = gr.Markdown("Diagnostics are running…", elem_id="diagnostics-headline")
    with gr.Row():
        rerun = gr.Button("Re-run", variant="primary", elem_id="diagnostics-rerun")
        smoke = gr.Button("Smoke test (matmul on each device)", elem_id="diagnostics-smoke")
        download = gr.DownloadButton("Download JSON", interactive=False, elem_id="diagnostics-download")
    table = gr.Dataframe(
        headers=HEADERS,
        interactive=False,
        wrap=True,
        column_widths=["13%", "9%", "45%", "33%"],
        elem_id="diagnostics-summary",
    )
    sections = []
    for component in COMPONENTS:
        with gr.Accordion(TITLES[component], open=False):
            sections.append(gr.Markdown(elem_id=f"diagnostics-{component}"))
    with gr.Accordion("Copy as Markdown", open=False):
        markdown = gr.Code(
            language="markdown",
            interactive=False,
            buttons=["copy", "download"],
            label="report.md",
            elem_id="diagnostics-markdown",
        )
    with gr.Accordion("JSON", open=False):
        report_json = gr.JSON(label="report", elem_id="diagnostics-json")
    shown = [status, table, *sections, markdown, download]

    def fresh(progress=gr.Progress()) -> dict:
        return run_diagnostics(reports, progress=progress)

    def fresh_with_smoke(progress=gr.Progress()) -> dict:
        return run_diagnostics(reports, smoke=True, progress=progress)

    def latest(progress=gr.Progress()) -> dict:
        return latest_diagnostics(reports, progress=progress)

    # Report runs share one concurrency group: six processes at a time is plenty for a small Space.
    # Progress shows on what the visitor is looking at, not on the JSON folded away below.
    queue_args = {"concurrency_id": "diagnostics", "concurrency_limit": 1, "show_progress_on": [status, table]}
    rerun.click(fresh, outputs=report_json, api_name="diagnostics", **queue_args).then(
        render, report_json, shown, api_visibility="private"
    )
    smoke.click(fresh_with_smoke, outputs=report_json, api_name="diagnostics_smoke", **queue_args).then(
        render, report_json, shown, api_visibility="private"
    )
    gr.on(
        None, latest, outputs=report_json, api_visibility="private", concurrency_limit=None, show_progress_on=[status, table]
    ).then(
        render, report_json, shown, api_visibility="private"
    )
