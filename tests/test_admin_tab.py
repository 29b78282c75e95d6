"""The Admin tab's handlers called directly, as Gradio would call them, with a fake signed-in profile."""

from __future__ import annotations

import inspect
import typing
from types import SimpleNamespace

import gradio as gr
import pytest

from admin.space.client import SpaceClient
from admin.space.service import SpaceService as AdminService
from admin.space.tab import SpaceTab as _Tab
from admin.tab import build_admin_tab, sign_in_problem
from settings import load_settings
from tests.hub_standin import HubStandIn, allow_hub_requests_fixture, hub_standin_fixture  # noqa: F401 (fixtures)

pytestmark = pytest.mark.usefixtures("allow_hub_requests")


def profile(username: str) -> gr.OAuthProfile:
    return gr.OAuthProfile(
        {
            "preferred_username": username,
            "name": username.title(),
            "profile": f"https://hf.co/{username}",
            "picture": "",
        }
    )


def request(session: str = "tab-1", origin: str | None = "http://127.0.0.1:7860") -> SimpleNamespace:
    """What a gr.Request offers the handlers: headers as the browser sent them, and the session hash."""
    headers = {"host": "127.0.0.1:7860"} | ({"origin": origin} if origin else {})
    return SimpleNamespace(headers=headers, session_hash=session)


def tab_for(hub: HubStandIn) -> tuple[_Tab, gr.Blocks]:
    settings = load_settings({"ADMIN_SPACE_ID": hub.space_id, "SPACE_AUTHOR_NAME": hub.user, "HF_TOKEN": hub.token})
    client = SpaceClient(hub.space_id, hub.token, endpoint=hub.url)
    service = AdminService(settings, client=client, runtime_max_age_s=0)
    with gr.Blocks() as demo:
        tab = _Tab(service, "no sign-in in handler tests")  # a LoginButton would make Gradio call whoami
    return tab, demo


def test_no_handler_takes_an_oauth_token(hub_standin: HubStandIn) -> None:
    """A gr.OAuthToken can come from the request body, so no handler may rely on one."""
    _, demo = tab_for(hub_standin)
    for block_fn in demo.fns.values():
        hints = (
            typing.get_type_hints(block_fn.fn)
            if inspect.isfunction(block_fn.fn) or inspect.ismethod(block_fn.fn)
            else {}
        )
        # Both spellings of the annotation, as an owner may write either.
        assert gr.OAuthToken not in hints.values() and typing.Optional[gr.OAuthToken] not in hints.values()  # noqa: UP045


def test_owner_sees_enabled_buttons_and_prices(hub_standin: HubStandIn) -> None:
    tab, _ = tab_for(hub_standin)
    buttons = [tab.choose, tab.set_sleep, tab.stop, tab.pause, tab.restart]
    owner = tab.on_load(profile("space-owner"))
    assert "owner of this Space" in owner[tab.access]
    assert all(owner[button].interactive for button in buttons)
    stranger = tab.on_load(profile("mallory"))
    assert "read-only" in stranger[tab.access] and not any(stranger[button].interactive for button in buttons)
    anonymous = tab.on_load(None)
    assert "Sign in" in anonymous[tab.access]
    dropdown, cost = anonymous[tab.flavor], anonymous[tab.cost]
    assert ("t4-small · $0.40/hour · 1x T4 (16 GB), 4 vCPU, 15 GB", "t4-small") in dropdown.choices
    assert "free" in cost


def test_owner_switches_hardware_in_two_steps_and_polling_starts(hub_standin: HubStandIn) -> None:
    tab, _ = tab_for(hub_standin)
    owner = profile("space-owner")
    pending = tab.on_choose("a10g-small", "never", None, [], owner, request())
    assert pending[tab.confirm].value == "Confirm: switch to a10g-small at $1.00/hour (sleep: never)"
    assert pending[tab.confirm_row].visible and "730 h" in pending[tab.result]
    assert hub_standin.changes() == []

    done = tab.on_confirm(None, [], owner, request())
    assert not done[tab.confirm_row].visible
    assert done[tab.result].startswith("✅ Requested a10g-small")
    assert "a10g-small" in done[tab.runtime] and "requested" in done[tab.runtime]
    assert done[tab.timer].active  # the Space is changing: poll
    assert done[tab.activity][0][1:3] == ["space-owner", "request hardware a10g-small (sleep: never)"]

    view = tab.on_refresh(done[tab.last_state], done[tab.seen])  # the stand-in's one transient read
    assert view[tab.timer].active and view[tab.last_state].stage == "APP_STARTING"
    view = tab.on_refresh(view[tab.last_state], view[tab.seen])
    assert not view[tab.timer].active and view[tab.last_state].hardware == "a10g-small"
    transitions = view[tab.transitions]
    assert "stage APP_STARTING → RUNNING" in transitions and "hardware cpu-basic → a10g-small" in transitions


def test_stranger_calling_confirm_directly_is_refused(hub_standin: HubStandIn) -> None:
    tab, _ = tab_for(hub_standin)
    tab.on_choose("a100x8", "never", None, [], profile("space-owner"), request())
    refused = tab.on_confirm(None, [], profile("mallory"), request())
    assert refused[tab.result].startswith("⚠️ Refused")
    assert tab.confirm_row not in refused  # the session's confirm row is left as it was
    assert tab.on_pause(None, [], None, request())[tab.result].startswith("⚠️ Refused")
    assert hub_standin.changes() == []


def test_owner_request_from_another_site_is_refused(hub_standin: HubStandIn) -> None:
    tab, _ = tab_for(hub_standin)
    result = tab.on_pause(None, [], profile("space-owner"), request(origin="https://evil.example"))[tab.result]
    assert result.startswith("⚠️ Refused") and "evil.example" in result
    assert hub_standin.changes() == []


def test_unconfigured_tab_says_what_to_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HF_TOKEN", raising=False)
    with gr.Blocks():
        tab = _Tab(AdminService(load_settings({"SPACE_AUTHOR_NAME": "space-owner"})), "no sign-in")
    access = tab.on_load(profile("space-owner"))[tab.access]
    assert "Setup needed" in access and "HF_TOKEN" in access and "ADMIN_SPACE_ID" in access
    assert "Variables and secrets" in access
    with gr.Blocks():
        build_admin_tab(load_settings({}))  # builds without a token, a Space id or the network


def test_sign_in_is_offered_only_where_gradio_can_set_it_up(
    hub_standin: HubStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A LoginButton that Gradio cannot set up stops the whole app at start-up, so the tab checks first."""
    import huggingface_hub
    from huggingface_hub import constants

    monkeypatch.delenv("SYSTEM", raising=False)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", "/nonexistent/token")
    assert "HF_TOKEN" in sign_in_problem()

    monkeypatch.setenv("HF_TOKEN", hub_standin.token)
    monkeypatch.setattr(huggingface_hub.hf_api.api, "endpoint", hub_standin.url)
    monkeypatch.setattr(constants, "ENDPOINT", hub_standin.url)
    assert sign_in_problem() is None
    with gr.Blocks() as demo:  # Gradio's mocked sign-in asks the stand-in's whoami here
        build_admin_tab(load_settings({}))
    assert any(isinstance(block, gr.LoginButton) for block in demo.blocks.values())

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    assert "HF_HUB_OFFLINE" in sign_in_problem()
    with gr.Blocks() as demo:
        build_admin_tab(load_settings({}))
    assert not any(isinstance(block, gr.LoginButton) for block in demo.blocks.values())

    monkeypatch.setenv("SYSTEM", "spaces")
    monkeypatch.setenv("SPACE_ID", "alice/demo")
    monkeypatch.setattr(gr.oauth, "OAUTH_CLIENT_ID", None)
    assert "hf_oauth: true" in sign_in_problem()
    monkeypatch.setattr(gr.oauth, "OAUTH_CLIENT_ID", "client-id")
    assert sign_in_problem() is None
