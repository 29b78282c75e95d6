"""The Admin tab's Inference Endpoint section (INFERENCE_ENDPOINT): Gradio only; the checks live in the service.

Every handler that acts hands the Caller (sign-in session, Origin/Referer/Host) to EndpointService, whose
change desk refuses anyone but the owner (and ADMIN_USERS) on the Space's own page; the buttons' look is
convenience.
"""

from __future__ import annotations

import gradio as gr

from admin.desk import Outcome
from admin.endpoint.client import EndpointState
from admin.endpoint.service import MAX_ENDPOINT_REPLICAS, EndpointService
from admin.guard import Guard
from admin.handlers import CHANGES, caller_of, close_confirm, result_line
from admin.hub import AdminError
from admin.remembered import POLL_INTERVAL_S
from settings import Settings

STATE_LABELS = {
    "running": "🟢 running",
    "paused": "⏸️ paused (not billed)",
    "scaledToZero": "💤 scaled to zero (not billed; the next request wakes it)",
    "initializing": "🟡 initializing",
    "pending": "🟡 pending",
    "updating": "🟡 updating",
    "failed": "🔴 failed",
    "updateFailed": "🔴 update failed",
}


def state_markdown(state: EndpointState) -> str:
    idle = f", scales to zero after {state.scale_to_zero_minutes} min idle" if state.min_replica == 0 else ""
    if state.min_replica == 0 and state.scale_to_zero_minutes is None:
        idle = ", scales to zero when idle"
    lines = [
        f"**{state.namespace}/{state.name}**: {STATE_LABELS.get(state.state, state.state)}"
        + (f" — {state.message}" if state.message else ""),
        (
            f"Replicas: {state.ready_replicas} ready of {state.target_replicas} wanted; "
            f"between {state.min_replica} and {state.max_replica}{idle}."
        ),
        f"Model: `{state.repository}` on {state.hardware or 'unknown hardware'}.",
    ]
    return "\n\n".join(lines)


def build_endpoint_panel(settings: Settings, guard: Guard, activity: gr.Dataframe) -> None:
    """Lay out the Inference Endpoint section inside the Admin tab; `activity` is the tab's activity list."""
    _EndpointPanel(EndpointService(settings, guard.activity, guard=guard), activity)


class _EndpointPanel:
    def __init__(self, service: EndpointService, activity: gr.Dataframe):
        self.service = service
        self.activity = activity
        gr.Markdown(
            f"### Inference Endpoint\n`INFERENCE_ENDPOINT={service.label}`: pause it, resume it, scale it to zero "
            "or set how many replicas it keeps. Resuming and keeping replicas running are billed, so they ask "
            "for a confirmation."
        )
        self.state = gr.Markdown("Loading…")
        refresh = gr.Button("Refresh endpoint", size="sm")
        self.timer = gr.Timer(POLL_INTERVAL_S, active=False)
        with gr.Row():
            self.pause = gr.Button("Pause endpoint", interactive=False)
            self.zero = gr.Button("Scale endpoint to zero", interactive=False)
            self.resume = gr.Button("Resume endpoint…", interactive=False)
        with gr.Row():
            self.low = gr.Number(label="Min replicas", precision=0, minimum=0, maximum=MAX_ENDPOINT_REPLICAS, value=0)
            self.high = gr.Number(label="Max replicas", precision=0, minimum=1, maximum=MAX_ENDPOINT_REPLICAS, value=1)
            self.set_replicas = gr.Button("Set endpoint replicas…", interactive=False)
        with gr.Row(visible=False) as self.confirm_row:
            self.confirm = gr.Button("Confirm endpoint change", variant="stop")
            self.cancel = gr.Button("Cancel endpoint change")
        self.result = gr.Markdown()

        buttons = self._actions()
        view = [self.state, self.timer]
        gr.on(
            triggers=None,
            fn=self.endpoint_load,
            outputs=[*buttons, self.low, self.high, *view],
            api_visibility="private",
        )
        gr.on(
            triggers=[refresh.click, self.timer.tick],
            fn=self.endpoint_refresh,
            outputs=view,
            api_visibility="private",
            show_progress="hidden",
        )
        after = [self.confirm_row, self.confirm, self.result, *view, self.activity]
        self.pause.click(self.endpoint_pause, outputs=after, **CHANGES)
        self.zero.click(self.endpoint_scale_to_zero, outputs=after, **CHANGES)
        self.resume.click(self.endpoint_resume, outputs=after, **CHANGES)
        self.set_replicas.click(self.endpoint_replicas, inputs=[self.low, self.high], outputs=after, **CHANGES)
        self.confirm.click(self.endpoint_confirm, outputs=after, **CHANGES)
        self.cancel.click(self.endpoint_cancel, outputs=after, api_visibility="private")

    def _actions(self) -> list[gr.Button]:
        return [self.pause, self.zero, self.resume, self.set_replicas]

    # Reading: cached in the service, so anyone's page load costs at most one read per poll interval.

    def endpoint_load(self, profile: gr.OAuthProfile | None):
        allowed = self.service.guard.decide(getattr(profile, "username", None)).allowed
        acts = gr.Button(interactive=allowed and not self.service.problems)
        state = self._read()
        replicas = (
            {self.low: gr.Number(value=state.min_replica), self.high: gr.Number(value=state.max_replica)}
            if isinstance(state, EndpointState)
            else {}
        )
        return {**dict.fromkeys(self._actions(), acts), **replicas, **self._view(state)}

    def endpoint_refresh(self):
        return self._view(self._read())

    def _read(self) -> EndpointState | str:
        """The endpoint's state (cached by the service), or why it cannot be read."""
        if self.service.problems:
            return " ".join(self.service.problems)
        try:
            return self.service.state()
        except AdminError as error:
            return f"⚠️ {error.message}"

    def _view(self, state: EndpointState | str) -> dict:
        """State text, and the timer on while the endpoint is changing."""
        if isinstance(state, str):
            return {self.state: state, self.timer: gr.Timer(active=False)}
        return {self.state: state_markdown(state), self.timer: gr.Timer(active=state.is_changing)}

    # Changing.

    def endpoint_pause(self, profile: gr.OAuthProfile | None, request: gr.Request):
        return self._after(self.service.pause(caller_of(profile, request)))

    def endpoint_scale_to_zero(self, profile: gr.OAuthProfile | None, request: gr.Request):
        return self._after(self.service.scale_to_zero(caller_of(profile, request)))

    def endpoint_resume(self, profile: gr.OAuthProfile | None, request: gr.Request):
        return self._after(self.service.prepare_resume(caller_of(profile, request)))

    def endpoint_replicas(self, low, high, profile: gr.OAuthProfile | None, request: gr.Request):
        return self._after(self.service.prepare_replicas(caller_of(profile, request), low, high))

    def endpoint_confirm(self, profile: gr.OAuthProfile | None, request: gr.Request):
        return self._after(self.service.confirm(caller_of(profile, request)))

    def endpoint_cancel(self, profile: gr.OAuthProfile | None, request: gr.Request):
        return self._after(self.service.cancel(caller_of(profile, request)))

    def _after(self, step) -> dict:
        if not isinstance(step, Outcome):  # a billed change waiting for its confirmation
            return {
                self.confirm_row: gr.Row(visible=True),
                self.confirm: gr.Button(step.prompt),
                self.result: f"{step.prompt}?",
                **self._view(self._read()),
                self.activity: self._rows(),
            }
        return {
            **close_confirm(self.confirm_row, step),
            self.result: result_line(step),
            **self._view(step.state or self._read()),
            self.activity: self._rows(),
        }

    def _rows(self):
        return self.service.activity.rows()
