"""Who may change the Space, and from which page: decided on the server for every request that acts.

The username comes from the Hugging Face sign-in session (gr.OAuthProfile), never from anything
the caller sends: Gradio runs any event by index, so the check sits in every handler that acts.

The sign-in cookie alone proves nothing about intent: Spaces need it SameSite=None (the app lives in
an iframe on huggingface.co), and Gradio answers any site's CORS preflight with credentials allowed,
so another site's script can send the owner's cookie along. A change is therefore also refused unless
the browser says it comes from this Space's own page (`origin_problem`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from urllib.parse import urlsplit

from settings import Settings


class Role(str, Enum):
    OWNER = "owner"
    """Signed in as SPACE_AUTHOR_NAME (a user's own Space)."""
    ADMIN = "admin"
    """Signed in as one of ADMIN_USERS."""
    VISITOR = "visitor"
    """Signed in as anyone else."""
    ANONYMOUS = "anonymous"
    """Not signed in."""


HUB_ORIGIN = "https://huggingface.co"
"""The Hub's own pages, which embed the Space."""


@dataclass(frozen=True)
class Caller:
    """Who sent a request and from where, as the server saw it: built by the tab from gr.Request."""

    username: str | None
    """From the sign-in session; None when signed out."""
    session: str | None = None
    """Gradio's session hash, e.g. "k3j2h1g0f9"; the caller chooses it, so it never identifies anyone alone."""
    origin: str | None = None
    """The Origin header, e.g. "https://alice-gpu-self-check.hf.space"; None when absent."""
    referer: str | None = None
    """The Referer header, used when a browser sent no Origin."""
    host: str | None = None
    """The Host header, e.g. "127.0.0.1:7860": a page's own origin when running outside Spaces."""


def _origin_of(url: str | None) -> tuple[str, str] | None:
    """(scheme, host[:port]) of an absolute http(s) URL, lower-cased; None for anything else, "null" included."""
    if not url:
        return None
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or "@" in parts.netloc:
        return None
    return parts.scheme.lower(), parts.netloc.lower()


def allowed_origins(settings: Settings, host: str | None) -> frozenset[tuple[str, str]]:
    """The pages that may send changes: on Spaces the Space's https origin (SPACE_HOST) and the Hub;
    elsewhere the app's own origin, judged by the Host header (e.g. http://127.0.0.1:7860), and the Hub."""
    hub = _origin_of(HUB_ORIGIN)
    if settings.space_host:
        return frozenset({hub, ("https", settings.space_host.lower())})
    if not host:
        return frozenset({hub})
    own = host.strip().lower()
    return frozenset({hub, ("http", own), ("https", own)})


def origin_problem(caller: Caller, settings: Settings) -> str | None:
    """Why this request may not change the Space because of where it comes from; None when it may.

    Browsers send Origin on every POST (Gradio's queue/join is one), and Referer when a privacy setting
    drops Origin; a request with neither, or with Origin "null" (sandboxed frames, some redirects),
    cannot show it comes from this Space's page and is refused. Scripts that call the API directly
    send neither and are refused too: changes belong to the owner's browser, signed in.
    """
    claimed = _origin_of(caller.origin) if caller.origin else _origin_of(caller.referer)
    allowed = allowed_origins(settings, caller.host)
    if claimed in allowed:
        return None
    pages = ", ".join(sorted(f"{scheme}://{netloc}" for scheme, netloc in allowed))
    if claimed is None:
        said = "no Origin or Referer header" if not (caller.origin or caller.referer) else "an unusable Origin"
        return f"the request came with {said}, so it cannot show it was sent from this Space's page ({pages})."
    return f"a request sent from {claimed[0]}://{claimed[1]} cannot change this Space; only from {pages}."


@dataclass(frozen=True)
class Decision:
    allowed: bool
    role: Role
    username: str | None
    reason: str
    """One sentence for the page: why this person may or may not act."""


def authorize(username: str | None, settings: Settings) -> Decision:
    """Whether `username` (None: not signed in) may change this Space's hardware, sleep time and state.

    Names are compared exactly: Hub usernames are unique, and a near-match must never pass.
    """
    if not username:
        return Decision(False, Role.ANONYMOUS, None, "Sign in with Hugging Face to manage this Space.")
    if settings.space_author and username == settings.space_author:
        return Decision(True, Role.OWNER, username, f"Signed in as {username}, the owner of this Space.")
    if username in settings.admin_users:
        return Decision(True, Role.ADMIN, username, f"Signed in as {username}, listed in ADMIN_USERS.")
    return Decision(False, Role.VISITOR, username, f"Signed in as {username}: {who_may_act(settings)}")


def who_may_act(settings: Settings) -> str:
    """A sentence naming who may manage the Space, or saying how to allow someone."""
    names = sorted(settings.admin_users | ({settings.space_author} if settings.space_author else set()))
    if not names:
        return (
            "nobody may manage this Space yet: SPACE_AUTHOR_NAME is not set (Spaces set it) and ADMIN_USERS is empty."
        )
    return (
        f"only {', '.join(names)} may manage this Space (the owner, and ADMIN_USERS; for an organisation's "
        "Space, list its members in ADMIN_USERS)."
    )
