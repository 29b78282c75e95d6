"""The Admin tab: Gradio only. Every handler that changes the Space goes through AdminService, which
checks the signed-in user on the server; the buttons' look is convenience, not protection.

No handler declares a gr.OAuthToken: Gradio fills one from the request body when the session has
none, so it proves nothing about who calls. The Hub is called with the Space's own HF_TOKEN.

Handlers that act also take the gr.Request, whose Origin/Referer/Host headers and session hash go to
the service in a Caller: a signed-in owner's cookie sent by another site's page changes nothing.
No session state guards a change: the pending paid choice lives in the service, bound to the user.
"""

from __future__ import annotations

import logging
import traceback

import gradio as gr
from gradio import oauth
from gradio.utils import get_space

from admin.activity import ActivityLog
from admin.caller import caller_of
from admin.catalogue import FREE_FLAVOR, SLEEP_CHOICES, sleep_choice
from admin.endpoint import EndpointService
from admin.endpoint_tab import build_endpoint_panel
from admin.metrics import LiveMonitor
from admin.metrics_tab import build_live_panel
from admin.replicas import with_replicas
from admin.replicas_tab import ReplicasSection
from admin.render import access_markdown, cost_markdown, runtime_markdown, transition, transitions_markdown
from admin.service import POLL_INTERVAL_S, AdminService, Outcome, PendingHardware
from admin.space_client import AdminError, SpaceState, whoami_name
from redaction import redact_text
from settings import Settings

log = logging.getLogger("admin.tab")

# All changes share one queue slot, so two clicks (or two owners) never send two requests at once.
CHANGES = dict(concurrency_limit=1, concurrency_id="admin-changes", trigger_mode="once", api_visibility="private")
SLEEP_LABELS = [choice.label for choice in SLEEP_CHOICES]
DEFAULT_SLEEP = "1 h"


def build_admin_tab(
    settings: Settings, *, service: AdminService | None = None, activity: ActivityLog | None = None
) -> None:
    """Lay out the Admin tab inside the caller's `with gr.Tab(...)` of a gr.Blocks.

    `activity`: the app's log, which the start-up diagnostics write to as well (admin.activity.activity_log).
    """
    service = service or AdminService(settings, activity=activity)
    _Tab(service, sign_in_problem())


def sign_in_problem() -> str | None:
    """Why a gr.LoginButton cannot be added here, or None when it can.

    A LoginButton makes Gradio set up sign-in when the Blocks is built, and a failure there stops the
    whole app: on Spaces it needs `hf_oauth: true`; elsewhere Gradio mocks sign-in as the owner of
    the machine's token and must reach whoami. Without a LoginButton the panel is read-only for all.
    """
    if get_space() is not None:
        if oauth.OAUTH_CLIENT_ID:
            return None
        return "Sign-in is off: add `hf_oauth: true` to the README's front matter, then restart the Space."
    try:
        whoami_name()
    except AdminError as error:
        return (
            "Sign-in is unavailable here: outside Spaces, Gradio signs you in as the owner of HF_TOKEN "
            f"and must ask the Hub who that is. {error.message}"
        )
    return None


def _username(profile: gr.OAuthProfile | None) -> str | None:
    return getattr(profile, "username", None) if profile is not None else None


class _Tab:
    def __init__(self, service: AdminService, sign_in_problem: str | None):
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

        self.replicas = ReplicasSection(self.service, caller_of, self._guard)

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
        self.activity = gr.Dataframe(headers=list(ActivityLog.COLUMNS), interactive=False, wrap=True)

        settings = self.service.settings
        build_live_panel(LiveMonitor(settings))
        if settings.inference_endpoint:
            build_endpoint_panel(EndpointService(settings, self.service.activity), self.activity)

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
        return cost_markdown(catalogue, flavor, seconds) + with_replicas(catalogue, flavor, self.service.replicas_now())

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

    # Changing: each one hands the signed-in username to the service, which authorises it.

    def on_choose(self, flavor, sleep_label, last, seen, profile: gr.OAuthProfile | None, request: gr.Request):
        caller = caller_of(profile, request)
        step = self._guard(lambda: self.service.prepare_hardware(caller, flavor, sleep_label))
        if isinstance(step, PendingHardware):
            return {
                self.confirm: gr.Button(step.prompt),
                self.confirm_row: gr.Row(visible=True),
                self.result: f"{step.estimate}\n\nConfirm to send the request, or cancel.",
                **self._view(last, seen, None),
                self.activity: self.service.activity.rows(),
            }
        return {**self._close_confirm(step), **self._after(step, last, seen)}

    def on_confirm(self, last, seen, profile: gr.OAuthProfile | None, request: gr.Request):
        outcome = self._guard(lambda: self.service.confirm_hardware(caller_of(profile, request)))
        return {**self._close_confirm(outcome), **self._after(outcome, last, seen)}

    def on_cancel(self, profile: gr.OAuthProfile | None, request: gr.Request):
        outcome = self.service.cancel_hardware(caller_of(profile, request))
        return {**self._close_confirm(outcome), self.result: outcome.message}

    def _close_confirm(self, outcome: Outcome) -> dict:
        """A refused call leaves the session's confirm row alone: it may be someone else's session hash."""
        return {self.confirm_row: gr.Row(visible=False)} if outcome.ok else {}

    def on_set_sleep(self, sleep_label, last, seen, profile: gr.OAuthProfile | None, request: gr.Request):
        caller = caller_of(profile, request)
        return self._after(self._guard(lambda: self.service.set_sleep_time(caller, sleep_label)), last, seen)

    def on_stop_billing(self, last, seen, profile: gr.OAuthProfile | None, request: gr.Request):
        caller = caller_of(profile, request)
        return self._after(self._guard(lambda: self.service.stop_billing(caller)), last, seen)

    def on_pause(self, last, seen, profile: gr.OAuthProfile | None, request: gr.Request):
        caller = caller_of(profile, request)
        return self._after(self._guard(lambda: self.service.pause(caller)), last, seen)

    def on_restart(self, factory, last, seen, profile: gr.OAuthProfile | None, request: gr.Request):
        caller = caller_of(profile, request)
        return self._after(self._guard(lambda: self.service.restart(caller, bool(factory))), last, seen)

    def _after(self, outcome: Outcome, last, seen) -> dict:
        mark = "✅" if outcome.ok else "⚠️"
        return {
            self.result: f"{mark} {outcome.message}",
            **self._view(last, seen, outcome.state),
            self.activity: self.service.activity.rows(),
        }

    def _guard(self, action):
        """The service answers every failure it knows; anything else still must not reach the page raw."""
        try:
            return action()
        except Exception as error:  # a bug, not a Hub failure: log it scrubbed, say so plainly
            where = traceback.extract_tb(error.__traceback__)[-1]
            log.error(
                "admin handler failed at %s:%s: %s",
                where.filename,
                where.lineno,
                redact_text(f"{type(error).__name__}: {error}", [self.service.settings.hf_token]),
            )
            return Outcome(
                False, "Internal error in the Admin tab; nothing is known to have been changed. See the logs."
            )
