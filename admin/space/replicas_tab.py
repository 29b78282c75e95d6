"""The Space section's replicas: Gradio only. SpaceService's change desk checks every change, exactly as
for hardware (owner or ADMIN_USERS, from the Space's own page, confirmed when it costs more)."""

from __future__ import annotations

import gradio as gr

from admin.desk import Outcome, Pending
from admin.handlers import CHANGES, caller_of, close_confirm, result_line, safely
from admin.hub import AdminError
from admin.space.replicas import MAX_SPACE_REPLICAS, MIN_REPLICAS, ReplicaCount, replicas_markdown
from admin.space.service import SpaceService


class ReplicasSection:
    """Lay out inside the Admin tab; `wire` once the tab's shared components (activity table...) exist."""

    def __init__(self, service: SpaceService):
        self.service = service
        gr.Markdown(
            "### Replicas\nOn paid hardware the Hub can run several copies of this Space and spread visitors "
            "over them; each copy is billed. Batching and diagnostics are per replica."
        )
        self.summary = gr.Markdown()
        with gr.Row():
            self.count = gr.Number(
                label="Replicas", value=MIN_REPLICAS, minimum=MIN_REPLICAS, maximum=MAX_SPACE_REPLICAS, precision=0
            )
            self.choose = gr.Button("Set replicas…", interactive=False)
        with gr.Row(visible=False) as self.confirm_row:
            self.confirm = gr.Button("Confirm", variant="stop")
            self.cancel = gr.Button("Cancel")
        self.result = gr.Markdown()

    def wire(self, refresh_triggers: list, activity: gr.Dataframe) -> None:
        self.activity = activity
        gr.on(
            triggers=None,
            fn=self.on_replicas_load,
            inputs=[],
            outputs=[self.choose, self.count, self.summary],
            api_visibility="private",
        )
        gr.on(
            triggers=refresh_triggers,
            fn=self.on_replicas_refresh,
            outputs=self.summary,
            api_visibility="private",
            show_progress="hidden",
        )
        after = [self.result, self.summary, activity]
        self.choose.click(
            self.on_replicas_choose, inputs=[self.count], outputs=[self.confirm, self.confirm_row, *after], **CHANGES
        )
        self.confirm.click(self.on_replicas_confirm, outputs=[self.confirm_row, *after], **CHANGES)
        self.cancel.click(self.on_replicas_cancel, outputs=[self.confirm_row, self.result], api_visibility="private")

    def _summary(self) -> str:
        if self.service.problems:
            return "**Replicas** not configured: see above."
        try:
            state = self.service.runtime()
        except AdminError as error:
            return f"**Replicas** unknown: {error.message}"
        return replicas_markdown(ReplicaCount.from_runtime(state.raw), self.service.catalogue(), state.billed_hardware)

    def on_replicas_load(self, profile: gr.OAuthProfile | None):
        decision = self.service.decide(getattr(profile, "username", None))
        requested = None
        if not self.service.problems:
            try:
                requested = ReplicaCount.from_runtime(self.service.runtime().raw).requested
            except AdminError:
                pass
        return {
            self.choose: gr.Button(interactive=decision.allowed and not self.service.problems),
            self.count: gr.Number(value=requested or MIN_REPLICAS),
            self.summary: self._summary(),
        }

    def on_replicas_refresh(self):
        return self._summary()

    def on_replicas_choose(self, count, profile: gr.OAuthProfile | None, request: gr.Request):
        caller = caller_of(profile, request)
        step = self._safely(lambda: self.service.prepare_replicas(caller, count))
        if isinstance(step, Pending):
            return {
                self.confirm: gr.Button(step.prompt),
                self.confirm_row: gr.Row(visible=True),
                self.result: f"{step.estimate}\n\nConfirm to send the request, or cancel.",
                self.summary: self._summary(),
                self.activity: self.service.activity.rows(),
            }
        return {**close_confirm(self.confirm_row, step), **self._after(step)}

    def on_replicas_confirm(self, profile: gr.OAuthProfile | None, request: gr.Request):
        outcome = self._safely(lambda: self.service.confirm_replicas(caller_of(profile, request)))
        return {**close_confirm(self.confirm_row, outcome), **self._after(outcome)}

    def on_replicas_cancel(self, profile: gr.OAuthProfile | None, request: gr.Request):
        outcome = self.service.cancel_replicas(caller_of(profile, request))
        return {**close_confirm(self.confirm_row, outcome), self.result: outcome.message}

    def _after(self, outcome: Outcome) -> dict:
        return {
            self.result: result_line(outcome),
            self.summary: self._summary(),
            self.activity: self.service.activity.rows(),
        }

    def _safely(self, action):
        return safely(action, [self.service.settings.hf_token])
