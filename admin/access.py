"""Who may change the Space: decided on the server, from the signed-in username alone.

The username comes from the Hugging Face sign-in session (gr.OAuthProfile), never from anything
the caller sends: Gradio runs any event by index, so the check sits in every handler that acts.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

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
