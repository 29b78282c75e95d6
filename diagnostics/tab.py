"""The Diagnostics tab: Gradio components over the report. The only module here that imports gradio."""

from __future__ import annotations

import threading
from typing import Any

import gradio as gr

from diagnostics.cache import Answer, LatestReport
from diagnostics.downloads import ReportFiles
from diagnostics.render import headline, section_markdown, summary_rows, to_markdown
from diagnostics.verdicts import COMPONENTS, TITLES

HEADERS = ["Component", "Status", "Reason", "Fix", "Rule"]


def _progress_callback(progress: gr.Progress):
    def on_probe(run, done: int, total: int) -> None:
        progress(done / total, desc=f"{run.name} {run.outcome.value} ({done}/{total})")

    return on_probe


class ReportViews:
    """What the endpoints and the page show of the reports the server keeps, made once per report.

    Nothing a caller sends is shown or written: the page's displays and the download are built from
    the server's own report, found by the run id the caller's JSON names (else the latest)."""

    def __init__(self, reports: LatestReport, files: ReportFiles | None = None) -> None:
        self.reports = reports
        self.files = files or ReportFiles()
        self._lock = threading.Lock()
        self._json: dict[int, dict[str, Any]] = {}
        self._displays: dict[int, list] = {}

    def _report_json(self, answer: Answer) -> dict[str, Any]:
        with self._lock:
            if answer.run_id not in self._json:
                self._forget_dropped()
                self._json[answer.run_id] = answer.report.to_dict()
            return self._json[answer.run_id]

    def _forget_dropped(self) -> None:
        kept = self.reports.kept_run_ids()
        for memo in (self._json, self._displays):
            for run_id in set(memo) - kept:
                del memo[run_id]

    def answer_json(self, answer: Answer) -> dict[str, Any]:
        """The `/diagnostics` result: the report's JSON, plus which run made it and why it is not newer."""
        if answer.report is None:
            raise gr.Error(answer.note, title="Diagnostics", print_exception=False)
        if answer.note:
            gr.Warning(answer.note)
        return self._report_json(answer) | {"run": {"id": answer.run_id, "note": answer.note}}

    def render(self, data: Any = None) -> list:
        """Every display component's value: headline, table, sections, Markdown, download file."""
        run = data.get("run") if isinstance(data, dict) else None
        run_id = run.get("id") if isinstance(run, dict) else None
        answer = self.reports.kept(run_id) if type(run_id) is int else None
        if answer is None:
            latest = self.reports.peek_answer()
            if latest is None:
                return [gr.skip()] * (4 + len(COMPONENTS))
            answer = latest
        report_json = self._report_json(answer)
        with self._lock:
            if answer.run_id not in self._displays:
                report = answer.report
                path = self.files.path_for(answer.run_id, report_json, keep=self.reports.kept_run_ids())
                self._displays[answer.run_id] = [
                    headline(report),
                    summary_rows(report),
                    *(section_markdown(report, c) for c in COMPONENTS),
                    to_markdown(report),
                    str(path),
                ]
            *shown, path = self._displays[answer.run_id]
        return [*shown, gr.DownloadButton(value=path, interactive=True)]


def build_diagnostics_tab(reports: LatestReport, files: ReportFiles | None = None) -> gr.JSON:
    """Components and the `/diagnostics` endpoint, inside the caller's `gr.Tab` within a `gr.Blocks`.

    The page shows the latest report when it loads (the start-up one if ready), without blocking the
    other tabs; Re-run and Smoke test start fresh ones. Returns the JSON component every report shown
    passes through, for sections that follow it (the owner's Apply).
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
        column_widths=["12%", "8%", "40%", "30%", "10%"],
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
    views = ReportViews(reports, files)

    def diagnostics(progress=gr.Progress()) -> dict:
        """Check whether torch, JAX and TensorFlow see this Space's GPU, and why not where they do not.

        Each framework is probed in a process of its own. Runs are rate-limited: within the limit the
        latest report comes back, with `run.note` saying so.

        Returns:
            JSON: the overall verdict, a verdict per framework with its requirements.txt fix, the facts per probe.
        """
        return views.answer_json(reports.refresh(on_probe=_progress_callback(progress)))

    def diagnostics_smoke(progress=gr.Progress()) -> dict:
        """As the diagnostics tool, plus a small matrix multiplication on each device each framework sees.

        Returns:
            JSON: the diagnostics report, with the smoke test's result and timing per framework and device.
        """
        return views.answer_json(reports.refresh(smoke=True, on_probe=_progress_callback(progress)))

    def latest(progress=gr.Progress()) -> dict:
        return views.answer_json(reports.get(on_probe=_progress_callback(progress)))

    # No Gradio concurrency limit: LatestReport itself bounds the runs and the callers waiting for one,
    # so a flood of calls is answered at once instead of filling the queue the Demo shares.
    # Progress shows on what the visitor is looking at, not on the JSON folded away below.
    queue_args = {"concurrency_limit": None, "show_progress_on": [status, table]}
    render_args = {"concurrency_limit": None, "api_visibility": "private", "show_progress": "hidden"}
    rerun.click(diagnostics, outputs=report_json, api_name="diagnostics", **queue_args).then(
        views.render, report_json, shown, **render_args
    )
    smoke.click(diagnostics_smoke, outputs=report_json, api_name="diagnostics_smoke", **queue_args).then(
        views.render, report_json, shown, **render_args
    )
    gr.on(None, latest, outputs=report_json, api_visibility="private", **queue_args).then(
        views.render, report_json, shown, **render_args
    )
    return report_json
