"""The Admin tab's Space section (runtime, hardware, sleep, replicas, pause and restart, the activity list):
Gradio only. Every handler that changes the Space goes through SpaceService and its change desk, which
check the signed-in user on the server; the buttons' look is convenience, not protection.

Handlers that act also take the gr.Request, whose Origin/Referer/Host headers and session hash go to
the service in a Caller: a signed-in owner's cookie sent by another site's page changes nothing.
No session state guards a change: the pending paid choice lives in the service, bound to the user.
"""

from __future__ import annotations

import gradio as gr

from admin.desk import Outcome, Pending
from admin.handlers import CHANGES, caller_of, close_confirm, result_line, safely
from admin.hub import AdminError
from admin.remembered import POLL_INTERVAL_S
from admin.space.catalogue import FREE_FLAVOR, SLEEP_CHOICES, sleep_choice
from admin.space.client import SpaceState
from admin.space.render import access_markdown, cost_markdown, runtime_markdown, transition, transitions_markdown
from admin.space.replicas_tab import ReplicasSection
from admin.space.service import SpaceService

SLEEP_LABELS = [choice.label for choice in SLEEP_CHOICES]
DEFAULT_SLEEP = "1 h"


def _username(profile: gr.OAuthProfile | None) -> str | None:
    return getattr(profile, "username", None) if profile is not None else None


class SpaceTab:
    """The section's components and handlers; the handlers' names are the events' API names."""

    def __init__(self, service: SpaceService, sign_in_problem: str | None):
        self.service = service
        self.sign_in_problem = sign_in_problem
        self._build()

    def _build(self) -> None:
        gr.Markdown(
            "## Space administration\nChange this Space's hardware and sleep time. Only the Space's owner "
            "(and the users in ADMIN_USERS), signed in with Hugging Face, can change anything; everyone else "
            "sees this panel read-only."
        )
        if self.sign_in_problem:
            gr.Markdown(f"⚠️ {self.sign_in_problem}")
        else:
            gr.LoginButton()
        self.access = gr.Markdown()

        gr.Markdown("### Runtime")
        self.runtime = gr.Markdown("Loading…")
        self.transitions = gr.Markdown()
        refresh = gr.Button("Refresh", size="sm")
        self.timer = gr.Timer(POLL_INTERVAL_S, active=False)
        self.last_state = gr.State(None)
        self.seen = gr.State([])

        gr.Markdown("### Hardware")
        with gr.Row():
            self.flavor = gr.Dropdown(label="Hardware", choices=[], interactive=True, scale=2)
            self.sleep = gr.Dropdown(
                label="Sleep after (no visitors)",
                choices=SLEEP_LABELS,
                value=DEFAULT_SLEEP,
                interactive=True,
                info=f"On {FREE_FLAVOR} the Hub fixes it at 48 h.",
            )
        self.cost = gr.Markdown()
        gr.Markdown("Changing hardware restarts the Space (and this app): the page reconnects when it is back.")
        with gr.Row():
            self.choose = gr.Button("Switch hardware…", variant="primary", interactive=False)
            self.set_sleep = gr.Button("Set sleep time only", interactive=False)
            self.stop = gr.Button(f"Stop billing (switch to free {FREE_FLAVOR})", variant="stop", interactive=False)
        with gr.Row(visible=False) as self.confirm_row:
            self.confirm = gr.Button("Confirm", variant="stop")
            self.cancel = gr.Button("Cancel")

        self.replicas = ReplicasSection(self.service)

        gr.Markdown(
            "### Pause or restart\nA paused Space costs nothing, and stops this app too: only the owner can "
            "restart it, from the Space's page (Settings → Restart)."
        )
        with gr.Row():
            self.pause = gr.Button("Pause the Space", interactive=False)
            self.factory = gr.Checkbox(label="Factory reboot (rebuild without cache)", value=False)
            self.restart = gr.Button("Restart the Space", interactive=False)
        self.result = gr.Markdown()

        gr.Markdown("### Activity")
        gr.Markdown(self.service.activity.where)
        self.activity = gr.Dataframe(headers=list(self.service.activity.COLUMNS), interactive=False, wrap=True)

        self._wire(refresh)

    def _actions(self) -> list[gr.Button]:
        return [self.choose, self.set_sleep, self.stop, self.pause, self.restart]

    def _wire(self, refresh: gr.Button) -> None:
        buttons = self._actions()
        view = [self.runtime, self.transitions, self.timer, self.last_state, self.seen]
        after = [self.result, *view, self.activity]
        gr.on(
            triggers=None,
            fn=self.on_load,
            inputs=[],
            outputs=[self.access, *buttons, self.flavor, self.cost, *view, self.activity],
            api_visibility="private",
        )
        gr.on(
            triggers=[refresh.click, self.timer.tick],
            fn=self.on_refresh,
            inputs=[self.last_state, self.seen],
            outputs=view,
            api_name="admin_runtime",
            # Callable by name, but out of the API page and so out of the MCP tools: agents get no admin tools.
            api_visibility="undocumented",
            show_progress="hidden",
        )
        gr.on(
            triggers=[self.flavor.change, self.sleep.change],
            fn=self.on_estimate,
            inputs=[self.flavor, self.sleep],
            outputs=self.cost,
            api_visibility="private",
            show_progress="hidden",
        )
        self.choose.click(
            self.on_choose,
            inputs=[self.flavor, self.sleep, self.last_state, self.seen],
            outputs=[self.confirm, self.confirm_row, *after],
            **CHANGES,
        )
        self.confirm.click(
            self.on_confirm, inputs=[self.last_state, self.seen], outputs=[self.confirm_row, *after], **CHANGES
        )
        self.cancel.click(self.on_cancel, outputs=[self.confirm_row, self.result], api_visibility="private")
        self.set_sleep.click(
            self.on_set_sleep, inputs=[self.sleep, self.last_state, self.seen], outputs=after, **CHANGES
        )
        self.stop.click(self.on_stop_billing, inputs=[self.last_state, self.seen], outputs=after, **CHANGES)
        self.pause.click(self.on_pause, inputs=[self.last_state, self.seen], outputs=after, **CHANGES)
        self.restart.click(self.on_restart, inputs=[self.factory, self.last_state, self.seen], outputs=after, **CHANGES)
        self.replicas.wire([refresh.click, self.timer.tick], self.activity)

    # Reading.

    def on_load(self, profile: gr.OAuthProfile | None):
        decision = self.service.decide(_username(profile))
        catalogue = self.service.catalogue()
        choices = [(flavor.label, flavor.name) for flavor in catalogue.flavors]
        view = self._view(None, [])
        state = view[self.last_state]
        current = state.billed_hardware if state else None
        chosen = current if catalogue.get(current) else FREE_FLAVOR
        acts = gr.Button(interactive=decision.allowed and not self.service.problems)
        return {
            self.access: access_markdown(decision, self.service.problems),
            **dict.fromkeys(self._actions(), acts),
            self.flavor: gr.Dropdown(choices=choices, value=chosen),
            self.cost: cost_markdown(catalogue, chosen, sleep_choice(DEFAULT_SLEEP).seconds),
            **view,
            self.activity: self.service.activity.rows(),
        }

    def on_refresh(self, last: SpaceState | None, seen: list[str]):
        # Every key of its outputs, always: gradio_client callers of /admin_runtime get the same 5 values.
        return self._view(last, seen)

    def on_estimate(self, flavor: str | None, sleep_label: str | None):
        try:
            seconds = sleep_choice(sleep_label or DEFAULT_SLEEP).seconds
        except ValueError:
            return "Choose a sleep time from the list."
        catalogue = self.service.catalogue()
        return cost_markdown(catalogue, flavor, seconds, self.service.replicas_now())

    def _view(self, last: SpaceState | None, seen: list[str], state: SpaceState | None = None) -> dict:
        """Runtime text, seen transitions, timer on while the Space is changing, new last state."""
        if state is None:
            if self.service.problems:
                return self._view_of("Not configured: see above.", seen, gr.Timer(active=False), last)
            try:
                state = self.service.runtime()
            except AdminError as error:
                return self._view_of(error.message, seen, gr.Timer(active=False), last)
        line = transition(last, state)
        seen = [*(seen or []), line][-20:] if line else (seen or [])
        text = runtime_markdown(state, self.service.catalogue())
        return self._view_of(text, seen, gr.Timer(active=state.is_changing), state)

    def _view_of(self, text: str, seen: list[str], timer: gr.Timer, state: SpaceState | None) -> dict:
        return {
            self.runtime: text,
            self.transitions: transitions_markdown(seen),
            self.timer: timer,
            self.last_state: state,
            self.seen: seen,
        }

    # Changing: each one hands the Caller to the service, whose change desk checks it.

    def on_choose(self, flavor, sleep_label, last, seen, profile: gr.OAuthProfile | None, request: gr.Request):
        caller = caller_of(profile, request)
        step = self._safely(lambda: self.service.prepare_hardware(caller, flavor, sleep_label))
        if isinstance(step, Pending):
            return {
                self.confirm: gr.Button(step.prompt),
                self.confirm_row: gr.Row(visible=True),
                self.result: f"{step.estimate}\n\nConfirm to send the request, or cancel.",
                **self._view(last, seen, None),
                self.activity: self.service.activity.rows(),
            }
        return {**close_confirm(self.confirm_row, step), **self._after(step, last, seen)}

    def on_confirm(self, last, seen, profile: gr.OAuthProfile | None, request: gr.Request):
        outcome = self._safely(lambda: self.service.confirm_hardware(caller_of(profile, request)))
        return {**close_confirm(self.confirm_row, outcome), **self._after(outcome, last, seen)}

    def on_cancel(self, profile: gr.OAuthProfile | None, request: gr.Request):
        outcome = self.service.cancel_hardware(caller_of(profile, request))
        return {**close_confirm(self.confirm_row, outcome), self.result: outcome.message}

    def on_set_sleep(self, sleep_label, last, seen, profile: gr.OAuthProfile | None, request: gr.Request):
        caller = caller_of(profile, request)
        return self._after(self._safely(lambda: self.service.set_sleep_time(caller, sleep_label)), last, seen)

    def on_stop_billing(self, last, seen, profile: gr.OAuthProfile | None, request: gr.Request):
        caller = caller_of(profile, request)
        return self._after(self._safely(lambda: self.service.stop_billing(caller)), last, seen)

    def on_pause(self, last, seen, profile: gr.OAuthProfile | None, request: gr.Request):
        caller = caller_of(profile, request)
        return self._after(self._safely(lambda: self.service.pause(caller)), last, seen)

    def on_restart(self, factory, last, seen, profile: gr.OAuthProfile | None, request: gr.Request):
        caller = caller_of(profile, request)
        return self._after(self._safely(lambda: self.service.restart(caller, bool(factory))), last, seen)

    def _after(self, outcome: Outcome, last, seen) -> dict:
        return {
            self.result: result_line(outcome),
            **self._view(last, seen, outcome.state),
            self.activity: self.service.activity.rows(),
        }

    def _safely(self, action):
        return safely(action, [self.service.settings.hf_token])
