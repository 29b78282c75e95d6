"""The real app.py driven as the Admin tab's callers drive it: through the queue, with the Hub stand-in as its Hub.

`spaces_app` runs it as on Spaces (SYSTEM=spaces, OAuth on, Host <subdomain>.hf.space, the Origin of the
Space's own page); `session_cookie` mints a signed-in session the way Gradio signs it (starlette's
SessionMiddleware, keyed with a hash of OAUTH_CLIENT_SECRET), so tests hold a valid owner session
without a real sign-in.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from pathlib import Path

import httpx
import itsdangerous

from tests.apptools import AppProcess
from tests.hub_standin import HubStandIn

SPACE_HOST = "alice-self-check.hf.space"
OWN_ORIGIN = f"https://{SPACE_HOST}"
CLIENT_SECRET = f"oauth-secret-{uuid.uuid4().hex}"


def local_env(hub: HubStandIn) -> dict[str, str]:
    """The app run outside Spaces to manage the stand-in's Space: Gradio's local sign-in then asks the
    Hub (the stand-in) who owns HF_TOKEN, and signs the browser in as that owner."""
    return {
        "HF_ENDPOINT": hub.url,
        "HF_TOKEN": hub.token,
        "HF_HUB_OFFLINE": "0",
        "ADMIN_SPACE_ID": hub.space_id,
        "SPACE_AUTHOR_NAME": hub.user,
        "DIAGNOSTICS_AT_STARTUP": "false",
    }


class AdminApp:
    """The real app.py, with the Hub stand-in as its Hub and the stand-in's token as HF_TOKEN.

    Requests carry `origin` as their Origin header, as a browser on the app's own page sends it
    (outside Spaces that is the app's URL), and `headers` besides (e.g. the Host a Space is reached at).
    """

    def __init__(self, hub: HubStandIn, log_path: Path, env: dict[str, str] | None = None, origin: str | None = None):
        self.hub = hub
        env = {**local_env(hub), "SPACE_ID": "", "SPACE_HOST": "", "SYSTEM": "", "ADMIN_USERS": "", **(env or {})}
        self._process = AppProcess(env, log_path).__enter__()
        self.url = self._process.url
        self.origin = origin or self.url
        self.headers: dict[str, str] = {}

    def log(self) -> str:
        return self._process.log()

    def close(self) -> None:
        self._process.__exit__(None, None, None)

    def dependencies(self) -> list[dict]:
        """Every backend event, with its fn_index, as /config lists it."""
        config = httpx.get(f"{self.url}/config", timeout=10).json()
        self.components = {c["id"]: c for c in config["components"]}
        return [dict(d, fn_index=i) for i, d in enumerate(config["dependencies"]) if d.get("backend_fn", True)]

    def dependency(self, api_name: str) -> dict:
        return next(d for d in self.dependencies() if d.get("api_name") == api_name)

    def inputs_for(self, dependency: dict) -> list:
        return [self.components.get(i, {}).get("props", {}).get("value") for i in dependency["inputs"]]

    def call(
        self,
        dependency: dict,
        *,
        cookie: str | None = None,
        times: int = 1,
        extra: dict | None = None,
        session: str | None = None,
        origin: str | None = "own",
        data: list | None = None,
    ):
        """POST /gradio_api/queue/join `times` times in one session, then read every completion message.

        `origin`: "own" sends the app's own origin, None sends no Origin header, anything else is sent as is.
        """
        headers = dict(self.headers)
        if cookie:
            headers["Cookie"] = cookie
        if origin is not None:
            headers["Origin"] = self.origin if origin == "own" else origin
        session = session or uuid.uuid4().hex[:12]
        body = {
            "data": self.inputs_for(dependency) if data is None else data,
            "fn_index": dependency["fn_index"],
            "session_hash": session,
            "trigger_id": None,
            "event_data": None,
            **(extra or {}),
        }
        raw: list[str] = []
        events = []
        for _ in range(times):
            joined = httpx.post(f"{self.url}/gradio_api/queue/join", json=body, headers=headers, timeout=10)
            raw.append(joined.text)
            joined.raise_for_status()
            events.append(joined.json()["event_id"])
        completed = []
        with httpx.stream(
            "GET", f"{self.url}/gradio_api/queue/data", params={"session_hash": session}, headers=headers, timeout=60
        ) as stream:
            for line in stream.iter_lines():
                raw.append(line)
                if line.startswith("data:"):
                    message = json.loads(line[5:])
                    if message.get("msg") == "process_completed":
                        completed.append(message)
                        if len(completed) == times:
                            break
        return completed, "\n".join(raw)

    def sign_in(self) -> str:
        """The session cookie of the mocked Hugging Face sign-in (its Secure flag stops httpx resending it)."""
        response = httpx.get(f"{self.url}/login/callback", params={"_target_url": "/"}, follow_redirects=False)
        cookie = response.headers["set-cookie"].split(";", 1)[0]
        assert cookie.startswith("session=")
        return cookie


def output_text(message: dict) -> str:
    return json.dumps(message.get("output", {}))


def session_cookie(username: str) -> str:
    """A signed-in session for `username`, signed exactly as gradio.oauth.attach_oauth's SessionMiddleware does."""
    signer = itsdangerous.TimestampSigner(hashlib.sha256(f"{CLIENT_SECRET}-v4".encode()).hexdigest())
    oauth_info = {
        "access_token": "hf_oauth_" + "x" * 30,
        "token_type": "bearer",
        "scope": "openid profile",
        "expires_at": int(time.time()) + 3600,
        "userinfo": {
            "sub": "1234",
            "name": username.title(),
            "preferred_username": username,
            "profile": f"https://huggingface.co/{username}",
            "picture": "",
        },
    }
    payload = base64.b64encode(json.dumps({"oauth_info": oauth_info}).encode())
    return "session=" + signer.sign(payload).decode()


def spaces_env(hub: HubStandIn, **extra: str) -> dict[str, str]:
    """What Spaces set (DESIGN.md) for a Space with `hf_oauth: true`, owned by alice, plus `extra`."""
    return {
        "SYSTEM": "spaces",
        "SPACE_ID": hub.space_id,
        "SPACE_AUTHOR_NAME": "alice",
        "SPACE_REPO_NAME": "self-check",
        "SPACE_HOST": SPACE_HOST,
        "ADMIN_SPACE_ID": "",
        "OAUTH_CLIENT_ID": "00000000-0000-0000-0000-00000000c11e",
        "OAUTH_CLIENT_SECRET": CLIENT_SECRET,
        "OAUTH_SCOPES": "openid profile",
        "OPENID_PROVIDER_URL": hub.url,
        **extra,
    }


def spaces_app(hub: HubStandIn, log_path: Path, **extra: str) -> AdminApp:
    """The app run as on Spaces, its requests sent from the Space's own page."""
    server = AdminApp(hub, log_path, env=spaces_env(hub, **extra), origin=OWN_ORIGIN)
    server.headers = {"Host": SPACE_HOST}  # not localhost: Gradio's CORS then answers any origin
    return server
