"""The Admin tab, composed: one Guard for the whole tab, then each feature's section (the Space, its live
metrics and run log, the Inference Endpoint when INFERENCE_ENDPOINT is set). app.py calls `build_admin_tab`.
"""

from __future__ import annotations

from gradio import oauth
from gradio.utils import get_space

from admin.activity import ActivityLog, activity_log
from admin.endpoint.tab import build_endpoint_panel
from admin.guard import Guard
from admin.hub import AdminError, whoami_name
from admin.live.tab import build_live_panel
from admin.space.service import SpaceService
from admin.space.tab import SpaceTab
from admin.sweep.checks import StepChecks
from admin.sweep.tab import build_sweep_section
from settings import Settings


def build_admin_tab(
    settings: Settings,
    *,
    activity: ActivityLog | None = None,
    space: SpaceService | None = None,
    sweep_checks: StepChecks | None = None,
) -> None:
    """Lay out the Admin tab inside the caller's `with gr.Tab(...)` of a gr.Blocks.

    `activity`: the app's log, which the start-up diagnostics write to as well (admin.activity.activity_log).
    `space`: the app's Space service when another tab shares it (the Diagnostics tab's Apply); its Guard is the
    tab's then.
    `sweep_checks`: what a hardware sweep step runs in this process (app.py's diagnostics and Demo).
    """
    guard = space.guard if space else Guard(settings, activity or activity_log(settings))
    space = SpaceTab(space or SpaceService(settings, guard=guard), sign_in_problem())
    build_sweep_section(space.service, space.activity, sweep_checks)
    build_live_panel(settings, guard)
    if settings.inference_endpoint:
        build_endpoint_panel(settings, guard, space.activity)


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
