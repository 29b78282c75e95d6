"""The Admin tab's hardware sweep section: Gradio only. Planning, confirming and stopping go through
SweepService and the Space's change desk, which check the signed-in user and the page's Origin on the server;
the matrix is for everyone to read (what works where is no secret), as a table, a download and Markdown."""

from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path

import gradio as gr

from admin.desk import Pending
from admin.handlers import CHANGES, caller_of, close_confirm, result_line, safely
from admin.space.catalogue import FREE_FLAVOR
from admin.space.service import SpaceService
from admin.sweep.checks import StepChecks
from admin.sweep.plan import COLUMNS, ZERO_GPU_FLAVOR, matrix_csv, matrix_markdown, matrix_rows, progress_text
from admin.sweep.service import SweepService

REFRESH_S = 15.0


class SweepSection:
    def __init__(self, service: SweepService, activity: gr.Dataframe):
        self.service = service
        self.activity = activity
        self._folder = Path(tempfile.mkdtemp(prefix="sweep-"))
        self._build()

    def _build(self) -> None:
        gr.Markdown(
            "### Hardware sweep\nWhich flavors does this Space work on? Pick some: the Space switches to each in "
            "turn (a restart each), runs the diagnostics with the smoke test and a Demo request, records the "
            "result, and finally returns to the flavor it runs on now. Each flavor is billed while it builds and "
            "runs; a flavor that does not come back within the timeout is recorded as failed and skipped."
        )
        if self.service.refusal:
            gr.Markdown(f"⚠️ {self.service.refusal}")
        # Any value reaches the service, which says what is wrong with it (Gradio's own check would only say
        # "not in the list of choices" to a session that has not loaded them).
        self.flavors = gr.Dropdown(
            label="Flavors to visit", choices=[], multiselect=True, interactive=True, allow_custom_value=True
        )
        self.estimate = gr.Markdown()
        with gr.Row():
            self.plan = gr.Button("Plan the sweep…", variant="primary", interactive=False)
            self.stop = gr.Button("Stop the sweep", variant="stop", interactive=False)
            refresh = gr.Button("Refresh the sweep", size="sm")
        with gr.Row(visible=False) as self.confirm_row:
            self.confirm = gr.Button("Confirm", variant="stop")
            self.cancel = gr.Button("Cancel")
        self.result = gr.Markdown()
        self.progress = gr.Markdown(elem_id="sweep-progress")
        self.matrix = gr.Dataframe(
            headers=list(COLUMNS), interactive=False, wrap=True, label="Sweep matrix", elem_id="sweep-matrix"
        )
        self.markdown = gr.Code(
            label="Markdown for the Space's README", language="markdown", interactive=False, elem_id="sweep-markdown"
        )
        self.download = gr.File(
            label="Download the matrix", file_count="multiple", interactive=False, elem_id="sweep-download"
        )
        self.timer = gr.Timer(REFRESH_S, active=False)
        self._wire(refresh)

    def _wire(self, refresh: gr.Button) -> None:
        view = [self.progress, self.matrix, self.markdown, self.download, self.timer]
        gr.on(
            triggers=None,
            fn=self.on_sweep_load,
            outputs=[self.flavors, self.plan, self.stop, *view],
            api_visibility="private",
        )
        gr.on([refresh.click, self.timer.tick], self.on_sweep_view, outputs=view, api_visibility="private")
        self.flavors.change(self.on_sweep_estimate, self.flavors, self.estimate, api_visibility="private")
        after = [self.result, *view, self.activity]
        self.plan.click(
            self.on_sweep_plan, inputs=self.flavors, outputs=[self.confirm, self.confirm_row, *after], **CHANGES
        )
        self.confirm.click(self.on_sweep_confirm, outputs=[self.confirm_row, *after], **CHANGES)
        self.cancel.click(self.on_sweep_cancel, outputs=[self.confirm_row, self.result], api_visibility="private")
        self.stop.click(self.on_sweep_stop, outputs=after, **CHANGES)

    def on_sweep_load(self, profile: gr.OAuthProfile | None):
        username = getattr(profile, "username", None) if profile is not None else None
        allowed = self.service.space.decide(username).allowed and not self.service.refusal
        catalogue = self.service.space.catalogue()
        choices = [(f.label, f.name) for f in catalogue.flavors if f.name != FREE_FLAVOR]
        if catalogue.get(ZERO_GPU_FLAVOR) is None:
            choices.append((f"{ZERO_GPU_FLAVOR} · ZeroGPU (no hourly price)", ZERO_GPU_FLAVOR))
        acts = gr.Button(interactive=allowed and not self.service.space.problems)
        return {self.flavors: gr.Dropdown(choices=choices), self.plan: acts, self.stop: acts, **self._view()}

    def on_sweep_view(self):
        return self._view()

    def on_sweep_estimate(self, flavors: list[str] | None):
        return self.service.estimate_text(flavors)

    def _view(self) -> dict:
        plan = self.service.plan()
        files = self._files(plan) if plan is not None else None
        return {
            self.progress: progress_text(plan),
            self.matrix: matrix_rows(plan) if plan else [],
            self.markdown: matrix_markdown(plan) if plan else "",
            self.download: files,
            self.timer: gr.Timer(active=plan is not None and not plan.finished),
        }

    def _files(self, plan) -> list[str]:
        """The matrix as Markdown and CSV, rewritten in this section's one folder (Gradio serves a copy)."""
        paths = []
        for name, text in (("hardware-sweep.md", matrix_markdown(plan)), ("hardware-sweep.csv", matrix_csv(plan))):
            path = self._folder / name
            temporary = path.with_suffix(f".{uuid.uuid4().hex}.tmp")
            temporary.write_text(text, encoding="utf-8")
            os.replace(temporary, path)  # a page reading it meanwhile gets the old file or the new, whole
            paths.append(str(path))
        return paths

    def on_sweep_plan(self, flavors, profile: gr.OAuthProfile | None, request: gr.Request):
        caller = caller_of(profile, request)
        step = self._safely(lambda: self.service.prepare(caller, flavors))
        if isinstance(step, Pending):
            return {
                self.confirm: gr.Button(step.prompt),
                self.confirm_row: gr.Row(visible=True),
                self.result: f"{step.estimate}\n\nConfirm to start the sweep, or cancel.",
                **self._view(),
                self.activity: self.service.space.activity.rows(),
            }
        return {**close_confirm(self.confirm_row, step), **self._after(step)}

    def on_sweep_confirm(self, profile: gr.OAuthProfile | None, request: gr.Request):
        outcome = self._safely(lambda: self.service.confirm(caller_of(profile, request)))
        return {**close_confirm(self.confirm_row, outcome), **self._after(outcome)}

    def on_sweep_cancel(self, profile: gr.OAuthProfile | None, request: gr.Request):
        outcome = self.service.cancel(caller_of(profile, request))
        return {**close_confirm(self.confirm_row, outcome), self.result: outcome.message}

    def on_sweep_stop(self, profile: gr.OAuthProfile | None, request: gr.Request):
        return self._after(self._safely(lambda: self.service.stop(caller_of(profile, request))))

    def _after(self, outcome) -> dict:
        return {self.result: result_line(outcome), **self._view(), self.activity: self.service.space.activity.rows()}

    def _safely(self, action):
        return safely(action, [self.service.settings.hf_token])


def build_sweep_section(space: SpaceService, activity: gr.Dataframe, checks: StepChecks | None) -> SweepSection:
    """The section, over the Space's service and change desk; the sweep's loop starts here (a plan in STATE_DIR
    is carried on by every start of the app)."""
    service = SweepService(space, checks, step_timeout_s=space.settings.sweep_step_timeout_s)
    section = SweepSection(service, activity)
    service.carry_on()
    return section
